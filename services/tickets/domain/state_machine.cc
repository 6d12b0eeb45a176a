#include "tickets/domain/state_machine.h"

#include <string>

#include "common/errors.h"

namespace propdesk::tickets::domain {

std::string_view Name(Action action) {
  switch (action) {
    case Action::kAcknowledge:
      return "acknowledge";
    case Action::kAssign:
      return "assign";
    case Action::kTransfer:
      return "transfer";
    case Action::kRecordCommitment:
      return "record_commitment";
    case Action::kScheduleAppointment:
      return "schedule_appointment";
    case Action::kRescheduleAppointment:
      return "reschedule_appointment";
    case Action::kRecordArrival:
      return "record_arrival";
    case Action::kResolve:
      return "resolve";
    case Action::kRecordCallback:
      return "record_callback";
    case Action::kClose:
      return "close";
    case Action::kReopen:
      return "reopen";
    case Action::kAddNote:
      return "add_note";
    case Action::kRaiseIncidentReport:
      return "raise_incident_report";
    case Action::kSubmitWrittenReport:
      return "submit_written_report";
  }
  return "unknown";
}

bool IsAllowed(State state, Action action) {
  const bool before_resolution =
      state == State::kOpen || state == State::kAcknowledged || state == State::kInProgress;
  const bool contacted_unresolved = state == State::kAcknowledged || state == State::kInProgress;
  switch (action) {
    case Action::kAcknowledge:
      return state == State::kOpen;
    case Action::kAssign:  // dispatch after contact; reassigning is allowed
      return contacted_unresolved;
    case Action::kTransfer:  // rule C-6: until closed
    case Action::kRaiseIncidentReport:
      return !IsTerminal(state);
    case Action::kRecordCommitment:  // T-5: before the answer is given
      return before_resolution;
    case Action::kScheduleAppointment:  // T-6: agreed with a contacted resident
    case Action::kRescheduleAppointment:
    case Action::kRecordArrival:
    case Action::kResolve:
      return contacted_unresolved;
    case Action::kRecordCallback:  // T-9
      return state == State::kResolved;
    case Action::kClose:  // from resolved only when no callback is needed (workflow.h)
      return state == State::kResolved || state == State::kCallbackDone;
    case Action::kReopen:
      return state == State::kCallbackDone || state == State::kClosed;
    case Action::kAddNote:              // C-3: the history can always be annotated
    case Action::kSubmitWrittenReport:  // T-8: the report is owed even after closing
      return true;
  }
  return false;
}

void CheckTransition(State state, Action action) {
  if (IsAllowed(state, action)) return;
  throw common::FailedPrecondition(
      "ILLEGAL_TRANSITION",
      "cannot " + std::string(Name(action)) + " a ticket that is " + std::string(Name(state)),
      {{"current_state", std::string(Name(state))}, {"action", std::string(Name(action))}});
}

bool AppliesToKind(Kind kind, Action action) {
  switch (action) {
    case Action::kScheduleAppointment:
    case Action::kRescheduleAppointment:
    case Action::kRecordArrival:
      return kind == Kind::kRepair;
    case Action::kRaiseIncidentReport:
    case Action::kSubmitWrittenReport:
      return kind == Kind::kIncident;
    default:
      return true;
  }
}

void CheckAction(Kind kind, State state, Action action) {
  if (!AppliesToKind(kind, action)) {
    throw common::FailedPrecondition(
        "ACTION_NOT_FOR_KIND",
        "cannot " + std::string(Name(action)) + " a ticket of kind " + std::string(Name(kind)),
        {{"kind", std::string(Name(kind))},
         {"action", std::string(Name(action))},
         {"current_state", std::string(Name(state))}});
  }
  CheckTransition(state, action);
}

}  // namespace propdesk::tickets::domain
