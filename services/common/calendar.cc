#include "common/calendar.h"

#include <date/tz.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "common/errors.h"

namespace propdesk::common {
namespace {

using std::chrono::minutes;
using std::chrono::year_month_day;

constexpr minutes kEndOfDay{24 * 60};
constexpr int kMonday = 1;
// How far ahead AddWorkingTime/AddWorkingDays search before giving up: a
// deadline 20 years out is a configuration mistake, not a deadline.
constexpr int kMaxSearchDays = 366 * 20;
constexpr int kMaxWorkingDays = 5000;
constexpr char kWeekdayNames[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

std::string FormatDate(year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

std::string FormatTimeOfDay(minutes m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(m.count() / 60),
                static_cast<int>(m.count() % 60));
  return buf;
}

date::local_days ToLocalDays(year_month_day d) {
  return date::local_days{date::days{std::chrono::sys_days{d}.time_since_epoch().count()}};
}

year_month_day FromLocalDays(date::local_days d) {
  return year_month_day{std::chrono::sys_days{std::chrono::days{d.time_since_epoch().count()}}};
}

year_month_day NextDay(year_month_day d) {
  return year_month_day{std::chrono::sys_days{d} + std::chrono::days{1}};
}

unsigned WeekdayIndex(year_month_day d) {
  return std::chrono::weekday{std::chrono::sys_days{d}}.c_encoding();
}

// Thread-safety: with USE_OS_TZDB, date's tz database is built once in a
// function-local static (thread-safe initialisation) and each zone reads its
// TZif file lazily under std::call_once, so resolving and using zones from
// several threads is safe; after that the zone is only read.
const date::time_zone* ResolveZone(const std::string& name) {
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // Load the zone's transitions now (once, under the library's call_once)
    // rather than on the first request.
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    throw InvalidArgument(
        "time_zone", "unknown time zone \"" + name + "\"; use an IANA name such as Asia/Shanghai");
  }
}

void NormaliseDay(std::vector<WorkInterval>& day, int weekday) {
  const std::string field = std::string("weekly.") + kWeekdayNames[weekday];
  for (const WorkInterval& interval : day) {
    if (interval.start < minutes{0} || interval.end > kEndOfDay || interval.start >= interval.end) {
      throw InvalidArgument(field, "working interval " + FormatTimeOfDay(interval.start) + "–" +
                                       FormatTimeOfDay(interval.end) +
                                       " must lie within 00:00–24:00 and start before it ends");
    }
  }
  std::sort(day.begin(), day.end(),
            [](const WorkInterval& a, const WorkInterval& b) { return a.start < b.start; });
  for (size_t i = 1; i < day.size(); ++i) {
    if (day[i].start < day[i - 1].end) {
      throw InvalidArgument(field, "working intervals " + FormatTimeOfDay(day[i - 1].start) + "–" +
                                       FormatTimeOfDay(day[i - 1].end) + " and " +
                                       FormatTimeOfDay(day[i].start) + "–" +
                                       FormatTimeOfDay(day[i].end) + " overlap");
    }
  }
}

void ValidateDates(const std::set<year_month_day>& dates, const std::string& field) {
  for (const year_month_day& d : dates) {
    if (!d.ok()) throw InvalidArgument(field, "contains an invalid date " + FormatDate(d));
  }
}

}  // namespace

std::array<std::vector<WorkInterval>, 7> DefaultWeekly() {
  const std::vector<WorkInterval> office_hours = {
      {std::chrono::hours{9}, std::chrono::hours{12}},
      {std::chrono::hours{13} + minutes{30}, std::chrono::hours{18}},
  };
  std::array<std::vector<WorkInterval>, 7> weekly;
  for (int day = 1; day <= 5; ++day) weekly[day] = office_hours;
  return weekly;
}

WorkingCalendar::WorkingCalendar(CalendarSpec spec, const date::time_zone* zone)
    : spec_(std::move(spec)), zone_(zone) {}

WorkingCalendar WorkingCalendar::Create(CalendarSpec spec) {
  const date::time_zone* zone = ResolveZone(spec.time_zone);
  bool any_hours = false;
  for (int weekday = 0; weekday < 7; ++weekday) {
    NormaliseDay(spec.weekly[weekday], weekday);
    any_hours = any_hours || !spec.weekly[weekday].empty();
  }
  if (!any_hours) {
    throw InvalidArgument("weekly",
                          "the week has no working hours; deadlines could never fall due");
  }
  ValidateDates(spec.holidays, "holidays");
  ValidateDates(spec.makeup_workdays, "makeup_workdays");
  for (const year_month_day& d : spec.makeup_workdays) {
    if (spec.holidays.contains(d)) {
      throw InvalidArgument("makeup_workdays",
                            FormatDate(d) + " is both a holiday and a make-up workday; keep one");
    }
  }
  if (!spec.makeup_workdays.empty() && spec.weekly[kMonday].empty()) {
    throw InvalidArgument("makeup_workdays",
                          "make-up workdays take Monday's hours, but Monday has no working hours");
  }
  return WorkingCalendar(std::move(spec), zone);
}

const std::vector<WorkInterval>& WorkingCalendar::IntervalsOf(year_month_day local_date) const {
  static const std::vector<WorkInterval> kDayOff;
  if (spec_.holidays.contains(local_date)) return kDayOff;
  if (spec_.makeup_workdays.contains(local_date)) return spec_.weekly[kMonday];
  return spec_.weekly[WeekdayIndex(local_date)];
}

std::vector<WorkingCalendar::Span> WorkingCalendar::SpansOf(year_month_day local_date) const {
  const date::local_days midnight = ToLocalDays(local_date);
  std::vector<Span> spans;
  for (const WorkInterval& interval : IntervalsOf(local_date)) {
    // Open at the first occurrence of the start and close at the last
    // occurrence of the end, so a repeated hour (fall back) is all working.
    const Timestamp begin = zone_->to_sys(midnight + interval.start, date::choose::earliest);
    const Timestamp end = zone_->to_sys(midnight + interval.end, date::choose::latest);
    if (begin < end) spans.push_back({begin, end});
  }
  return spans;
}

bool WorkingCalendar::IsWorkingDay(year_month_day local_date) const {
  return !IntervalsOf(local_date).empty();
}

bool WorkingCalendar::IsWorkingTime(Timestamp t) const {
  for (const Span& span : SpansOf(LocalDate(t))) {
    if (span.begin <= t && t < span.end) return true;
  }
  return false;
}

Timestamp WorkingCalendar::AddWorkingTime(Timestamp start, minutes working_duration) const {
  if (working_duration < minutes{0}) {
    throw InvalidArgument("working_duration", "must not be negative");
  }
  if (working_duration == minutes{0}) return start;

  Timestamp::duration remaining = working_duration;
  year_month_day day = LocalDate(start);
  for (int searched = 0; searched < kMaxSearchDays; ++searched, day = NextDay(day)) {
    for (const Span& span : SpansOf(day)) {
      if (span.end <= start) continue;
      const Timestamp from = std::max(span.begin, start);
      const Timestamp::duration available = span.end - from;
      if (remaining <= available) return from + remaining;
      remaining -= available;
    }
  }
  throw InvalidArgument("working_duration",
                        "reaches more than 20 years ahead; check the duration and the calendar");
}

Timestamp WorkingCalendar::AddWorkingDays(Timestamp start, int days) const {
  if (days < 0 || days > kMaxWorkingDays) {
    throw InvalidArgument("working_days",
                          "must be between 0 and " + std::to_string(kMaxWorkingDays));
  }
  year_month_day day = LocalDate(start);
  if (days == 0) {
    const std::vector<Span> today = SpansOf(day);
    if (!today.empty() && start < today.back().end) return today.back().end;
    days = 1;  // closed or a day off: the same-day deadline is the next working day's close
  }
  int counted = 0;
  for (int searched = 0; searched < kMaxSearchDays; ++searched) {
    day = NextDay(day);
    const std::vector<Span> spans = SpansOf(day);
    if (spans.empty()) continue;
    if (++counted == days) return spans.back().end;
  }
  throw InvalidArgument("working_days",
                        "reaches more than 20 years ahead; check the calendar's working days");
}

year_month_day WorkingCalendar::LocalDate(Timestamp t) const {
  return FromLocalDays(date::floor<date::days>(zone_->to_local(t)));
}

minutes WorkingCalendar::LocalTimeOfDay(Timestamp t) const {
  const auto local = zone_->to_local(t);
  return date::floor<minutes>(local - date::floor<date::days>(local));
}

Timestamp WorkingCalendar::ToTimestamp(year_month_day local_date, minutes time_of_day) const {
  if (!local_date.ok()) {
    throw InvalidArgument("local_date", "invalid date " + FormatDate(local_date));
  }
  if (time_of_day < minutes{0} || time_of_day > kEndOfDay) {
    throw InvalidArgument("time_of_day", "must lie within 00:00–24:00");
  }
  return zone_->to_sys(ToLocalDays(local_date) + time_of_day, date::choose::earliest);
}

}  // namespace propdesk::common
