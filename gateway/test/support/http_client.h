#pragma once

// A small blocking HTTP/1.1 client for gateway tests and benchmarks: one
// keep-alive connection, every operation bounded by a timeout. Raw writes
// and reads let tests pipeline requests or play a slow client.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace propdesk::gateway::test {

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  bool keep_alive = true;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // Connects to 127.0.0.1:port. Throws std::runtime_error on failure.
  explicit HttpClient(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();

  // Sends one request and reads its response. A JSON body gets
  // Content-Type: application/json unless `headers` names one.
  ClientResponse Send(const std::string& method, const std::string& target,
                      const std::string& body = "", const Headers& headers = {});

  // The bytes of a request as Send would write them.
  static std::string Format(const std::string& method, const std::string& target,
                            const std::string& body = "", const Headers& headers = {});

  void WriteRaw(std::string_view bytes);
  // The next response; one to a HEAD request has no body whatever its
  // Content-Length says.
  ClientResponse ReadResponse(bool head_request = false);

  // Waits until the server closes the connection (true), or `timeout`
  // passes (false). Discards whatever arrives meanwhile.
  bool WaitForClose(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace propdesk::gateway::test
