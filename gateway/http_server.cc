#include "gateway/http_server.h"

#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "common/errors.h"
#include "gateway/http_errors.h"

namespace propdesk::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {
class Session;
}  // namespace

struct HttpServer::State {
  HttpServerOptions options;
  Handler handler;
  GatewayMetrics* metrics = nullptr;
  std::atomic<int> connections{0};

  std::mutex mu;
  std::condition_variable responses_done;
  int awaiting_responses = 0;  // guarded by mu

  // The open connections, for the deadline sweep. A connection leaves
  // before its socket closes, so the sweep never touches a closed socket.
  std::mutex sessions_mu;
  std::unordered_set<Session*> sessions;  // guarded by sessions_mu

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
// The most one read asks the kernel for.
constexpr size_t kReadChunk = 64 * 1024;

int64_t NowNanos() { return SteadyClock::now().time_since_epoch().count(); }

int64_t NanosFromNow(std::chrono::milliseconds duration) {
  return NowNanos() + std::chrono::duration_cast<SteadyClock::duration>(duration).count();
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The response as it goes on the wire: status line, headers, body. No
// Content-Length (and no body) where HTTP forbids them (1xx, 204, 304); no
// body for HEAD.
std::string Format(const HttpResponse& response, unsigned version, bool keep_alive,
                   bool head_request) {
  const auto status = static_cast<unsigned>(response.status);
  const beast::string_view reason = http::obsolete_reason(http::int_to_status(status));
  const bool bodiless = status < 200 || status == 204 || status == 304;
  std::string out;
  out.reserve(256 + response.body.size());
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(std::to_string(status)).append(" ").append(reason.data(), reason.size());
  out.append("\r\nContent-Type: ").append(response.content_type);
  for (const auto& [name, value] : response.headers) {
    out.append("\r\n").append(name).append(": ").append(value);
  }
  if (!bodiless) out.append("\r\nContent-Length: ").append(std::to_string(response.body.size()));
  if (version == 10 && keep_alive) out.append("\r\nConnection: keep-alive");
  if (version != 10 && !keep_alive) out.append("\r\nConnection: close");
  out.append("\r\n\r\n");
  if (!bodiless && !head_request) out.append(response.body);
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::State> state)
      : socket_(std::move(socket)),
        fd_(socket_.native_handle()),
        // One request's worth plus a read's worth of pipelined bytes.
        buffer_(state->options.max_header_bytes + state->options.max_body_bytes + 128 * 1024),
        state_(std::move(state)) {
    ++state_->connections;
    if (state_->metrics != nullptr) state_->metrics->connections().Increment();
    beast::error_code ignored;
    // Responses are sent at once from the responding thread; a full send
    // buffer falls back to an asynchronous write.
    socket_.non_blocking(true, ignored);
    std::lock_guard<std::mutex> lock(state_->sessions_mu);
    state_->sessions.insert(this);
  }

  ~Session() {
    Deregister();
    if (awaiting_response_) state_->ResponseEnded();
    --state_->connections;
    if (state_->metrics != nullptr) state_->metrics->connections().Decrement();
  }

  void Run(bool over_limit) {
    if (over_limit) {
      if (state_->metrics != nullptr) state_->metrics->connections_rejected().Increment();
      WriteEarly(common::Error(common::ErrorKind::kUnavailable, "TOO_MANY_CONNECTIONS",
                               "the gateway is at its connection limit; retry later"),
                 503);
    } else {
      WaitForRequest();
    }
  }

  // From the sweep, under sessions_mu: past its deadline, the connection's
  // socket is shut down; its pending operation then ends and closes it.
  void ExpireIfDue(int64_t now) {
    const int64_t deadline = deadline_.load(std::memory_order_relaxed);
    if (deadline == 0 || deadline > now) return;
    deadline_.store(0, std::memory_order_relaxed);
    timed_out_.store(true);
    ::shutdown(fd_, SHUT_RDWR);
  }

 private:
  const HttpServerOptions& options() const { return state_->options; }

  // 0: no deadline (the request is with the handler).
  void SetDeadline(int64_t nanos) { deadline_.store(nanos, std::memory_order_relaxed); }

  // Between requests: the idle (keep-alive) timeout runs until the first
  // byte of the next request, then the read timeout for the whole request.
  void WaitForRequest() {
    parser_.reset();
    if (buffer_.size() > 0) {  // pipelined bytes already here
      StartRequest();
      Parse();
      return;
    }
    SetDeadline(NanosFromNow(options().idle_timeout));
    Read();
  }

  void StartRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    continue_sent_ = false;
    SetDeadline(NanosFromNow(options().read_timeout));
  }

