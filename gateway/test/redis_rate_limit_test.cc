// Rate limits in Redis: shared by every gateway replica through leases (most
// requests need no round trip), never more than the shared bucket holds, and
// never open when Redis is down (the in-process buckets take over). Uses the
// harness' Redis (and a private one for the outage).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/redis.h"
#include "gateway/rate_limiter.h"
#include "support/gateway_harness.h"
#include "support/test_env.h"
#include "support/test_upstream.h"

namespace propdesk::gateway::test {
namespace {

using namespace std::chrono_literals;
using Backend = RateLimiter::Backend;

BucketRequest Bucket(const std::string& name, RateLimit limit) {
  return {"propdesk:gateway:ratelimit:test:" + name + ":" + propdesk::testing::UniqueSuffix(),
          limit, "principal"};
}

TEST(RedisRateLimiter, ReplicasShareOneBucket) {
  common::RedisClient redis(propdesk::testing::SharedRedis());
  RateLimiter replica_a(&redis, 1s);
  RateLimiter replica_b(&redis, 1s);
  const BucketRequest bucket = Bucket("shared", {0.5, 3});
  Backend backend = Backend::kLocal;
  EXPECT_TRUE(replica_a.Acquire({bucket}, &backend).allowed);
  EXPECT_EQ(backend, Backend::kRedis);
  EXPECT_TRUE(replica_b.Acquire({bucket}).allowed);
  EXPECT_TRUE(replica_a.Acquire({bucket}).allowed);
  const RateDecision refused = replica_b.Acquire({bucket}, &backend);
  EXPECT_EQ(backend, Backend::kRedis);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.scope, "principal");
  EXPECT_GT(refused.retry_after, 1000ms);
  EXPECT_LE(refused.retry_after, 2000ms) << "one token at 0.5/s";
  // The bucket expires once it would be full again: no key lives forever.
  const common::RedisReply ttl = redis.Command({"PTTL", bucket.key});
  EXPECT_GT(ttl.integer, 0);
  EXPECT_LE(ttl.integer, 7000);
}

TEST(RedisRateLimiter, ARefusalOfOneBucketSpendsNoneOfTheOthers) {
  common::RedisClient redis(propdesk::testing::SharedRedis());
  RateLimiter limiter(&redis, 1s);
  const BucketRequest principal = Bucket("p", {0.5, 2});
  BucketRequest site = Bucket("s", {0.5, 1});
  site.scope = "site";
  EXPECT_TRUE(limiter.Acquire({principal, site}).allowed);
  const RateDecision refused = limiter.Acquire({principal, site});
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.scope, "site");
  EXPECT_TRUE(limiter.Acquire({principal}).allowed) << "the principal still has its second token";
  EXPECT_FALSE(limiter.Acquire({principal}).allowed);
}

TEST(RedisRateLimiter, TheScriptIsLoadedAgainAfterAFlush) {
  common::RedisClient redis(propdesk::testing::SharedRedis());
  RateLimiter limiter(&redis, 1s);
  const BucketRequest bucket = Bucket("flush", {100, 100});
  ASSERT_TRUE(limiter.Acquire({bucket}).allowed);
  ASSERT_FALSE(redis.Command({"SCRIPT", "FLUSH"}).is_error());
  Backend backend = Backend::kLocal;
  EXPECT_TRUE(limiter.Acquire({bucket}, &backend).allowed);
  EXPECT_EQ(backend, Backend::kRedis) << "NOSCRIPT → EVAL, not a fallback";
}

TEST(RedisRateLimiter, LeaseSizeIsATenthOfTheBurstCappedAt64OrFiftyMillisecondsOfRefill) {
  EXPECT_EQ(LeaseSize({50, 100}), 10);
  EXPECT_EQ(LeaseSize({200, 400}), 40);
  EXPECT_EQ(LeaseSize({1000, 1e6}), 64) << "50 ms of 1000/s is less than 64";
  EXPECT_EQ(LeaseSize({20000, 40000}), 1000) << "50 ms of 20,000/s";
  EXPECT_EQ(LeaseSize({1e6, 2e6}), 50000);
  EXPECT_EQ(LeaseSize({1e6, 1e5}), 10000) << "never more than a tenth of the burst";
  EXPECT_EQ(LeaseSize({0.5, 3}), 1) << "small buckets are exact";
  EXPECT_EQ(LeaseSize({0.5, 19}), 1);
}

