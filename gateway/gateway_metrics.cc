#include "gateway/gateway_metrics.h"

namespace propdesk::gateway {
namespace {

// Seconds; a gateway hop is sub-millisecond, an upstream call up to its deadline.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

GatewayMetrics::GatewayMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("http_server_requests_total")
                    .Help("HTTP requests answered, by method, route template and status code.")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("http_server_request_duration_seconds")
                    .Help("Time from a complete HTTP request to its response, by route template.")
                    .Register(registry)),
      upstream_handled_(prometheus::BuildCounter()
                            .Name("grpc_client_handled_total")
                            .Help("Upstream gRPC calls completed, by service, method and code.")
                            .Register(registry)),
      upstream_seconds_(prometheus::BuildHistogram()
                            .Name("grpc_client_handling_seconds")
                            .Help("Upstream gRPC call latency, by service and method.")
                            .Register(registry)),
      rate_limited_(prometheus::BuildCounter()
                        .Name("gateway_rate_limited_total")
                        .Help("Requests refused by a rate limit, by the bucket that refused.")
                        .Register(registry)),
      rate_limit_checks_(prometheus::BuildCounter()
                             .Name("gateway_rate_limit_checks_total")
                             .Help("Rate limit decisions, by backend (redis, or local while Redis "
                                   "is down).")
                             .Register(registry)),
      connections_(&prometheus::BuildGauge()
                        .Name("http_server_connections")
                        .Help("Open HTTP connections.")
                        .Register(registry)
                        .Add({})),
      connections_rejected_(&prometheus::BuildCounter()
                                 .Name("http_server_connections_rejected_total")
                                 .Help("Connections refused with 503 at the connection limit.")
                                 .Register(registry)
                                 .Add({})) {}

prometheus::Counter* GatewayMetrics::RequestCounter(const std::string& method,
                                                    const std::string& route, int code) {
  return FindOrMake(request_counters_, std::make_tuple(method, route, code), [&] {
    return &requests_.Add({{"method", method}, {"route", route}, {"code", std::to_string(code)}});
  });
}

prometheus::Histogram* GatewayMetrics::DurationHistogram(const std::string& route) {
  return FindOrMake(durations_, route, [&] {
    return &duration_.Add({{"route", route}}, LatencyBuckets());
  });
}

prometheus::Counter* GatewayMetrics::UpstreamCounter(const std::string& service,
                                                     const std::string& method,
                                                     const std::string& code) {
  return FindOrMake(upstream_counters_, std::make_tuple(service, method, code), [&] {
    return &upstream_handled_.Add(
        {{"grpc_service", service}, {"grpc_method", method}, {"grpc_code", code}});
  });
}

prometheus::Histogram* GatewayMetrics::UpstreamHistogram(const std::string& service,
                                                         const std::string& method) {
  return FindOrMake(upstream_durations_, std::make_pair(service, method), [&] {
    return &upstream_seconds_.Add({{"grpc_service", service}, {"grpc_method", method}},
                                  LatencyBuckets());
  });
}

void GatewayMetrics::ObserveRequest(const std::string& method, const std::string& route, int code,
                                    std::chrono::steady_clock::duration elapsed) {
  RequestCounter(method, route, code)->Increment();
  DurationHistogram(route)->Observe(Seconds(elapsed));
}

GatewayMetrics::RouteHandles GatewayMetrics::HandlesFor(const std::string& http_method,
                                                        const std::string& route,
                                                        const std::string& service,
                                                        const std::string& rpc) {
  return {http_method, RequestCounter(http_method, route, 200), DurationHistogram(route),
          UpstreamCounter(service, rpc, "OK"), UpstreamHistogram(service, rpc)};
}

void GatewayMetrics::ObserveRequest(const RouteHandles& route, const std::string& method,
                                    const std::string& label, int code,
                                    std::chrono::steady_clock::duration elapsed) {
  prometheus::Counter* counter = code == 200 && method == route.http_method
                                     ? route.ok_requests
                                     : RequestCounter(method, label, code);
  counter->Increment();
  route.duration->Observe(Seconds(elapsed));
}

void GatewayMetrics::ObserveUpstream(const RouteHandles& route, const std::string& service,
                                     const std::string& rpc, std::string_view code,
                                     std::chrono::steady_clock::duration elapsed) {
  prometheus::Counter* counter =
      code == "OK" ? route.ok_upstream_calls : UpstreamCounter(service, rpc, std::string(code));
  counter->Increment();
  route.upstream_duration->Observe(Seconds(elapsed));
}

void GatewayMetrics::RateLimited(const std::string& scope) {
  FindOrMake(rate_limited_counters_, scope, [&] {
    return &rate_limited_.Add({{"scope", scope}});
  })->Increment();
}

void GatewayMetrics::RateLimitCheck(const std::string& backend) {
  FindOrMake(rate_limit_check_counters_, backend, [&] {
    return &rate_limit_checks_.Add({{"backend", backend}});
  })->Increment();
}

}  // namespace propdesk::gateway
