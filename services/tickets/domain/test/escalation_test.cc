// Rule T-8: first breach → supervisor; second breach, or any incident's
// breach → site manager; the level never goes down.

#include "tickets/domain/escalation.h"

#include <gtest/gtest.h>

namespace propdesk::tickets::domain {
namespace {

TEST(Escalation, T8_FirstBreachSupervisorSecondSiteManager) {
  for (const Kind kind : kAllKinds) {
    if (kind == Kind::kIncident) continue;
    EXPECT_EQ(EscalationForBreaches(kind, 0), EscalationLevel::kNone) << Name(kind);
    EXPECT_EQ(EscalationForBreaches(kind, 1), EscalationLevel::kSupervisor) << Name(kind);
    EXPECT_EQ(EscalationForBreaches(kind, 2), EscalationLevel::kSiteManager) << Name(kind);
    EXPECT_EQ(EscalationForBreaches(kind, 7), EscalationLevel::kSiteManager) << Name(kind);
  }
}

TEST(Escalation, T8_AnyIncidentBreachGoesToSiteManager) {
  EXPECT_EQ(EscalationForBreaches(Kind::kIncident, 0), EscalationLevel::kNone);
  EXPECT_EQ(EscalationForBreaches(Kind::kIncident, 1), EscalationLevel::kSiteManager);
}

TEST(Escalation, T8_LevelNeverGoesDown) {
  EXPECT_EQ(EscalateAfterBreach(Kind::kComplaint, EscalationLevel::kSiteManager, 1),
            EscalationLevel::kSiteManager);
  EXPECT_EQ(EscalateAfterBreach(Kind::kComplaint, EscalationLevel::kNone, 1),
            EscalationLevel::kSupervisor);
  EXPECT_EQ(EscalateAfterBreach(Kind::kComplaint, EscalationLevel::kSupervisor, 2),
            EscalationLevel::kSiteManager);
}

}  // namespace
}  // namespace propdesk::tickets::domain
