#pragma once

// Rule T-8: a ticket that breaches a deadline escalates to the supervisor; a
// second breach, or any breach of an incident, to the site manager. Each
// deadline's breach is counted once (Deadline::breached); a deadline that is
// replaced (a new commitment, a rebooked appointment, a reopen's new decision
// deadline) is a new deadline and can breach again.

#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain {

// The level a ticket of `kind` has earned after `breach_count` breaches.
EscalationLevel EscalationForBreaches(Kind kind, int breach_count);

// The level after one more breach: never lower than `current`.
EscalationLevel EscalateAfterBreach(Kind kind, EscalationLevel current, int breach_count);

}  // namespace propdesk::tickets::domain
