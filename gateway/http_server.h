#pragma once

// The HTTP/1.1 server of the gateway, on Boost.Beast/Asio: keep-alive,
// pipelining-safe (a connection's requests are answered one at a time, in
// order; pipelined bytes wait in its buffer), bounded connections (more get
// 503), and limits on header size (431), body size (413, decided from
// Content-Length before the body is read), idle keep-alive time and the time
// a request may take to arrive (slow clients are disconnected). Answers
// "Expect: 100-continue". Requests go to a handler that responds
// asynchronously, from any thread.
//
// Built for the cost per request, which the gateway adds to every call: a
// connection has one socket operation at a time, so it needs no strand;
// Beast's parser is fed from the connection's buffer (one read per request
// when it arrives in one piece); a response is formatted into one string and
// sent at once from the thread that responds (the gRPC completion, usually),
// so the I/O threads are not woken to write it; and the timeouts are
// deadlines that one sweep checks (every 1/8 of the shortest timeout, 10 to
// 250 ms) instead of a timer per socket operation, so a timeout fires up to
// one sweep late.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/gateway_metrics.h"
#include "gateway/http_types.h"

namespace propdesk::gateway {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0 = any free port
  int threads = 2;
  int max_connections = 1024;
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  // SO_SNDBUF of each connection; 0 leaves it to the kernel (autotuned).
  // A small one makes large responses go out in several writes.
  int send_buffer_bytes = 0;
};

class HttpServer {
 public:
  using Handler = std::function<void(HttpRequest, Respond)>;

  // `metrics` may be null.
  HttpServer(HttpServerOptions options, Handler handler, GatewayMetrics* metrics);
  ~HttpServer();  // Stop()

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. Throws Error(kUnavailable,
  // "HTTP_PORT_UNAVAILABLE").
  void Start();
  int port() const { return port_; }
  int connections() const;

  // No new connections; open ones keep being served.
  void StopAccepting();
  // Blocks until every request handed to the handler has had its response
  // written (or its connection closed), or `deadline`; returns whether it did.
  bool WaitForResponses(std::chrono::steady_clock::time_point deadline);
  // Closes every connection and joins the threads. The handler must not
  // respond after this (the gateway waits for its upstream calls first).
  // Idempotent.
  void Stop();

  struct State;  // shared with the connections

 private:
  void Accept();
  void Sweep();

  // One event loop per I/O thread, a connection on one of them for its
  // life: one loop shared by several threads woke a second thread for
  // every event (at one caller, +50 µs per request through the gateway).
  struct Loop {
    boost::asio::io_context io{1};
    // Keeps its thread up while no socket operation is pending (every
    // connection waiting for an upstream).
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
  };
  static std::vector<std::unique_ptr<Loop>> MakeLoops(int threads);
  boost::asio::io_context& NextLoop();

  std::vector<std::unique_ptr<Loop>> loops_;  // the first also accepts and sweeps
  size_t next_loop_ = 0;                      // the acceptor's
  std::shared_ptr<State> state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  std::chrono::milliseconds sweep_interval_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace propdesk::gateway
