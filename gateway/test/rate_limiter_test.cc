#include "gateway/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace propdesk::gateway {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  SteadyClock fn() {
    return [this] { return now; };
  }
};

BucketRequest Principal(const std::string& id, RateLimit limit = {2, 3}) {
  return {"principal:" + id, limit, "principal"};
}
BucketRequest Site(const std::string& id, RateLimit limit = {10, 10}) {
  return {"site:" + id, limit, "site"};
}

TEST(LocalRateLimiter, BurstThenRefusesWithRetryAfter) {
  FakeClock clock;
  LocalRateLimiter limiter(clock.fn());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire({Principal("a")}).allowed) << i;
  const RateDecision refused = limiter.Acquire({Principal("a")});
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.scope, "principal");
  EXPECT_EQ(refused.retry_after, 500ms) << "one token at 2/s";
  EXPECT_TRUE(limiter.Acquire({Principal("b")}).allowed) << "buckets are per key";
}

TEST(LocalRateLimiter, RefillsAtTheRateUpToTheBurst) {
  FakeClock clock;
  LocalRateLimiter limiter(clock.fn());
  for (int i = 0; i < 3; ++i) limiter.Acquire({Principal("a")});
  clock.now += 500ms;
  EXPECT_TRUE(limiter.Acquire({Principal("a")}).allowed);
  EXPECT_FALSE(limiter.Acquire({Principal("a")}).allowed);
  clock.now += 1h;
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.Acquire({Principal("a")}).allowed) << "capped at burst";
  EXPECT_FALSE(limiter.Acquire({Principal("a")}).allowed);
}

TEST(LocalRateLimiter, ARefusedRequestTakesNoToken) {
  FakeClock clock;
  LocalRateLimiter limiter(clock.fn());
  const RateLimit site_limit{1, 1};
  EXPECT_TRUE(limiter.Acquire({Principal("a"), Site("s", site_limit)}).allowed);
  // The site is empty: the principal's token must not be spent.
  for (int i = 0; i < 5; ++i) {
    const RateDecision d = limiter.Acquire({Principal("a"), Site("s", site_limit)});
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.scope, "site");
  }
  EXPECT_TRUE(limiter.Acquire({Principal("a")}).allowed);
  EXPECT_TRUE(limiter.Acquire({Principal("a")}).allowed);
  EXPECT_FALSE(limiter.Acquire({Principal("a")}).allowed) << "burst 3, one spent with the site";
}

TEST(LocalRateLimiter, FullBucketsAreSweptPastTheCap) {
  FakeClock clock;
  LocalRateLimiter limiter(clock.fn(), /*max_buckets=*/10);
  for (int i = 0; i < 20; ++i) limiter.Acquire({Principal(std::to_string(i))});
  EXPECT_EQ(limiter.bucket_count(), 20u);
  clock.now += 10s;
  limiter.Acquire({Principal("x")});
  EXPECT_EQ(limiter.bucket_count(), 1u);
}

TEST(LocalRateLimiter, ConcurrentCallersNeverGetMoreThanTheBurst) {
  LocalRateLimiter limiter;  // real clock; 0.001/s refills nothing during the test
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.Acquire({Principal("hot", {0.001, 50})}).allowed) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 50);
}

}  // namespace
}  // namespace propdesk::gateway