  void Read() {
    const size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {  // cannot happen within the limits; never spin on it
      Close();
      return;
    }
    socket_.async_read_some(buffer_.prepare(std::min(room, kReadChunk)),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              self->OnRead(ec);
                            });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {  // eof, reset, or the sweep's shutdown: the connection is over
      OnReadFailed();
      return;
    }
    if (!parser_) StartRequest();
    Parse();
  }

  // Feeds the buffered bytes to the parser: a whole request goes to the
  // handler, part of one waits for more bytes.
  void Parse() {
    for (;;) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) {
        OnBadRequest(ec);
        return;
      }
      if (parser_->is_done()) {
        OnRequest();  // the last thing: the handler may already have responded
        return;
      }
      if (parser_->is_header_done()) {
        parser_->eager(true);
        if (!continue_sent_ &&
            beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
          continue_sent_ = true;
          if (!SendInterimContinue()) return;
        }
      }
      if (used == 0 || buffer_.size() == 0) break;
    }
    Read();
  }

  // "100 Continue" tells a client that announced its body to send it. False
  // when the connection failed (and is closed).
  bool SendInterimContinue() {
    const std::string_view interim = parser_->get().version() == 10
                                         ? "HTTP/1.0 100 Continue\r\n\r\n"
                                         : "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code ec;
    net::write(socket_, net::buffer(interim.data(), interim.size()), ec);
    if (ec && ec != net::error::would_block) {
      Close();
      return false;
    }
    return true;  // a full send buffer just means the client waits its own timeout
  }

  void OnReadFailed() {
    // The sweep shut the socket down: a request that had begun is counted
    // as 408 and gets no answer (as nginx does); an idle one just closes.
    if (timed_out_.load() && parser_ && state_->metrics != nullptr) {
      state_->metrics->ObserveRequest("", "invalid_request", 408, std::chrono::nanoseconds(0));
    }
    Close();
  }

  void OnBadRequest(beast::error_code ec) {
    using common::Error;
    using common::ErrorKind;
    if (ec == http::error::body_limit) {
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

  void OnRequest() {
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    head_request_ = message.method() == http::verb::head;
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
    // The upstream call has its own deadline; no socket deadline meanwhile.
    SetDeadline(0);
    awaiting_response_ = true;
    state_->ResponseBegun();
    // Nothing of this session may be touched after the handler is called:
    // the response may come at once, from another thread.
    state_->handler(std::move(request), [self = shared_from_this()](HttpResponse response) {
      self->Write(std::move(response));
    });
  }

  // A response the server makes itself; the connection closes after it.
  void WriteEarly(const common::Error& error, int status) {
    keep_alive_ = false;
    if (version_ == 0) version_ = 11;
    if (state_->metrics != nullptr) {
      state_->metrics->ObserveRequest(parser_ ? std::string(parser_->get().method_string()) : "",
                                      "invalid_request", status, std::chrono::nanoseconds(0));
    }
    Write(GatewayErrorResponse(error, status));
  }

  // Sends the response from the calling thread; only what the socket does
  // not take at once is left to an asynchronous write.
  void Write(HttpResponse response) {
    if (response.close_connection) keep_alive_ = false;
    out_ = Format(response, version_, keep_alive_, head_request_);
    beast::error_code ec;
    const size_t sent = socket_.write_some(net::buffer(out_), ec);
    if (!ec && sent == out_.size()) {
      OnWritten({});
      return;
    }
    if (ec && ec != net::error::would_block) {
      OnWritten(ec);
      return;
    }
    const size_t done = ec ? 0 : sent;
    SetDeadline(NanosFromNow(options().write_timeout));
    net::async_write(
        socket_, net::buffer(out_.data() + done, out_.size() - done),
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(beast::error_code ec) {
    out_.clear();
    if (awaiting_response_) {
      awaiting_response_ = false;
      state_->ResponseEnded();
    }
    if (ec) {
      Close();
    } else if (!keep_alive_) {
      LingeringClose();
    } else if (buffer_.size() > 0) {
      // Pipelined requests are parsed on an I/O thread, never deeper in
      // this stack (a responder answering at once would recurse).
      net::post(socket_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
    } else {
      WaitForRequest();
    }
  }

  void LingeringClose() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    SetDeadline(NanosFromNow(kLingerTime));
    Drain();
  }

  void Drain() {
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) {
                                self->Close();
                              } else {
                                self->Drain();
                              }
                            });
  }

  void Deregister() {
    std::lock_guard<std::mutex> lock(state_->sessions_mu);
    state_->sessions.erase(this);
  }

  void Close() {
    Deregister();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  const int fd_;  // for the sweep, which must not touch socket_
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::State> state_;
  std::optional<http::request_parser<http::string_body>> parser_;  // a request begun
  std::string out_;                                                // the response being sent
  std::atomic<int64_t> deadline_{0};                               // steady-clock ns; 0 = none
  std::atomic<bool> timed_out_{false};
  bool continue_sent_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool awaiting_response_ = false;  // the handler has the current request
  unsigned version_ = 11;
  size_t drained_ = 0;
};

std::chrono::milliseconds SweepInterval(const HttpServerOptions& options) {
  const auto shortest = std::min({options.idle_timeout, options.read_timeout, options.write_timeout,
                                  std::chrono::milliseconds(kLingerTime)});
  return std::clamp(shortest / 8, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
}

}  // namespace

std::vector<std::unique_ptr<HttpServer::Loop>> HttpServer::MakeLoops(int threads) {
  std::vector<std::unique_ptr<Loop>> loops;
  for (int i = 0; i < std::max(1, threads); ++i) loops.push_back(std::make_unique<Loop>());
  return loops;
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler, GatewayMetrics* metrics)
    : loops_(MakeLoops(options.threads)),
      state_(std::make_shared<State>()),
      acceptor_(loops_.front()->io),
      sweep_timer_(loops_.front()->io),
      sweep_interval_(SweepInterval(options)) {
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
  Sweep();
  for (const auto& loop : loops_) {
    threads_.emplace_back([&io = loop->io] {
      pthread_setname_np(pthread_self(), "gateway-http");  // for top -H, perf
      io.run();
    });
  }
}

net::io_context& HttpServer::NextLoop() {
  next_loop_ = (next_loop_ + 1) % loops_.size();
  return loops_[next_loop_]->io;
}

void HttpServer::Accept() {
  acceptor_.async_accept(NextLoop(), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (acceptor_.is_open()) Accept();
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (state_->options.send_buffer_bytes > 0) {
      socket.set_option(net::socket_base::send_buffer_size(state_->options.send_buffer_bytes), ec);
    }
    const bool over_limit = state_->connections.load() >= state_->options.max_connections;
    std::make_shared<Session>(std::move(socket), state_)->Run(over_limit);
    Accept();
  });
}

// Shuts down the connections past their deadline, then waits for the next
// round. Runs until the server stops.
void HttpServer::Sweep() {
  {
    const int64_t now = NowNanos();
    std::lock_guard<std::mutex> lock(state_->sessions_mu);
    for (Session* session : state_->sessions) session->ExpireIfDue(now);
  }
  sweep_timer_.expires_after(sweep_interval_);
  sweep_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) Sweep();
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
  for (const auto& loop : loops_) {
    loop->work.reset();
    loop->io.stop();
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  beast::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace propdesk::gateway
