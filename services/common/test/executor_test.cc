#include "common/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "common/errors.h"

namespace propdesk::common {
namespace {

using std::chrono::milliseconds;

// Holds a worker inside a task until Open(); lets a test know when the
// worker has entered it.
class Gate {
 public:
  auto Task() {
    return [this] {
      entered_.set_value();
      opened_.wait();
    };
  }
  void WaitEntered() {
    ASSERT_EQ(entered_future_.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  }
  void Open() { open_promise_.set_value(); }

 private:
  std::promise<void> entered_;
  std::future<void> entered_future_ = entered_.get_future();
  std::promise<void> open_promise_;
  std::shared_future<void> opened_ = open_promise_.get_future().share();
};

// Spins (yielding) until `condition` holds or 5 s pass.
template <class F>
bool Eventually(F condition) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(BlockingExecutor, RunsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  BlockingExecutor executor(4, 1000);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));
  }
  executor.Stop();
  EXPECT_EQ(ran.load(), 1000);
}

TEST(BlockingExecutor, RunsTasksOnItsOwnThreads) {
  BlockingExecutor executor(2, 10);
  std::promise<std::thread::id> where;
  ASSERT_TRUE(executor.Submit([&] { where.set_value(std::this_thread::get_id()); }));
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
}

TEST(BlockingExecutor, FullQueueRejectsAtOnce) {
  BlockingExecutor executor(1, 2);
  Gate gate;
  ASSERT_TRUE(executor.Submit(gate.Task()));
  gate.WaitEntered();  // the only worker is busy; the queue is empty

  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));
  EXPECT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(executor.Submit([&] { ran.fetch_add(100); })) << "third task exceeds capacity 2";
  EXPECT_LT(std::chrono::steady_clock::now() - before, milliseconds(100)) << "must not wait";
  EXPECT_EQ(executor.queued(), 2u);

  gate.Open();
  executor.Stop();
  EXPECT_EQ(ran.load(), 2) << "the rejected task never runs";
}

TEST(BlockingExecutor, StopDrainsQueuedTasksThenRejects) {
  BlockingExecutor executor(1, 100);
  Gate gate;
  ASSERT_TRUE(executor.Submit(gate.Task()));
  gate.WaitEntered();
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));

  std::thread stopper([&] { executor.Stop(); });
  ASSERT_TRUE(Eventually([&] { return !executor.accepting(); }));
  EXPECT_FALSE(executor.Submit([&] { ran.fetch_add(100); })) << "no new work while stopping";
  EXPECT_EQ(ran.load(), 0) << "queued work waits behind the busy worker";
  gate.Open();
  stopper.join();  // Stop returns only after the queue is drained
  EXPECT_EQ(ran.load(), 5);
  EXPECT_EQ(executor.queued(), 0u);
  EXPECT_FALSE(executor.Submit([] {}));
  executor.Stop();  // idempotent
}

TEST(BlockingExecutor, ConcurrentSubmittersGetExactlyTheirAcceptedTasksRun) {
  std::atomic<int> accepted{0};
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor(2, 8);
    std::vector<std::thread> submitters;
    for (int t = 0; t < 4; ++t) {
      submitters.emplace_back([&] {
        for (int i = 0; i < 500; ++i) {
          if (executor.Submit([&] { ran.fetch_add(1); })) accepted.fetch_add(1);
        }
      });
    }
    for (auto& s : submitters) s.join();
  }  // destructor stops and drains
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(ran.load(), accepted.load());
}

TEST(BlockingExecutor, AThrowingTaskDoesNotKillItsWorker) {
  BlockingExecutor executor(1, 10);
  ASSERT_TRUE(executor.Submit([] { throw std::runtime_error("task bug"); }));
  ASSERT_TRUE(executor.Submit([] { throw 7; }));
  std::promise<void> after;
  ASSERT_TRUE(executor.Submit([&] { after.set_value(); }));
  EXPECT_EQ(after.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST(BlockingExecutor, AcceptsMoveOnlyTasks) {
  BlockingExecutor executor(1, 10);
  auto value = std::make_unique<int>(41);
  std::promise<int> result;
  ASSERT_TRUE(executor.Submit([v = std::move(value), &result] { result.set_value(*v + 1); }));
  EXPECT_EQ(result.get_future().get(), 42);
}

TEST(BlockingExecutor, RejectsNonsenseSizes) {
  try {
    BlockingExecutor executor(0, 10);
    FAIL() << "0 threads accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_THROW(BlockingExecutor(1, 0), Error);
}

}  // namespace
}  // namespace propdesk::common
