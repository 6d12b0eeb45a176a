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

namespace {

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Fills the figures of `result` from its window and latencies.
LoadResult Summarized(LoadResult result) {
  result.calls = static_cast<int64_t>(result.latencies_ms.size());
  result.throughput = result.seconds > 0 ? static_cast<double>(result.calls) / result.seconds : 0.0;
  const Percentiles p = PercentilesOf(result.latencies_ms);  // sorts them
  result.p50_ms = p.p50_ms;
  result.p99_ms = p.p99_ms;
  return result;
}

// What the callers of one measurement saw: each caller (thread or slot)
// writes only its own vectors, so recording needs no lock.
class Samples {
 public:
  explicit Samples(int callers) : latencies_(callers), failures_(callers, 0) {
    for (auto& caller : latencies_) caller.reserve(100000);
  }

  // One finished call of `caller`; counted only inside the window.
  void Record(int caller, bool ok, double ms) {
    if (!measuring_.load(std::memory_order_relaxed)) return;
    if (ok) {
      latencies_[caller].push_back(ms);
    } else {
      ++failures_[caller];
    }
  }

  // A 300 ms warm-up (connections, caches), then `duration` of recording.
  void RunWindow(std::chrono::milliseconds duration) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    measuring_ = true;
    const auto started = Clock::now();
    std::this_thread::sleep_for(duration);
    measuring_ = false;
    elapsed_s_ = std::chrono::duration<double>(Clock::now() - started).count();
  }

  // After every caller has stopped.
  LoadResult Summarize() {
    std::vector<double> all;
    LoadResult result;
    for (size_t caller = 0; caller < latencies_.size(); ++caller) {
      all.insert(all.end(), latencies_[caller].begin(), latencies_[caller].end());
      result.failures += failures_[caller];
    }
    result.seconds = elapsed_s_;
    result.latencies_ms = std::move(all);
    return Summarized(std::move(result));
  }

 private:
  std::vector<std::vector<double>> latencies_;
  std::vector<int64_t> failures_;
  std::atomic<bool> measuring_{false};
  double elapsed_s_ = 0;
};

// The state of MeasureAsyncLoad: one slot per call in flight; a slot's calls
// follow one another.
class AsyncLoop {
 public:
  AsyncLoop(const StartCall& start, int concurrency)
      : start_(start), samples_(concurrency), in_flight_(concurrency) {}

  LoadResult Run(std::chrono::milliseconds duration) {
    const int slots = in_flight_;
    for (int slot = 0; slot < slots; ++slot) Issue(slot);
    samples_.RunWindow(duration);
    stop_ = true;
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return in_flight_ == 0; });
    return samples_.Summarize();
  }

 private:
  void Issue(int slot) {
    const auto started = Clock::now();
    start_(slot, [this, slot, started](bool ok) {
      samples_.Record(slot, ok, MillisSince(started));
      if (!stop_.load(std::memory_order_relaxed)) {
        Issue(slot);
        return;
      }
      std::lock_guard lock(mu_);
      if (--in_flight_ == 0) idle_.notify_all();
    });
  }

  const StartCall& start_;
  Samples samples_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable idle_;
  int in_flight_;  // guarded by mu_ once Run has started
};

}  // namespace

LoadResult MeasureLoad(const CallerFactory& factory, int concurrency,
                       std::chrono::milliseconds duration) {
  Samples samples(concurrency);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      CallOnce call = factory();
      while (!stop.load(std::memory_order_relaxed)) {
        const auto start = Clock::now();
        const bool ok = call();
        samples.Record(t, ok, MillisSince(start));
      }
    });
  }
  samples.RunWindow(duration);
  stop = true;
  for (std::thread& thread : threads) thread.join();
  return samples.Summarize();
}

LoadResult MeasureAsyncLoad(const StartCall& start, int concurrency,
                            std::chrono::milliseconds duration) {
  return AsyncLoop(start, concurrency).Run(duration);
}

LoadResult Pool(const std::vector<LoadResult>& parts) {
  LoadResult pooled;
  for (const LoadResult& part : parts) {
    pooled.seconds += part.seconds;
    pooled.failures += part.failures;
    pooled.latencies_ms.insert(pooled.latencies_ms.end(), part.latencies_ms.begin(),
                               part.latencies_ms.end());
  }
  return Summarized(std::move(pooled));
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
