#include "gateway/http_server.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "common/errors.h"
#include "gateway/http_errors.h"

namespace propdesk::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpServer::State {
  HttpServerOptions options;
  Handler handler;
  GatewayMetrics* metrics = nullptr;
  std::atomic<int> connections{0};
  std::mutex mu;
  std::condition_variable responses_done;
  int awaiting_responses = 0;  // guarded by mu

  void ResponseBegun() {
    std::lock_guard<std::mutex> lock(mu);
    ++awaiting_responses;
  }
  void ResponseEnded() {
    std::lock_guard<std::mutex> lock(mu);
    if (--awaiting_responses == 0) responses_done.notify_all();
  }
};

namespace {

// After a response that closes the connection, unread request bytes (an
// oversized body, say) would make the kernel answer with a reset that can
// destroy the response in flight. So: half-close, then read and drop what
// the client still sends, for a bounded time and amount (nginx's
// "lingering close").
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerBytes = 1 << 20;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::State> state)
      : stream_(std::move(socket)),
        // One request's worth plus a read's worth of pipelined bytes.
        buffer_(state->options.max_header_bytes + state->options.max_body_bytes + 128 * 1024),
        state_(std::move(state)) {
    ++state_->connections;
    if (state_->metrics != nullptr) state_->metrics->connections().Increment();
  }

  ~Session() {
    if (awaiting_response_) state_->ResponseEnded();
    --state_->connections;
    if (state_->metrics != nullptr) state_->metrics->connections().Decrement();
  }

  void Run(bool over_limit) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), over_limit] {
      if (over_limit) {
        if (self->state_->metrics != nullptr)
          self->state_->metrics->connections_rejected().Increment();
        self->WriteEarly(common::Error(common::ErrorKind::kUnavailable, "TOO_MANY_CONNECTIONS",
                                       "the gateway is at its connection limit; retry later"),
                         503);
      } else {
        self->WaitForRequest();
      }
    });
  }

 private:
  const HttpServerOptions& options() const { return state_->options; }

  // Between requests: the idle (keep-alive) timeout runs until the first
  // byte of the next request, then the read timeout for the whole request.
  void WaitForRequest() {
    if (buffer_.size() > 0) {  // pipelined bytes already here
      ReadHeader();
      return;
    }
    stream_.expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(8192),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec) {
                                self->Close();
                                return;
                              }
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(options().read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    if (parser_->is_done()) {
      OnRequest({});
      return;
    }
    auto& request = parser_->get();
    if (beast::iequals(request[http::field::expect], "100-continue")) {
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                        request.version());
      http::async_write(stream_, *interim,
                        [self = shared_from_this(), interim](beast::error_code ec, size_t) {
                          if (ec) {
                            self->Close();
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      Close();
      return;
    }
    using common::Error;
    using common::ErrorKind;
    if (ec == beast::error::timeout) {
      // tcp_stream has already closed the socket: a client too slow to send
      // its request gets no answer (as nginx does), only the metric counts it.
      if (state_->metrics != nullptr) {
        state_->metrics->ObserveRequest("", "invalid_request", 408, std::chrono::nanoseconds(0));
      }
      Close();
    } else if (ec == http::error::body_limit) {
      WriteEarly(Error(ErrorKind::kInvalidArgument, "BODY_TOO_LARGE",
                       "the request body is larger than " +
                           std::to_string(options().max_body_bytes) + " bytes",
                       {{"limit_bytes", std::to_string(options().max_body_bytes)}}),
                 413);
    } else if (ec == http::error::header_limit) {
      WriteEarly(Error(ErrorKind::kInvalidArgument, "HEADERS_TOO_LARGE",
                       "the request headers are larger than " +
                           std::to_string(options().max_header_bytes) + " bytes",
                       {{"limit_bytes", std::to_string(options().max_header_bytes)}}),
                 431);
    } else {
      WriteEarly(Error(ErrorKind::kInvalidArgument, "MALFORMED_REQUEST",
                       "the request is not valid HTTP/1.1: " + ec.message()),
                 400);
    }
  }

  void OnRequest(beast::error_code ec) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.headers.reserve(16);
    for (const auto& field : message) {
      const auto name = field.name_string();
      request.headers.emplace_back(Lower(std::string_view(name.data(), name.size())),
                                   std::string(field.value()));
    }
    request.body = std::move(message.body());
    // The upstream call has its own deadline; no socket timer meanwhile.
    stream_.expires_never();
    awaiting_response_ = true;
    state_->ResponseBegun();
    state_->handler(std::move(request), [self = shared_from_this()](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
    });
  }

  // A response the server makes itself; the connection closes after it.
  void WriteEarly(const common::Error& error, int status) {
    keep_alive_ = false;
    if (version_ == 0) version_ = 11;
    HttpResponse response = GatewayErrorResponse(error, status);
    if (state_->metrics != nullptr) {
      state_->metrics->ObserveRequest(parser_ ? std::string(parser_->get().method_string()) : "",
                                      "invalid_request", status, std::chrono::nanoseconds(0));
    }
    Write(std::move(response));
  }

  void Write(HttpResponse response) {
    if (response.close_connection) keep_alive_ = false;
    response_ = std::make_shared<http::response<http::string_body>>();
    response_->version(version_);
    response_->result(static_cast<unsigned>(response.status));
    response_->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) response_->insert(name, value);
    response_->body() = std::move(response.body);
    response_->keep_alive(keep_alive_);
    response_->prepare_payload();
    stream_.expires_after(options().write_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->response_.reset();
                        if (self->awaiting_response_) {
                          self->awaiting_response_ = false;
                          self->state_->ResponseEnded();
                        }
                        if (ec) {
                          self->Close();
                        } else if (!self->keep_alive_) {
                          self->LingeringClose();
                        } else {
                          self->WaitForRequest();
                        }
                      });
  }

  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) {
                                self->Close();
                              } else {
                                self->Drain();
                              }
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::State> state_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  bool keep_alive_ = true;
  bool awaiting_response_ = false;  // the handler has the current request
  unsigned version_ = 11;
  size_t drained_ = 0;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, Handler handler, GatewayMetrics* metrics)
    : io_(std::max(1, options.threads)),
      work_(io_.get_executor()),
      state_(std::make_shared<State>()),
      acceptor_(net::make_strand(io_)) {
  state_->options = std::move(options);
  state_->handler = std::move(handler);
  state_->metrics = metrics;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  const HttpServerOptions& options = state_->options;
  beast::error_code ec;
  const auto address = net::ip::make_address(options.host, ec);
  auto fail = [&](const std::string& what) {
    throw common::Error(
        common::ErrorKind::kUnavailable, "HTTP_PORT_UNAVAILABLE",
        "cannot serve HTTP on " + options.host + ":" + std::to_string(options.port) + ": " + what);
  };
  if (ec) fail("bad address: " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail(ec.message());
  port_ = acceptor_.local_endpoint().port();
  Accept();
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "gateway-http");  // for top -H, perf
      io_.run();
    });
  }
}

void HttpServer::Accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (acceptor_.is_open()) Accept();
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    const bool over_limit = state_->connections.load() >= state_->options.max_connections;
    std::make_shared<Session>(std::move(socket), state_)->Run(over_limit);
    Accept();
  });
}

int HttpServer::connections() const { return state_->connections.load(); }

void HttpServer::StopAccepting() {
  net::dispatch(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
}

bool HttpServer::WaitForResponses(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->responses_done.wait_until(lock, deadline,
                                           [&] { return state_->awaiting_responses == 0; });
}

void HttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  work_.reset();
  io_.stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  beast::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace propdesk::gateway
