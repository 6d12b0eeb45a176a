// Rule C-7: deadlines in working hours and working days follow the site's
// time zone, working hours, public holidays and make-up workdays (调休).
// Expected instants are written in UTC, worked out by hand from the local
// times in the comments, so the test does not trust the code's own
// conversions.

#include "common/calendar.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"

namespace propdesk::common {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::year_month_day;

year_month_day Ymd(int y, unsigned m, unsigned d) {
  return year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

// An instant given as a UTC wall-clock time.
Timestamp Utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  return std::chrono::sys_days{Ymd(y, mo, d)} + hours{h} + minutes{mi};
}

// Asia/Shanghai is UTC+8 all year.
Timestamp Shanghai(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  return Utc(y, mo, d, h, mi) - hours{8};
}

std::string Iso(Timestamp t) { return date::format("%FT%H:%MZ", date::floor<minutes>(t)); }

WorkingCalendar DefaultCalendar(std::string zone = "Asia/Shanghai") {
  CalendarSpec spec;
  spec.time_zone = std::move(zone);
  return WorkingCalendar::Create(spec);
}

// China's 2024 Spring Festival: 10–17 Feb off, Sundays 4 and 18 Feb worked.
CalendarSpec SpringFestival2024() {
  CalendarSpec spec;
  for (unsigned d = 10; d <= 17; ++d) spec.holidays.insert(Ymd(2024, 2, d));
  spec.makeup_workdays = {Ymd(2024, 2, 4), Ymd(2024, 2, 18)};
  return spec;
}

// --- working time -----------------------------------------------------------

TEST(WorkingCalendar, C7_DefaultHoursAreWeekdayOfficeHoursWithLunchBreak) {
  const WorkingCalendar cal = DefaultCalendar();
  // Wednesday 6 March 2024, Shanghai.
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 8, 59)));
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 9, 0)));
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 11, 59)));
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 12, 0)));
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 13, 29)));
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 13, 30)));
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 17, 59)));
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 3, 6, 18, 0)));
  // Saturday 9 and Sunday 10 March.
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 3, 9, 10, 0)));
  EXPECT_FALSE(cal.IsWorkingDay(Ymd(2024, 3, 9)));
  EXPECT_FALSE(cal.IsWorkingDay(Ymd(2024, 3, 10)));
  EXPECT_TRUE(cal.IsWorkingDay(Ymd(2024, 3, 11)));
}

TEST(WorkingCalendar, C7_AddWorkingTimeWithinAMorning) {
  // Wed 09:30 + 2 h = Wed 11:30 (03:30Z).
  EXPECT_EQ(Iso(DefaultCalendar().AddWorkingTime(Shanghai(2024, 3, 6, 9, 30), hours{2})),
            "2024-03-06T03:30Z");
}

TEST(WorkingCalendar, C7_AddWorkingTimeSkipsTheLunchBreak) {
  // Wed 11:00 + 2 h: 1 h until 12:00, 1 h from 13:30 → 14:30 (06:30Z).
  EXPECT_EQ(Iso(DefaultCalendar().AddWorkingTime(Shanghai(2024, 3, 6, 11, 0), hours{2})),
            "2024-03-06T06:30Z");
}

TEST(WorkingCalendar, C7_DeadlineMayFallExactlyAtTheEndOfAnInterval) {
  // Wed 10:00 + 2 h = 12:00 itself, not 13:30.
  EXPECT_EQ(Iso(DefaultCalendar().AddWorkingTime(Shanghai(2024, 3, 6, 10, 0), hours{2})),
            "2024-03-06T04:00Z");
  // A whole working day is 7.5 h: Mon 09:00 + 7:30 = Mon 18:00; one minute
  // more is Tue 09:01.
  EXPECT_EQ(Iso(DefaultCalendar().AddWorkingTime(Shanghai(2024, 3, 4, 9, 0), minutes{450})),
            "2024-03-04T10:00Z");
  EXPECT_EQ(Iso(DefaultCalendar().AddWorkingTime(Shanghai(2024, 3, 4, 9, 0), minutes{451})),
            "2024-03-05T01:01Z");
}

