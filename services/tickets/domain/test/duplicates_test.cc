// Rule T-11: duplicate linking, including the window's edges.

#include "tickets/domain/duplicates.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace propdesk::tickets::domain {
namespace {

using testing::hours;
using testing::seconds;

const Timestamp kNow = testing::Utc(2024, 3, 4, 2);
constexpr seconds kWindow = hours{72};

DuplicateProbe Probe() {
  return {.kind = Kind::kRepair,
          .category = Category::kFacilitiesEquipment,
          .unit = "3-1204",
          .received_at = kNow};
}

DuplicateCandidate Candidate(std::string id, Timestamp created_at, State state = State::kOpen) {
  return {.ticket_id = std::move(id),
          .kind = Kind::kRepair,
          .category = Category::kFacilitiesEquipment,
          .unit = "3-1204",
          .state = state,
          .created_at = created_at};
}

TEST(Duplicates, T11_LinksToTheOpenTicketOfTheSameUnitKindAndCategory) {
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {Candidate("t-1", kNow - hours{5})}), "t-1");
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {}), std::nullopt);
}

TEST(Duplicates, T11_WindowEdgeIsInside) {
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {Candidate("t-1", kNow - kWindow)}), "t-1");
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {Candidate("t-1", kNow - kWindow - seconds{1})}),
            std::nullopt);
  // A candidate stamped slightly after the probe (clock skew between
  // replicas) is still the same problem.
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {Candidate("t-1", kNow + seconds{1})}), "t-1");
  EXPECT_EQ(DuplicateWindowStart(kNow, kWindow), kNow - hours{72});
}

TEST(Duplicates, T11_OtherUnitKindOrCategoryNeverLinks) {
  DuplicateCandidate other_unit = Candidate("t-1", kNow - hours{1});
  other_unit.unit = "3-1205";
  DuplicateCandidate other_kind = Candidate("t-2", kNow - hours{1});
  other_kind.kind = Kind::kComplaint;
  DuplicateCandidate other_category = Candidate("t-3", kNow - hours{1});
  other_category.category = Category::kServiceQuality;
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {other_unit, other_kind, other_category}),
            std::nullopt);
}

TEST(Duplicates, T11_OnlyUnansweredTicketsAbsorbReports) {
  for (const State state : kAllStates) {
    const bool expected =
        state == State::kOpen || state == State::kAcknowledged || state == State::kInProgress;
    EXPECT_EQ(AcceptsDuplicates(state), expected) << Name(state);
    EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, {Candidate("t-1", kNow - hours{1}, state)})
                  .has_value(),
              expected)
        << Name(state);
  }
}

TEST(Duplicates, T11_OldestWinsTiesBySmallestId) {
  const std::vector<DuplicateCandidate> candidates = {
      Candidate("t-5", kNow - hours{2}),
      Candidate("t-9", kNow - hours{30}),
      Candidate("t-7", kNow - hours{30}),
      Candidate("t-1", kNow - hours{100}),  // outside the window
      Candidate("t-0", kNow - hours{40}, State::kResolved),
  };
  EXPECT_EQ(FindDuplicateTarget(Probe(), kWindow, candidates), "t-7");
}

TEST(Duplicates, T11_ZeroWindowOrNoUnitTurnsLinkingOff) {
  EXPECT_EQ(FindDuplicateTarget(Probe(), seconds{0}, {Candidate("t-1", kNow)}), std::nullopt);
  DuplicateProbe common_area = Probe();
  common_area.unit = "";
  DuplicateCandidate also_common = Candidate("t-1", kNow - hours{1});
  also_common.unit = "";
  EXPECT_EQ(FindDuplicateTarget(common_area, kWindow, {also_common}), std::nullopt);
}

}  // namespace
}  // namespace propdesk::tickets::domain
