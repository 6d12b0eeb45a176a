#pragma once

// Readiness (ARCHITECTURE.md §12): a background thread runs named probes
// (MySQL ping, Redis ping, …) every interval and reports whether all of them
// pass; main wires the report to GrpcServer::SetServing, so the gRPC health
// service says NOT_SERVING while a dependency is down and SERVING again once
// it is back. A probe that throws counts as failing. Probes run one after the
// other on the prober's thread, so each should bound its own time (the pools'
// checkout and command timeouts do).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"

namespace propdesk::common {

struct ReadinessProbe {
  std::string name;             // "mysql", "redis"
  std::function<bool()> check;  // true when the dependency answers
};

class ReadinessProber {
 public:
  // Called with the new state after the first round and on every change.
  using OnChange = std::function<void(bool ready)>;

  // Starts the thread; the first round runs at once.
  ReadinessProber(std::vector<ReadinessProbe> probes, std::chrono::milliseconds interval,
                  OnChange on_change, const Logger* logger = nullptr);
  ~ReadinessProber();  // Stop()

  ReadinessProber(const ReadinessProber&) = delete;
  ReadinessProber& operator=(const ReadinessProber&) = delete;

  // Ends the thread; no OnChange call happens after it returns. Idempotent.
  void Stop();

  // Last state reported; false until the first round has finished.
  bool ready() const;

  // Blocks until a round has reported `ready` == want, or `timeout` passes;
  // returns whether it did. For tests and start-up ("wait until ready").
  bool WaitFor(bool want, std::chrono::milliseconds timeout) const;

 private:
  void Loop();
  // Runs every probe; returns the names of those that failed.
  std::vector<std::string> RunProbes() const;

  const std::vector<ReadinessProbe> probes_;
  const std::chrono::milliseconds interval_;
  const OnChange on_change_;
  const Logger* const logger_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;      // guarded by mu_
  std::optional<bool> ready_;  // guarded by mu_
  std::once_flag join_once_;
  std::thread thread_;  // started last, in the constructor
};

}  // namespace propdesk::common
