#pragma once

// The deadline calculator: from a site's SLA settings (policy + working
// calendar, C-7) and a ticket's kind, priority and category, the instants by
// which each step is due.

#include <chrono>
#include <optional>

#include "tickets/domain/sla_policy.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain {

// The deadlines set when a ticket is received.
struct InitialDeadlines {
  std::optional<Timestamp> contact_by{};   // T-4: receipt + contact_within (wall-clock)
  std::optional<Timestamp> decision_by{};  // T-4: close of the N-th working day after receipt
  std::optional<Timestamp> on_site_by{};   // T-6: receipt + on_site_within (wall-clock)

  friend bool operator==(const InitialDeadlines&, const InitialDeadlines&) = default;
};

InitialDeadlines ComputeInitialDeadlines(const SlaSettings& settings, Kind kind, Priority priority,
                                         Category category, Timestamp received_at);

// T-9: resolution + callback_days × 24 h, or nullopt when the kind needs no
// callback.
std::optional<Timestamp> ComputeCallbackDue(const SlaSettings& settings, Kind kind,
                                            Priority priority, Category category,
                                            Timestamp resolved_at);

// T-9: after a reopen the decision clock restarts from the reopening, with the
// same number of working days as at receipt; nullopt when the ticket has no
// decision deadline.
std::optional<Timestamp> ComputeDecisionAfterReopen(const SlaSettings& settings, Kind kind,
                                                    Priority priority, Category category,
                                                    Timestamp reopened_at);

// T-8: the written incident report is due at the end of the day after the
// report was raised: 24:00 site time of the next calendar day, or the close of
// the next working day when the policy says so.
Timestamp ComputeIncidentReportDue(const SlaSettings& settings, Timestamp raised_at);

// Furthest ahead a commitment or appointment may be.
inline constexpr std::chrono::hours kMaxSchedulingHorizon{24 * 366};

// T-5: a committed reply time must be after `now` (a promise about the past
// is no promise), within kMaxSchedulingHorizon, and — when the ticket has a
// decision deadline — not after it: a commitment cannot stretch the 4-working-
// day rule of T-4, it can only promise the answer sooner. Throws
// Error(kInvalidArgument) on the field "commitment_at".
void ValidateCommitmentTime(Timestamp commitment_at, Timestamp now,
                            std::optional<Timestamp> decision_by);

}  // namespace propdesk::tickets::domain
