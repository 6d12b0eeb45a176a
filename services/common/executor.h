#pragma once

// The blocking executor (ARCHITECTURE.md §4): gRPC handler threads never wait
// on MySQL or Redis; that work runs here, on a fixed set of threads sized to
// the connection pool, behind a bounded queue. A full queue rejects at once
// (Submit returns false → RESOURCE_EXHAUSTED "SERVER_BUSY") instead of
// letting latency grow without bound.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace propdesk::common {

class BlockingExecutor {
 public:
  // `threads` >= 1 workers, at most `queue_capacity` >= 1 tasks waiting
  // (tasks being run do not count).
  BlockingExecutor(int threads, int queue_capacity, std::string name = "executor");
  ~BlockingExecutor();  // Stop()

  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task` (any move-only callable taking no argument). Returns false,
  // and destroys the task without running it, when the queue is full or the
  // executor is stopping. A task that throws is logged and ignored.
  template <class F>
  bool Submit(F&& task) {
    return Enqueue(std::make_unique<TaskImpl<std::decay_t<F>>>(std::forward<F>(task)));
  }

  // Stops accepting tasks, runs every task already queued, and joins the
  // workers. Idempotent; must not be called from a worker.
  void Stop();

  int threads() const { return static_cast<int>(workers_.size()); }
  int queue_capacity() const { return queue_capacity_; }
  size_t queued() const;
  // False once Stop() has begun.
  bool accepting() const;

 private:
  struct Task {
    virtual ~Task() = default;
    virtual void Run() = 0;
  };
  template <class F>
  struct TaskImpl final : Task {
    explicit TaskImpl(F f) : fn(std::move(f)) {}
    void Run() override { fn(); }
    F fn;
  };

  bool Enqueue(std::unique_ptr<Task> task);
  void WorkerLoop();

  const std::string name_;
  const int queue_capacity_;
  mutable std::mutex mu_;
  std::condition_variable work_available_;
  std::deque<std::unique_ptr<Task>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> workers_;         // written only by ctor and Stop()
  std::once_flag stop_once_;
};

}  // namespace propdesk::common
