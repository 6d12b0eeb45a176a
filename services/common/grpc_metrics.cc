#include "common/grpc_metrics.h"

#include <chrono>
#include <mutex>

#include "common/errors.h"

namespace propdesk::common {
namespace {

using RpcType = grpc::experimental::ServerRpcInfo::Type;
using grpc::experimental::InterceptionHookPoints;

// Label sets are bounded by the methods a server registers; this cap only
// guards against a client inventing method names.
constexpr size_t kMaxMethods = 1000;

std::string_view TypeLabel(RpcType type) {
  switch (type) {
    case RpcType::UNARY:
      return "unary";
    case RpcType::CLIENT_STREAMING:
      return "client_stream";
    case RpcType::SERVER_STREAMING:
      return "server_stream";
    case RpcType::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// "/propdesk.testing.v1.EchoService/Echo" → {"propdesk.testing.v1.EchoService", "Echo"}.
std::pair<std::string, std::string> SplitMethod(std::string_view full_method) {
  if (full_method.starts_with('/')) full_method.remove_prefix(1);
  const size_t slash = full_method.rfind('/');
  if (slash == std::string_view::npos) return {"unknown", std::string(full_method)};
  return {std::string(full_method.substr(0, slash)), std::string(full_method.substr(slash + 1))};
}

// One per RPC: created when the call starts, destroyed when it is done.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit MetricsInterceptor(GrpcServerMetrics::MethodMetrics& metrics)
      : metrics_(metrics), start_(std::chrono::steady_clock::now()) {
    metrics_.Started();
  }

  ~MetricsInterceptor() override {
    // A call torn down without sending a status was cancelled (client gone,
    // deadline passed, server shut down).
    if (!handled_) metrics_.Handled(grpc::StatusCode::CANCELLED, ElapsedSeconds());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      handled_ = true;
      metrics_.Handled(methods->GetSendStatus().error_code(), ElapsedSeconds());
    }
    methods->Proceed();
  }

 private:
  double ElapsedSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  GrpcServerMetrics::MethodMetrics& metrics_;
  const std::chrono::steady_clock::time_point start_;
  bool handled_ = false;  // hooks of one call never run concurrently
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcServerMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_.ForMethod(info->method(), info->type()));
  }

 private:
  GrpcServerMetrics& metrics_;
};

}  // namespace

GrpcServerMetrics::MethodMetrics::MethodMetrics(GrpcServerMetrics& owner,
                                                const prometheus::Labels& labels)
    : owner_(owner),
      labels_(labels),
      started_(owner.started_family_.Add(labels)),
      handling_seconds_(owner.handling_family_.Add(labels, GrpcServerMetrics::Buckets())) {}

void GrpcServerMetrics::MethodMetrics::Handled(grpc::StatusCode code, double seconds) {
  HandledCounter(code).Increment();
  handling_seconds_.Observe(seconds);
}

prometheus::Counter& GrpcServerMetrics::MethodMetrics::HandledCounter(grpc::StatusCode code) {
  const int raw = static_cast<int>(code);
  const size_t index = raw >= 0 && raw < static_cast<int>(kCodes)
                           ? static_cast<size_t>(raw)
                           : static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  prometheus::Counter* counter = handled_[index].load(std::memory_order_acquire);
  if (counter != nullptr) return *counter;
  prometheus::Labels labels = labels_;
  labels["grpc_code"] = std::string(GrpcCodeName(static_cast<grpc::StatusCode>(index)));
  counter = &owner_.handled_family_.Add(labels);
  handled_[index].store(counter, std::memory_order_release);
  return *counter;
}

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    : started_family_(prometheus::BuildCounter()
                          .Name("grpc_server_started_total")
                          .Help("RPCs started on the server.")
                          .Register(registry)),
      handled_family_(prometheus::BuildCounter()
                          .Name("grpc_server_handled_total")
                          .Help("RPCs completed on the server, by status code.")
                          .Register(registry)),
      handling_family_(prometheus::BuildHistogram()
                           .Name("grpc_server_handling_seconds")
                           .Help("Time from the start of an RPC to its status being sent.")
                           .Register(registry)) {}

const prometheus::Histogram::BucketBoundaries& GrpcServerMetrics::Buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::NewInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(*this);
}

GrpcServerMetrics::MethodMetrics& GrpcServerMetrics::ForMethod(std::string_view full_method,
                                                               RpcType type) {
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = methods_.find(full_method);
    if (it != methods_.end()) return *it->second;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (methods_.size() >= kMaxMethods) full_method = "/unknown/unknown";
  auto it = methods_.find(full_method);
  if (it != methods_.end()) return *it->second;
  auto [service, method] = SplitMethod(full_method);
  auto metrics = std::make_unique<MethodMetrics>(
      *this, prometheus::Labels{{"grpc_service", std::move(service)},
                                {"grpc_method", std::move(method)},
                                {"grpc_type", std::string(TypeLabel(type))}});
  MethodMetrics& result = *metrics;
  methods_.emplace(std::string(full_method), std::move(metrics));
  return result;
}

}  // namespace propdesk::common
