#include "common/background_loop.h"

#include <utility>

namespace propdesk::common {

void BackgroundLoop::Start(Iteration iteration) {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, iteration = std::move(iteration)] { Run(iteration); });
}

void BackgroundLoop::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

void BackgroundLoop::Run(const Iteration& iteration) {
  for (;;) {
    const std::chrono::milliseconds pause = iteration();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (pause.count() > 0 && cv_.wait_for(lock, pause, [this] { return stopping_; })) return;
  }
}

}  // namespace propdesk::common
