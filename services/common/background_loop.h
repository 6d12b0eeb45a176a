#pragma once

// The one background thread shape of propdesk's workers (outbox relay, event
// consumer, windowed scanner): call an iteration, wait the pause it asks for
// or until Stop(), repeat. Stop() wakes the wait at once and joins.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace propdesk::common {

class BackgroundLoop {
 public:
  // Returns how long to pause before the next call; zero runs it again at
  // once. It must handle its own errors (a throw ends the process).
  using Iteration = std::function<std::chrono::milliseconds()>;

  BackgroundLoop() = default;
  ~BackgroundLoop() { Stop(); }
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Starts the thread; a second Start while running does nothing.
  void Start(Iteration iteration);
  // Stops and joins; safe to call when not running and more than once.
  void Stop();

 private:
  void Run(const Iteration& iteration);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // guarded by mu_
};

}  // namespace propdesk::common
