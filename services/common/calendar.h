#pragma once

// Rule C-7: each site has a time zone, working hours and a holiday calendar
// (a site setting); deadlines given in working days or working hours are
// computed with it.
//
// Model. Every local date of the site's time zone is either a working day
// with a list of working intervals (wall-clock minutes after local midnight)
// or a day off:
//   - a date in `holidays` is a day off, whatever its weekday;
//   - a date in `makeup_workdays` (调休) is a working day with Monday's hours,
//     whatever its weekday;
//   - any other date has the hours of its weekday in `weekly` (none = day off).
// Working time is real elapsed time inside those intervals: on a daylight-
// saving change an interval spanning the change is an hour shorter or longer
// than its wall-clock length; a wall-clock time that does not exist (spring
// forward) starts/ends at the instant after the gap, a repeated one (fall
// back) opens at its first and closes at its last occurrence.
// Intervals are half-open: with 09:00–12:00, 09:00 is working time and 12:00
// is not.
//
// A WorkingCalendar is immutable once created; all const methods are
// thread-safe.

#include <array>
#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace date {
class time_zone;
}  // namespace date

namespace propdesk::common {

using Timestamp = std::chrono::system_clock::time_point;

// Minutes after local midnight; 0 <= start < end <= 24:00 (1440).
struct WorkInterval {
  std::chrono::minutes start{};
  std::chrono::minutes end{};

  friend bool operator==(const WorkInterval&, const WorkInterval&) = default;
};

// Mon–Fri 09:00–12:00 and 13:30–18:00; Saturday and Sunday off.
std::array<std::vector<WorkInterval>, 7> DefaultWeekly();

struct CalendarSpec {
  std::string time_zone = "Asia/Shanghai";  // IANA name
  // Index 0 = Sunday … 6 = Saturday (std::chrono::weekday::c_encoding()).
  std::array<std::vector<WorkInterval>, 7> weekly = DefaultWeekly();
  // Days off even on a weekday (public holidays).
  std::set<std::chrono::year_month_day> holidays{};
  // Working days even on a weekend (调休); their hours are Monday's.
  std::set<std::chrono::year_month_day> makeup_workdays{};
};

class WorkingCalendar {
 public:
  // Validates and normalises `spec` (each day's intervals sorted) and resolves
  // the time zone once. Throws Error(kInvalidArgument) naming the problem: an
  // unknown time zone, an interval outside 00:00–24:00 or with start >= end,
  // overlapping intervals on one day, an invalid date, a date that is both a
  // holiday and a make-up workday, make-up workdays while Monday has no hours,
  // or a week without any working hours.
  static WorkingCalendar Create(CalendarSpec spec);

  // Whether the site works on that local date (see the model above).
  bool IsWorkingDay(std::chrono::year_month_day local_date) const;

  // Whether `t` falls inside one of its local day's working intervals.
  bool IsWorkingTime(Timestamp t) const;

  // "start + N working hours": the instant at which `working_duration` of
  // working time has elapsed since `start`. Counting starts at `start` when it
  // is inside working time, else at the next working instant; the result may
  // be the very end of an interval (e.g. 12:00 or 18:00), never the start of
  // the next one. A zero duration returns `start` unchanged. Throws
  // Error(kInvalidArgument) for a negative duration or one reaching more than
  // about 20 years ahead.
  Timestamp AddWorkingTime(Timestamp start, std::chrono::minutes working_duration) const;

  // "within N working days": the close of business (end of the last working
  // interval) of the N-th working day after the local day of `start`. The day
  // of `start` itself never counts, whatever the time: a complaint received
  // Tuesday 10:00 or Tuesday 20:00 with N = 4 is due Monday 18:00 (Wed, Thu,
  // Fri, Mon); received on Saturday it is due Thursday 18:00.
  // N = 0 means "the same day": the close of business of the start's day if it
  // is a working day and `start` is before its close, else the close of the
  // next working day. Throws Error(kInvalidArgument) for N < 0 or N > 5000.
  Timestamp AddWorkingDays(Timestamp start, int days) const;

  // The site-local calendar date and wall-clock time of day of `t`.
  std::chrono::year_month_day LocalDate(Timestamp t) const;
  std::chrono::minutes LocalTimeOfDay(Timestamp t) const;

  // The instant of a site-local wall-clock time (a time in a daylight-saving
  // gap maps to the instant after the gap; a repeated time to its first
  // occurrence). Handy for tests and for "the appointment is at 14:00".
  // Throws Error(kInvalidArgument) for an invalid date or a time outside
  // 00:00–24:00.
  Timestamp ToTimestamp(std::chrono::year_month_day local_date,
                        std::chrono::minutes time_of_day) const;

  const CalendarSpec& spec() const { return spec_; }

 private:
  struct Span {
    Timestamp begin;
    Timestamp end;
  };

  WorkingCalendar(CalendarSpec spec, const date::time_zone* zone);

  const std::vector<WorkInterval>& IntervalsOf(std::chrono::year_month_day local_date) const;
  // The working intervals of `local_date` as instants, in order, empty ones
  // (wholly inside a daylight-saving gap) dropped.
  std::vector<Span> SpansOf(std::chrono::year_month_day local_date) const;

  CalendarSpec spec_;
  const date::time_zone* zone_;  // owned by the tz database, lives forever
};

}  // namespace propdesk::common
