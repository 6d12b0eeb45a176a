#pragma once

// A site's SLA settings: the deadlines of each kind of ticket, the duplicate
// window (T-11), the incident-report rule (T-8), the working calendar (C-7)
// and the number of units served (the valid-complaint rate's denominator,
// T-9). Every number here is a *site setting* of DOMAIN.md; DefaultSlaPolicy()
// gives the DOMAIN.md defaults.

#include <chrono>
#include <optional>
#include <vector>

#include "common/calendar.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain {

// The deadlines of the tickets a rule matches. A rule matches a ticket of its
// kind and, when set, its priority and category. For each field the most
// specific matching rule that sets it wins: kind + priority + category, then
// kind + priority, then kind + category, then kind alone. Unset (nullopt)
// inherits from a less specific rule; zero means "no such deadline".
struct DeadlineRule {
  Kind kind = Kind::kComplaint;
  std::optional<Priority> priority{};  // nullopt = any
  std::optional<Category> category{};  // nullopt = any
  // Wall-clock time after receipt (T-4: "within 2 hours of receipt").
  std::optional<std::chrono::seconds> contact_within{};
  // Working days after the day of receipt, due at that day's close of
  // business (T-4, C-7). Also the new decision deadline after a reopen (T-9).
  std::optional<int> decision_working_days{};
  // Wall-clock time after receipt (T-6).
  std::optional<std::chrono::seconds> on_site_within{};
  // Days of 24 h after resolution (T-9); 0 = no callback needed.
  std::optional<int> callback_days{};

  friend bool operator==(const DeadlineRule&, const DeadlineRule&) = default;
};

struct SlaPolicy {
  // At most one rule per (kind, priority, category).
  std::vector<DeadlineRule> rules{};
  // T-11: how old an open ticket may be and still absorb a new report of the
  // same unit, kind and category. Zero turns linking off.
  std::chrono::seconds duplicate_window{std::chrono::hours{72}};
  // T-8: the written incident report is due at the end of the next day:
  // false = 24:00 site time of the next calendar day (incidents happen at
  // night and on weekends, and the duty manager who handled it is on shift
  // the next day); true = the close of business of the next working day.
  bool incident_report_on_working_day = false;
  // C-7.
  common::CalendarSpec calendar{};
  // Units served (T-9 valid-complaint rate = valid complaints / units);
  // 0 = unknown, the rate is not computed.
  int unit_count = 0;
  // No operator==: common::CalendarSpec has none.
};

// Bounds enforced by ValidateSlaPolicy.
inline constexpr std::chrono::seconds kMaxWallClockDeadline = std::chrono::hours{24 * 7};
inline constexpr int kMaxDecisionWorkingDays = 60;
inline constexpr int kMaxCallbackDays = 60;
inline constexpr std::chrono::seconds kMaxDuplicateWindow = std::chrono::hours{24 * 30};
inline constexpr int kMaxUnitCount = 1'000'000;

// The DOMAIN.md defaults: complaints contact 2 h, decision 4 working days,
// callback 3 days (T-4, T-9); repairs callback 7 days, urgent repairs on site
// within 2 h (T-6, T-9); no deadlines for inquiries, suggestions, patrol
// findings and incidents (an incident's report deadline comes from
// RaiseIncidentReport, T-8); duplicate window 72 h; the default calendar
// (Asia/Shanghai, Mon–Fri 09:00–12:00 and 13:30–18:00).
SlaPolicy DefaultSlaPolicy();

// Throws Error(kInvalidArgument) naming the first bad field, with the proto's
// field path ("rules[2].contact_within", "duplicate_window",
// "calendar.time_zone"): a negative or too large duration or day count, a
// duration under a minute that is not zero, two rules with the same
// selectors, an invalid calendar (see WorkingCalendar::Create), a bad
// unit_count.
void ValidateSlaPolicy(const SlaPolicy& policy);

// The effective deadlines of one (kind, priority, category); nullopt = none
// (an explicit zero is reported as nullopt too).
struct EffectiveDeadlines {
  std::optional<std::chrono::seconds> contact_within{};
  std::optional<int> decision_working_days{};
  std::optional<std::chrono::seconds> on_site_within{};
  std::optional<int> callback_days{};

  friend bool operator==(const EffectiveDeadlines&, const EffectiveDeadlines&) = default;
};
EffectiveDeadlines ResolveDeadlines(const SlaPolicy& policy, Kind kind, Priority priority,
                                    Category category);

// A validated policy together with its working calendar, built once per
// policy version and shared (immutable, thread-safe).
class SlaSettings {
 public:
  // Validates (see ValidateSlaPolicy) and builds the calendar.
  static SlaSettings Create(SlaPolicy policy);

  const SlaPolicy& policy() const { return policy_; }
  const common::WorkingCalendar& calendar() const { return calendar_; }

 private:
  SlaSettings(SlaPolicy policy, common::WorkingCalendar calendar);

  SlaPolicy policy_;
  common::WorkingCalendar calendar_;
};

}  // namespace propdesk::tickets::domain
