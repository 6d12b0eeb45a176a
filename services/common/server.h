#pragma once

// The gRPC server every service runs (ARCHITECTURE.md §4, §10, §12): callback
// API, the standard health service (one status per service name plus "" for
// the whole server), server reflection, the RPC metrics interceptor, sane
// message-size and keepalive limits; and the process lifecycle:
// SIGTERM/SIGINT → health NOT_SERVING → Shutdown(now + grace) → executor
// drained → main returns 0. A service's main only wires things:
//
//   int main() {
//     const Env env = Env::Process();
//     CommonConfig config = LoadConfigOrExit("tickets", [&] {
//       return LoadCommonConfig("tickets", env); });
//     auto logger = std::make_shared<const Logger>("tickets", config.log_level);
//     SetDefaultLogger(logger);
//     SetErrorDomain("tickets.propdesk");
//     MysqlPool mysql(ParseMysqlDsn(config.mysql_dsn));
//     RedisClient redis(ParseRedisAddr(config.redis_addr));
//     BlockingExecutor executor(config.executor_threads, config.executor_queue);
//     JwtVerifier verifier(config.jwt);
//     MetricsServer metrics("tickets", config.metrics_port);
//     CallEnv call_env{&executor, &verifier, logger.get()};
//     TicketsService service(call_env, …);
//     GrpcServer server({.port = config.grpc_port,
//                        .health_names = {TicketService::service_full_name()}},
//                       {&service}, &metrics.registry(), logger.get());
//     ReadinessProber readiness({{"mysql", [&] { return mysql.Ping(); }},
//                                {"redis", [&] { return redis.Ping(); }}},
//                               config.readiness_interval,
//                               [&](bool ready) { server.SetServing(ready); }, logger.get());
//     RunUntilSignal(server, executor, &readiness, config.shutdown_grace, *logger);
//     return 0;
//   }

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/grpc_metrics.h"
#include "common/log.h"
#include "common/readiness.h"

namespace propdesk::common {

// Debian builds Abseil without NDEBUG, so every absl::Mutex that gRPC locks
// also records lock-order graphs for deadlock detection (measured: 2–4 % of
// a busy service's CPU). A diagnostic for Abseil's own tests, not for
// serving: every process that makes or serves gRPC calls turns it off at
// start-up (GrpcServer does it itself).
void DisableMutexDeadlockDetection();

struct GrpcServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0 = any free port; GrpcServer::port() tells which
  // Fully-qualified names (e.g. "propdesk.tickets.v1.TicketService") whose
  // health status the server sets; "" (the whole server) is always set.
  std::vector<std::string> health_names;
  int max_receive_message_bytes = 4 * 1024 * 1024;
  int max_send_message_bytes = 16 * 1024 * 1024;
  // The server pings an idle connection this often and drops it when no
  // answer comes within the timeout (dead peers behind NAT, killed pods).
  std::chrono::milliseconds keepalive_time{std::chrono::seconds(60)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(20)};
  // Clients (the gateway) may ping this often without being told
  // "too_many_pings".
  std::chrono::milliseconds min_client_ping_interval{std::chrono::seconds(10)};
  // Connections are recycled after this long so new replicas get traffic
  // behind a Kubernetes Service; in-flight calls get the grace to finish.
  std::chrono::milliseconds max_connection_age{std::chrono::minutes(5)};
  std::chrono::milliseconds max_connection_age_grace{std::chrono::seconds(30)};
  // Starts every health name (and "") NOT_SERVING until SetServing(true),
  // so a replica gets no traffic before its readiness probes pass.
  bool start_not_serving = true;
};

class GrpcServer {
 public:
  // Builds and starts the server with `services` (callback or sync services
  // the caller keeps alive until the server is destroyed). `metrics_registry`
  // (optional) receives the grpc_server_* metrics. Throws
  // Error(kUnavailable, "GRPC_PORT_UNAVAILABLE") when the port cannot be bound.
  GrpcServer(GrpcServerOptions options, const std::vector<grpc::Service*>& services,
             prometheus::Registry* metrics_registry, const Logger* logger = nullptr);
  ~GrpcServer();  // Shutdown(now) if not yet shut down

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const { return port_; }
  grpc::Server& server() { return *server_; }

  // Health of every name in options.health_names and of "" (ignored once
  // shutting down).
  void SetServing(bool serving);

  // Health NOT_SERVING for all names, stops accepting calls, waits for
  // in-flight calls until `deadline`, then cancels those left. Blocks until
  // every call's reactor has finished, so the executor running them must
  // still be up. Idempotent.
  void Shutdown(std::chrono::system_clock::time_point deadline);

 private:
  const GrpcServerOptions options_;
  const Logger* const logger_;
  std::unique_ptr<GrpcServerMetrics> metrics_;  // outlives server_'s interceptors
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_
};

// Catches SIGTERM and SIGINT for the process (installing the handlers on
// construction); Wait() returns once one arrived or Trigger() was called.
// Signals are turned into a byte on a pipe, the only async-signal-safe way.
class ShutdownSignal {
 public:
  ShutdownSignal();
  // Blocks until a signal or Trigger(); returns the signal number (0 for
  // Trigger()).
  int Wait();
  // Wakes Wait() as a signal would (tests, or an internal fatal condition).
  void Trigger();
};

// The graceful stop: readiness stopped, health NOT_SERVING, server shut down
// with `grace` for in-flight calls, executor drained (every queued task run).
void GracefulStop(GrpcServer& server, BlockingExecutor& executor, ReadinessProber* readiness,
                  std::chrono::milliseconds grace, const Logger& logger);

// Blocks until SIGTERM/SIGINT, then GracefulStop. Main returns 0 after it.
void RunUntilSignal(GrpcServer& server, BlockingExecutor& executor, ReadinessProber* readiness,
                    std::chrono::milliseconds grace, const Logger& logger);

}  // namespace propdesk::common
