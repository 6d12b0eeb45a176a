#pragma once

// The gateway's configuration (ARCHITECTURE.md §11), from the environment:
//
//   HTTP_PORT                 required; 0 = any free port (tests)
//   HTTP_HOST                 default 0.0.0.0
//   METRICS_PORT              optional; /metrics is always on HTTP_PORT too
//   GATEWAY_UPSTREAMS         required; name=host:port,… — "tickets" serves
//                             the services of package propdesk.tickets.*;
//                             a full service name also works as the name
//   GATEWAY_DESCRIPTORS       required; comma-separated descriptor set files
//                             or directories (every *.pb in them)
//   JWT_HS256_SECRET | JWT_RS256_PUBLIC_KEY_FILE, JWT_AUDIENCE (default
//   "propdesk"), JWT_ISSUER, JWT_LEEWAY_SECONDS (0-300, default 30) — as
//   every service reads them (common/config.h)
//   REDIS_ADDR                host:port of the rate-limit Redis; unset =
//                             in-process limits only (one replica, dev)
//   GATEWAY_RATE_PRINCIPAL    requests/s per principal, default 50
//   GATEWAY_BURST_PRINCIPAL   bucket size per principal, default 2 × rate
//   GATEWAY_RATE_SITE         requests/s per site, default 200
//   GATEWAY_BURST_SITE        bucket size per site, default 2 × rate
//   GATEWAY_CORS_ORIGINS      comma-separated origins allowed (or "*");
//                             default none
//   GATEWAY_MAX_BODY_BYTES    default 65536 (64 KiB)
//   GATEWAY_MAX_HEADER_BYTES  default 16384
//   GATEWAY_MAX_CONNECTIONS   default 1024; more get 503
//   GATEWAY_MAX_PAGE_SIZE     default 100; larger page_size values are lowered
//   GATEWAY_THREADS           HTTP I/O threads (an event loop each), default 2
//   GATEWAY_UPSTREAM_THREADS  threads that complete upstream calls and send
//                             their responses, default 1 (upstreams.h)
//   GATEWAY_IDLE_TIMEOUT      keep-alive idle time, default 60s
//   GATEWAY_READ_TIMEOUT      time to receive a request once it started
//                             (slow clients), default 10s
//   GATEWAY_WRITE_TIMEOUT     time to send a response, default 10s
//                             (the three are checked every 1/8 of the
//                             shortest, 10-250 ms: up to that much late)
//   GATEWAY_DEFAULT_TIMEOUT   upstream deadline without grpc-timeout, default 10s
//   GATEWAY_MAX_TIMEOUT       the largest grpc-timeout honoured, default 60s
//   READINESS_INTERVAL_MS     upstream health checks, default 1000
//   SHUTDOWN_GRACE_SECONDS    in-flight requests get this long after
//                             SIGTERM, default 20
//   LOG_LEVEL                 debug | info | warn | error, default info
// Durations take "<n>ms", "<n>s", "<n>m" or a bare number of milliseconds.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/redis.h"
#include "gateway/rate_limiter.h"
#include "gateway/upstreams.h"

namespace propdesk::gateway {

struct GatewayConfig {
  std::string http_host = "0.0.0.0";
  int http_port = 0;
  std::optional<int> metrics_port;
  std::vector<UpstreamConfig> upstreams;
  std::vector<std::string> descriptor_paths;
  common::JwtConfig jwt;
  std::optional<common::RedisOptions> redis;
  RateLimit per_principal{50, 100};
  RateLimit per_site{200, 400};
  std::chrono::milliseconds redis_retry_pause{1000};
  std::vector<std::string> cors_origins;  // "*" allows any
  std::chrono::seconds cors_max_age{600};
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int max_connections = 1024;
  int max_page_size = 100;
  int threads = 2;
  int upstream_threads = 1;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds default_timeout{10000};
  std::chrono::milliseconds max_timeout{60000};
  std::chrono::milliseconds readiness_interval{1000};
  std::chrono::milliseconds shutdown_grace{20000};
  common::LogLevel log_level = common::LogLevel::kInfo;
};

// Throws Error(kInvalidArgument, "BAD_CONFIG") naming the first bad variable.
GatewayConfig LoadGatewayConfig(const common::Env& env);

// JWT_* as every service reads them.
using common::LoadJwtConfig;

}  // namespace propdesk::gateway
