// WindowedScanner against a real MariaDB (ARCHITECTURE.md §8): each tick
// processes exactly (last_tick, now]; items falling due are processed once —
// across restarts, failures, backlogs and competing scanners.

#include "common/windowed_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/leader.h"
#include "common/migrations.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::FreshDatabase;
using propdesk::testing::UniqueSuffix;
using TimePoint = WindowedScanner::TimePoint;
using Window = std::pair<TimePoint, TimePoint>;
using namespace std::chrono_literals;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2030} / 1 / 1};

class WindowedScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = FreshDatabase("scan", 4);
    pool_ = std::make_unique<MysqlPool>(options_);
    ApplyMigrations(*pool_, {{"common", PROPDESK_COMMON_MIGRATIONS}});
    auto conn = pool_->Acquire();
    conn->ExecuteRaw(
        "CREATE TABLE timers (id INT PRIMARY KEY, due_at DATETIME(6) NOT NULL, KEY (due_at))");
    conn->ExecuteRaw(
        "CREATE TABLE fired (seq BIGINT AUTO_INCREMENT PRIMARY KEY, timer_id INT NOT NULL)");
    name_ = "sla:" + UniqueSuffix();
  }

  void AddTimer(int id, TimePoint due) {
    pool_->Acquire()->Execute("INSERT INTO timers (id, due_at) VALUES (?, ?)",
                              {int64_t{id}, ToSqlDateTime(due)});
  }

  // The documented pattern: only items falling due in the window, on the
  // due_at index. Records each window handed over.
  WindowedScanner::ScanFn FireDue() {
    return [this](MysqlConnection& tx, TimePoint from, TimePoint to) {
      {
        std::lock_guard lock(windows_mu_);
        windows_.emplace_back(from, to);
      }
      std::vector<int64_t> due;
      auto rs = tx.Query("SELECT id FROM timers WHERE due_at > ? AND due_at <= ? ORDER BY due_at",
                         {ToSqlDateTime(from), ToSqlDateTime(to)});
      while (rs->next()) due.push_back(rs->getInt64(1));
      for (int64_t id : due) tx.Execute("INSERT INTO fired (timer_id) VALUES (?)", {id});
    };
  }

  // timer id → times fired.
  std::map<int, int> Fired() {
    std::map<int, int> out;
    auto rs = pool_->Acquire()->Query("SELECT timer_id FROM fired");
    while (rs->next()) ++out[rs->getInt(1)];
    return out;
  }

  std::vector<Window> Windows() {
    std::lock_guard lock(windows_mu_);
    return windows_;
  }

  MysqlOptions options_;
  std::unique_ptr<MysqlPool> pool_;
  std::string name_;
  std::mutex windows_mu_;
  std::vector<Window> windows_;  // guarded by windows_mu_
};

