#pragma once

// The load generator's HTTP/1.1 client, built as wrk is: one thread and
// epoll drive every keep-alive connection, so a burst of responses costs
// one wakeup, not one thread switch per response. On the 2 cores that
// `make bench` shares between the load, the gateway and the service, 64
// blocking client threads measured the scheduler as much as the gateway.
//
// One call at a time per connection (a slot of bench::MeasureAsyncLoad).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace propdesk::bench {

class HttpLoadClient {
 public:
  // The response's status code, or 0 when the connection failed.
  using Done = std::function<void(int status)>;

  // Opens `connections` connections to 127.0.0.1:`port`. Throws when one
  // cannot be opened.
  HttpLoadClient(int port, int connections);
  ~HttpLoadClient();
  HttpLoadClient(const HttpLoadClient&) = delete;
  HttpLoadClient& operator=(const HttpLoadClient&) = delete;

  // Sends `request` (a whole HTTP/1.1 request) on connection `slot`, which
  // has no call in flight; `done` runs on the client's thread when the
  // response has arrived. Thread-safe across slots.
  void Send(int slot, std::string request, Done done);

 private:
  struct Connection {
    int fd = -1;
    std::mutex mu;
    std::string input;   // guarded by mu: bytes of the response so far
    std::string output;  // guarded by mu: request bytes not yet written
    Done done;           // guarded by mu: the call in flight
  };

  void Loop();
  // Writes what `c` has to send; false when the connection failed.
  static bool Flush(Connection& c);
  // Reads what has arrived; the finished call's callback, if any.
  Done Receive(Connection& c, int* status);
  void WatchOutput(int slot, bool on);

  const int epoll_fd_;
  const int wake_fd_;  // eventfd: ends Loop
  std::vector<std::unique_ptr<Connection>> connections_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace propdesk::bench
