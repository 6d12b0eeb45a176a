#include "common/config.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace propdesk::common {
namespace {

// Echoing a value helps find a typo; a long one is cut so the line stays short.
std::string Quoted(const std::string& value) {
  constexpr size_t kMaxEcho = 40;
  if (value.size() <= kMaxEcho) return "\"" + value + "\"";
  return "\"" + value.substr(0, kMaxEcho) + "…\"";
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::string ReadFileOrThrow(const std::string& variable, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Env::Bad(variable, "names a file that cannot be read: " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void CheckRedisAddr(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw Env::Bad("REDIS_ADDR", "must be host:port, got " + Quoted(addr));
  }
  const std::optional<int64_t> port = ParseInt64(std::string_view(addr).substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) {
    throw Env::Bad("REDIS_ADDR", "must end in a port 1-65535, got " + Quoted(addr));
  }
}

}  // namespace

JwtConfig LoadJwtConfig(const Env& env) {
  JwtConfig jwt;
  const std::optional<std::string> secret = env.Get("JWT_HS256_SECRET");
  const std::optional<std::string> key_file = env.Get("JWT_RS256_PUBLIC_KEY_FILE");
  if (secret && key_file) {
    throw Env::Bad("JWT_HS256_SECRET",
                   "and JWT_RS256_PUBLIC_KEY_FILE are both set; set exactly one");
  }
  if (!secret && !key_file) {
    throw Env::Bad("JWT_HS256_SECRET",
                   "or JWT_RS256_PUBLIC_KEY_FILE must be set (HS256 secret for development, "
                   "RS256 public key file for production)");
  }
  if (secret) {
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash.
    constexpr size_t kMinSecretBytes = 32;
    if (secret->size() < kMinSecretBytes) {
      throw Env::Bad("JWT_HS256_SECRET",
                     "must be at least 32 bytes long (got " + std::to_string(secret->size()) + ")");
    }
    jwt.hs256_secret = *secret;
  } else {
    jwt.rs256_public_key_pem = ReadFileOrThrow("JWT_RS256_PUBLIC_KEY_FILE", *key_file);
    if (jwt.rs256_public_key_pem.find("-----BEGIN PUBLIC KEY-----") == std::string::npos) {
      throw Env::Bad(
          "JWT_RS256_PUBLIC_KEY_FILE",
          "must name a PEM file with a \"-----BEGIN PUBLIC KEY-----\" block: " + *key_file);
    }
  }
  jwt.audience = env.Optional("JWT_AUDIENCE", "propdesk");
  jwt.issuer = env.Optional("JWT_ISSUER", "");
  jwt.leeway = std::chrono::seconds(env.Int("JWT_LEEWAY_SECONDS", 0, 300, 30));
  return jwt;
}

Env Env::Process() {
  return Env([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

Env Env::FromMap(std::map<std::string, std::string> values) {
  return Env([values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  });
}

Error Env::Bad(const std::string& name, const std::string& what_is_wrong) {
  return Error(ErrorKind::kInvalidArgument, "BAD_CONFIG", name + " " + what_is_wrong,
               {{"variable", name}});
}

Error Env::BadEnum(const std::string& name, const std::string& value,
                   const std::vector<std::string>& spellings) {
  std::string list;
  for (const std::string& spelling : spellings) {
    if (!list.empty()) list += ", ";
    list += spelling;
  }
  return Bad(name, "must be one of " + list + "; got " + Quoted(value));
}

std::optional<std::string> Env::Get(const std::string& name) const {
  std::optional<std::string> value = lookup_(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::string Env::Required(const std::string& name) const {
  std::optional<std::string> value = Get(name);
  if (!value) throw Bad(name, "is required but not set");
  return *value;
}

std::string Env::Optional(const std::string& name, std::string fallback) const {
  return Get(name).value_or(std::move(fallback));
}

int Env::Port(const std::string& name, bool allow_zero) const {
  if (!Get(name)) throw Bad(name, "is required but not set");
  return Port(name, allow_zero, 0);
}

int Env::Port(const std::string& name, bool allow_zero, int fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  const std::optional<int64_t> port = ParseInt64(*value);
  const int64_t min = allow_zero ? 0 : 1;
  if (!port || *port < min || *port > 65535) {
    throw Bad(name, std::string("must be a port number ") +
                        (allow_zero ? "0-65535 (0 = any free port)" : "1-65535") + ", got " +
                        Quoted(*value));
  }
  return static_cast<int>(*port);
}

int64_t Env::Int(const std::string& name, int64_t min, int64_t max) const {
  if (!Get(name)) throw Bad(name, "is required but not set");
  return Int(name, min, max, min);
}

int64_t Env::Int(const std::string& name, int64_t min, int64_t max, int64_t fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  const std::optional<int64_t> number = ParseInt64(*value);
  if (!number || *number < min || *number > max) {
    throw Bad(name, "must be an integer " + std::to_string(min) + "-" + std::to_string(max) +
                        ", got " + Quoted(*value));
  }
  return *number;
}

std::chrono::milliseconds Env::DurationMs(const std::string& name, std::chrono::milliseconds min,
                                          std::chrono::milliseconds max,
                                          std::chrono::milliseconds fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  std::string_view text = *value;
  int64_t unit_ms = 1;
  if (text.ends_with("ms")) {
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
    unit_ms = 1000;
  } else if (text.ends_with("m")) {
    text.remove_suffix(1);
    unit_ms = 60'000;
  }
  const std::optional<int64_t> count = ParseInt64(text);
  const std::string range =
      std::to_string(min.count()) + "ms-" + std::to_string(max.count()) + "ms";
  // The bound check happens before multiplying, so no overflow is possible.
  if (!count || *count < 0 || *count > max.count() / unit_ms || *count * unit_ms < min.count()) {
    throw Bad(name, "must be a duration " + range + " written as <n>, <n>ms, <n>s or <n>m, got " +
                        Quoted(*value));
  }
  return std::chrono::milliseconds(*count * unit_ms);
}

CommonConfig LoadCommonConfig(std::string service, const Env& env) {
  CommonConfig config;
  config.service_name = std::move(service);
  config.grpc_port = env.Port("GRPC_PORT", /*allow_zero=*/true);
  config.metrics_port = env.Port("METRICS_PORT", /*allow_zero=*/true);
  config.mysql_dsn = env.Required("MYSQL_DSN");
  if (!config.mysql_dsn.starts_with("mysql://")) {
    throw Env::Bad("MYSQL_DSN", "must start with mysql:// (mysql://user:password@host:port/db)");
  }
  config.redis_addr = env.Required("REDIS_ADDR");
  CheckRedisAddr(config.redis_addr);
  config.jwt = LoadJwtConfig(env);
  config.log_level = env.Enum<LogLevel>("LOG_LEVEL",
                                        {{"debug", LogLevel::kDebug},
                                         {"info", LogLevel::kInfo},
                                         {"warn", LogLevel::kWarn},
                                         {"error", LogLevel::kError}},
                                        LogLevel::kInfo);
  config.shutdown_grace = std::chrono::seconds(env.Int("SHUTDOWN_GRACE_SECONDS", 0, 300, 20));
  config.executor_threads = static_cast<int>(env.Int("EXECUTOR_THREADS", 1, 256, 8));
  config.executor_queue = static_cast<int>(env.Int("EXECUTOR_QUEUE", 1, 100'000, 512));
  config.readiness_interval =
      env.DurationMs("READINESS_INTERVAL_MS", std::chrono::milliseconds(50),
                     std::chrono::milliseconds(60'000), std::chrono::milliseconds(1000));
  return config;
}

std::string ConfigErrorLine(std::string_view service, std::exception_ptr error) {
  std::string reason;
  std::string variable;
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    reason = e.what();
    auto it = e.metadata().find("variable");
    if (it != e.metadata().end()) variable = it->second;
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
    reason = "unknown error while reading the configuration";
  }
  const Logger logger{std::string(service), LogLevel::kError, [](std::string_view) {}};
  if (variable.empty()) {
    return logger.FormatLine(LogLevel::kError, "bad configuration: " + reason, {}, {});
  }
  return logger.FormatLine(LogLevel::kError, "bad configuration: " + reason, {},
                           {{"variable", variable}});
}

void ExitWithConfigError(std::string_view service, std::exception_ptr error) {
  StderrSink()(ConfigErrorLine(service, std::move(error)));
  std::exit(2);
}

}  // namespace propdesk::common
