#pragma once

// A server run as its own process for a benchmark, as a deployment runs it:
// the real binary, configured by its environment, on loopback ports. A
// benchmark whose load generator, service and gateway share one process
// measures gRPC's pollers shared between client and server, which no
// deployment has.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace propdesk::bench {

// A loopback TCP port nothing listens on now (bound, then released).
int FreeLoopbackPort();

class ChildProcess {
 public:
  struct Options {
    std::string binary;             // absolute path
    std::vector<std::string> args;  // after argv[0]
    // Added to (or replacing in) this process's environment.
    std::vector<std::pair<std::string, std::string>> env;
    // Where stdout and stderr go (appended); with pipe_stdout, stderr only.
    std::string log_path;
    bool pipe_stdout = false;  // ReadLine() reads the child's stdout
  };

  // Starts the child; throws std::runtime_error when it cannot. The child
  // is killed if this process dies first (PR_SET_PDEATHSIG).
  explicit ChildProcess(Options options);
  ~ChildProcess();  // Stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return options_.log_path; }
  // Whether it has not exited yet.
  bool Running();
  // A line of its stdout (pipe_stdout), without the newline; throws when
  // none comes within `timeout` or the child closes its stdout first.
  std::string ReadLine(std::chrono::milliseconds timeout);
  // Polls `ready` (every 50 ms) until it says true; throws, naming the log,
  // when the child exits first or `timeout` passes. `ready` may throw
  // (not listening yet): that counts as false.
  void WaitUntil(const std::function<bool()>& ready, const std::string& what,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM, then SIGKILL after `grace`; waits for the exit.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  Options options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;  // read from stdout_fd_, not yet returned
};

}  // namespace propdesk::bench
