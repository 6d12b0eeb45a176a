#pragma once

// The closed-loop load generator every `make bench` binary shares: N caller
// threads call as fast as they can for a fixed time after a warm-up, and the
// latencies of the successful calls give throughput, p50 and p99. Figures are
// printed as one line each, `bench: <name> <value> <unit> [details]`
// (tests/bench/run.sh).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace propdesk::bench {

// One caller's loop body: makes one call, returns whether it succeeded.
using CallOnce = std::function<bool()>;
// Makes a caller (its own connection or stub state); called once per thread.
using CallerFactory = std::function<CallOnce()>;

struct LoadResult {
  double throughput = 0;  // successful calls/s
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t calls = 0;
  int64_t failures = 0;
  double seconds = 0;                // the measured window
  std::vector<double> latencies_ms;  // of every successful call, sorted
};

// Several measurements of one thing as one: their calls over their total
// time, percentiles of all their calls. (Alternating short measurements of
// two things cancels the drift of a shared machine between them.)
LoadResult Pool(const std::vector<LoadResult>& parts);

// Runs `concurrency` callers for a 300 ms warm-up and then `duration`.
LoadResult MeasureLoad(const CallerFactory& factory, int concurrency,
                       std::chrono::milliseconds duration);

// The same closed loop without a thread per caller: `concurrency` calls are
// in flight at all times, and each one's completion starts the next (gRPC's
// callback API). On a 2-core box 64 blocking client threads cost the cores
// as much as the service they measure does; this client leaves them to the
// service. `start(slot, done)` starts one call of caller `slot` (0 …
// concurrency-1) and returns at once; `done(ok)` must be called exactly once
// when it finished, on any thread.
using Done = std::function<void(bool ok)>;
using StartCall = std::function<void(int slot, Done done)>;
LoadResult MeasureAsyncLoad(const StartCall& start, int concurrency,
                            std::chrono::milliseconds duration);

// Latency percentiles of `samples_ms` (sorted in place); 0 when empty.
struct Percentiles {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};
Percentiles PercentilesOf(std::vector<double>& samples_ms);

// PROPDESK_BENCH_SECONDS (default 4) per measurement: shorter runs on a
// shared 2-core box moved the gateway ratios by ±0.1 from run to run.
std::chrono::milliseconds BenchDuration();
// PROPDESK_BENCH_CONCURRENCY, comma-separated (default 1,16,64).
std::vector<int> BenchConcurrencies();
// PROPDESK_BENCH_YARDSTICK (rows/s from run.sh's mariadb-slap), or 0.
double BenchYardstick();

// `bench: <name> <value> <unit> <details>`, flushed.
void PrintFigure(const std::string& name, double value, const std::string& unit,
                 const std::string& details = "");
// `bench: <name>_throughput … calls/s p50=…ms p99=…ms calls=… failures=…`.
void PrintLoad(const std::string& name, const LoadResult& result);

}  // namespace propdesk::bench
