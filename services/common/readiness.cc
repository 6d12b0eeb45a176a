#include "common/readiness.h"

#include <exception>
#include <utility>

namespace propdesk::common {

ReadinessProber::ReadinessProber(std::vector<ReadinessProbe> probes,
                                 std::chrono::milliseconds interval, OnChange on_change,
                                 const Logger* logger)
    : probes_(std::move(probes)),
      interval_(interval),
      on_change_(std::move(on_change)),
      logger_(logger),
      thread_([this] { Loop(); }) {}

ReadinessProber::~ReadinessProber() { Stop(); }

void ReadinessProber::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  std::call_once(join_once_, [this] { thread_.join(); });
}

bool ReadinessProber::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.value_or(false);
}

bool ReadinessProber::WaitFor(bool want, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return ready_ == want; });
}

std::vector<std::string> ReadinessProber::RunProbes() const {
  std::vector<std::string> failed;
  for (const ReadinessProbe& probe : probes_) {
    bool ok = false;
    try {
      ok = probe.check();
    } catch (const std::exception&) {
      ok = false;
    } catch (...) {
      ok = false;
    }
    if (!ok) failed.push_back(probe.name);
  }
  return failed;
}

void ReadinessProber::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const std::vector<std::string> failed = RunProbes();
    const bool now_ready = failed.empty();
    lock.lock();
    if (stopping_) break;
    if (ready_ != now_ready) {
      ready_ = now_ready;
      // OnChange runs under mu_ so that Stop() returning means no call is
      // in progress or to come; it must not call back into this prober.
      if (on_change_) on_change_(now_ready);
      if (logger_ != nullptr) {
        std::string names;
        for (const std::string& name : failed) names += (names.empty() ? "" : ",") + name;
        if (now_ready) {
          logger_->Info("ready: every dependency answers");
        } else {
          logger_->Warn("not ready: a dependency does not answer", {{"failing", names}});
        }
      }
      changed_.notify_all();
    }
    changed_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace propdesk::common
