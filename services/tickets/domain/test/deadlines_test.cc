// The deadline calculator (T-4, T-5, T-6, T-8, T-9) across working hours,
// holidays, make-up workdays (调休) and time zones (C-7).

#include "tickets/domain/deadlines.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace propdesk::tickets::domain {
namespace {

using testing::Date;
using testing::days;
using testing::hours;
using testing::Local;
using testing::minutes;
using testing::Utc;

// China's 2024 Spring Festival: 10–17 Feb off, Sun 4 and Sun 18 Feb worked.
SlaSettings SpringFestival2024() {
  return testing::SettingsWith([](SlaPolicy& policy) {
    for (unsigned d = 10; d <= 17; ++d) policy.calendar.holidays.insert(Date(2024, 2, d));
    policy.calendar.makeup_workdays.insert(Date(2024, 2, 4));
    policy.calendar.makeup_workdays.insert(Date(2024, 2, 18));
  });
}

InitialDeadlines Complaint(const SlaSettings& settings, Timestamp received) {
  return ComputeInitialDeadlines(settings, Kind::kComplaint, Priority::kNormal,
                                 Category::kServiceQuality, received);
}

TEST(InitialDeadlines, T4_ComplaintInWorkingHours) {
  const SlaSettings s = testing::DefaultSettings();
  // Mon 5 Feb 2024 10:00 Shanghai: contact by 12:00 the same day; decision by
  // the close of the 4th working day after: Fri 9 Feb 18:00.
  const InitialDeadlines d = Complaint(s, Local(s, 2024, 2, 5, 10));
  EXPECT_EQ(d.contact_by, Local(s, 2024, 2, 5, 12));
  EXPECT_EQ(d.decision_by, Local(s, 2024, 2, 9, 18));
  EXPECT_EQ(d.on_site_by, std::nullopt);
}

TEST(InitialDeadlines, T4_ContactIsWallClockDecisionIsWorkingDays) {
  const SlaSettings s = testing::DefaultSettings();
  // Friday 22:30: contact within 2 real hours (00:30 Saturday), even though
  // the office is closed; decision counts Mon–Thu.
  const InitialDeadlines d = Complaint(s, Local(s, 2024, 3, 1, 22, 30));
  EXPECT_EQ(d.contact_by, Local(s, 2024, 3, 2, 0, 30));
  EXPECT_EQ(d.decision_by, Local(s, 2024, 3, 7, 18));
  // Received on Saturday: still Mon–Thu.
  EXPECT_EQ(Complaint(s, Local(s, 2024, 3, 2, 11)).decision_by, Local(s, 2024, 3, 7, 18));
  // Received Tuesday before opening or after closing: the day itself never counts.
  EXPECT_EQ(Complaint(s, Local(s, 2024, 3, 5, 7)).decision_by, Local(s, 2024, 3, 11, 18));
  EXPECT_EQ(Complaint(s, Local(s, 2024, 3, 5, 20)).decision_by, Local(s, 2024, 3, 11, 18));
}

TEST(InitialDeadlines, C7_HolidaysAndMakeupWorkdays) {
  const SlaSettings s = SpringFestival2024();
  // Fri 9 Feb: 10–17 are off, Sun 18 is a make-up workday (1), then Mon 19 (2),
  // Tue 20 (3), Wed 21 (4).
  EXPECT_EQ(Complaint(s, Local(s, 2024, 2, 9, 10)).decision_by, Local(s, 2024, 2, 21, 18));
  // Without the festival the same complaint is due Thu 15 Feb.
  const SlaSettings plain = testing::DefaultSettings();
  EXPECT_EQ(Complaint(plain, Local(plain, 2024, 2, 9, 10)).decision_by,
            Local(plain, 2024, 2, 15, 18));
  // Received on the make-up Sunday 4 Feb: Mon 5 … Thu 8.
  EXPECT_EQ(Complaint(s, Local(s, 2024, 2, 4, 15)).decision_by, Local(s, 2024, 2, 8, 18));
  // Received during the festival: 18, 19, 20, 21.
  EXPECT_EQ(Complaint(s, Local(s, 2024, 2, 12, 9)).decision_by, Local(s, 2024, 2, 21, 18));
}

TEST(InitialDeadlines, C7_CustomWorkingHoursMoveTheCloseOfBusiness) {
  // A site open Mon–Sat 08:00–20:00.
  const SlaSettings s = testing::SettingsWith([](SlaPolicy& policy) {
    for (int day = 1; day <= 6; ++day) policy.calendar.weekly[day] = {{hours{8}, hours{20}}};
    policy.calendar.weekly[0].clear();
  });
  // Thu 7 Mar 2024: Fri (1), Sat (2), Mon (3), Tue (4) at 20:00.
  EXPECT_EQ(Complaint(s, Local(s, 2024, 3, 7, 9)).decision_by, Local(s, 2024, 3, 12, 20));
}

TEST(InitialDeadlines, C7_TimeZonesChangeTheLocalDay) {
  // The same instant, 2024-02-09 02:00 UTC, is Fri 10:00 in Shanghai and
  // Thu 21:00 in New York: their 4th working days differ.
  const Timestamp received = Utc(2024, 2, 9, 2);
  const SlaSettings shanghai = testing::DefaultSettings();
  EXPECT_EQ(Complaint(shanghai, received).decision_by, Utc(2024, 2, 15, 10));  // Thu 18:00 +08
  const SlaSettings new_york =
      testing::SettingsWith([](SlaPolicy& p) { p.calendar.time_zone = "America/New_York"; });
  EXPECT_EQ(Complaint(new_york, received).decision_by, Utc(2024, 2, 14, 23));  // Wed 18:00 -05
  // Wall-clock deadlines do not depend on the zone.
  EXPECT_EQ(Complaint(shanghai, received).contact_by, received + hours{2});
  EXPECT_EQ(Complaint(new_york, received).contact_by, received + hours{2});
}

TEST(InitialDeadlines, C7_DaylightSavingChange) {
  const SlaSettings berlin =
      testing::SettingsWith([](SlaPolicy& p) { p.calendar.time_zone = "Europe/Berlin"; });
  // Sun 31 Mar 2024 01:30 CET (00:30 UTC); clocks jump 02:00 → 03:00. Two real
  // hours later it is 04:30 CEST.
  const InitialDeadlines d = Complaint(berlin, Utc(2024, 3, 31, 0, 30));
  EXPECT_EQ(d.contact_by, Utc(2024, 3, 31, 2, 30));
  EXPECT_EQ(berlin.calendar().LocalTimeOfDay(*d.contact_by), hours{4} + minutes{30});
  // Decision: Mon 1 … Thu 4 Apr 18:00 CEST = 16:00 UTC (summer time now).
  EXPECT_EQ(d.decision_by, Utc(2024, 4, 4, 16));
}

TEST(InitialDeadlines, T6_UrgentRepairOnSiteTwoHoursWhateverTheHour) {
  const SlaSettings s = testing::DefaultSettings();
  const Timestamp sunday_night = Local(s, 2024, 3, 3, 23, 15);
  const InitialDeadlines urgent = ComputeInitialDeadlines(s, Kind::kRepair, Priority::kUrgent,
                                                          Category::kEmergency, sunday_night);
  EXPECT_EQ(urgent.on_site_by, sunday_night + hours{2});
  EXPECT_EQ(urgent.contact_by, std::nullopt);
  EXPECT_EQ(urgent.decision_by, std::nullopt);
  // A normal repair gets an appointment instead: no automatic deadline.
  EXPECT_EQ(ComputeInitialDeadlines(s, Kind::kRepair, Priority::kNormal,
                                    Category::kFacilitiesEquipment, sunday_night),
            InitialDeadlines{});
}

TEST(InitialDeadlines, PolicyOverridesApply) {
  const SlaSettings s = testing::SettingsWith([](SlaPolicy& p) {
    p.rules.push_back({.kind = Kind::kInquiry, .decision_working_days = 0});
    p.rules.push_back(
        {.kind = Kind::kInquiry, .priority = Priority::kUrgent, .decision_working_days = 1});
  });
  const Timestamp monday = Local(s, 2024, 3, 4, 10);
  EXPECT_EQ(ComputeInitialDeadlines(s, Kind::kInquiry, Priority::kNormal, Category::kOther, monday)
                .decision_by,
            std::nullopt);
  EXPECT_EQ(ComputeInitialDeadlines(s, Kind::kInquiry, Priority::kUrgent, Category::kOther, monday)
                .decision_by,
            Local(s, 2024, 3, 5, 18));
}

TEST(CallbackDue, T9_ThreeDaysComplaintsSevenDaysRepairsNoneOtherwise) {
  const SlaSettings s = SpringFestival2024();
  const Timestamp resolved = Local(s, 2024, 2, 9, 16, 45);
  // Calendar days (24 h each): holidays do not stop the callback clock.
  EXPECT_EQ(ComputeCallbackDue(s, Kind::kComplaint, Priority::kNormal, Category::kOther, resolved),
            resolved + hours{72});
  EXPECT_EQ(ComputeCallbackDue(s, Kind::kRepair, Priority::kUrgent, Category::kOther, resolved),
            resolved + days{7});
  for (const Kind kind :
       {Kind::kInquiry, Kind::kSuggestion, Kind::kPatrolFinding, Kind::kIncident}) {
    EXPECT_EQ(ComputeCallbackDue(s, kind, Priority::kNormal, Category::kOther, resolved),
              std::nullopt)
        << Name(kind);
  }
}

TEST(DecisionAfterReopen, T9_RestartsFromTheReopening) {
  const SlaSettings s = SpringFestival2024();
  // Reopened Thu 8 Feb 15:00: Fri 9 (1), Sun 18 (2), Mon 19 (3), Tue 20 (4).
  EXPECT_EQ(ComputeDecisionAfterReopen(s, Kind::kComplaint, Priority::kNormal, Category::kOther,
                                       Local(s, 2024, 2, 8, 15)),
            Local(s, 2024, 2, 20, 18));
  EXPECT_EQ(ComputeDecisionAfterReopen(s, Kind::kRepair, Priority::kNormal, Category::kOther,
                                       Local(s, 2024, 2, 8, 15)),
            std::nullopt);
}

TEST(IncidentReportDue, T8_EndOfNextCalendarDayByDefault) {
  const SlaSettings s = testing::DefaultSettings();
  // Raised Fri 9 Feb 22:30: due Sat 10 Feb 24:00 (= Sun 00:00) site time.
  EXPECT_EQ(ComputeIncidentReportDue(s, Local(s, 2024, 2, 9, 22, 30)), Local(s, 2024, 2, 11, 0));
  // Raised just after midnight: still the end of the next day.
  EXPECT_EQ(ComputeIncidentReportDue(s, Local(s, 2024, 2, 10, 0, 5)), Local(s, 2024, 2, 12, 0));
  // In New York the local day differs from Shanghai's for the same instant.
  const SlaSettings ny =
      testing::SettingsWith([](SlaPolicy& p) { p.calendar.time_zone = "America/New_York"; });
  EXPECT_EQ(ComputeIncidentReportDue(ny, Utc(2024, 2, 9, 2)),
            Utc(2024, 2, 10, 5));  // Fri 24:00 EST
}

TEST(IncidentReportDue, T8_NextWorkingDayWhenConfigured) {
  const SlaSettings s = testing::SettingsWith([](SlaPolicy& p) {
    p.incident_report_on_working_day = true;
    for (unsigned d = 10; d <= 17; ++d) p.calendar.holidays.insert(Date(2024, 2, d));
    p.calendar.makeup_workdays.insert(Date(2024, 2, 18));
  });
  // Raised Fri 9 Feb: the next working day is the make-up Sunday 18 Feb.
  EXPECT_EQ(ComputeIncidentReportDue(s, Local(s, 2024, 2, 9, 22, 30)), Local(s, 2024, 2, 18, 18));
}

TEST(CommitmentTime, T5_FutureAndNotAfterTheDecisionDeadline) {
  const Timestamp now = Utc(2024, 3, 4, 2);
  const Timestamp decision_by = now + days{4};
  EXPECT_NO_THROW(ValidateCommitmentTime(now + hours{1}, now, decision_by));
  EXPECT_NO_THROW(ValidateCommitmentTime(decision_by, now, decision_by));  // the edge is allowed
  EXPECT_INVALID_FIELD(ValidateCommitmentTime(decision_by + testing::seconds{1}, now, decision_by),
                       "commitment_at");
  EXPECT_INVALID_FIELD(ValidateCommitmentTime(now, now, decision_by), "commitment_at");
  EXPECT_INVALID_FIELD(ValidateCommitmentTime(now - hours{1}, now, std::nullopt), "commitment_at");
  // Without a decision deadline, anything within a year.
  EXPECT_NO_THROW(ValidateCommitmentTime(now + days{300}, now, std::nullopt));
  EXPECT_INVALID_FIELD(ValidateCommitmentTime(now + days{400}, now, std::nullopt), "commitment_at");
}

}  // namespace
}  // namespace propdesk::tickets::domain
