#pragma once

// RPC metrics under the de-facto names (ARCHITECTURE.md §10), recorded by a
// server interceptor so no handler has to remember them:
//   grpc_server_started_total{grpc_service,grpc_method,grpc_type}
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}
//   grpc_server_handling_seconds{grpc_service,grpc_method,grpc_type}  (histogram)
// grpc_type is unary | client_stream | server_stream | bidi_stream and
// grpc_code the code's name ("OK", "NOT_FOUND", …).

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace propdesk::common {

class GrpcServerMetrics {
 public:
  // The metric children of one method, created on its first call and then
  // reached without any lock (counters and histograms are thread-safe).
  class MethodMetrics {
   public:
    MethodMetrics(GrpcServerMetrics& owner, const prometheus::Labels& labels);
    void Started() { started_.Increment(); }
    void Handled(grpc::StatusCode code, double seconds);

   private:
    static constexpr size_t kCodes = 17;  // OK .. UNAUTHENTICATED
    prometheus::Counter& HandledCounter(grpc::StatusCode code);

    GrpcServerMetrics& owner_;
    const prometheus::Labels labels_;
    prometheus::Counter& started_;
    prometheus::Histogram& handling_seconds_;
    // Created on first use per code; Family::Add is idempotent and
    // thread-safe, so a race only costs a second lookup.
    std::array<std::atomic<prometheus::Counter*>, kCodes> handled_{};
  };

  // Registers the three families in `registry`, which must outlive this.
  explicit GrpcServerMetrics(prometheus::Registry& registry);

  // The interceptor factory to install on the server builder; it records
  // into this object, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // The cached children for "/pkg.Service/Method" of this type.
  MethodMetrics& ForMethod(std::string_view full_method,
                           grpc::experimental::ServerRpcInfo::Type type);

  // Buckets of grpc_server_handling_seconds: 0.5 ms .. 10 s.
  static const prometheus::Histogram::BucketBoundaries& Buckets();

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  prometheus::Family<prometheus::Counter>& started_family_;
  prometheus::Family<prometheus::Counter>& handled_family_;
  prometheus::Family<prometheus::Histogram>& handling_family_;

  std::shared_mutex mu_;
  // Key: "/pkg.Service/Method" (a method has one type). Entries are never
  // removed, so a reference handed out stays valid.
  std::unordered_map<std::string, std::unique_ptr<MethodMetrics>, StringHash,
                     std::equal_to<>>
      methods_;  // guarded by mu_
};

}  // namespace propdesk::common
