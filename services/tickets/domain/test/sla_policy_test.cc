// The SLA policy: DOMAIN.md defaults (T-4, T-6, T-9, T-11), per kind /
// priority / category overrides, and validation naming the field.

#include "tickets/domain/sla_policy.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace propdesk::tickets::domain {
namespace {

using testing::days;
using testing::hours;
using testing::minutes;
using testing::seconds;

EffectiveDeadlines Defaults(Kind kind, Priority priority = Priority::kNormal,
                            Category category = Category::kOther) {
  return ResolveDeadlines(DefaultSlaPolicy(), kind, priority, category);
}

TEST(SlaPolicyDefaults, T4_ComplaintContactTwoHoursDecisionFourWorkingDays) {
  for (const Priority priority : kAllPriorities) {
    for (const Category category : kAllCategories) {
      const EffectiveDeadlines d = Defaults(Kind::kComplaint, priority, category);
      EXPECT_EQ(d.contact_within, hours{2});
      EXPECT_EQ(d.decision_working_days, 4);
      EXPECT_EQ(d.on_site_within, std::nullopt);
      EXPECT_EQ(d.callback_days, 3);  // T-9
    }
  }
}

TEST(SlaPolicyDefaults, T6_UrgentRepairOnSiteTwoHours_T9_RepairCallbackSevenDays) {
  const EffectiveDeadlines urgent = Defaults(Kind::kRepair, Priority::kUrgent);
  EXPECT_EQ(urgent.on_site_within, hours{2});
  EXPECT_EQ(urgent.callback_days, 7);
  EXPECT_EQ(urgent.contact_within, std::nullopt);
  EXPECT_EQ(urgent.decision_working_days, std::nullopt);
  const EffectiveDeadlines normal = Defaults(Kind::kRepair, Priority::kNormal);
  EXPECT_EQ(normal.on_site_within, std::nullopt);  // an appointment instead (T-6)
  EXPECT_EQ(normal.callback_days, 7);
}

TEST(SlaPolicyDefaults, OtherKindsHaveNoDeadlines) {
  for (const Kind kind :
       {Kind::kInquiry, Kind::kSuggestion, Kind::kPatrolFinding, Kind::kIncident}) {
    for (const Priority priority : kAllPriorities) {
      EXPECT_EQ(Defaults(kind, priority), EffectiveDeadlines{}) << Name(kind);
    }
  }
}

TEST(SlaPolicyDefaults, T11_DuplicateWindow72Hours_T8_ReportNextCalendarDay_C7_Calendar) {
  const SlaPolicy policy = DefaultSlaPolicy();
  EXPECT_EQ(policy.duplicate_window, hours{72});
  EXPECT_FALSE(policy.incident_report_on_working_day);
  EXPECT_EQ(policy.calendar.time_zone, "Asia/Shanghai");
  EXPECT_EQ(policy.unit_count, 0);
  EXPECT_NO_THROW(ValidateSlaPolicy(policy));
}

TEST(SlaPolicyOverrides, MostSpecificRuleWinsPerField) {
  SlaPolicy policy = DefaultSlaPolicy();
  policy.rules.push_back(
      {.kind = Kind::kComplaint, .priority = Priority::kUrgent, .contact_within = hours{1}});
  policy.rules.push_back({.kind = Kind::kComplaint,
                          .category = Category::kEmergency,
                          .contact_within = minutes{30},
                          .decision_working_days = 1});
  policy.rules.push_back({.kind = Kind::kComplaint,
                          .priority = Priority::kUrgent,
                          .category = Category::kServiceAttitude,
                          .contact_within = minutes{45}});
  ASSERT_NO_THROW(ValidateSlaPolicy(policy));

  // kind + priority beats kind + category; unset fields inherit.
  EffectiveDeadlines d =
      ResolveDeadlines(policy, Kind::kComplaint, Priority::kUrgent, Category::kEmergency);
  EXPECT_EQ(d.contact_within, hours{1});
  EXPECT_EQ(d.decision_working_days, 1);  // only the category rule sets it below kind
  EXPECT_EQ(d.callback_days, 3);          // inherited from the kind rule

  d = ResolveDeadlines(policy, Kind::kComplaint, Priority::kNormal, Category::kEmergency);
  EXPECT_EQ(d.contact_within, minutes{30});
  EXPECT_EQ(d.decision_working_days, 1);

  // kind + priority + category beats everything.
  d = ResolveDeadlines(policy, Kind::kComplaint, Priority::kUrgent, Category::kServiceAttitude);
  EXPECT_EQ(d.contact_within, minutes{45});
  EXPECT_EQ(d.decision_working_days, 4);

  // Rules of other kinds never match.
  EXPECT_EQ(ResolveDeadlines(policy, Kind::kInquiry, Priority::kUrgent, Category::kEmergency),
            EffectiveDeadlines{});
}

TEST(SlaPolicyOverrides, ZeroSwitchesADeadlineOff) {
  SlaPolicy policy = DefaultSlaPolicy();
  policy.rules.push_back(
      {.kind = Kind::kRepair, .priority = Priority::kUrgent, .callback_days = 0});
  policy.rules.push_back(
      {.kind = Kind::kComplaint, .category = Category::kOther, .contact_within = seconds{0}});
  const EffectiveDeadlines repair =
      ResolveDeadlines(policy, Kind::kRepair, Priority::kUrgent, Category::kOther);
  EXPECT_EQ(repair.callback_days, std::nullopt);
  EXPECT_EQ(repair.on_site_within, hours{2});
  const EffectiveDeadlines complaint =
      ResolveDeadlines(policy, Kind::kComplaint, Priority::kNormal, Category::kOther);
  EXPECT_EQ(complaint.contact_within, std::nullopt);
  EXPECT_EQ(complaint.decision_working_days, 4);
}

TEST(SlaPolicyValidation, BadDurationsNameTheirField) {
  auto with_rule = [](DeadlineRule rule) {
    SlaPolicy policy = DefaultSlaPolicy();
    policy.rules.push_back(rule);
    return policy;  // rules[3]
  };
  EXPECT_INVALID_FIELD(
      ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry, .contact_within = -hours{1}})),
      "rules[3].contact_within");
  EXPECT_INVALID_FIELD(
      ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry, .contact_within = seconds{30}})),
      "rules[3].contact_within");
  EXPECT_INVALID_FIELD(
      ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry, .on_site_within = days{8}})),
      "rules[3].on_site_within");
  EXPECT_INVALID_FIELD(
      ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry, .decision_working_days = -1})),
      "rules[3].decision_working_days");
  EXPECT_INVALID_FIELD(
      ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry, .decision_working_days = 61})),
      "rules[3].decision_working_days");
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry, .callback_days = 61})),
                       "rules[3].callback_days");
  // The bounds themselves are allowed.
  EXPECT_NO_THROW(ValidateSlaPolicy(with_rule({.kind = Kind::kInquiry,
                                               .contact_within = minutes{1},
                                               .decision_working_days = 60,
                                               .on_site_within = days{7},
                                               .callback_days = 60})));
}