TEST(WorkingCalendar, C7_AddWorkingTimeCarriesOverNightAndWeekend) {
  const WorkingCalendar cal = DefaultCalendar();
  // Wed 17:00 + 2 h: 1 h to 18:00, then Thu 09:00 + 1 h = Thu 10:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 6, 17, 0), hours{2})), "2024-03-07T02:00Z");
  // Fri 8 Mar 17:00 + 2 h → Mon 11 Mar 10:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 8, 17, 0), hours{2})), "2024-03-11T02:00Z");
}

TEST(WorkingCalendar, C7_StartOutsideWorkingHoursCountsFromTheNextWorkingInstant) {
  const WorkingCalendar cal = DefaultCalendar();
  // Before opening: Wed 07:00 + 1 h = 10:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 6, 7, 0), hours{1})), "2024-03-06T02:00Z");
  // During lunch: Wed 12:30 + 1 h = 14:30.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 6, 12, 30), hours{1})), "2024-03-06T06:30Z");
  // After closing: Wed 20:00 + 30 min = Thu 09:30.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 6, 20, 0), minutes{30})), "2024-03-07T01:30Z");
  // Saturday 10:00 + 1 h = Monday 10:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 9, 10, 0), hours{1})), "2024-03-11T02:00Z");
}

TEST(WorkingCalendar, C7_ZeroDurationReturnsTheStartUnchanged) {
  const WorkingCalendar cal = DefaultCalendar();
  const Timestamp inside = Shanghai(2024, 3, 6, 10, 17) + std::chrono::seconds{42};
  const Timestamp outside = Shanghai(2024, 3, 9, 23, 0);
  EXPECT_EQ(cal.AddWorkingTime(inside, minutes{0}), inside);
  EXPECT_EQ(cal.AddWorkingTime(outside, minutes{0}), outside);
}

TEST(WorkingCalendar, C7_SubMinuteStartIsKept) {
  // 10:00:30 + 1 h = 11:00:30: seconds of the start are not rounded away.
  const Timestamp start = Shanghai(2024, 3, 6, 10, 0) + std::chrono::seconds{30};
  EXPECT_EQ(DefaultCalendar().AddWorkingTime(start, hours{1}), start + hours{1});
}

TEST(WorkingCalendar, C7_NegativeOrEndlessDurationIsRejected) {
  const WorkingCalendar cal = DefaultCalendar();
  try {
    cal.AddWorkingTime(Shanghai(2024, 3, 6, 10, 0), minutes{-1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
  // A million working hours is ~500 years of office hours.
  EXPECT_THROW(cal.AddWorkingTime(Shanghai(2024, 3, 6, 10, 0), hours{1'000'000}), Error);
}

// --- holidays and make-up workdays --------------------------------------------

TEST(WorkingCalendar, C7_SpringFestival2024HolidaysAndMakeupWorkdays) {
  const WorkingCalendar cal = WorkingCalendar::Create(SpringFestival2024());
  EXPECT_FALSE(cal.IsWorkingDay(Ymd(2024, 2, 3)));  // ordinary Saturday
  EXPECT_TRUE(cal.IsWorkingDay(Ymd(2024, 2, 4)));   // Sunday, make-up workday
  EXPECT_TRUE(cal.IsWorkingDay(Ymd(2024, 2, 9)));   // Friday before the holiday
  for (unsigned d = 10; d <= 17; ++d) {
    EXPECT_FALSE(cal.IsWorkingDay(Ymd(2024, 2, d))) << "Feb " << d;  // incl. Mon 12 – Fri 16
  }
  EXPECT_TRUE(cal.IsWorkingDay(Ymd(2024, 2, 18)));  // Sunday, make-up workday
  EXPECT_TRUE(cal.IsWorkingDay(Ymd(2024, 2, 19)));
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 2, 14, 10, 0)));  // Wednesday in the holiday
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 2, 18, 10, 0)));   // the make-up Sunday
}

