#include "tickets/testing/tickets_harness.h"

#include "common/migrations.h"
#include "support/test_env.h"

namespace propdesk::tickets::testing {

void PrepareDatabase(common::MysqlPool& pool, const std::vector<SiteRecord>& sites) {
  common::ApplyMigrations(pool, {{"common", PROPDESK_SOURCE_DIR "/services/common/migrations"},
                                 {"tickets", PROPDESK_SOURCE_DIR "/services/tickets/migrations"}});
  MysqlTicketStore store;
  pool.WithTransaction([&](common::MysqlConnection& tx) {
    for (const SiteRecord& site : sites) store.UpsertSite(tx, site);
  });
}

TicketsHarness::TicketsHarness(HarnessOptions options) {
  pool_ = std::make_unique<common::MysqlPool>(
      propdesk::testing::FreshDatabase(options.database_prefix, options.pool_size));
  PrepareDatabase(*pool_, options.sites);
  redis_ = std::make_unique<common::RedisClient>(propdesk::testing::SharedRedis(options.pool_size));
  executor_ =
      std::make_unique<common::BlockingExecutor>(options.executor_threads, options.executor_queue);
  common::JwtConfig jwt;
  jwt.hs256_secret = kHarnessSecret;
  jwt.audience = "propdesk";
  verifier_ = std::make_unique<common::JwtVerifier>(jwt);
  registry_ = std::make_unique<prometheus::Registry>();
  metrics_ = std::make_unique<TicketsMetrics>(*registry_);
  service_ = std::make_unique<TicketsServiceImpl>(
      common::CallEnv{executor_.get(), verifier_.get(), nullptr}, *pool_, redis_.get(), store_,
      metrics_.get());
  common::GrpcServerOptions server_options;
  server_options.host = "127.0.0.1";
  server_options.start_not_serving = false;
  server_ = std::make_unique<common::GrpcServer>(
      server_options, std::vector<grpc::Service*>{service_.get()}, registry_.get());
}

TicketsHarness::~TicketsHarness() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

std::shared_ptr<grpc::Channel> TicketsHarness::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
}

std::string TicketsHarness::Token(const TokenSpec& spec) {
  const auto now = std::chrono::system_clock::now();
  common::JwtClaims claims;
  claims.subject = spec.subject;
  claims.group = spec.group;
  claims.audience = "propdesk";
  claims.sites = spec.sites;
  claims.roles = spec.roles;
  claims.issued_at = now - std::chrono::minutes(1);
  claims.expires_at = now + spec.lifetime;
  return common::SignJwtHs256(claims, kHarnessSecret);
}

}  // namespace propdesk::tickets::testing
