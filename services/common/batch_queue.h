#pragma once

// Group commit for calls that arrive together (ARCHITECTURE.md §4): items
// added under one key while a batch of that key is being processed wait and
// go, together, into its next batch. A busy site then pays a transaction's
// round trips and its log flush once per batch instead of once per call.
//
// There is no thread of its own. The caller that finds its key idle becomes
// the key's runner: it processes batches of that key, starting with its own
// item, until the key's queue is empty, then returns. Every other caller
// queues its item and returns at once; with RunUnaryAsync its executor
// thread is then free for the next call. So:
//  - a lone call is processed at once, in a batch of one: no added latency;
//  - under load, batches grow with the number of calls waiting (up to
//    `max_batch`), and a batch of N costs about what one call did;
//  - each key has at most `max_running` batches running at a time; keys are
//    independent.
// An item carries its own way of answering (a Completion): `process` must
// answer every item it is given; whatever it leaves, or everything when it
// throws, is answered by the items' destructors (the Completion's INTERNAL).

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"

namespace propdesk::common {

template <class Item>
class BatchQueue {
 public:
  using Process = std::function<void(const std::string& key, std::vector<Item>& batch)>;

  // At most `max_batch` items a batch, and at most `max_running` batches of
  // one key at a time (more use more cores of the database while a batch
  // waits on the network or the log flush; fewer make bigger batches).
  BatchQueue(size_t max_batch, size_t max_running, Process process)
      : max_batch_(max_batch), max_running_(max_running), process_(std::move(process)) {
    if (max_batch_ < 1) throw std::invalid_argument("BatchQueue: max_batch must be at least 1");
    if (max_running_ < 1) {
      throw std::invalid_argument("BatchQueue: max_running must be at least 1");
    }
  }
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Queues `item` under `key`; when no batch of `key` is running, runs them
  // on this thread until the queue is empty (see above).
  void Add(const std::string& key, Item item) {
    std::unique_lock lock(mu_);
    Lane& lane = lanes_[key];
    lane.queue.push_back(std::move(item));
    if (lane.running >= max_running_) return;  // a runner takes it into its next batch
    ++lane.running;
    while (!lane.queue.empty()) {
      std::vector<Item> batch = TakeBatch(lane);
      lock.unlock();
      RunBatch(key, batch);
      batch.clear();  // answers leftovers outside the lock
      lock.lock();
    }
    if (--lane.running == 0) lanes_.erase(key);  // idle: nothing kept for keys seen once
  }

  size_t max_batch() const { return max_batch_; }
  size_t max_running() const { return max_running_; }

 private:
  struct Lane {
    std::deque<Item> queue;
    size_t running = 0;  // threads running batches of this key
  };

  std::vector<Item> TakeBatch(Lane& lane) {
    std::vector<Item> batch;
    const size_t n = std::min(lane.queue.size(), max_batch_);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(lane.queue.front()));
      lane.queue.pop_front();
    }
    return batch;
  }

  void RunBatch(const std::string& key, std::vector<Item>& batch) {
    try {
      process_(key, batch);
    } catch (const std::exception& e) {
      DefaultLogger()->Log(LogLevel::kError, "batch failed", LogContext{},
                           {{"key", key},
                            {"items", static_cast<int64_t>(batch.size())},
                            {"error", std::string(e.what())}});
    } catch (...) {
      DefaultLogger()->Log(LogLevel::kError, "batch failed", LogContext{},
                           {{"key", key}, {"items", static_cast<int64_t>(batch.size())}});
    }
  }

  const size_t max_batch_;
  const size_t max_running_;
  const Process process_;
  std::mutex mu_;
  std::map<std::string, Lane> lanes_;  // guarded by mu_
};

}  // namespace propdesk::common
