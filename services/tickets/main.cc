// propdesk-tickets: wiring only (see common/server.h).

#include <chrono>
#include <memory>

#include "common/call.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/executor.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/mysql.h"
#include "common/outbox.h"
#include "common/readiness.h"
#include "common/redis.h"
#include "common/server.h"
#include "tickets/demo.h"
#include "tickets/gauges.h"
#include "tickets/mysql_store.h"
#include "tickets/scanner.h"
#include "tickets/service.h"

using namespace propdesk::common;  // NOLINT: main only wires

namespace {

struct TicketsConfig {
  CommonConfig common;
  std::string migrations_dir;
  std::string common_migrations_dir;
  bool demo_data = false;
  // GAUGE_REFRESH_MS (1s-10m, default 15s): how often the leader recomputes
  // the gauges of open work (tickets/gauges.h).
  std::chrono::milliseconds gauge_refresh = propdesk::tickets::kDefaultGaugeRefresh;
};

}  // namespace

int main() {
  const Env env = Env::Process();
  const TicketsConfig config = LoadConfigOrExit("tickets", [&] {
    TicketsConfig c;
    c.common = LoadCommonConfig("tickets", env);
    c.migrations_dir = env.Optional("MIGRATIONS_DIR", "/app/migrations/tickets");
    c.common_migrations_dir = env.Optional("COMMON_MIGRATIONS_DIR", "/app/migrations/common");
    c.demo_data = env.Int("DEMO_DATA", 0, 1, 0) == 1;
    c.gauge_refresh = env.DurationMs("GAUGE_REFRESH_MS", std::chrono::seconds(1),
                                     std::chrono::minutes(10), c.gauge_refresh);
    ParseMysqlDsn(c.common.mysql_dsn);
    ParseRedisAddr(c.common.redis_addr);
    return c;
  });
  auto logger = std::make_shared<const Logger>("tickets", config.common.log_level);
  SetDefaultLogger(logger);
  SetErrorDomain("tickets.propdesk");

  MysqlPool mysql(ParseMysqlDsn(config.common.mysql_dsn));
  RedisClient redis(ParseRedisAddr(config.common.redis_addr));
  ApplyMigrations(mysql,
                  {{"common", config.common_migrations_dir}, {"tickets", config.migrations_dir}});
  propdesk::tickets::MysqlTicketStore store;
  if (config.demo_data) {
    const int created = propdesk::tickets::SeedDemoData(mysql, store);
    logger->Info("demo data",
                 {{"site", propdesk::tickets::kDemoSiteId}, {"tickets_created", created}});
  }

  BlockingExecutor executor(config.common.executor_threads, config.common.executor_queue);
  JwtVerifier verifier(config.common.jwt);
  MetricsServer metrics("tickets", config.common.metrics_port);
  CallEnv call_env{&executor, &verifier, logger.get()};
  propdesk::tickets::TicketsMetrics tickets_metrics(metrics.registry());
  propdesk::tickets::TicketsServiceImpl service(call_env, mysql, &redis, store, &tickets_metrics);
  OutboxRelay relay(mysql, redis, "tickets");
  relay.Start();
  propdesk::tickets::DeadlineScanner scanner(mysql, store, std::chrono::seconds(1),
                                             &tickets_metrics);
  scanner.Start();
  propdesk::tickets::TicketGauges gauges(mysql, store, metrics.registry(), config.gauge_refresh);
  gauges.Start();

  GrpcServer server({.port = config.common.grpc_port,
                     .health_names = {propdesk::tickets::v1::TicketsService::service_full_name()}},
                    {&service}, &metrics.registry(), logger.get());
  ReadinessProber readiness(
      {{"mysql", [&] { return mysql.Ping(); }}, {"redis", [&] { return redis.Ping(); }}},
      config.common.readiness_interval, [&](bool ready) { server.SetServing(ready); },
      logger.get());
  RunUntilSignal(server, executor, &readiness, config.common.shutdown_grace, *logger);
  gauges.Stop();
  scanner.Stop();
  relay.Stop();
  return 0;
}
