// LeaderLock against a real MariaDB (ARCHITECTURE.md §7, §8): one leader
// among contenders, and leadership passes when the holder releases it or its
// lock connection ends.

#include "common/leader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::FreshDatabase;
using propdesk::testing::UniqueSuffix;
using namespace std::chrono_literals;

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class LeaderLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = FreshDatabase("leader", 2);
    admin_ = std::make_unique<MysqlPool>(options_);
    name_ = "relay:" + UniqueSuffix();
  }

  // The server's view: which connection holds the lock (0 when free).
  int64_t HolderConnectionId(const LeaderLock& lock) {
    auto rs = admin_->Acquire()->Query("SELECT IFNULL(IS_USED_LOCK(?), 0)", {lock.lock_name()});
    rs->next();
    return rs->getInt64(1);
  }

  MysqlOptions options_;
  std::unique_ptr<MysqlPool> admin_;
  std::string name_;
};

TEST_F(LeaderLockTest, TwoContendersGiveExactlyOneLeader) {
  LeaderLock a(options_, name_);
  LeaderLock b(options_, name_);
  EXPECT_TRUE(a.TryAcquire());
  EXPECT_FALSE(b.TryAcquire());  // never waits for the holder
  EXPECT_TRUE(a.StillHeld());
  EXPECT_FALSE(b.StillHeld());
  EXPECT_TRUE(a.TryAcquire());  // re-asking keeps leadership
  EXPECT_NE(HolderConnectionId(a), 0);
}

TEST_F(LeaderLockTest, LeadershipPassesWhenTheHolderReleases) {
  LeaderLock a(options_, name_);
  LeaderLock b(options_, name_);
  ASSERT_TRUE(a.TryAcquire());
  a.Release();
  EXPECT_FALSE(a.StillHeld());
  EXPECT_EQ(HolderConnectionId(a), 0);
  EXPECT_TRUE(b.TryAcquire());
  EXPECT_FALSE(a.TryAcquire());
  a.Release();  // releasing what one does not hold is harmless
  EXPECT_TRUE(b.StillHeld());
}

TEST_F(LeaderLockTest, LeadershipPassesWhenTheHoldersConnectionDies) {
  LeaderLock a(options_, name_);
  LeaderLock b(options_, name_);
  ASSERT_TRUE(a.TryAcquire());
  const int64_t holder = HolderConnectionId(a);
  ASSERT_NE(holder, 0);
  admin_->Acquire()->ExecuteRaw("KILL CONNECTION " + std::to_string(holder));
  EXPECT_TRUE(WaitFor([&] { return b.TryAcquire(); }));
  EXPECT_FALSE(a.StillHeld());  // a learns it is no longer the leader
  EXPECT_FALSE(a.TryAcquire());
  EXPECT_TRUE(b.StillHeld());
}

TEST_F(LeaderLockTest, DestroyingTheHolderReleases) {
  LeaderLock b(options_, name_);
  {
    LeaderLock a(options_, name_);
    ASSERT_TRUE(a.TryAcquire());
    EXPECT_FALSE(b.TryAcquire());
  }
  EXPECT_TRUE(b.TryAcquire());
}

TEST_F(LeaderLockTest, ConcurrentContendersElectOneLeader) {
  constexpr int kContenders = 8;
  std::vector<std::unique_ptr<LeaderLock>> locks;
  for (int i = 0; i < kContenders; ++i)
    locks.push_back(std::make_unique<LeaderLock>(options_, name_));
  std::latch start(kContenders);
  std::atomic<int> leaders{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kContenders; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (locks[i]->TryAcquire()) ++leaders;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(leaders.load(), 1);
  int still_held = 0;
  for (auto& lock : locks) still_held += lock->StillHeld() ? 1 : 0;
  EXPECT_EQ(still_held, 1);
}

TEST_F(LeaderLockTest, LocksAreScopedToTheDatabase) {
  const MysqlOptions other = FreshDatabase("leader", 2);
  LeaderLock here(options_, name_);
  LeaderLock there(other, name_);  // same name, another schema on the same server
  EXPECT_TRUE(here.TryAcquire());
  EXPECT_TRUE(there.TryAcquire());
  EXPECT_NE(here.lock_name(), there.lock_name());
}

TEST_F(LeaderLockTest, LongNamesStillElectOneLeader) {
  const std::string long_name = name_ + std::string(200, 'x');
  LeaderLock a(options_, long_name);
  LeaderLock b(options_, long_name);
  EXPECT_LE(a.lock_name().size(), 64u);
  EXPECT_TRUE(a.TryAcquire());
  EXPECT_FALSE(b.TryAcquire());
}

TEST_F(LeaderLockTest, EmptyNameIsRejected) {
  try {
    LeaderLock lock(options_, "");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
}

TEST_F(LeaderLockTest, UnreachableMysqlMeansNotLeader) {
  MysqlOptions unreachable = options_;
  unreachable.port = 1;  // nothing listens there
  unreachable.connect_timeout = 500ms;
  unreachable.checkout_timeout = 500ms;
  LeaderLock lock(unreachable, name_);
  EXPECT_FALSE(lock.TryAcquire());
  EXPECT_FALSE(lock.StillHeld());
}

}  // namespace
}  // namespace propdesk::common