// A bucket with a high rate leases 50 ms of it at a time: 3000 requests on
// a 20,000/s bucket take 3 leases of 1000 tokens, not 47 of 64.
TEST(RedisRateLimiter, AFastBucketLeasesFiftyMillisecondsOfItsRate) {
  common::RedisClient redis(propdesk::testing::SharedRedis());
  RateLimiter limiter(&redis, 1s);
  const BucketRequest bucket = Bucket("fast", {20000, 40000});
  for (int i = 0; i < 3000; ++i) {
    Backend backend = Backend::kLocal;
    ASSERT_TRUE(limiter.Acquire({bucket}, &backend).allowed) << i;
    ASSERT_EQ(backend, Backend::kRedis);
  }
  EXPECT_LE(limiter.redis_round_trips(), 3 + 1) << "leases of 1000 (and one to load the script)";
  const double left = std::stod(redis.Command({"HGET", bucket.key, "tokens"}).str);
  EXPECT_LE(left, 40000 - 1000) << "the shared bucket paid for the lease (it refills to its burst)";
}

TEST(RedisRateLimiter, LeasesSpareMostRoundTrips) {
  common::RedisClient redis(propdesk::testing::SharedRedis());
  RateLimiter limiter(&redis, 1s);
  // A large bucket that refills nothing to speak of during the test.
  const BucketRequest principal = Bucket("lease-p", {0.001, 1e6});
  BucketRequest site = Bucket("lease-s", {0.001, 1e6});
  site.scope = "site";
  for (int i = 0; i < 1000; ++i) {
    Backend backend = Backend::kLocal;
    ASSERT_TRUE(limiter.Acquire({principal, site}, &backend).allowed) << i;
    ASSERT_EQ(backend, Backend::kRedis) << "leases are the shared bucket's tokens";
  }
  EXPECT_LE(limiter.redis_round_trips(), (1000 + 63) / 64 + 1)
      << "one per lease of 64 (and one to load the script)";
  // The shared bucket paid for every token leased.
  const double left = std::stod(redis.Command({"HGET", principal.key, "tokens"}).str);
  EXPECT_LE(left, 1e6 - 1000);
}

