#pragma once

// Timers as rows (ARCHITECTURE.md §8): deadlines live in MySQL with an index
// on due_at; a WindowedScanner run by the leader replica processes, per
// tick, exactly the window (last_tick, now] since its previous tick. Its cost
// follows the items falling due, not the items open: the callback queries
//
//   SELECT … FROM <timers> WHERE due_at > ? AND due_at <= ?   -- KEY (due_at)
//
// binding ToSqlDateTime(from) and ToSqlDateTime(to) (due_at a UTC DATETIME(6)).
//
// The cursor row scan_cursors(name, last_tick) advances in the same
// transaction as the callback's work and is read FOR UPDATE, so a crash
// neither skips nor repeats a window, and even two scanners that both think
// they lead (a lock connection lost mid-tick) process each window once. Work
// outside that transaction (Redis, peers) can repeat after a crash: emit it
// through the outbox (AppendEvent) instead.
//
// After downtime the backlog is worked off in windows of at most max_window,
// one transaction each, so one tick never becomes one huge transaction.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/background_loop.h"
#include "common/leader.h"
#include "common/mysql.h"

namespace propdesk::common {

struct WindowedScanOptions {
  // The first tick ever (no cursor row yet) covers (now − first_look_back, now].
  std::chrono::milliseconds first_look_back{std::chrono::hours(1)};
  // The longest window handed to the callback at once; zero: no limit.
  std::chrono::milliseconds max_window{std::chrono::hours(1)};
};

class WindowedScanner {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  // Runs inside the transaction that advances the cursor from `from` to
  // `to` (both UTC, microsecond precision). Throwing rolls both back; the
  // same window is offered again on the next tick.
  using ScanFn = std::function<void(MysqlConnection& tx, TimePoint from, TimePoint to)>;

  // Leads with `leader`, which may be shared by all of a service's
  // leader-only work. Throws Error(kInvalidArgument) for an empty or over
  // long scan name, a tick that is not positive, or a missing callback.
  WindowedScanner(MysqlPool& pool, LeaderLock& leader, std::string scan_name,
                  std::chrono::milliseconds tick, ScanFn fn, WindowedScanOptions options = {});
  // Leads with a LeaderLock of its own named "scan:<scan_name>".
  WindowedScanner(MysqlPool& pool, std::string scan_name, std::chrono::milliseconds tick, ScanFn fn,
                  WindowedScanOptions options = {});
  ~WindowedScanner();  // Stop()s
  WindowedScanner(const WindowedScanner&) = delete;
  WindowedScanner& operator=(const WindowedScanner&) = delete;

  // When leader: processes every window up to `now` and returns true.
  // Returns false, doing nothing, when another replica leads. Throws what
  // the callback or MySQL throws (the cursor then stays where it was).
  bool TickOnce(TimePoint now);

  // A background thread: TickOnce(system_clock::now()) every `tick`.
  void Start();
  void Stop();

  const std::string& name() const { return name_; }

 private:
  WindowedScanner(MysqlPool& pool, std::unique_ptr<LeaderLock> own_leader, LeaderLock* leader,
                  std::string scan_name, std::chrono::milliseconds tick, ScanFn fn,
                  WindowedScanOptions options);
  // Creates the cursor row at now − first_look_back unless it exists.
  void EnsureCursor(TimePoint now);
  // One window in one transaction; true when more remains before `now`.
  bool ProcessNextWindow(TimePoint now);
  std::chrono::milliseconds Iterate();  // one pass of the background loop

  MysqlPool& pool_;
  std::unique_ptr<LeaderLock> own_leader_;  // set when not sharing one
  LeaderLock* leader_;
  const std::string name_;
  const std::chrono::milliseconds tick_;
  const ScanFn fn_;
  const WindowedScanOptions options_;
  std::mutex tick_mu_;          // one TickOnce at a time
  bool cursor_exists_ = false;  // guarded by tick_mu_

  BackgroundLoop loop_;  // last member: stopped first, before what it uses
};

// UTC "YYYY-MM-DD HH:MM:SS.ffffff", for binding to a DATETIME(6) column
// (sub-microsecond digits are truncated toward the past).
std::string ToSqlDateTime(std::chrono::system_clock::time_point t);
// Parses "YYYY-MM-DD HH:MM:SS[.f…]" (up to 6 fraction digits) as UTC.
// Throws Error(kInvalidArgument) on anything else.
std::chrono::system_clock::time_point FromSqlDateTime(std::string_view text);

}  // namespace propdesk::common
