#include "common/executor.h"

#include <exception>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::common {

BlockingExecutor::BlockingExecutor(int threads, int queue_capacity, std::string name)
    : name_(std::move(name)), queue_capacity_(queue_capacity) {
  if (threads < 1) throw InvalidArgument("threads", "must be at least 1");
  if (queue_capacity < 1) throw InvalidArgument("queue_capacity", "must be at least 1");
  workers_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

BlockingExecutor::~BlockingExecutor() { Stop(); }

bool BlockingExecutor::Enqueue(std::unique_ptr<Task> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= static_cast<size_t>(queue_capacity_)) return false;
    queue_.push_back(std::move(task));
  }
  work_available_.notify_one();
  return true;
}

void BlockingExecutor::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_available_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  });
}

size_t BlockingExecutor::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool BlockingExecutor::accepting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !stopping_;
}

void BlockingExecutor::WorkerLoop() {
  for (;;) {
    std::unique_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping drains: a worker leaves only once nothing is left queued.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task->Run();
    } catch (const std::exception& e) {
      DefaultLogger()->Error("executor task threw", {{"executor", name_}, {"error", e.what()}});
    } catch (...) {
      DefaultLogger()->Error("executor task threw a non-standard exception", {{"executor", name_}});
    }
  }
}

}  // namespace propdesk::common
