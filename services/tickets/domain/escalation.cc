#include "tickets/domain/escalation.h"

#include <algorithm>

namespace propdesk::tickets::domain {

EscalationLevel EscalationForBreaches(Kind kind, int breach_count) {
  if (breach_count <= 0) return EscalationLevel::kNone;
  if (kind == Kind::kIncident || breach_count >= 2) return EscalationLevel::kSiteManager;
  return EscalationLevel::kSupervisor;
}

EscalationLevel EscalateAfterBreach(Kind kind, EscalationLevel current, int breach_count) {
  return std::max(current, EscalationForBreaches(kind, breach_count));
}

}  // namespace propdesk::tickets::domain
