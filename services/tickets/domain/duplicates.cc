#include "tickets/domain/duplicates.h"

namespace propdesk::tickets::domain {

bool AcceptsDuplicates(State state) {
  return state == State::kOpen || state == State::kAcknowledged || state == State::kInProgress;
}

Timestamp DuplicateWindowStart(Timestamp received_at, std::chrono::seconds window) {
  return received_at - window;
}

std::optional<std::string> FindDuplicateTarget(const DuplicateProbe& probe,
                                               std::chrono::seconds window,
                                               const std::vector<DuplicateCandidate>& candidates) {
  if (window <= std::chrono::seconds{0} || probe.unit.empty()) return std::nullopt;
  const Timestamp window_start = DuplicateWindowStart(probe.received_at, window);
  const DuplicateCandidate* best = nullptr;
  for (const DuplicateCandidate& candidate : candidates) {
    if (candidate.unit != probe.unit || candidate.kind != probe.kind ||
        candidate.category != probe.category || !AcceptsDuplicates(candidate.state) ||
        candidate.created_at < window_start) {
      continue;
    }
    if (best == nullptr || candidate.created_at < best->created_at ||
        (candidate.created_at == best->created_at && candidate.ticket_id < best->ticket_id)) {
      best = &candidate;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->ticket_id;
}

}  // namespace propdesk::tickets::domain
