#pragma once

// The services behind the gateway: one gRPC channel and generic stub per
// upstream (byte buffers in, byte buffers out: the gateway needs no
// generated code for any service), their health for /readyz, and the
// threads that complete the calls made to them.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace propdesk::gateway {

struct UpstreamConfig {
  std::string name;     // "tickets"
  std::string address;  // "127.0.0.1:50051", "dns:///tickets:50051"
};

class Upstream {
 public:
  explicit Upstream(UpstreamConfig config);

  const std::string& name() const { return config_.name; }
  const std::string& address() const { return config_.address; }
  grpc::GenericStub& stub() { return *stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // grpc.health.v1 Check of the whole server (""); true when SERVING.
  // Blocks at most `timeout`.
  bool CheckHealth(std::chrono::milliseconds timeout);
  // The last CheckHealth result: "SERVING", "NOT_SERVING", "UNREACHABLE",
  // or "UNKNOWN" before the first check.
  std::string last_state() const;

 private:
  const UpstreamConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::atomic<int> last_state_{-1};  // -1 unknown, else a HealthCheckResponse status or 100
};

class Upstreams {
 public:
  explicit Upstreams(const std::vector<UpstreamConfig>& configs);
  // nullptr for an unknown name.
  Upstream* Find(const std::string& name);
  std::vector<Upstream*> all() const;

 private:
  std::map<std::string, std::unique_ptr<Upstream>> by_name_;
};

// Completes the upstream calls: one completion queue and the threads that
// drain it (GATEWAY_UPSTREAM_THREADS). A call's response is transcoded and
// sent to its HTTP client on one of them.
//
// Why not gRPC's callback API: gRPC 1.51 completes callback calls on two
// "nexting" threads of its own, which pass the poller's role to each other
// through a futex on nearly every response. One thread that both polls and
// completes cost the gateway 1.9 µs less CPU per call (echo at 64 callers,
// median of 5 alternating runs: 24.1 against 26.0 µs) and a third fewer
// context switches (0.25 against 0.39 per call). More threads on the one
// queue bring the hand-over back: raise them only where one thread is
// saturated (an estimate from the profile, not a measurement: about 10 µs
// per response, so near 100k responses/s).
class UpstreamCompletions {
 public:
  // What a call finishes with: Complete() runs once, on a completion
  // thread, and the tag is deleted after it.
  class Tag {
   public:
    virtual ~Tag() = default;
    virtual void Complete() = 0;
  };

  // Starts `threads` threads (at least 1).
  explicit UpstreamCompletions(int threads);
  ~UpstreamCompletions();  // Shutdown()

  UpstreamCompletions(const UpstreamCompletions&) = delete;
  UpstreamCompletions& operator=(const UpstreamCompletions&) = delete;

  // The queue to start calls on, with a tag from MakeTag as their Finish tag.
  grpc::CompletionQueue* queue() { return &queue_; }

  // A tag that runs `complete()`.
  template <class F>
  static Tag* MakeTag(F complete) {
    return new FunctionTag<F>(std::move(complete));
  }

  // Ends the threads once every started call has completed: call it after
  // the last call started. Idempotent.
  void Shutdown();

 private:
  template <class F>
  class FunctionTag : public Tag {
   public:
    explicit FunctionTag(F complete) : complete_(std::move(complete)) {}
    void Complete() override { complete_(); }

   private:
    F complete_;
  };

  void Drain();

  grpc::CompletionQueue queue_;
  std::mutex shutdown_mu_;
  std::vector<std::thread> threads_;  // guarded by shutdown_mu_; empty once shut down
};

// "tickets=127.0.0.1:50051,visitors=127.0.0.1:50052" → configs. Throws
// Error(kInvalidArgument) naming the bad entry.
std::vector<UpstreamConfig> ParseUpstreams(std::string_view text);

}  // namespace propdesk::gateway
