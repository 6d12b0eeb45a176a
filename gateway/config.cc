#include "gateway/config.h"

#include <fstream>
#include <sstream>

namespace propdesk::gateway {
namespace {

using common::Env;

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t start = item.find_first_not_of(' ');
    const size_t end = item.find_last_not_of(' ');
    if (start != std::string::npos) out.push_back(item.substr(start, end - start + 1));
  }
  return out;
}

RateLimit LoadRateLimit(const Env& env, const std::string& rate_name, const std::string& burst_name,
                        int default_rate) {
  RateLimit limit;
  limit.per_second = static_cast<double>(env.Int(rate_name, 1, 1000000, default_rate));
  limit.burst = static_cast<double>(
      env.Int(burst_name, 1, 2000000, static_cast<int64_t>(limit.per_second) * 2));
  return limit;
}

common::RedisOptions LoadRedis(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  int port = 0;
  if (colon != std::string::npos && colon > 0) {
    try {
      size_t used = 0;
      port = std::stoi(addr.substr(colon + 1), &used);
      if (used != addr.size() - colon - 1) port = 0;
    } catch (const std::exception&) {
      port = 0;
    }
  }
  if (port < 1 || port > 65535) throw Env::Bad("REDIS_ADDR", "must be host:port");
  common::RedisOptions options;
  options.host = addr.substr(0, colon);
  options.port = port;
  // A request that needs a new lease waits for one round trip: keep a dead
  // Redis from holding it for long (the limiter then goes local).
  options.command_timeout = std::chrono::milliseconds(200);
  options.connect_timeout = std::chrono::milliseconds(200);
  options.checkout_timeout = std::chrono::milliseconds(200);
  options.pool_size = 16;
  return options;
}

std::chrono::milliseconds Duration(const Env& env, const std::string& name,
                                   std::chrono::milliseconds fallback) {
  return env.DurationMs(name, std::chrono::milliseconds(1), std::chrono::hours(1), fallback);
}

}  // namespace

GatewayConfig LoadGatewayConfig(const Env& env) {
  GatewayConfig c;
  c.http_port = env.Port("HTTP_PORT", /*allow_zero=*/true);
  c.http_host = env.Optional("HTTP_HOST", "0.0.0.0");
  if (env.Get("METRICS_PORT")) c.metrics_port = env.Port("METRICS_PORT", /*allow_zero=*/true);
  c.upstreams = ParseUpstreams(env.Required("GATEWAY_UPSTREAMS"));
  c.descriptor_paths = SplitList(env.Required("GATEWAY_DESCRIPTORS"));
  if (c.descriptor_paths.empty()) throw Env::Bad("GATEWAY_DESCRIPTORS", "names no file");
  c.jwt = LoadJwtConfig(env);
  if (std::optional<std::string> redis = env.Get("REDIS_ADDR")) c.redis = LoadRedis(*redis);
  c.per_principal = LoadRateLimit(env, "GATEWAY_RATE_PRINCIPAL", "GATEWAY_BURST_PRINCIPAL", 50);
  c.per_site = LoadRateLimit(env, "GATEWAY_RATE_SITE", "GATEWAY_BURST_SITE", 200);
  if (std::optional<std::string> origins = env.Get("GATEWAY_CORS_ORIGINS")) {
    c.cors_origins = SplitList(*origins);
  }
  c.max_body_bytes =
      static_cast<size_t>(env.Int("GATEWAY_MAX_BODY_BYTES", 1024, 16 << 20, 64 * 1024));
  c.max_header_bytes =
      static_cast<size_t>(env.Int("GATEWAY_MAX_HEADER_BYTES", 1024, 1 << 20, 16 * 1024));
  c.max_connections = static_cast<int>(env.Int("GATEWAY_MAX_CONNECTIONS", 1, 1000000, 1024));
  c.max_page_size = static_cast<int>(env.Int("GATEWAY_MAX_PAGE_SIZE", 1, 100000, 100));
  c.threads = static_cast<int>(env.Int("GATEWAY_THREADS", 1, 256, 2));
  c.upstream_threads = static_cast<int>(env.Int("GATEWAY_UPSTREAM_THREADS", 1, 64, 1));
  c.idle_timeout = Duration(env, "GATEWAY_IDLE_TIMEOUT", c.idle_timeout);
  c.read_timeout = Duration(env, "GATEWAY_READ_TIMEOUT", c.read_timeout);
  c.write_timeout = Duration(env, "GATEWAY_WRITE_TIMEOUT", c.write_timeout);
  c.default_timeout = Duration(env, "GATEWAY_DEFAULT_TIMEOUT", c.default_timeout);
  c.max_timeout = Duration(env, "GATEWAY_MAX_TIMEOUT", c.max_timeout);
  if (c.default_timeout > c.max_timeout) {
    throw Env::Bad("GATEWAY_DEFAULT_TIMEOUT", "is longer than GATEWAY_MAX_TIMEOUT");
  }
  c.readiness_interval = env.DurationMs("READINESS_INTERVAL_MS", std::chrono::milliseconds(50),
                                        std::chrono::minutes(1), c.readiness_interval);
  c.shutdown_grace = std::chrono::seconds(env.Int("SHUTDOWN_GRACE_SECONDS", 0, 300, 20));
  c.log_level = env.Enum<common::LogLevel>("LOG_LEVEL",
                                           {{"debug", common::LogLevel::kDebug},
                                            {"info", common::LogLevel::kInfo},
                                            {"warn", common::LogLevel::kWarn},
                                            {"error", common::LogLevel::kError}},
                                           common::LogLevel::kInfo);
  return c;
}

}  // namespace propdesk::gateway