TEST_F(WindowedScanTest, ItemsDueInsideEachWindowAreProcessedOnce) {
  AddTimer(1, kT0 - 90s);  // before the first look-back: never this scanner's
  AddTimer(2, kT0 - 30s);
  AddTimer(3, kT0 + 10s);
  AddTimer(4, kT0 + 20s);  // exactly on a window's end: that window's
  AddTimer(5, kT0 + 20s + 1us);
  AddTimer(6, kT0 + 25s);
  WindowedScanner scanner(*pool_, name_, 1s, FireDue(), {.first_look_back = 60s});

  EXPECT_TRUE(scanner.TickOnce(kT0));
  EXPECT_EQ(Fired(), (std::map<int, int>{{2, 1}}));
  EXPECT_TRUE(scanner.TickOnce(kT0 + 20s));
  EXPECT_EQ(Fired(), (std::map<int, int>{{2, 1}, {3, 1}, {4, 1}}));
  EXPECT_TRUE(scanner.TickOnce(kT0 + 20s));  // same instant again: an empty window, no call
  EXPECT_TRUE(scanner.TickOnce(kT0 + 30s));
  EXPECT_EQ(Fired(), (std::map<int, int>{{2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}));

  const std::vector<Window> expected = {{kT0 - 60s, kT0}, {kT0, kT0 + 20s}, {kT0 + 20s, kT0 + 30s}};
  EXPECT_EQ(Windows(), expected);
}

TEST_F(WindowedScanTest, CursorPersistsAcrossScannerRestarts) {
  AddTimer(1, kT0 - 5s);
  AddTimer(2, kT0 + 5s);
  {
    MysqlPool first_pool(options_);
    WindowedScanner first(first_pool, name_, 1s, FireDue(), {.first_look_back = 10s});
    EXPECT_TRUE(first.TickOnce(kT0));
  }  // the process restarts
  MysqlPool second_pool(options_);
  WindowedScanner second(second_pool, name_, 1s, FireDue(), {.first_look_back = 1h});
  EXPECT_TRUE(second.TickOnce(kT0 + 10s));
  EXPECT_EQ(Fired(), (std::map<int, int>{{1, 1}, {2, 1}}));
  // Carried on from the stored cursor, not from a fresh look-back.
  const std::vector<Window> expected = {{kT0 - 10s, kT0}, {kT0, kT0 + 10s}};
  EXPECT_EQ(Windows(), expected);
}

TEST_F(WindowedScanTest, TwoScannersOnTwoPoolsProcessEachItemOnce) {
  for (int i = 0; i < 200; ++i) AddTimer(i, kT0 + std::chrono::milliseconds(500 * i));
  MysqlPool pool_a(options_), pool_b(options_);
  WindowedScanner a(pool_a, name_, 1s, FireDue(), {.first_look_back = 1s});
  WindowedScanner b(pool_b, name_, 1s, FireDue(), {.first_look_back = 1s});
  std::atomic<int> ticks_a{0}, ticks_b{0};
  auto drive = [&](WindowedScanner& s, std::atomic<int>& ticks) {
    for (int step = 0; step <= 100; ++step) {
      if (s.TickOnce(kT0 + std::chrono::seconds(step))) ++ticks;
    }
  };
  std::thread ta([&] { drive(a, ticks_a); });
  std::thread tb([&] { drive(b, ticks_b); });
  ta.join();
  tb.join();
  EXPECT_TRUE(ticks_a == 0 || ticks_b == 0) << "both led: " << ticks_a << " and " << ticks_b;
  EXPECT_EQ(ticks_a + ticks_b, 101);

  // Leadership moves when the leader goes away; the other carries on.
  WindowedScanner& leader = ticks_a > 0 ? a : b;
  WindowedScanner& follower = ticks_a > 0 ? b : a;
  leader.Stop();  // releases its lock
  AddTimer(1000, kT0 + 150s);
  EXPECT_TRUE(follower.TickOnce(kT0 + 200s));

  const auto fired = Fired();
  EXPECT_EQ(fired.size(), 201u);
  for (const auto& [id, times] : fired) EXPECT_EQ(times, 1) << "timer " << id;
}

TEST_F(WindowedScanTest, ScannersThatBothBelieveTheyLeadStillProcessEachWindowOnce) {
  // Leadership can be lost between the check and the work; the cursor's row
  // lock is what keeps windows from being handed out twice.
  for (int i = 0; i < 200; ++i) AddTimer(i, kT0 + std::chrono::milliseconds(250 * i));
  MysqlPool pool_a(options_), pool_b(options_);
  LeaderLock lock_a(options_, "a:" + name_), lock_b(options_, "b:" + name_);
  WindowedScanner a(pool_a, lock_a, name_, 1s, FireDue(), {.first_look_back = 1s});
  WindowedScanner b(pool_b, lock_b, name_, 1s, FireDue(), {.first_look_back = 1s});
  auto drive = [&](WindowedScanner& s) {
    for (int step = 0; step <= 50; ++step) s.TickOnce(kT0 + std::chrono::seconds(step));
  };
  std::thread ta([&] { drive(a); });
  std::thread tb([&] { drive(b); });
  ta.join();
  tb.join();
  const auto fired = Fired();
  EXPECT_EQ(fired.size(), 200u);
  for (const auto& [id, times] : fired) EXPECT_EQ(times, 1) << "timer " << id;
  // The windows handed out tile the time line without overlap.
  std::vector<Window> windows = Windows();
  std::sort(windows.begin(), windows.end());
  for (size_t i = 1; i < windows.size(); ++i) EXPECT_EQ(windows[i].first, windows[i - 1].second);
}

TEST_F(WindowedScanTest, FailedCallbackLeavesTheWindowForTheNextTick) {
  AddTimer(1, kT0 + 5s);
  int calls = 0;
  auto fire = FireDue();
  WindowedScanner scanner(*pool_, name_, 1s,
                          [&](MysqlConnection& tx, TimePoint from, TimePoint to) {
                            fire(tx, from, to);
                            if (++calls == 1) throw std::runtime_error("crashed mid-window");
                          },
                          {.first_look_back = 0s});
  EXPECT_TRUE(scanner.TickOnce(kT0));  // first tick: empty window
  EXPECT_THROW(scanner.TickOnce(kT0 + 10s), std::exception);
  EXPECT_TRUE(Fired().empty());  // the work rolled back with the cursor
  EXPECT_TRUE(scanner.TickOnce(kT0 + 10s));
  EXPECT_EQ(Fired(), (std::map<int, int>{{1, 1}}));
  const std::vector<Window> expected = {{kT0, kT0 + 10s}, {kT0, kT0 + 10s}};
  EXPECT_EQ(Windows(), expected);  // the same window, offered again
}

TEST_F(WindowedScanTest, BacklogIsWorkedOffInBoundedWindows) {
  for (int h = 1; h <= 10; ++h) AddTimer(h, kT0 + std::chrono::hours(h) - 1s);
  WindowedScanner scanner(*pool_, name_, 1s, FireDue(), {.first_look_back = 0s, .max_window = 1h});
  EXPECT_TRUE(scanner.TickOnce(kT0));
  EXPECT_TRUE(scanner.TickOnce(kT0 + 10h + 30min));  // after a long outage
  const std::vector<Window> windows = Windows();
  ASSERT_EQ(windows.size(), 11u);
  for (size_t i = 0; i < windows.size(); ++i) {
    EXPECT_EQ(windows[i].first, kT0 + std::chrono::hours(i));
    EXPECT_LE(windows[i].second - windows[i].first, 1h);
  }
  EXPECT_EQ(windows.back().second, kT0 + 10h + 30min);
  const auto fired = Fired();
  EXPECT_EQ(fired.size(), 10u);
  for (const auto& [id, times] : fired) EXPECT_EQ(times, 1) << "timer " << id;
}

TEST_F(WindowedScanTest, NonLeaderDoesNotTick) {
  LeaderLock other_replica(options_, "scan:" + name_);
  ASSERT_TRUE(other_replica.TryAcquire());
  WindowedScanner scanner(*pool_, name_, 1s, FireDue());
  EXPECT_FALSE(scanner.TickOnce(kT0));
  EXPECT_TRUE(Windows().empty());
  other_replica.Release();
  EXPECT_TRUE(scanner.TickOnce(kT0));
}

TEST_F(WindowedScanTest, BackgroundScannerFiresItemsAsTheyFallDue) {
  const auto now = std::chrono::system_clock::now();
  AddTimer(1, now + 100ms);
  AddTimer(2, now + 10min);  // not due during the test
  WindowedScanner scanner(*pool_, name_, 20ms, FireDue(), {.first_look_back = 1s});
  scanner.Start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Fired().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  scanner.Stop();
  EXPECT_EQ(Fired(), (std::map<int, int>{{1, 1}}));
}

TEST_F(WindowedScanTest, RejectsBadConfiguration) {
  auto expect_invalid = [](const std::function<void()>& make) {
    try {
      make();
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    }
  };
  expect_invalid([&] { WindowedScanner s(*pool_, "", 1s, FireDue()); });
  expect_invalid([&] { WindowedScanner s(*pool_, std::string(129, 'n'), 1s, FireDue()); });
  expect_invalid([&] { WindowedScanner s(*pool_, name_, 0s, FireDue()); });
  expect_invalid([&] { WindowedScanner s(*pool_, name_, 1s, nullptr); });
  expect_invalid(
      [&] { WindowedScanner s(*pool_, name_, 1s, FireDue(), {.first_look_back = -1s}); });
}

}  // namespace
}  // namespace propdesk::common