// Two replicas hammering one bucket (no refill during the test) admit no
// more than the bucket holds, and at most both replicas' leases fewer.
TEST(RedisRateLimiter, ReplicasNeverAdmitMoreThanTheSharedBucketWithinTheLeaseTolerance) {
  common::RedisClient redis(propdesk::testing::SharedRedis(8));
  RateLimiter replica_a(&redis, 1s);
  RateLimiter replica_b(&redis, 1s);
  const RateLimit limit{0.001, 200};
  const BucketRequest bucket = Bucket("replicas", limit);
  std::atomic<int> admitted{0};
  std::vector<std::thread> callers;
  for (RateLimiter* replica : {&replica_a, &replica_b, &replica_a, &replica_b}) {
    callers.emplace_back([&, replica] {
      for (int i = 0; i < 200; ++i) {
        if (replica->Acquire({bucket}).allowed) ++admitted;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  const int lease = LeaseSize(limit);
  ASSERT_EQ(lease, 20);
  EXPECT_LE(admitted.load(), 200) << "never more than the shared bucket";
  EXPECT_GE(admitted.load(), 200 - 2 * lease) << "at most the replicas' leases unused";
  EXPECT_LE(replica_a.redis_round_trips() + replica_b.redis_round_trips(), 40)
      << "800 requests, leases of 20";
}

TEST(RedisRateLimiter, ARefusalIsRememberedUntilRedisCanHaveATokenAgain) {
  common::RedisClient redis(propdesk::testing::SharedRedis());
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  RateLimiter limiter(&redis, 1s, [&now] { return now; });
  const BucketRequest bucket = Bucket("refused", {0.5, 1});
  ASSERT_TRUE(limiter.Acquire({bucket}).allowed);
  const RateDecision refused = limiter.Acquire({bucket});
  ASSERT_FALSE(refused.allowed);
  const int64_t trips = limiter.redis_round_trips();
  now += 500ms;
  for (int i = 0; i < 10; ++i) {
    const RateDecision again = limiter.Acquire({bucket});
    EXPECT_FALSE(again.allowed);
    EXPECT_EQ(again.scope, "principal");
    EXPECT_LE(again.retry_after, refused.retry_after - 500ms);
  }
  EXPECT_EQ(limiter.redis_round_trips(), trips) << "refused from memory";
  now += refused.retry_after;
  limiter.Acquire({bucket});
  EXPECT_EQ(limiter.redis_round_trips(), trips + 1) << "then Redis is asked again";
}

TEST(RedisRateLimiter, RedisDownNeverFailsOpen) {
  propdesk::testing::PrivateRedis server;
  common::RedisOptions options = server.Options();
  options.command_timeout = 200ms;
  options.connect_timeout = 200ms;
  common::RedisClient redis(options);
  RateLimiter limiter(&redis, /*redis_retry_pause=*/200ms);
  const BucketRequest bucket = Bucket("outage", {0.01, 3});
  Backend backend = Backend::kLocal;
  ASSERT_TRUE(limiter.Acquire({bucket}, &backend).allowed);
  ASSERT_EQ(backend, Backend::kRedis);

  server.Stop();
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    if (limiter.Acquire({bucket}, &backend).allowed) ++allowed;
    EXPECT_EQ(backend, Backend::kLocal);
  }
  EXPECT_EQ(allowed, 3) << "the in-process bucket (full at the outage) still limits";

  server.Start();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    limiter.Acquire({Bucket("probe", {100, 100})}, &backend);
    if (backend == Backend::kRedis) break;
    std::this_thread::sleep_for(50ms);  // the retry pause has to pass
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(backend, Backend::kRedis) << "Redis is used again once it is back";
}

TEST(RedisRateLimiter, WithoutRedisTheLocalBucketsDecide) {
  RateLimiter limiter(nullptr, 1s);
  Backend backend = Backend::kRedis;
  const BucketRequest bucket = Bucket("none", {0.01, 1});
  EXPECT_TRUE(limiter.Acquire({bucket}, &backend).allowed);
  EXPECT_EQ(backend, Backend::kLocal);
  EXPECT_FALSE(limiter.Acquire({bucket}).allowed);
}

TEST(GatewayRedisRateLimit, TwoGatewaysShareThePrincipalsBudget) {
  TestUpstream upstream;
  auto config = [&] {
    GatewayConfig c = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
    c.redis = propdesk::testing::SharedRedis();
    c.per_principal = {0.5, 2};
    return c;
  };
  GatewayUnderTest one(config());
  GatewayUnderTest two(config());
  const Headers auth = {
      {"Authorization",
       "Bearer " + MakeToken({.subject = "shared-" + propdesk::testing::UniqueSuffix()})}};
  EXPECT_EQ(HttpClient(one.port()).Send("POST", "/v1/sites/s1/echoes", "{}", auth).status, 200);
  EXPECT_EQ(HttpClient(two.port()).Send("POST", "/v1/sites/s1/echoes", "{}", auth).status, 200);
  const ClientResponse limited =
      HttpClient(one.port()).Send("POST", "/v1/sites/s1/echoes", "{}", auth);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "2");
}

TEST(GatewayRedisRateLimit, TwoGatewaysStayWithinTheSharedBudgetAndTheLeaseTolerance) {
  TestUpstream upstream;
  const RateLimit limit{0.001, 40};  // 40 requests, no refill during the test
  auto config = [&] {
    GatewayConfig c = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
    c.redis = propdesk::testing::SharedRedis();
    c.per_principal = limit;
    return c;
  };
  GatewayUnderTest one(config());
  GatewayUnderTest two(config());
  const Headers auth = {
      {"Authorization",
       "Bearer " + MakeToken({.subject = "leased-" + propdesk::testing::UniqueSuffix()})}};
  HttpClient to_one(one.port());
  HttpClient to_two(two.port());
  int admitted = 0;
  int limited = 0;
  for (int i = 0; i < 40; ++i) {
    for (HttpClient* client : {&to_one, &to_two}) {
      const int status = client->Send("POST", "/v1/sites/s1/echoes", "{}", auth).status;
      if (status == 200) ++admitted;
      if (status == 429) ++limited;
    }
  }
  EXPECT_EQ(admitted + limited, 80);
  EXPECT_LE(admitted, 40);
  EXPECT_GE(admitted, 40 - 2 * LeaseSize(limit));
}

TEST(GatewayRedisRateLimit, RedisDownFallsBackToTheInProcessLimits) {
  TestUpstream upstream;
  propdesk::testing::PrivateRedis redis;
  GatewayConfig config = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
  config.redis = redis.Options();
  config.redis->command_timeout = 200ms;
  config.redis->connect_timeout = 200ms;
  config.per_principal = {0.001, 3};
  config.redis_retry_pause = 1h;  // stays local for the rest of the test
  GatewayUnderTest gateway(std::move(config));
  const Headers auth = {{"Authorization", "Bearer " + MakeToken()}};
  HttpClient client(gateway.port());
  ASSERT_EQ(client.Send("POST", "/v1/sites/s1/echoes", "{}", auth).status, 200);
  redis.Stop();
  std::vector<int> statuses;
  for (int i = 0; i < 5; ++i) {
    statuses.push_back(client.Send("POST", "/v1/sites/s1/echoes", "{}", auth).status);
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(200, 200, 200, 429, 429))
      << "the in-process bucket (burst 3) decides: never open";
  const std::string metrics = client.Send("GET", "/metrics").body;
  EXPECT_THAT(metrics,
              ::testing::HasSubstr(R"(gateway_rate_limit_checks_total{backend="local"} 5)"));
}

}  // namespace
}  // namespace propdesk::gateway::test
