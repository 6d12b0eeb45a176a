#pragma once

// Rule T-11: the same unit reporting the same category while a ticket is open
// links to that ticket instead of opening another. Decisions:
// - "the same" also means the same kind: a complaint is never folded into a
//   repair (it has its own deadlines and counts in the valid-complaint rate);
// - "open" means not yet answered: open, acknowledged or in_progress. A report
//   after the reply (resolved and later) is news and gets its own ticket;
// - the window (a site setting, default 72 h) bounds the age of the existing
//   ticket: created at or after `received_at - window` (the edge is inside);
// - reports without a unit (common areas) are never linked: nothing says two
//   of them are about the same thing;
// - the oldest candidate wins (ties: the smallest ticket_id), so all later
//   reports gather on the first ticket.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain {

// What the store returns for the open tickets of a unit.
struct DuplicateCandidate {
  std::string ticket_id{};
  Kind kind = Kind::kComplaint;
  Category category = Category::kOther;
  std::string unit{};
  State state = State::kOpen;
  Timestamp created_at{};
};

// The new report.
struct DuplicateProbe {
  Kind kind = Kind::kComplaint;
  Category category = Category::kOther;
  std::string unit{};
  Timestamp received_at{};
};

// Whether a ticket in this state can absorb a new report.
bool AcceptsDuplicates(State state);

// The earliest instant a candidate may have been created at to still absorb
// the probe (received_at - window).
Timestamp DuplicateWindowStart(Timestamp received_at, std::chrono::seconds window);

// The ticket to link the report to, or nullopt to open a new ticket. A zero
// window turns linking off. Candidates that do not match are ignored, so the
// store may over-fetch.
std::optional<std::string> FindDuplicateTarget(const DuplicateProbe& probe,
                                               std::chrono::seconds window,
                                               const std::vector<DuplicateCandidate>& candidates);

}  // namespace propdesk::tickets::domain
