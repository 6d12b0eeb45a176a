#pragma once

// The gateway's view of an HTTP exchange, independent of the HTTP library:
// the request handler (handler.h) works on these, the Beast server
// (http_server.h) converts to and from the wire.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace propdesk::gateway {

struct HttpRequest {
  std::string method;  // "GET", …
  std::string target;  // path and query, as sent
  // Header names lower-cased; repeated headers appear once per line.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of a header (name lower-case), or "" when absent.
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return {};
  }
  bool HasHeader(std::string_view lower_name) const {
    for (const auto& header : headers) {
      if (header.first == lower_name) return true;
    }
    return false;
  }
  std::string_view Path() const {
    const std::string_view t = target;
    return t.substr(0, t.find('?'));
  }
  std::string_view Query() const {
    const std::string_view t = target;
    const size_t q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::string content_type = "application/json";
  std::string body;
  // Close the connection after this response (the gateway is draining).
  bool close_connection = false;

  void AddHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  std::string_view Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(HttpResponse)>;

}  // namespace propdesk::gateway
