#include "tickets/domain/sla_policy.h"

#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "common/errors.h"

namespace propdesk::tickets::domain {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

std::string RuleField(size_t index, const char* field) {
  return "rules[" + std::to_string(index) + "]." + field;
}

void ValidateWallClock(const std::optional<seconds>& value, const std::string& field) {
  if (!value || *value == seconds{0}) return;
  if (*value < minutes{1} || *value > kMaxWallClockDeadline) {
    throw common::InvalidArgument(field,
                                  "must be 0 (no deadline) or between 1 minute and 7 days, got " +
                                      std::to_string(value->count()) + " s");
  }
}

void ValidateDays(const std::optional<int>& value, int max, const std::string& field) {
  if (!value) return;
  if (*value < 0 || *value > max) {
    throw common::InvalidArgument(field, "must be between 0 (none) and " + std::to_string(max) +
                                             ", got " + std::to_string(*value));
  }
}

// WorkingCalendar::Create names its own fields ("time_zone", "weekly.Mon");
// re-raise them under the policy's field path.
[[noreturn]] void RethrowCalendarError(const common::Error& error) {
  const auto field_it = error.metadata().find("field");
  const std::string inner = field_it == error.metadata().end() ? "" : field_it->second;
  std::string message = error.what();
  if (!inner.empty() && message.starts_with(inner + ": ")) message.erase(0, inner.size() + 2);
  if (inner.starts_with("weekly")) {
    const std::string day = inner.size() > 7 ? inner.substr(7) : "";
    throw common::InvalidArgument("calendar.weekly_hours",
                                  day.empty() ? message : day + ": " + message);
  }
  throw common::InvalidArgument(inner.empty() ? "calendar" : "calendar." + inner, message);
}

// How specific a rule is: 3 = kind + priority + category … 0 = kind alone.
// Priority outranks category.
int Specificity(const DeadlineRule& rule) {
  return (rule.priority ? 2 : 0) + (rule.category ? 1 : 0);
}

bool Matches(const DeadlineRule& rule, Kind kind, Priority priority, Category category) {
  return rule.kind == kind && (!rule.priority || *rule.priority == priority) &&
         (!rule.category || *rule.category == category);
}

template <typename T>
std::optional<T> NonZero(const std::optional<T>& value) {
  if (!value || *value == T{0}) return std::nullopt;
  return value;
}

}  // namespace

SlaPolicy DefaultSlaPolicy() {
  SlaPolicy policy;
  // T-4, T-9: complaints.
  policy.rules.push_back({.kind = Kind::kComplaint,
                          .contact_within = hours{2},
                          .decision_working_days = 4,
                          .callback_days = 3});
  // T-9: repairs are called back within 7 days.
  policy.rules.push_back({.kind = Kind::kRepair, .callback_days = 7});
  // T-6: urgent repairs on site within 2 hours.
  policy.rules.push_back(
      {.kind = Kind::kRepair, .priority = Priority::kUrgent, .on_site_within = hours{2}});
  return policy;
}

namespace {

// Everything but the calendar.
void ValidateRulesAndLimits(const SlaPolicy& policy) {
  std::set<std::tuple<Kind, std::optional<Priority>, std::optional<Category>>> selectors;
  for (size_t i = 0; i < policy.rules.size(); ++i) {
    const DeadlineRule& rule = policy.rules[i];
    ValidateWallClock(rule.contact_within, RuleField(i, "contact_within"));
    ValidateDays(rule.decision_working_days, kMaxDecisionWorkingDays,
                 RuleField(i, "decision_working_days"));
    ValidateWallClock(rule.on_site_within, RuleField(i, "on_site_within"));
    ValidateDays(rule.callback_days, kMaxCallbackDays, RuleField(i, "callback_days"));
    if (!selectors.emplace(rule.kind, rule.priority, rule.category).second) {
      throw common::InvalidArgument(
          "rules[" + std::to_string(i) + "]",
          "another rule already has the same kind, priority and category; merge them");
    }
  }
  if (policy.duplicate_window < seconds{0} || policy.duplicate_window > kMaxDuplicateWindow) {
    throw common::InvalidArgument("duplicate_window",
                                  "must be between 0 (no linking) and 30 days, got " +
                                      std::to_string(policy.duplicate_window.count()) + " s");
  }
  if (policy.unit_count < 0 || policy.unit_count > kMaxUnitCount) {
    throw common::InvalidArgument(
        "unit_count", "must be between 0 (unknown) and " + std::to_string(kMaxUnitCount));
  }
}

common::WorkingCalendar CreateCalendar(const common::CalendarSpec& spec) {
  try {
    return common::WorkingCalendar::Create(spec);
  } catch (const common::Error& error) {
    RethrowCalendarError(error);
  }
}

}  // namespace

void ValidateSlaPolicy(const SlaPolicy& policy) {
  ValidateRulesAndLimits(policy);
  (void)CreateCalendar(policy.calendar);
}

EffectiveDeadlines ResolveDeadlines(const SlaPolicy& policy, Kind kind, Priority priority,
                                    Category category) {
  // For each field, the value of the most specific matching rule that sets it.
  int contact_rank = -1, decision_rank = -1, on_site_rank = -1, callback_rank = -1;
  EffectiveDeadlines result;
  for (const DeadlineRule& rule : policy.rules) {
    if (!Matches(rule, kind, priority, category)) continue;
    const int rank = Specificity(rule);
    if (rule.contact_within && rank > contact_rank) {
      result.contact_within = rule.contact_within;
      contact_rank = rank;
    }
    if (rule.decision_working_days && rank > decision_rank) {
      result.decision_working_days = rule.decision_working_days;
      decision_rank = rank;
    }
    if (rule.on_site_within && rank > on_site_rank) {
      result.on_site_within = rule.on_site_within;
      on_site_rank = rank;
    }
    if (rule.callback_days && rank > callback_rank) {
      result.callback_days = rule.callback_days;
      callback_rank = rank;
    }
  }
  result.contact_within = NonZero(result.contact_within);
  result.decision_working_days = NonZero(result.decision_working_days);
  result.on_site_within = NonZero(result.on_site_within);
  result.callback_days = NonZero(result.callback_days);
  return result;
}

SlaSettings::SlaSettings(SlaPolicy policy, common::WorkingCalendar calendar)
    : policy_(std::move(policy)), calendar_(std::move(calendar)) {}

SlaSettings SlaSettings::Create(SlaPolicy policy) {
  ValidateRulesAndLimits(policy);
  common::WorkingCalendar calendar = CreateCalendar(policy.calendar);
  return SlaSettings(std::move(policy), std::move(calendar));
}

}  // namespace propdesk::tickets::domain
