// Rate limits in Redis: shared by every gateway replica, and never open when
// Redis is down (the in-process buckets take over). Uses the harness' Redis
// (and a private one for the outage).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace propdesk::gateway::test
