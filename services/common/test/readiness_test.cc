#include "common/readiness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace propdesk::common {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kWait{5000};

struct Changes {
  std::mutex mu;
  std::vector<bool> seen;
  ReadinessProber::OnChange Callback() {
    return [this](bool ready) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(ready);
    };
  }
  std::vector<bool> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  }
};

TEST(ReadinessProber, FollowsItsProbesAndReportsOnlyChanges) {
  std::atomic<bool> mysql_up{true};
  std::atomic<bool> redis_up{true};
  std::atomic<int> rounds{0};
  Changes changes;
  ReadinessProber prober({{"mysql",
                           [&] {
                             rounds.fetch_add(1);
                             return mysql_up.load();
                           }},
                          {"redis", [&] { return redis_up.load(); }}},
                         milliseconds(5), changes.Callback());
  ASSERT_TRUE(prober.WaitFor(true, kWait));
  EXPECT_TRUE(prober.ready());

  redis_up = false;  // one failing dependency is enough
  ASSERT_TRUE(prober.WaitFor(false, kWait));
  EXPECT_FALSE(prober.ready());

  redis_up = true;
  ASSERT_TRUE(prober.WaitFor(true, kWait));
  const int rounds_before = rounds.load();
  ASSERT_TRUE(prober.WaitFor(true, kWait));
  // Let a few more rounds pass with nothing changing.
  while (rounds.load() < rounds_before + 3) std::this_thread::yield();
  prober.Stop();
  EXPECT_EQ(changes.Get(), (std::vector<bool>{true, false, true}));
}

TEST(ReadinessProber, AThrowingProbeCountsAsFailing) {
  Changes changes;
  ReadinessProber prober(
      {{"ok", [] { return true; }}, {"broken", []() -> bool { throw std::runtime_error("x"); }}},
      milliseconds(5), changes.Callback());
  ASSERT_TRUE(prober.WaitFor(false, kWait));
  prober.Stop();
  EXPECT_EQ(changes.Get(), std::vector<bool>{false});
}

TEST(ReadinessProber, NoCallbackAfterStop) {
  std::atomic<bool> up{true};
  Changes changes;
  ReadinessProber prober({{"mysql", [&] { return up.load(); }}}, milliseconds(1),
                         changes.Callback());
  ASSERT_TRUE(prober.WaitFor(true, kWait));
  prober.Stop();
  up = false;
  const std::vector<bool> at_stop = changes.Get();
  // A stopped prober runs no more rounds; had it, the flip would be seen
  // within a few milliseconds of 1 ms rounds.
  EXPECT_FALSE(prober.WaitFor(false, milliseconds(50)));
  EXPECT_EQ(changes.Get(), at_stop);
  prober.Stop();  // idempotent
}

TEST(ReadinessProber, StopIsPromptEvenWithALongInterval) {
  ReadinessProber prober({{"mysql", [] { return true; }}}, std::chrono::hours(1), nullptr);
  ASSERT_TRUE(prober.WaitFor(true, kWait));
  const auto before = std::chrono::steady_clock::now();
  prober.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
}

}  // namespace
}  // namespace propdesk::common