TEST(WorkingCalendar, C7_AddWorkingTimeJumpsOverTheHolidayToTheMakeupSunday) {
  const WorkingCalendar cal = WorkingCalendar::Create(SpringFestival2024());
  // Fri 9 Feb 17:00 + 2 h: 1 h that day, the rest on Sunday 18 Feb → 10:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 2, 9, 17, 0), hours{2})), "2024-02-18T02:00Z");
  // Received during the holiday: Wed 14 Feb 10:00 + 2 h → Sun 18 Feb 11:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 2, 14, 10, 0), hours{2})), "2024-02-18T03:00Z");
  // Sat 3 Feb 10:00 + 1 h → the make-up Sunday 4 Feb, 10:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 2, 3, 10, 0), hours{1})), "2024-02-04T02:00Z");
}

TEST(WorkingCalendar, C7_MakeupWorkdayUsesMondaysHours) {
  CalendarSpec spec = SpringFestival2024();
  spec.weekly[1] = {{hours{8}, hours{12}}};  // Mondays: 08:00–12:00 only
  const WorkingCalendar cal = WorkingCalendar::Create(spec);
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 2, 18, 8, 30)));
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 2, 18, 14, 0)));
  // A make-up day on a weekday also takes Monday's hours (Thu 22 Feb here).
  spec.makeup_workdays.insert(Ymd(2024, 2, 22));
  const WorkingCalendar with_thursday = WorkingCalendar::Create(spec);
  EXPECT_TRUE(with_thursday.IsWorkingTime(Shanghai(2024, 2, 22, 8, 30)));
  EXPECT_FALSE(with_thursday.IsWorkingTime(Shanghai(2024, 2, 22, 14, 0)));
}

// --- working days -------------------------------------------------------------

TEST(WorkingCalendar, C7_AddWorkingDaysEndsAtCloseOfTheNthWorkingDayAfterStart) {
  const WorkingCalendar cal = DefaultCalendar();
  // Tue 5 Mar, 4 working days: Wed, Thu, Fri, Mon → Mon 11 Mar 18:00.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 10, 0), 4)), "2024-03-11T10:00Z");
  // The time of day on the start's day does not matter, even after hours.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 20, 0), 4)), "2024-03-11T10:00Z");
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 0, 0), 4)), "2024-03-11T10:00Z");
  // From a Saturday: Mon, Tue, Wed, Thu → Thu 14 Mar 18:00.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 9, 11, 0), 4)), "2024-03-14T10:00Z");
  // One working day from Tuesday is Wednesday's close.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 10, 0), 1)), "2024-03-06T10:00Z");
}

TEST(WorkingCalendar, C7_ZeroWorkingDaysMeansCloseOfBusinessTheSameDay) {
  const WorkingCalendar cal = DefaultCalendar();
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 10, 0), 0)), "2024-03-05T10:00Z");
  // During lunch it is still today.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 12, 30), 0)), "2024-03-05T10:00Z");
  // After closing, or on a day off: the next working day's close.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 5, 18, 0), 0)), "2024-03-06T10:00Z");
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 3, 9, 10, 0), 0)), "2024-03-11T10:00Z");
}

TEST(WorkingCalendar, C7_AddWorkingDaysAcrossSpringFestival) {
  const WorkingCalendar cal = WorkingCalendar::Create(SpringFestival2024());
  // Thu 8 Feb + 2 working days: Fri 9, then Sun 18 (make-up) → 18 Feb 18:00.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 2, 8, 10, 0), 2)), "2024-02-18T10:00Z");
  // Complaint received Fri 9 Feb, reply within 4 working days (T-4):
  // Sun 18, Mon 19, Tue 20, Wed 21 → Wed 21 Feb 18:00.
  EXPECT_EQ(Iso(cal.AddWorkingDays(Shanghai(2024, 2, 9, 16, 0), 4)), "2024-02-21T10:00Z");
}

TEST(WorkingCalendar, C7_NegativeWorkingDaysAreRejected) {
  EXPECT_THROW(DefaultCalendar().AddWorkingDays(Shanghai(2024, 3, 5, 10, 0), -1), Error);
  EXPECT_THROW(DefaultCalendar().AddWorkingDays(Shanghai(2024, 3, 5, 10, 0), 5001), Error);
}

// --- time zones -----------------------------------------------------------------

