#pragma once

// Configuration from environment variables (ARCHITECTURE.md §11), checked
// at start-up: a bad or missing value stops the process with one line on
// stderr naming the variable and what is wrong, and exit code 2.
//
// Variables every service reads (LoadCommonConfig):
//   GRPC_PORT                  required; 1-65535, or 0 = any free port (tests)
//   METRICS_PORT               required; 1-65535, or 0 = any free port (tests);
//                              serves /metrics
//   MYSQL_DSN                  required; mysql://user:password@host:port/database
//                              [?pool=N&statement_timeout_ms=N&checkout_timeout_ms=N
//                              &connect_timeout_ms=N] (see common/mysql.h)
//   REDIS_ADDR                 required; host:port
//   JWT_HS256_SECRET           shared HS256 secret, at least 32 bytes (development)
//   JWT_RS256_PUBLIC_KEY_FILE  path of a PEM RS256 public key (production);
//                              exactly one of the two JWT_* key variables is set
//   JWT_AUDIENCE               default "propdesk"; tokens must carry it in `aud`
//   JWT_ISSUER                 optional; when set, tokens must carry it in `iss`
//   JWT_LEEWAY_SECONDS         0-300, default 30; clock skew allowed on exp/nbf
//   LOG_LEVEL                  debug | info | warn | error, default info
//   SHUTDOWN_GRACE_SECONDS     0-300, default 20; in-flight calls get this long
//                              after SIGTERM before they are cancelled
//   EXECUTOR_THREADS           1-256, default 8; blocking threads (size them to
//                              the MySQL pool)
//   EXECUTOR_QUEUE             1-100000, default 512; calls waiting for a thread
//                              before new ones get RESOURCE_EXHAUSTED
//   READINESS_INTERVAL_MS      50-60000 (or 250ms / 2s / 1m), default 1000; how
//                              often MySQL and Redis are pinged for readiness
// A variable set to the empty string counts as unset.

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/jwt.h"
#include "common/log.h"

namespace propdesk::common {

// Reads and checks variables. Each reader throws Error(kInvalidArgument,
// "BAD_CONFIG", "<NAME> <what is wrong>", {{"variable", NAME}}), whose
// message is the one-line reason printed at exit. Values of plain string
// variables are never echoed back (they may hold passwords).
class Env {
 public:
  // Returns the value of a variable, or nullopt when it is not set.
  using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

  explicit Env(Lookup lookup) : lookup_(std::move(lookup)) {}
  // The process environment (getenv).
  static Env Process();
  // A fixed map, for tests.
  static Env FromMap(std::map<std::string, std::string> values);

  // nullopt when unset or empty.
  std::optional<std::string> Get(const std::string& name) const;

  std::string Required(const std::string& name) const;
  std::string Optional(const std::string& name, std::string fallback) const;

  // A TCP port 1-65535; 0 too when `allow_zero` (documented "any free port").
  int Port(const std::string& name, bool allow_zero) const;
  int Port(const std::string& name, bool allow_zero, int fallback) const;

  // A decimal integer within [min, max].
  int64_t Int(const std::string& name, int64_t min, int64_t max) const;
  int64_t Int(const std::string& name, int64_t min, int64_t max, int64_t fallback) const;

  // "<n>" (milliseconds), "<n>ms", "<n>s" or "<n>m", within [min, max].
  std::chrono::milliseconds DurationMs(const std::string& name, std::chrono::milliseconds min,
                                       std::chrono::milliseconds max,
                                       std::chrono::milliseconds fallback) const;

  // One of the listed spellings (exact, case-sensitive).
  template <class E>
  E Enum(const std::string& name, const std::vector<std::pair<std::string, E>>& choices,
         E fallback) const {
    std::optional<std::string> value = Get(name);
    if (!value) return fallback;
    for (const auto& [spelling, choice] : choices) {
      if (*value == spelling) return choice;
    }
    std::vector<std::string> spellings;
    for (const auto& choice : choices) spellings.push_back(choice.first);
    throw BadEnum(name, *value, spellings);
  }

  // The error every reader throws; for checks main adds on its own.
  static Error Bad(const std::string& name, const std::string& what_is_wrong);

 private:
  static Error BadEnum(const std::string& name, const std::string& value,
                       const std::vector<std::string>& spellings);

  Lookup lookup_;
};

struct CommonConfig {
  std::string service_name;  // "tickets", …
  int grpc_port = 0;
  int metrics_port = 0;
  std::string mysql_dsn;   // parse with ParseMysqlDsn (common/mysql.h)
  std::string redis_addr;  // parse with ParseRedisAddr (common/redis.h)
  JwtConfig jwt;
  LogLevel log_level = LogLevel::kInfo;
  std::chrono::seconds shutdown_grace{20};
  int executor_threads = 8;
  int executor_queue = 512;
  std::chrono::milliseconds readiness_interval{1000};
};

// JWT_HS256_SECRET | JWT_RS256_PUBLIC_KEY_FILE, JWT_AUDIENCE, JWT_ISSUER,
// JWT_LEEWAY_SECONDS: the verifier settings every process (services and the
// gateway) reads the same way.
JwtConfig LoadJwtConfig(const Env& env);

// Reads the variables listed above. Throws Error(kInvalidArgument,
// "BAD_CONFIG") on the first bad or missing one.
CommonConfig LoadCommonConfig(std::string service, const Env& env);

// Writes the one-line reason and calls std::exit(2).
[[noreturn]] void ExitWithConfigError(std::string_view service, std::exception_ptr error);

// The one-line reason LoadConfigOrExit prints (a JSON log line), for tests.
std::string ConfigErrorLine(std::string_view service, std::exception_ptr error);

// Runs `load`; if it throws, writes one JSON log line naming the variable and
// the problem to stderr and exits the process with code 2. Typical main:
//   const Env env = Env::Process();
//   auto config = LoadConfigOrExit("tickets", [&] {
//     TicketsConfig c{LoadCommonConfig("tickets", env)};
//     c.mysql = ParseMysqlDsn(c.common.mysql_dsn);   // checked here too
//     return c;
//   });
template <class F>
auto LoadConfigOrExit(std::string_view service, F&& load) -> decltype(load()) {
  try {
    return load();
  } catch (...) {
    ExitWithConfigError(service, std::current_exception());
  }
}

}  // namespace propdesk::common
