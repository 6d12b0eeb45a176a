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

#include "common/log.h"
#include "gateway/gateway.h"
#include "propdesk/testing/v1/echo.grpc.pb.h"
#include "support/gateway_harness.h"
#include "support/http_client.h"
#include "support/test_upstream.h"

namespace propdesk::gateway::bench {
namespace {

using Clock = std::chrono::steady_clock;
using test::HttpClient;

// One caller's loop body: makes one call, returns whether it succeeded.
using CallOnce = std::function<bool()>;
// Makes a caller (its own connection or stub state); called once per thread.
using CallerFactory = std::function<CallOnce()>;

struct Scenario {
  std::string name;       // "echo"
  CallerFactory direct;   // gRPC straight to the service
  CallerFactory gateway;  // HTTP/JSON through the gateway
};

struct Result {
  double throughput = 0;  // calls/s
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t calls = 0;
  int64_t failures = 0;
};

Result Measure(const CallerFactory& factory, int concurrency, std::chrono::milliseconds duration) {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(concurrency);
  std::vector<int64_t> failures(concurrency, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      CallOnce call = factory();
      latencies[t].reserve(200000);
      while (!stop.load(std::memory_order_relaxed)) {
        const auto start = Clock::now();
        const bool ok = call();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (!measuring.load(std::memory_order_relaxed)) continue;
        if (ok) {
          latencies[t].push_back(ms);
        } else {
          ++failures[t];
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm-up: connections, caches
  measuring = true;
  const auto started = Clock::now();
  std::this_thread::sleep_for(duration);
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  stop = true;
  for (std::thread& thread : threads) thread.join();

  std::vector<double> all;
  Result result;
  for (int t = 0; t < concurrency; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    result.failures += failures[t];
  }
  std::sort(all.begin(), all.end());
  result.calls = static_cast<int64_t>(all.size());
  result.throughput = static_cast<double>(all.size()) / elapsed;
  if (!all.empty()) {
    result.p50_ms = all[all.size() / 2];
    result.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return result;
}

std::map<std::string, std::string> ReadEnvFile() {
  std::map<std::string, std::string> out;
  const char* path = std::getenv("PROPDESK_TEST_ENV");
  if (path == nullptr) return out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

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

void Report(const std::string& scenario, const std::string& mode, int concurrency,
            const Result& r) {
  std::printf(
      "bench: gateway_%s_%s_c%d_throughput %.0f calls/s p50=%.3fms p99=%.3fms calls=%lld "
      "failures=%lld\n",
      scenario.c_str(), mode.c_str(), concurrency, r.throughput, r.p50_ms, r.p99_ms,
      static_cast<long long>(r.calls), static_cast<long long>(r.failures));
  std::fflush(stdout);
}

int Run() {
  const char* seconds_env = std::getenv("PROPDESK_BENCH_SECONDS");
  const std::chrono::milliseconds duration(
      static_cast<int64_t>(1000 * (seconds_env != nullptr ? std::atof(seconds_env) : 2.0)));

  std::vector<int> concurrencies = {1, 16, 64};
  if (const char* list = std::getenv("PROPDESK_BENCH_CONCURRENCY")) {
    concurrencies.clear();
    for (std::string_view rest = list; !rest.empty();) {
      const size_t comma = rest.find(',');
      concurrencies.push_back(std::atoi(std::string(rest.substr(0, comma)).c_str()));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }

  test::TestUpstream upstream;
  GatewayConfig config =
      test::TestGatewayConfig({{"testing", upstream.address()}}, test::TestingDescriptors());
  config.per_principal = {1e6, 1e6};
  config.per_site = {1e6, 1e6};
  config.log_level = common::LogLevel::kWarn;
  if (const char* threads = std::getenv("PROPDESK_BENCH_GATEWAY_THREADS"))
    config.threads = std::atoi(threads);
  const auto env = ReadEnvFile();
  std::string limiter = "in-process";
  if (env.count("PROPDESK_REDIS_PORT") > 0) {
    common::RedisOptions redis;
    redis.host = env.count("PROPDESK_REDIS_HOST") > 0 ? env.at("PROPDESK_REDIS_HOST") : "127.0.0.1";
    redis.port = std::stoi(env.at("PROPDESK_REDIS_PORT"));
    redis.pool_size = 64;
    config.redis = redis;
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
      const Result direct = Measure(scenario.direct, concurrency, duration);
      Report(scenario.name, "direct", concurrency, direct);
      const Result via = Measure(scenario.gateway, concurrency, duration);
      Report(scenario.name, "via_gateway", concurrency, via);
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
}  // namespace propdesk::gateway::bench

int main() { return propdesk::gateway::bench::Run(); }
