#pragma once

// The tickets service wired as propdesk-tickets wires it (main.cc), but in
// this process, on a fresh database of the harness's MariaDB and on its
// Redis (tests/support/test_env.h), with a gRPC server on a free port. Used
// by the service's integration test, the gateway's end-to-end tests and the
// benchmarks, so all of them exercise the same wiring.

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/jwt.h"
#include "common/mysql.h"
#include "common/redis.h"
#include "common/server.h"
#include "tickets/metrics.h"
#include "tickets/mysql_store.h"
#include "tickets/service.h"

namespace propdesk::tickets::testing {

// HS256 secret the harness's verifier accepts (audience "propdesk").
inline constexpr char kHarnessSecret[] = "tickets-harness-secret-0123456789abcdef";

struct HarnessOptions {
  std::string database_prefix = "tickets";
  int pool_size = 16;
  int executor_threads = 8;  // propdesk-tickets' EXECUTOR_THREADS default
  int executor_queue = 1024;
  // Sites created up front: {site_id, group_id, code, name}.
  std::vector<SiteRecord> sites;
};

// Migrates a fresh database (common and tickets migrations) and creates
// `sites` in it: what propdesk-tickets finds at start-up in a deployment.
void PrepareDatabase(common::MysqlPool& pool, const std::vector<SiteRecord>& sites);

class TicketsHarness {
 public:
  explicit TicketsHarness(HarnessOptions options);
  ~TicketsHarness();  // shuts the server down (2 s grace)
  TicketsHarness(const TicketsHarness&) = delete;
  TicketsHarness& operator=(const TicketsHarness&) = delete;

  common::MysqlPool& pool() { return *pool_; }
  common::RedisClient& redis() { return *redis_; }
  MysqlTicketStore& store() { return store_; }
  TicketsMetrics& metrics() { return *metrics_; }
  prometheus::Registry& registry() { return *registry_; }
  const common::JwtConfig& jwt() const { return verifier_->config(); }
  int port() const { return server_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  // A channel of its own (not shared with other clients of this process).
  std::shared_ptr<grpc::Channel> NewChannel() const;

  struct TokenSpec {
    std::string subject = "staff-7";
    std::string group = "g1";
    std::vector<std::string> sites{"*"};
    std::vector<std::string> roles{"group_admin"};
    std::chrono::seconds lifetime{std::chrono::hours(1)};
  };
  // A token this harness's service accepts.
  static std::string Token(const TokenSpec& spec);
  static std::string Token() { return Token(TokenSpec{}); }

 private:
  std::unique_ptr<common::MysqlPool> pool_;
  std::unique_ptr<common::RedisClient> redis_;
  MysqlTicketStore store_;
  std::unique_ptr<common::BlockingExecutor> executor_;
  std::unique_ptr<common::JwtVerifier> verifier_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<TicketsMetrics> metrics_;
  std::unique_ptr<TicketsServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
};

}  // namespace propdesk::tickets::testing
