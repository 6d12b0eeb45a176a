#include "gateway/upstreams.h"

#include <grpc/grpc.h>
#include <pthread.h>

#include <algorithm>
#include <set>

#include "common/errors.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace propdesk::gateway {
namespace {

constexpr int kUnreachable = 100;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

Upstream::Upstream(UpstreamConfig config) : config_(std::move(config)) {
  grpc::ChannelArguments args;
  // Keep the HTTP/2 connection warm and notice a dead peer; the services
  // allow a ping every 10 s (common/server.h).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 16 * 1024 * 1024);
  // Reconnect quickly after a service restart.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // No retry filter: the gateway sets no retry policy, so the filter would
  // only retry transparently the streams a server refused unseen, and the
  // services' graceful shutdown (gRPC's two GOAWAYs) leaves none. Its
  // copies of every call's metadata and message cost 1.5 µs of the
  // gateway's CPU per call (6 %). A call that does fail UNAVAILABLE is a
  // 503 the client may retry (with its Idempotency-Key for writes).
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  channel_ = grpc::CreateCustomChannel(config_.address, grpc::InsecureChannelCredentials(), args);
  stub_ = std::make_unique<grpc::GenericStub>(channel_);
}

bool Upstream::CheckHealth(std::chrono::milliseconds timeout) {
  grpc::health::v1::Health::Stub health(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health.Check(&context, request, &response);
  last_state_ = status.ok() ? static_cast<int>(response.status()) : kUnreachable;
  return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

std::string Upstream::last_state() const {
  const int state = last_state_.load();
  if (state < 0) return "UNKNOWN";
  if (state == kUnreachable) return "UNREACHABLE";
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      static_cast<grpc::health::v1::HealthCheckResponse::ServingStatus>(state));
}

Upstreams::Upstreams(const std::vector<UpstreamConfig>& configs) {
  for (const UpstreamConfig& config : configs) {
    by_name_[config.name] = std::make_unique<Upstream>(config);
  }
}

Upstream* Upstreams::Find(const std::string& name) {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.get();
}

std::vector<Upstream*> Upstreams::all() const {
  std::vector<Upstream*> out;
  for (const auto& [name, upstream] : by_name_) out.push_back(upstream.get());
  return out;
}

UpstreamCompletions::UpstreamCompletions(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "gateway-grpc");  // for top -H, perf
      Drain();
    });
  }
}

UpstreamCompletions::~UpstreamCompletions() { Shutdown(); }

void UpstreamCompletions::Drain() {
  void* tag = nullptr;
  bool ok = false;
  // `ok` is always true for a unary call's Finish; its status says how the
  // call ended.
  while (queue_.Next(&tag, &ok)) {
    std::unique_ptr<Tag>(static_cast<Tag*>(tag))->Complete();
  }
}

void UpstreamCompletions::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (threads_.empty()) return;
  queue_.Shutdown();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

std::vector<UpstreamConfig> ParseUpstreams(std::string_view text) {
  std::vector<UpstreamConfig> out;
  std::set<std::string> names;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view entry = Trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size()) {
      throw common::Error(
          common::ErrorKind::kInvalidArgument, "BAD_CONFIG",
          "GATEWAY_UPSTREAMS entry \"" + std::string(entry) + "\" is not name=host:port",
          {{"variable", "GATEWAY_UPSTREAMS"}});
    }
    UpstreamConfig config{std::string(Trim(entry.substr(0, eq))),
                          std::string(Trim(entry.substr(eq + 1)))};
    if (!names.insert(config.name).second) {
      throw common::Error(common::ErrorKind::kInvalidArgument, "BAD_CONFIG",
                          "GATEWAY_UPSTREAMS names " + config.name + " twice",
                          {{"variable", "GATEWAY_UPSTREAMS"}});
    }
    out.push_back(std::move(config));
  }
  if (out.empty()) {
    throw common::Error(common::ErrorKind::kInvalidArgument, "BAD_CONFIG",
                        "GATEWAY_UPSTREAMS names no upstream", {{"variable", "GATEWAY_UPSTREAMS"}});
  }
  return out;
}

}  // namespace propdesk::gateway
