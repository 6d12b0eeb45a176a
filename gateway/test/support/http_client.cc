#include "support/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace propdesk::gateway::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  explicit Impl(std::chrono::milliseconds t) : stream(io), timeout(t) {}

  // Runs the pending operation to completion (the stream's timer bounds it).
  void Run() {
    io.restart();
    io.run();
  }

  net::io_context io;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
};

HttpClient::HttpClient(int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(timeout)) {
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  impl_->stream.async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
      [&](beast::error_code e) { ec = e; });
  impl_->Run();
  if (ec)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             ec.message());
  impl_->stream.socket().set_option(tcp::no_delay(true));
}

HttpClient::~HttpClient() {
  beast::error_code ignored;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->stream.close();
}

std::string HttpClient::Format(const std::string& method, const std::string& target,
                               const std::string& body, const Headers& headers) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == "content-type") has_type = true;
    out += name + ": " + value + "\r\n";
  }
  if (!body.empty() && !has_type) out += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n" + body;
  return out;
}

ClientResponse HttpClient::Send(const std::string& method, const std::string& target,
                                const std::string& body, const Headers& headers) {
  WriteRaw(Format(method, target, body, headers));
  return ReadResponse();
}

void HttpClient::WriteRaw(std::string_view bytes) {
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  net::async_write(impl_->stream, net::buffer(bytes.data(), bytes.size()),
                   [&](beast::error_code e, size_t) { ec = e; });
  impl_->Run();
  if (ec) throw std::runtime_error("write failed: " + ec.message());
}

ClientResponse HttpClient::ReadResponse(bool head_request) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(head_request);
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  http::async_read(impl_->stream, impl_->buffer, parser,
                   [&](beast::error_code e, size_t) { ec = e; });
  impl_->Run();
  if (ec) throw std::runtime_error("read failed: " + ec.message());
  auto message = parser.release();
  ClientResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    response.headers[name] = std::string(field.value());
  }
  response.body = std::move(message.body());
  response.keep_alive = message.keep_alive();
  return response;
}

bool HttpClient::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    beast::error_code ec;
    impl_->stream.expires_at(deadline);
    impl_->buffer.clear();
    impl_->stream.async_read_some(impl_->buffer.prepare(4096),
                                  [&](beast::error_code e, size_t) { ec = e; });
    impl_->Run();
    if (ec == beast::error::timeout) return false;
    if (ec) return true;  // eof or reset: closed by the server
  }
}

}  // namespace propdesk::gateway::test
