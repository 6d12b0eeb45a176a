#pragma once

// The services behind the gateway: one gRPC channel and generic stub per
// upstream (byte buffers in, byte buffers out: the gateway needs no
// generated code for any service), and their health for /readyz.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
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

// "tickets=127.0.0.1:50051,visitors=127.0.0.1:50052" → configs. Throws
// Error(kInvalidArgument) naming the bad entry.
std::vector<UpstreamConfig> ParseUpstreams(std::string_view text);

}  // namespace propdesk::gateway