TEST(SlaPolicyValidation, DuplicateSelectorsRejected) {
  SlaPolicy policy = DefaultSlaPolicy();
  policy.rules.push_back({.kind = Kind::kRepair, .callback_days = 5});
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "rules[3]");
  // The same kind with another selector is fine.
  policy.rules.back().category = Category::kEmergency;
  EXPECT_NO_THROW(ValidateSlaPolicy(policy));
}

TEST(SlaPolicyValidation, LimitsAndCalendar) {
  SlaPolicy policy = DefaultSlaPolicy();
  policy.duplicate_window = -seconds{1};
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "duplicate_window");
  policy.duplicate_window = days{31};
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "duplicate_window");
  policy.duplicate_window = seconds{0};  // linking off
  EXPECT_NO_THROW(ValidateSlaPolicy(policy));

  policy = DefaultSlaPolicy();
  policy.unit_count = -1;
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "unit_count");

  policy = DefaultSlaPolicy();
  policy.calendar.time_zone = "Mars/Olympus";
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "calendar.time_zone");
  EXPECT_INVALID_FIELD(SlaSettings::Create(policy), "calendar.time_zone");

  policy = DefaultSlaPolicy();
  policy.calendar.weekly[2] = {{hours{18}, hours{9}}};
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "calendar.weekly_hours");

  policy = DefaultSlaPolicy();
  const auto day = testing::Date(2024, 2, 18);
  policy.calendar.holidays.insert(day);
  policy.calendar.makeup_workdays.insert(day);
  EXPECT_INVALID_FIELD(ValidateSlaPolicy(policy), "calendar.makeup_workdays");
}

TEST(SlaSettings, CreateKeepsPolicyAndBuildsItsCalendar) {
  SlaPolicy policy = DefaultSlaPolicy();
  policy.calendar.time_zone = "Europe/Berlin";
  policy.unit_count = 1200;
  const SlaSettings settings = SlaSettings::Create(policy);
  EXPECT_EQ(settings.policy().rules, policy.rules);
  EXPECT_EQ(settings.policy().unit_count, 1200);
  EXPECT_EQ(settings.policy().calendar.time_zone, "Europe/Berlin");
  // 2024-07-01 08:00 UTC is 10:00 in Berlin (CEST), a Monday: working time.
  EXPECT_TRUE(settings.calendar().IsWorkingTime(testing::Utc(2024, 7, 1, 8)));
  EXPECT_EQ(settings.calendar().LocalTimeOfDay(testing::Utc(2024, 7, 1, 8)), hours{10});
}

}  // namespace
}  // namespace propdesk::tickets::domain
