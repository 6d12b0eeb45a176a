#pragma once

// The gateway (ARCHITECTURE.md, issue 4): HTTP/JSON in front of every
// service, routes from the services' google.api.http rules.
//
// A request to /v1/… goes: CORS → route (404/405) → bearer JWT (401) →
// transcoding (400/415) → rate limits per principal and per site (429) →
// upstream call with a deadline, the caller's `authorization` and the
// request id → JSON response, or the upstream's status as an AIP-193
// error. The services verify the token again and enforce site scope (C-1):
// a site the caller may not see is their 404, not the gateway's.
// Built-in: /healthz, /readyz (every upstream SERVING), /metrics,
// /openapi.json.
//
// Construction loads the descriptors and builds the routes (throwing on
// any problem); Start() begins serving.

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/jwt.h"
#include "common/log.h"
#include "common/readiness.h"
#include "common/redis.h"
#include "gateway/config.h"
#include "gateway/descriptors.h"
#include "gateway/gateway_metrics.h"
#include "gateway/http_headers.h"
#include "gateway/http_types.h"
#include "gateway/rate_limiter.h"
#include "gateway/route_table.h"
#include "gateway/transcoder.h"
#include "gateway/upstreams.h"

namespace grpc {
class ClientContext;
class Status;
}  // namespace grpc

namespace propdesk::gateway {

class HttpServer;

class Gateway {
 public:
  // Throws Error(kInvalidArgument) for bad descriptors or routes (the
  // message lists every problem) or a bad JWT config.
  Gateway(GatewayConfig config, std::shared_ptr<const common::Logger> logger,
          std::shared_ptr<prometheus::Registry> registry);
  ~Gateway();  // Shutdown(now) if still serving

  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the HTTP port and starts serving and probing upstreams. Throws
  // Error(kUnavailable, "HTTP_PORT_UNAVAILABLE").
  void Start();
  // The HTTP port actually bound (after Start).
  int port() const;

  // Graceful stop: /readyz turns 503, no new connections, in-flight
  // requests get until `deadline`, the rest are cancelled (their clients get
  // 499/503), then every connection is closed. Idempotent.
  void Shutdown(std::chrono::steady_clock::time_point deadline);

  // Handles one request (the HTTP server calls this; tests may too).
  // `respond` is called exactly once, on this thread or an upstream
  // completion thread (UpstreamCompletions).
  void Handle(HttpRequest request, Respond respond);

  const RouteTable& routes() const { return routes_; }
  const Transcoder& transcoder() const { return *transcoder_; }
  const std::string& openapi_json() const { return openapi_json_; }
  // Whether every upstream answered SERVING in the last round of checks.
  bool ready() const;
  // Blocks until every upstream answered SERVING once (after Start), or
  // `timeout` passes; returns whether they did.
  bool WaitUntilReady(std::chrono::milliseconds timeout) const;
  // Upstream calls in flight.
  int in_flight() const;

 private:
  struct Call;

  std::string UpstreamFor(const google::protobuf::ServiceDescriptor& service) const;
  void HandleApi(const std::shared_ptr<Call>& call);
  void HandleBuiltIn(const std::shared_ptr<Call>& call, std::string_view path);
  void Preflight(const std::shared_ptr<Call>& call);
  common::Principal Authenticate(const HttpRequest& request) const;
  void CheckRateLimits(const common::Principal& principal, const std::string& site_id);
  void StartUpstreamCall(const std::shared_ptr<Call>& call, std::string binary,
                         std::chrono::milliseconds timeout);
  void OnUpstreamDone(const std::shared_ptr<Call>& call, const grpc::Status& status);
  // Adds X-Request-Id and CORS headers, records metrics, logs, responds.
  void Finish(const std::shared_ptr<Call>& call, HttpResponse response);
  bool OriginAllowed(std::string_view origin) const;
  std::string ReadyzBody(bool ready) const;

  const GatewayConfig config_;
  const std::shared_ptr<const common::Logger> logger_;
  const std::shared_ptr<prometheus::Registry> registry_;
  LoadedDescriptors descriptors_;
  RouteTable routes_;
  std::unique_ptr<Transcoder> transcoder_;
  Upstreams upstreams_;
  // Completes upstream calls; shut down once the last one has (Shutdown).
  UpstreamCompletions completions_;
  common::JwtVerifier verifier_;
  std::unique_ptr<common::RedisClient> redis_;  // null without REDIS_ADDR
  RateLimiter rate_limiter_;
  GatewayMetrics metrics_;
  // Each route's metric handles, made at start-up, read without a lock.
  std::unordered_map<const Route*, GatewayMetrics::RouteHandles> route_metrics_;
  std::string openapi_json_;
  std::unique_ptr<common::ReadinessProber> readiness_;
  std::unique_ptr<HttpServer> server_;

  std::mutex shutdown_mu_;  // one Shutdown at a time (signal handler thread vs destructor)
  std::atomic<bool> draining_{false};
  mutable std::mutex calls_mu_;
  std::condition_variable calls_done_;
  std::set<grpc::ClientContext*> active_calls_;  // guarded by calls_mu_
  bool shut_down_ = false;                       // guarded by calls_mu_
};

}  // namespace propdesk::gateway
