// propdesk-gateway: wiring only (see gateway.h).
//
//   propdesk-gateway               serve (configuration: config.h)
//   propdesk-gateway demo-tokens   print two development tokens signed with
//                                  JWT_HS256_SECRET, valid 12 h, as shell
//                                  assignments: GROUP_ADMIN_TOKEN (every site
//                                  of group $DEMO_GROUP, default "demo") and
//                                  SITE_TOKEN (a front desk of site
//                                  $DEMO_SITE only, default SZ01)

#include <prometheus/registry.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/errors.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/server.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/http_errors.h"

namespace {

using namespace propdesk;  // NOLINT: main only wires

int PrintDemoTokens() {
  const common::Env env = common::Env::Process();
  const common::JwtConfig jwt =
      common::LoadConfigOrExit("gateway", [&] { return gateway::LoadJwtConfig(env); });
  if (jwt.hs256_secret.empty()) {
    std::cerr << "demo-tokens needs JWT_HS256_SECRET (development only)\n";
    return 2;
  }
  const std::string site = env.Optional("DEMO_SITE", "SZ01");
  const auto now = std::chrono::system_clock::now();
  common::JwtClaims admin;
  admin.subject = "demo-admin";
  admin.group = env.Optional("DEMO_GROUP", "demo");
  admin.sites = {std::string(common::kAllSitesOfGroup)};
  admin.roles = {"group_admin"};
  admin.audience = jwt.audience;
  admin.issuer = jwt.issuer;
  admin.issued_at = now;
  admin.expires_at = now + std::chrono::hours(12);
  common::JwtClaims desk = admin;
  desk.subject = "demo-desk-" + site;
  desk.sites = {site};
  desk.roles = {"front_desk"};
  std::cout << "GROUP_ADMIN_TOKEN=" << common::SignJwtHs256(admin, jwt.hs256_secret) << "\n"
            << "SITE_TOKEN=" << common::SignJwtHs256(desk, jwt.hs256_secret) << "\n";
  return 0;
}

int Serve() {
  const common::Env env = common::Env::Process();
  gateway::GatewayConfig config =
      common::LoadConfigOrExit("gateway", [&] { return gateway::LoadGatewayConfig(env); });
  auto logger = std::make_shared<const common::Logger>("gateway", config.log_level);
  common::SetDefaultLogger(logger);
  common::SetErrorDomain(std::string(gateway::kGatewayErrorDomain));

  std::unique_ptr<common::MetricsServer> metrics_server;
  std::shared_ptr<prometheus::Registry> registry;
  try {
    if (config.metrics_port) {
      metrics_server = std::make_unique<common::MetricsServer>("gateway", *config.metrics_port);
      registry = metrics_server->shared_registry();
    } else {
      registry = std::make_shared<prometheus::Registry>();
    }
  } catch (...) {
    common::ExitWithConfigError("gateway", std::current_exception());
  }
  // Bad descriptors, routes or ports stop the process like bad config.
  std::unique_ptr<gateway::Gateway> gw;
  try {
    gw = std::make_unique<gateway::Gateway>(config, logger, registry);
    gw->Start();
  } catch (...) {
    common::ExitWithConfigError("gateway", std::current_exception());
  }
  common::ShutdownSignal signal;
  const int signo = signal.Wait();
  logger->Info("shutting down", {{"signal", signo}});
  gw->Shutdown(std::chrono::steady_clock::now() + config.shutdown_grace);
  logger->Info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "demo-tokens") return PrintDemoTokens();
  if (argc > 1) {
    std::cerr << "usage: propdesk-gateway [demo-tokens]\n";
    return 2;
  }
  return Serve();
}
