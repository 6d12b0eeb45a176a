#pragma once

// The gateway's Prometheus metrics (ARCHITECTURE.md §10):
//   http_server_requests_total{method,route,code}
//   http_server_request_duration_seconds{route}
//   grpc_client_handled_total{grpc_service,grpc_method,grpc_code}
//   grpc_client_handling_seconds{grpc_service,grpc_method}
//   http_server_connections (open), http_server_connections_rejected_total
//   gateway_rate_limited_total{scope}, gateway_rate_limit_checks_total{backend}
// `route` is the route's template ("GET /v1/sites/{site_id}/tickets"), or
// one of "unmatched", "healthz", … — never a raw path, so the label set stays
// bounded. Label lookups are cached: prometheus-cpp's Family::Add builds a
// label map per call, too slow for every request. A route's usual outcome
// (200 from an OK upstream call) is counted through handles made at
// start-up, without the cache's lock: every route's series exist from the
// start, at 0.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace propdesk::gateway {

class GatewayMetrics {
 public:
  explicit GatewayMetrics(prometheus::Registry& registry);

  void ObserveRequest(const std::string& method, const std::string& route, int code,
                      std::chrono::steady_clock::duration elapsed);

  // One route's series for its usual outcome, made once (HandlesFor) and
  // used without a lock.
  struct RouteHandles {
    std::string http_method;
    prometheus::Counter* ok_requests;        // {method, route, code="200"}
    prometheus::Histogram* duration;         // {route}
    prometheus::Counter* ok_upstream_calls;  // {grpc_service, grpc_method, grpc_code="OK"}
    prometheus::Histogram* upstream_duration;
  };
  RouteHandles HandlesFor(const std::string& http_method, const std::string& route,
                          const std::string& service, const std::string& rpc);
  void ObserveRequest(const RouteHandles& route, const std::string& method,
                      const std::string& label, int code,
                      std::chrono::steady_clock::duration elapsed);
  void ObserveUpstream(const RouteHandles& route, const std::string& service,
                       const std::string& rpc, std::string_view code,
                       std::chrono::steady_clock::duration elapsed);

  void RateLimited(const std::string& scope);
  void RateLimitCheck(const std::string& backend);

  prometheus::Gauge& connections() { return *connections_; }
  prometheus::Counter& connections_rejected() { return *connections_rejected_; }

 private:
  // The cached series of `key`, made by `make` the first time.
  template <class Key, class Metric, class Make>
  Metric* FindOrMake(std::map<Key, Metric*>& cache, const Key& key, Make make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, make()).first;
    return it->second;
  }
  prometheus::Counter* RequestCounter(const std::string& method, const std::string& route,
                                      int code);
  prometheus::Histogram* DurationHistogram(const std::string& route);
  prometheus::Counter* UpstreamCounter(const std::string& service, const std::string& method,
                                       const std::string& code);
  prometheus::Histogram* UpstreamHistogram(const std::string& service, const std::string& method);

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& upstream_handled_;
  prometheus::Family<prometheus::Histogram>& upstream_seconds_;
  prometheus::Family<prometheus::Counter>& rate_limited_;
  prometheus::Family<prometheus::Counter>& rate_limit_checks_;
  prometheus::Gauge* connections_;
  prometheus::Counter* connections_rejected_;

  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, prometheus::Counter*>
      request_counters_;                                     // guarded by mu_
  std::map<std::string, prometheus::Histogram*> durations_;  // guarded by mu_
  std::map<std::tuple<std::string, std::string, std::string>, prometheus::Counter*>
      upstream_counters_;  // guarded by mu_
  std::map<std::pair<std::string, std::string>, prometheus::Histogram*>
      upstream_durations_;                                                 // guarded by mu_
  std::map<std::string, prometheus::Counter*> rate_limited_counters_;      // guarded by mu_
  std::map<std::string, prometheus::Counter*> rate_limit_check_counters_;  // guarded by mu_
};

}  // namespace propdesk::gateway
