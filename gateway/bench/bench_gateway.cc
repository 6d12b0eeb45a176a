// bench_gateway: the same operation called directly over gRPC and through the
// gateway (HTTP/JSON), at 1, 16 and 64 concurrent callers; prints one line per
// figure (`bench: <name> <value> <unit> [details]`, tests/bench/run.sh).
//
// Scenario today: EchoService.Echo of the in-process test upstream (it
// verifies the JWT on every call, like a real service). Adding the tickets
// service's create/get means adding Scenarios that point at it; the
// measuring code does not change.
//
// Everything runs in this process (load generator, gateway, upstream) on the
// same cores, as `make bench` runs on a 2-core machine: absolute numbers are
// what one box does; the gateway-vs-direct ratio is the figure to watch
// (targets: p50 overhead <= 1 ms, throughput >= 0.7 x direct).
//
// Environment: PROPDESK_BENCH_SECONDS (per measurement, default 2);
// PROPDESK_BENCH_CONCURRENCY (comma-separated, default 1,16,64);
// PROPDESK_BENCH_GATEWAY_THREADS (the gateway's I/O threads, default 2);
// PROPDESK_TEST_ENV (set by run.sh): when it names a Redis, the gateway's
// rate limits use it, as in production.

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/load.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "propdesk/testing/v1/echo.grpc.pb.h"
#include "support/gateway_harness.h"
#include "support/http_client.h"
#include "support/test_env.h"
#include "support/test_upstream.h"

namespace propdesk::gateway {
namespace {

using Clock = std::chrono::steady_clock;
using bench::CallerFactory;
using bench::CallOnce;
using bench::LoadResult;
using test::HttpClient;

struct Scenario {
  std::string name;       // "echo"
  CallerFactory direct;   // gRPC straight to the service
  CallerFactory gateway;  // HTTP/JSON through the gateway
};

CallerFactory DirectEcho(std::shared_ptr<grpc::Channel> channel, std::string token) {
  return [channel, token] {
    auto stub = ::propdesk::testing::v1::EchoService::NewStub(channel);
    return CallOnce([stub = std::shared_ptr(std::move(stub)), token] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + token);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      ::propdesk::testing::v1::EchoRequest request;
      request.set_site_id("s1");
      request.set_message("bench");
      ::propdesk::testing::v1::EchoResponse response;
      return stub->Echo(&context, request, &response).ok();
    });
  };
}

CallerFactory GatewayEcho(int port, std::string token) {
  return [port, token] {
    auto client = std::make_shared<HttpClient>(port);
    const test::Headers headers = {{"Authorization", "Bearer " + token}};
    return CallOnce([client, headers] {
      return client->Send("POST", "/v1/sites/s1/echoes", R"({"message":"bench"})", headers)
                 .status == 200;
    });
  };
}

int Run() {
  const std::chrono::milliseconds duration = bench::BenchDuration();
  const std::vector<int> concurrencies = bench::BenchConcurrencies();

  test::TestUpstream upstream;
  GatewayConfig config =
      test::TestGatewayConfig({{"testing", upstream.address()}}, test::TestingDescriptors());
  config.per_principal = {1e6, 1e6};
  config.per_site = {1e6, 1e6};
  config.log_level = common::LogLevel::kWarn;
  if (const char* threads = std::getenv("PROPDESK_BENCH_GATEWAY_THREADS"))
    config.threads = std::atoi(threads);
  std::string limiter = "in-process";
  if (std::getenv("PROPDESK_TEST_ENV") != nullptr) {  // under run.sh: the harness's Redis
    config.redis = propdesk::testing::SharedRedis(/*pool_size=*/64);
    limiter = "redis";
  }
  auto logger = std::make_shared<const common::Logger>("gateway", common::LogLevel::kWarn);
  Gateway gateway(config, logger, std::make_shared<prometheus::Registry>());
  gateway.Start();
  if (!gateway.WaitUntilReady(std::chrono::seconds(10))) {
    std::fprintf(stderr, "bench_gateway: the upstream did not become ready\n");
    return 1;
  }
  std::printf("bench: gateway_setup 1 info rate_limiter=%s threads=%d seconds=%.1f\n",
              limiter.c_str(), config.threads, duration.count() / 1000.0);

  const std::string token = test::MakeToken({.lifetime = std::chrono::hours(1)});
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // its own connection, not the gateway's
  auto channel =
      grpc::CreateCustomChannel(upstream.address(), grpc::InsecureChannelCredentials(), args);

  const std::vector<Scenario> scenarios = {
      {"echo", DirectEcho(channel, token), GatewayEcho(gateway.port(), token)},
  };
  for (const Scenario& scenario : scenarios) {
    for (const int concurrency : concurrencies) {
      const std::string prefix = "gateway_" + scenario.name + "_";
      const std::string suffix = "_c" + std::to_string(concurrency);
      const LoadResult direct = bench::MeasureLoad(scenario.direct, concurrency, duration);
      bench::PrintLoad(prefix + "direct" + suffix, direct);
      const LoadResult via = bench::MeasureLoad(scenario.gateway, concurrency, duration);
      bench::PrintLoad(prefix + "via_gateway" + suffix, via);
      std::printf("bench: gateway_%s_c%d_p50_overhead %.3f ms (target <= 1 ms)\n",
                  scenario.name.c_str(), concurrency, via.p50_ms - direct.p50_ms);
      std::printf("bench: gateway_%s_c%d_throughput_ratio %.2f x_direct (target >= 0.7)\n",
                  scenario.name.c_str(), concurrency,
                  direct.throughput > 0 ? via.throughput / direct.throughput : 0.0);
      std::fflush(stdout);
    }
  }
  gateway.Shutdown(Clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace
}  // namespace propdesk::gateway

int main() { return propdesk::gateway::Run(); }
