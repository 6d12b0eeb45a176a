#include "tickets/domain/deadlines.h"

#include "common/errors.h"

namespace propdesk::tickets::domain {
namespace {

using std::chrono::days;
using std::chrono::minutes;

constexpr minutes kEndOfDay{24 * 60};

}  // namespace

InitialDeadlines ComputeInitialDeadlines(const SlaSettings& settings, Kind kind, Priority priority,
                                         Category category, Timestamp received_at) {
  const EffectiveDeadlines rule = ResolveDeadlines(settings.policy(), kind, priority, category);
  InitialDeadlines result;
  // T-4 counts the 2 hours of contact from receipt, day or night.
  if (rule.contact_within) result.contact_by = received_at + *rule.contact_within;
  // T-4 + C-7: "within 4 working days" of the site's calendar.
  if (rule.decision_working_days) {
    result.decision_by =
        settings.calendar().AddWorkingDays(received_at, *rule.decision_working_days);
  }
  // T-6: an urgent repair is attended within 2 hours whatever the hour.
  if (rule.on_site_within) result.on_site_by = received_at + *rule.on_site_within;
  return result;
}

std::optional<Timestamp> ComputeCallbackDue(const SlaSettings& settings, Kind kind,
                                            Priority priority, Category category,
                                            Timestamp resolved_at) {
  const EffectiveDeadlines rule = ResolveDeadlines(settings.policy(), kind, priority, category);
  if (!rule.callback_days) return std::nullopt;
  return resolved_at + days{*rule.callback_days};
}

std::optional<Timestamp> ComputeDecisionAfterReopen(const SlaSettings& settings, Kind kind,
                                                    Priority priority, Category category,
                                                    Timestamp reopened_at) {
  const EffectiveDeadlines rule = ResolveDeadlines(settings.policy(), kind, priority, category);
  if (!rule.decision_working_days) return std::nullopt;
  return settings.calendar().AddWorkingDays(reopened_at, *rule.decision_working_days);
}

Timestamp ComputeIncidentReportDue(const SlaSettings& settings, Timestamp raised_at) {
  const common::WorkingCalendar& calendar = settings.calendar();
  if (settings.policy().incident_report_on_working_day) {
    return calendar.AddWorkingDays(raised_at, 1);
  }
  const std::chrono::sys_days next_day =
      std::chrono::sys_days{calendar.LocalDate(raised_at)} + days{1};
  return calendar.ToTimestamp(std::chrono::year_month_day{next_day}, kEndOfDay);
}

void ValidateCommitmentTime(Timestamp commitment_at, Timestamp now,
                            std::optional<Timestamp> decision_by) {
  if (commitment_at <= now) {
    throw common::InvalidArgument("commitment_at", "must be in the future (it is " +
                                                       FormatUtc(commitment_at) + ", now is " +
                                                       FormatUtc(now) + ")");
  }
  if (commitment_at > now + kMaxSchedulingHorizon) {
    throw common::InvalidArgument("commitment_at", "must be within a year from now");
  }
  if (decision_by && commitment_at > *decision_by) {
    throw common::InvalidArgument(
        "commitment_at", "must not be after the decision deadline " + FormatUtc(*decision_by) +
                             " (rule T-4): commit to an earlier reply time");
  }
}

}  // namespace propdesk::tickets::domain