TEST(WorkingCalendar, C7_TheSameInstantIsLocalToEachSite) {
  const WorkingCalendar shanghai = DefaultCalendar("Asia/Shanghai");
  const WorkingCalendar new_york = DefaultCalendar("America/New_York");
  // 2024-03-06T02:00Z is Wed 10:00 in Shanghai and Tue 21:00 (EST) in New York.
  const Timestamp t = Utc(2024, 3, 6, 2, 0);
  EXPECT_EQ(shanghai.LocalDate(t), Ymd(2024, 3, 6));
  EXPECT_EQ(shanghai.LocalTimeOfDay(t), hours{10});
  EXPECT_TRUE(shanghai.IsWorkingTime(t));
  EXPECT_EQ(new_york.LocalDate(t), Ymd(2024, 3, 5));
  EXPECT_EQ(new_york.LocalTimeOfDay(t), hours{21});
  EXPECT_FALSE(new_york.IsWorkingTime(t));
  // Each one's next hour of work: Shanghai 11:00 (03:00Z); New York Wed
  // 09:00 EST + 1 h = 10:00 EST (15:00Z).
  EXPECT_EQ(Iso(shanghai.AddWorkingTime(t, hours{1})), "2024-03-06T03:00Z");
  EXPECT_EQ(Iso(new_york.AddWorkingTime(t, hours{1})), "2024-03-06T15:00Z");
}

TEST(WorkingCalendar, C7_NewYorkDeadlineAcrossTheSpringDstChange) {
  const WorkingCalendar cal = DefaultCalendar("America/New_York");
  // Fri 8 Mar 17:00 EST (22:00Z) + 2 h: 1 h Friday, then Mon 11 Mar 10:00
  // EDT (UTC-4) = 14:00Z. With the winter offset it would wrongly be 15:00Z.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Utc(2024, 3, 8, 22, 0), hours{2})), "2024-03-11T14:00Z");
  EXPECT_EQ(Iso(cal.AddWorkingDays(Utc(2024, 3, 8, 15, 0), 1)), "2024-03-11T22:00Z");
}

TEST(WorkingCalendar, C7_IntervalSpanningDstChangeCountsRealElapsedTime) {
  CalendarSpec spec;
  spec.time_zone = "America/New_York";
  spec.weekly[0] = {{hours{0}, hours{6}}};  // a Sunday night desk, 00:00–06:00
  const WorkingCalendar cal = WorkingCalendar::Create(spec);
  // Sun 10 Mar 2024: 02:00 → 03:00, so 00:00–06:00 holds only 5 hours.
  // 00:00 EST = 05:00Z; 06:00 EDT = 10:00Z.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Utc(2024, 3, 10, 5, 0), hours{5})), "2024-03-10T10:00Z");
  // The 6th hour spills into Monday 09:00 EDT (13:00Z) → 14:00Z.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Utc(2024, 3, 10, 5, 0), hours{6})), "2024-03-11T14:00Z");
  // Sun 3 Nov 2024: 02:00 → 01:00, so 00:00–06:00 holds 7 hours.
  // 00:00 EDT = 04:00Z; 06:00 EST = 11:00Z.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Utc(2024, 11, 3, 4, 0), hours{7})), "2024-11-03T11:00Z");
  // The repeated hour is working time both times.
  EXPECT_TRUE(cal.IsWorkingTime(Utc(2024, 11, 3, 5, 30)));  // 01:30 EDT
  EXPECT_TRUE(cal.IsWorkingTime(Utc(2024, 11, 3, 6, 30)));  // 01:30 EST
}

TEST(WorkingCalendar, C7_IntervalEndingInTheRepeatedHourClosesAtItsLastOccurrence) {
  CalendarSpec spec;
  spec.time_zone = "America/New_York";
  spec.weekly[0] = {{hours{0}, hours{1} + minutes{30}}};  // Sundays 00:00–01:30
  const WorkingCalendar cal = WorkingCalendar::Create(spec);
  // Sun 3 Nov 2024: 01:30 happens twice; the desk closes at the second
  // (EST, 06:30Z), so the interval holds 2.5 h from 00:00 EDT (04:00Z).
  EXPECT_TRUE(cal.IsWorkingTime(Utc(2024, 11, 3, 6, 0)));  // 01:00 EST
  EXPECT_FALSE(cal.IsWorkingTime(Utc(2024, 11, 3, 6, 30)));
  EXPECT_EQ(Iso(cal.AddWorkingTime(Utc(2024, 11, 3, 4, 0), minutes{150})), "2024-11-03T06:30Z");
}

