#include "bench/support/load.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <thread>

namespace propdesk::bench {

using Clock = std::chrono::steady_clock;

LoadResult MeasureLoad(const CallerFactory& factory, int concurrency,
                       std::chrono::milliseconds duration) {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(concurrency);
  std::vector<int64_t> failures(concurrency, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      CallOnce call = factory();
      latencies[t].reserve(100000);
      while (!stop.load(std::memory_order_relaxed)) {
        const auto start = Clock::now();
        const bool ok = call();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (!measuring.load(std::memory_order_relaxed)) continue;
        if (ok) {
          latencies[t].push_back(ms);
        } else {
          ++failures[t];
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm-up: connections, caches
  measuring = true;
  const auto started = Clock::now();
  std::this_thread::sleep_for(duration);
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  stop = true;
  for (std::thread& thread : threads) thread.join();

  std::vector<double> all;
  LoadResult result;
  for (int t = 0; t < concurrency; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    result.failures += failures[t];
  }
  result.calls = static_cast<int64_t>(all.size());
  result.throughput = static_cast<double>(all.size()) / elapsed;
  const Percentiles p = PercentilesOf(all);
  result.p50_ms = p.p50_ms;
  result.p99_ms = p.p99_ms;
  return result;
}

namespace {

// The state of MeasureAsyncLoad: one slot per call in flight.
class AsyncLoop {
 public:
  AsyncLoop(const StartCall& start, int concurrency)
      : start_(start), latencies_(concurrency), failures_(concurrency, 0) {
    for (auto& slot : latencies_) slot.reserve(100000);
  }

  void Run(std::chrono::milliseconds duration, LoadResult* result) {
    const int slots = static_cast<int>(latencies_.size());
    in_flight_ = slots;
    for (int slot = 0; slot < slots; ++slot) Issue(slot);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm-up
    measuring_ = true;
    const auto started = Clock::now();
    std::this_thread::sleep_for(duration);
    measuring_ = false;
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    stop_ = true;
    {
      std::unique_lock lock(mu_);
      idle_.wait(lock, [&] { return in_flight_ == 0; });
    }
    std::vector<double> all;
    for (int slot = 0; slot < slots; ++slot) {
      all.insert(all.end(), latencies_[slot].begin(), latencies_[slot].end());
      result->failures += failures_[slot];
    }
    result->calls = static_cast<int64_t>(all.size());
    result->throughput = static_cast<double>(all.size()) / elapsed;
    const Percentiles p = PercentilesOf(all);
    result->p50_ms = p.p50_ms;
    result->p99_ms = p.p99_ms;
  }

 private:
  // A slot's calls follow one another, so its vectors need no lock.
  void Issue(int slot) {
    const auto started = Clock::now();
    start_(slot, [this, slot, started](bool ok) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
      if (measuring_.load(std::memory_order_relaxed)) {
        if (ok) {
          latencies_[slot].push_back(ms);
        } else {
          ++failures_[slot];
        }
      }
      if (!stop_.load(std::memory_order_relaxed)) {
        Issue(slot);
        return;
      }
      std::lock_guard lock(mu_);
      if (--in_flight_ == 0) idle_.notify_all();
    });
  }

  const StartCall& start_;
  std::vector<std::vector<double>> latencies_;
  std::vector<int64_t> failures_;
  std::atomic<bool> measuring_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable idle_;
  int in_flight_ = 0;  // guarded by mu_
};

}  // namespace

LoadResult MeasureAsyncLoad(const StartCall& start, int concurrency,
                            std::chrono::milliseconds duration) {
  LoadResult result;
  AsyncLoop(start, concurrency).Run(duration, &result);
  return result;
}

Percentiles PercentilesOf(std::vector<double>& samples_ms) {
  Percentiles p;
  if (samples_ms.empty()) return p;
  std::sort(samples_ms.begin(), samples_ms.end());
  p.p50_ms = samples_ms[samples_ms.size() / 2];
  p.p99_ms = samples_ms[std::min(samples_ms.size() - 1, samples_ms.size() * 99 / 100)];
  p.max_ms = samples_ms.back();
  return p;
}

std::chrono::milliseconds BenchDuration() {
  const char* seconds = std::getenv("PROPDESK_BENCH_SECONDS");
  return std::chrono::milliseconds(
      static_cast<int64_t>(1000 * (seconds != nullptr ? std::atof(seconds) : 4.0)));
}

std::vector<int> BenchConcurrencies() {
  const char* list = std::getenv("PROPDESK_BENCH_CONCURRENCY");
  if (list == nullptr) return {1, 16, 64};
  std::vector<int> out;
  for (std::string_view rest = list; !rest.empty();) {
    const size_t comma = rest.find(',');
    const int n = std::atoi(std::string(rest.substr(0, comma)).c_str());
    if (n > 0) out.push_back(n);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

double BenchYardstick() {
  const char* rate = std::getenv("PROPDESK_BENCH_YARDSTICK");
  return rate != nullptr ? std::atof(rate) : 0.0;
}

void PrintFigure(const std::string& name, double value, const std::string& unit,
                 const std::string& details) {
  std::printf("bench: %s %.3f %s%s%s\n", name.c_str(), value, unit.c_str(),
              details.empty() ? "" : " ", details.c_str());
  std::fflush(stdout);
}

void PrintLoad(const std::string& name, const LoadResult& r) {
  std::printf("bench: %s_throughput %.0f calls/s p50=%.3fms p99=%.3fms calls=%lld failures=%lld\n",
              name.c_str(), r.throughput, r.p50_ms, r.p99_ms, static_cast<long long>(r.calls),
              static_cast<long long>(r.failures));
  std::fflush(stdout);
}

}  // namespace propdesk::bench
