#pragma once

// The ticket lifecycle (rule T-3):
//
//   open ─acknowledge→ acknowledged ─assign→ in_progress ─resolve→ resolved
//   resolved ─record_callback (3–5)→ callback_done ─close→ closed
//   resolved ─close→ closed                  only when no callback is needed
//   resolved ─record_callback (1–2)→ in_progress | acknowledged   (T-9)
//   acknowledged | in_progress ─resolve with referral→ referred    (T-6)
//   callback_done | closed ─reopen→ in_progress | acknowledged
//
// (reopening goes to acknowledged when nobody was ever assigned: the resident
// has just been spoken to, so contact is done, but there is no assignee to be
// in progress with.) Actions that keep the state: transfer, commitments,
// appointments, arrival, notes, incident reports. `referred` is final;
// `closed` only reopens.
//
// This table is about states only; kind rules (appointments for repairs,
// incident reports for incidents) and input rules live in workflow.h.

#include <array>
#include <string_view>

#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain {

enum class Action {
  kAcknowledge,
  kAssign,
  kTransfer,
  kRecordCommitment,
  kScheduleAppointment,
  kRescheduleAppointment,
  kRecordArrival,
  kResolve,
  kRecordCallback,
  kClose,
  kReopen,
  kAddNote,
  kRaiseIncidentReport,
  kSubmitWrittenReport,
};

inline constexpr std::array kAllActions = {
    Action::kAcknowledge,
    Action::kAssign,
    Action::kTransfer,
    Action::kRecordCommitment,
    Action::kScheduleAppointment,
    Action::kRescheduleAppointment,
    Action::kRecordArrival,
    Action::kResolve,
    Action::kRecordCallback,
    Action::kClose,
    Action::kReopen,
    Action::kAddNote,
    Action::kRaiseIncidentReport,
    Action::kSubmitWrittenReport,
};

// "acknowledge", "record_callback", …
std::string_view Name(Action action);

// Whether `action` may be taken in `state` (the T-3 table above).
bool IsAllowed(State state, Action action);

// Throws Error(kFailedPrecondition, "ILLEGAL_TRANSITION") with metadata
// {"current_state", "action"} when the state does not allow the action.
void CheckTransition(State state, Action action);

// Whether the action is meant for tickets of that kind: appointments and
// arrival for repairs (T-6), incident reports for incidents (T-8); every
// other action for every kind.
bool AppliesToKind(Kind kind, Action action);

// Throws Error(kFailedPrecondition, "ACTION_NOT_FOR_KIND") with metadata
// {"kind", "action", "current_state"} when AppliesToKind is false, then CheckTransition.
void CheckAction(Kind kind, State state, Action action);

}  // namespace propdesk::tickets::domain