TEST(WorkingCalendar, C7_LocalTimeThatDoesNotExistMapsPastTheGap) {
  const WorkingCalendar cal = DefaultCalendar("America/New_York");
  // 02:30 on 10 Mar 2024 never happens in New York; it maps to 03:00 EDT.
  EXPECT_EQ(Iso(cal.ToTimestamp(Ymd(2024, 3, 10), hours{2} + minutes{30})), "2024-03-10T07:00Z");
  // A repeated time maps to its first occurrence (01:30 EDT).
  EXPECT_EQ(Iso(cal.ToTimestamp(Ymd(2024, 11, 3), hours{1} + minutes{30})), "2024-11-03T05:30Z");
}

TEST(WorkingCalendar, C7_ToTimestampRejectsBadDateOrTime) {
  const WorkingCalendar cal = DefaultCalendar();
  EXPECT_THROW(cal.ToTimestamp(Ymd(2024, 2, 30), hours{9}), Error);
  EXPECT_THROW(cal.ToTimestamp(Ymd(2024, 2, 14), hours{25}), Error);
  EXPECT_THROW(cal.ToTimestamp(Ymd(2024, 2, 14), minutes{-1}), Error);
  EXPECT_EQ(Iso(cal.ToTimestamp(Ymd(2024, 2, 14), hours{24})), "2024-02-14T16:00Z");
}

TEST(WorkingCalendar, C7_EuropeLondonFollowsBritishSummerTime) {
  const WorkingCalendar cal = DefaultCalendar("Europe/London");
  // Winter: Mon 15 Jan 2024 09:00 GMT = 09:00Z.
  EXPECT_EQ(cal.LocalTimeOfDay(Utc(2024, 1, 15, 9, 0)), hours{9});
  EXPECT_TRUE(cal.IsWorkingTime(Utc(2024, 1, 15, 9, 0)));
  // Summer: Mon 1 Jul 2024 08:30Z = 09:30 BST (working), 08:30 BST not yet.
  EXPECT_EQ(cal.LocalTimeOfDay(Utc(2024, 7, 1, 8, 30)), hours{9} + minutes{30});
  EXPECT_TRUE(cal.IsWorkingTime(Utc(2024, 7, 1, 8, 30)));
  EXPECT_FALSE(cal.IsWorkingTime(Utc(2024, 7, 1, 7, 30)));
  // BST starts Sun 31 Mar 2024. Fri 29 Mar 17:00 GMT + 2 h → Mon 1 Apr
  // 10:00 BST = 09:00Z.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Utc(2024, 3, 29, 17, 0), hours{2})), "2024-04-01T09:00Z");
}

TEST(WorkingCalendar, C7_LocalDateChangesAtLocalMidnight) {
  const WorkingCalendar cal = DefaultCalendar();
  // 15:59Z is 23:59 in Shanghai; 16:00Z is the next local day.
  EXPECT_EQ(cal.LocalDate(Utc(2024, 3, 5, 15, 59)), Ymd(2024, 3, 5));
  EXPECT_EQ(cal.LocalTimeOfDay(Utc(2024, 3, 5, 15, 59)), hours{23} + minutes{59});
  EXPECT_EQ(cal.LocalDate(Utc(2024, 3, 5, 16, 0)), Ymd(2024, 3, 6));
  EXPECT_EQ(cal.LocalTimeOfDay(Utc(2024, 3, 5, 16, 0)), minutes{0});
}

// --- specs --------------------------------------------------------------------

TEST(WorkingCalendar, C7_IntervalsAreNormalisedAndMayTouch) {
  CalendarSpec spec;
  spec.weekly[3] = {{hours{14}, hours{18}}, {hours{9}, hours{12}}, {hours{12}, hours{13}}};
  const WorkingCalendar cal = WorkingCalendar::Create(spec);
  const std::vector<WorkInterval> expected = {
      {hours{9}, hours{12}}, {hours{12}, hours{13}}, {hours{14}, hours{18}}};
  EXPECT_EQ(cal.spec().weekly[3], expected);
  // Wed 11:00 + 3 h: to 13:00 (2 h), then 14:00 + 1 h = 15:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 6, 11, 0), hours{3})), "2024-03-06T07:00Z");
}

