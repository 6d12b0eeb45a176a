// BatchQueue: calls that arrive together are processed together, each
// exactly once, a lone call at once, and never more batches of a key at a
// time than allowed (the group commit behind CreateTicket).

#include "common/batch_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace propdesk::common {
namespace {

using std::chrono::milliseconds;

// An item that reports whether it was answered, like a Completion: the
// batch answers it, or its destructor does (as dropped).
class Item {
 public:
  Item(int id, std::function<void(int, bool)> on_answer)
      : id_(id), on_answer_(std::move(on_answer)) {}
  Item(Item&& other) noexcept
      : id_(other.id_), on_answer_(std::move(other.on_answer_)), pending_(other.pending_) {
    other.pending_ = false;
  }
  Item& operator=(Item&&) = delete;
  ~Item() {
    if (pending_) on_answer_(id_, /*processed=*/false);
  }
  void Answer() {
    if (!pending_) return;
    pending_ = false;
    on_answer_(id_, /*processed=*/true);
  }
  int id() const { return id_; }

 private:
  int id_;
  std::function<void(int, bool)> on_answer_;
  bool pending_ = true;
};

// Counts answers by kind, and lets a test wait for them.
class Answers {
 public:
  std::function<void(int, bool)> Recorder() {
    return [this](int id, bool processed) {
      std::lock_guard lock(mu_);
      (processed ? processed_ : dropped_).push_back(id);
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10),
                        [&] { return processed_.size() + dropped_.size() >= n; });
  }
  std::vector<int> processed() {
    std::lock_guard lock(mu_);
    return processed_;
  }
  std::vector<int> dropped() {
    std::lock_guard lock(mu_);
    return dropped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> processed_;  // guarded by mu_
  std::vector<int> dropped_;    // guarded by mu_
};

TEST(BatchQueueTest, LoneItemIsProcessedAtOnceAloneOnTheCallersThread) {
  Answers answers;
  std::thread::id ran_on;
  size_t batch_size = 0;
  BatchQueue<Item> queue(8, 1, [&](const std::string& key, std::vector<Item>& batch) {
    EXPECT_EQ(key, "SZ01");
    ran_on = std::this_thread::get_id();
    batch_size = batch.size();
    for (Item& item : batch) item.Answer();
  });
  queue.Add("SZ01", Item(1, answers.Recorder()));
  // Answered before Add returned, on this thread, in a batch of one.
  EXPECT_EQ(answers.processed(), std::vector<int>{1});
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(batch_size, 1u);
}

TEST(BatchQueueTest, ItemsThatArriveTogetherShareBatchesAndEachIsProcessedOnce) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  Answers answers;
  std::atomic<int> batches{0};
  std::atomic<size_t> largest{0};
  BatchQueue<Item> queue(8, 1, [&](const std::string&, std::vector<Item>& batch) {
    ++batches;
    EXPECT_LE(batch.size(), 8u);
    largest = std::max(largest.load(), batch.size());
    std::this_thread::sleep_for(milliseconds(1));  // a transaction's round trips
    for (Item& item : batch) item.Answer();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        queue.Add("SZ01", Item(t * kPerThread + i, answers.Recorder()));
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(answers.WaitFor(kThreads * kPerThread));
  const std::vector<int> processed = answers.processed();
  EXPECT_EQ(processed.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::set<int>(processed.begin(), processed.end()).size(), processed.size())
      << "an item was processed twice";
  EXPECT_TRUE(answers.dropped().empty());
  // 16 callers at once: batches formed, up to the limit.
  EXPECT_LT(batches.load(), kThreads * kPerThread / 2);
  EXPECT_EQ(largest.load(), 8u);
}

TEST(BatchQueueTest, NeverMoreBatchesOfOneKeyAtATimeThanAllowed) {
  for (const size_t max_running : {size_t{1}, size_t{3}}) {
    Answers answers;
    std::mutex mu;
    std::map<std::string, int> running;  // guarded by mu
    std::map<std::string, int> most;     // guarded by mu
    BatchQueue<Item> queue(4, max_running, [&](const std::string& key, std::vector<Item>& batch) {
      {
        std::lock_guard lock(mu);
        most[key] = std::max(most[key], ++running[key]);
      }
      std::this_thread::sleep_for(milliseconds(2));
      {
        std::lock_guard lock(mu);
        --running[key];
      }
      for (Item& item : batch) item.Answer();
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 12; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          queue.Add(t % 2 == 0 ? "SZ01" : "BJ02", Item(t * 100 + i, answers.Recorder()));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_TRUE(answers.WaitFor(240));
    EXPECT_EQ(answers.processed().size(), 240u);
    std::lock_guard lock(mu);
    for (const auto& [key, n] : most) {
      EXPECT_LE(n, static_cast<int>(max_running)) << key;
      EXPECT_GE(n, 1) << key;
    }
    if (max_running > 1) {
      // With 6 callers per key and batches of 4, a second runner was needed.
      EXPECT_GT(most["SZ01"] + most["BJ02"], 2);
    }
  }
}

TEST(BatchQueueTest, KeysAreIndependent) {
  Answers answers;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;  // guarded by gate_mu
  BatchQueue<Item> queue(8, 1, [&](const std::string& key, std::vector<Item>& batch) {
    if (key == "slow") {
      std::unique_lock lock(gate_mu);
      gate_cv.wait(lock, [&] { return open; });
    }
    for (Item& item : batch) item.Answer();
  });
  std::thread slow([&] { queue.Add("slow", Item(1, answers.Recorder())); });
  std::this_thread::sleep_for(milliseconds(20));   // the slow batch is running
  queue.Add("fast", Item(2, answers.Recorder()));  // not held up by it
  EXPECT_EQ(answers.processed(), std::vector<int>{2});
  {
    std::lock_guard lock(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  slow.join();
  EXPECT_EQ(answers.processed().size(), 2u);
}

TEST(BatchQueueTest, AFailedBatchAnswersItsItemsAsDroppedAndLaterBatchesRun) {
  Answers answers;
  BatchQueue<Item> queue(8, 1, [&](const std::string&, std::vector<Item>& batch) {
    if (batch.front().id() == 1) throw std::runtime_error("database gone");
    for (Item& item : batch) item.Answer();
  });
  queue.Add("SZ01", Item(1, answers.Recorder()));
  queue.Add("SZ01", Item(2, answers.Recorder()));
  EXPECT_EQ(answers.dropped(), std::vector<int>{1});
  EXPECT_EQ(answers.processed(), std::vector<int>{2});
}

TEST(BatchQueueTest, RejectsLimitsBelowOne) {
  auto process = [](const std::string&, std::vector<Item>&) {};
  EXPECT_THROW(BatchQueue<Item>(0, 1, process), std::invalid_argument);
  EXPECT_THROW(BatchQueue<Item>(8, 0, process), std::invalid_argument);
}

}  // namespace
}  // namespace propdesk::common
