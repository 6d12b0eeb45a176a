#include "common/windowed_scan.h"

#include <cctype>
#include <cstdio>
#include <exception>
#include <utility>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::common {
namespace {

using std::chrono::microseconds;
using std::chrono::system_clock;

constexpr size_t kMaxScanNameLength = 128;  // scan_cursors.name

// Reads exactly `digits` decimal digits at `pos`.
bool ReadNumber(std::string_view text, size_t& pos, size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  out = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  pos += digits;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

[[noreturn]] void BadDateTime(std::string_view text) {
  throw InvalidArgument("datetime", "expected UTC \"YYYY-MM-DD HH:MM:SS[.ffffff]\", got \"" +
                                        std::string(text) + "\"");
}

}  // namespace

std::string ToSqlDateTime(system_clock::time_point t) {
  const auto us = std::chrono::floor<microseconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(us);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<microseconds> tod{us - day};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u %02d:%02d:%02d.%06lld",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                static_cast<long long>(tod.subseconds().count()));
  return buf;
}

system_clock::time_point FromSqlDateTime(std::string_view text) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const bool ok =
      ReadNumber(text, pos, 4, y) && Expect(text, pos, '-') && ReadNumber(text, pos, 2, mo) &&
      Expect(text, pos, '-') && ReadNumber(text, pos, 2, d) && Expect(text, pos, ' ') &&
      ReadNumber(text, pos, 2, h) && Expect(text, pos, ':') && ReadNumber(text, pos, 2, mi) &&
      Expect(text, pos, ':') && ReadNumber(text, pos, 2, s);
  if (!ok || h > 23 || mi > 59 || s > 59) BadDateTime(text);
  long long fraction_us = 0;
  if (pos < text.size()) {
    if (!Expect(text, pos, '.')) BadDateTime(text);
    const size_t digits = text.size() - pos;
    if (digits == 0 || digits > 6) BadDateTime(text);
    int value = 0;
    if (!ReadNumber(text, pos, digits, value)) BadDateTime(text);
    fraction_us = value;
    for (size_t i = digits; i < 6; ++i) fraction_us *= 10;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) BadDateTime(text);
  return std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{s} + microseconds{fraction_us};
}

WindowedScanner::WindowedScanner(MysqlPool& pool, std::unique_ptr<LeaderLock> own_leader,
                                 LeaderLock* leader, std::string scan_name,
                                 std::chrono::milliseconds tick, ScanFn fn,
                                 WindowedScanOptions options)
    : pool_(pool),
      own_leader_(std::move(own_leader)),
      leader_(leader),
      name_(std::move(scan_name)),
      tick_(tick),
      fn_(std::move(fn)),
      options_(options) {
  if (name_.empty() || name_.size() > kMaxScanNameLength) {
    throw InvalidArgument("scan_name",
                          "must be 1 to " + std::to_string(kMaxScanNameLength) + " bytes long");
  }
  if (tick_.count() <= 0) throw InvalidArgument("tick", "must be positive");
  if (!fn_) throw InvalidArgument("fn", "a windowed scanner needs a callback");
  if (options_.first_look_back.count() < 0 || options_.max_window.count() < 0) {
    throw InvalidArgument("options", "first_look_back and max_window must not be negative");
  }
}

WindowedScanner::WindowedScanner(MysqlPool& pool, LeaderLock& leader, std::string scan_name,
                                 std::chrono::milliseconds tick, ScanFn fn,
                                 WindowedScanOptions options)
    : WindowedScanner(pool, nullptr, &leader, std::move(scan_name), tick, std::move(fn), options) {}

WindowedScanner::WindowedScanner(MysqlPool& pool, std::string scan_name,
                                 std::chrono::milliseconds tick, ScanFn fn,
                                 WindowedScanOptions options)
    : WindowedScanner(pool, std::make_unique<LeaderLock>(pool, "scan:" + scan_name), nullptr,
                      scan_name, tick, std::move(fn), options) {
  leader_ = own_leader_.get();
}

WindowedScanner::~WindowedScanner() { Stop(); }

bool WindowedScanner::TickOnce(TimePoint now) {
  std::lock_guard ticking(tick_mu_);
  if (!leader_->TryAcquire()) return false;
  const TimePoint until = std::chrono::floor<microseconds>(now);  // DATETIME(6) precision
  while (ProcessNextWindow(until)) {
    if (!leader_->StillHeld()) break;  // the new leader carries on from the cursor
  }
  return true;
}

void WindowedScanner::EnsureCursor(TimePoint now) {
  if (cursor_exists_) return;
  // Its own autocommit statement, before any window's transaction: two
  // scanners creating the row at once then merely queue on the key instead
  // of deadlocking on lock upgrades inside their transactions.
  pool_.Acquire()->Execute("INSERT IGNORE INTO scan_cursors (name, last_tick) VALUES (?, ?)",
                           {name_, ToSqlDateTime(now - options_.first_look_back)});
  cursor_exists_ = true;
}

bool WindowedScanner::ProcessNextWindow(TimePoint now) {
  EnsureCursor(now);
  return pool_.WithTransaction([&](MysqlConnection& tx) {
    // FOR UPDATE: a second scanner waits here and then sees the advanced
    // cursor, so no window is handed out twice.
    auto rs = tx.Query(
        "SELECT DATE_FORMAT(last_tick, '%Y-%m-%d %H:%i:%s.%f') FROM scan_cursors "
        "WHERE name = ? FOR UPDATE",
        {name_});
    if (!rs->next()) {  // deleted by hand: recreated on the next tick
      cursor_exists_ = false;
      return false;
    }
    const TimePoint from = FromSqlDateTime(std::string(rs->getString(1)));
    if (from >= now) return false;  // up to date (or the clock went back)
    TimePoint to = now;
    if (options_.max_window.count() > 0 && to - from > options_.max_window) {
      to = from + options_.max_window;
    }
    fn_(tx, from, to);
    tx.Execute("UPDATE scan_cursors SET last_tick = ? WHERE name = ?", {ToSqlDateTime(to), name_});
    return to < now;
  });
}

void WindowedScanner::Start() {
  loop_.Start([this] { return Iterate(); });
}

void WindowedScanner::Stop() {
  loop_.Stop();
  if (own_leader_ != nullptr) own_leader_->Release();
}

std::chrono::milliseconds WindowedScanner::Iterate() {
  try {
    TickOnce(system_clock::now());
  } catch (const std::exception& e) {
    DefaultLogger()->Warn("windowed scan: tick failed; the window is retried next tick",
                          {{"scan", name_}, {"error", e.what()}});
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(tick_);
}

}  // namespace propdesk::common