TEST(WorkingCalendar, C7_IntervalUntilMidnightIsAccepted) {
  CalendarSpec spec;
  spec.weekly = {};
  spec.weekly[6] = {{hours{20}, hours{24}}};  // Saturday evenings only
  const WorkingCalendar cal = WorkingCalendar::Create(spec);
  EXPECT_TRUE(cal.IsWorkingTime(Shanghai(2024, 3, 9, 23, 59)));
  EXPECT_FALSE(cal.IsWorkingTime(Shanghai(2024, 3, 10, 0, 0)));
  // Sat 23:00 + 2 h: 1 h to midnight, then next Saturday 21:00.
  EXPECT_EQ(Iso(cal.AddWorkingTime(Shanghai(2024, 3, 9, 23, 0), hours{2})), "2024-03-16T13:00Z");
}

void ExpectBadSpec(const CalendarSpec& spec, const std::string& field) {
  try {
    WorkingCalendar::Create(spec);
    FAIL() << "accepted a bad spec (" << field << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(WorkingCalendar, C7_BadSpecsAreRejected) {
  CalendarSpec unknown_zone;
  unknown_zone.time_zone = "Asia/Atlantis";
  ExpectBadSpec(unknown_zone, "time_zone");
  CalendarSpec empty_zone;
  empty_zone.time_zone = "";
  ExpectBadSpec(empty_zone, "time_zone");

  CalendarSpec backwards;
  backwards.weekly[2] = {{hours{12}, hours{9}}};
  ExpectBadSpec(backwards, "weekly.Tue");
  CalendarSpec empty_interval;
  empty_interval.weekly[2] = {{hours{9}, hours{9}}};
  ExpectBadSpec(empty_interval, "weekly.Tue");
  CalendarSpec past_midnight;
  past_midnight.weekly[5] = {{hours{20}, hours{25}}};
  ExpectBadSpec(past_midnight, "weekly.Fri");
  CalendarSpec negative_start;
  negative_start.weekly[5] = {{minutes{-30}, hours{1}}};
  ExpectBadSpec(negative_start, "weekly.Fri");
  CalendarSpec overlapping;
  overlapping.weekly[1] = {{hours{9}, hours{12}}, {hours{11}, hours{14}}};
  ExpectBadSpec(overlapping, "overlap");

  CalendarSpec both = SpringFestival2024();
  both.holidays.insert(Ymd(2024, 2, 18));
  ExpectBadSpec(both, "2024-02-18");
  CalendarSpec invalid_date;
  invalid_date.holidays.insert(Ymd(2023, 2, 29));
  ExpectBadSpec(invalid_date, "holidays");

  CalendarSpec no_hours;
  no_hours.weekly = {};
  ExpectBadSpec(no_hours, "weekly");
  CalendarSpec makeup_without_monday = SpringFestival2024();
  makeup_without_monday.weekly[1].clear();
  ExpectBadSpec(makeup_without_monday, "Monday");
}

TEST(WorkingCalendar, C7_ConcurrentUseGivesTheSameAnswers) {
  // Zones are resolved and loaded by several threads at once, then used
  // concurrently; every thread must see the single-threaded answers.
  const std::vector<std::string> zones = {"Europe/London", "America/New_York", "Asia/Tokyo",
                                          "Australia/Sydney"};
  const Timestamp start = Utc(2024, 3, 8, 12, 0);
  std::vector<std::string> results(8 * zones.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      const WorkingCalendar cal = DefaultCalendar(zones[i % zones.size()]);
      std::string out;
      for (int n = 1; n <= 200; ++n) out = Iso(cal.AddWorkingTime(start, minutes{n * 7}));
      results[i] = out;
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    const WorkingCalendar cal = DefaultCalendar(zones[i % zones.size()]);
    EXPECT_EQ(results[i], Iso(cal.AddWorkingTime(start, minutes{200 * 7})))
        << zones[i % zones.size()];
  }
}

}  // namespace
}  // namespace propdesk::common
