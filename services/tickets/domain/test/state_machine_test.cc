// Rule T-3: every state × action, against a table written out here
// independently of the implementation, both through the pure table
// (IsAllowed / CheckTransition) and through the real operations on tickets
// the domain produced.

#include "tickets/domain/state_machine.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>

#include "ticket_builder.h"

namespace propdesk::tickets::domain {
namespace {

using testing::BuildOptions;
using testing::T0;

const std::set<State> kAll(kAllStates.begin(), kAllStates.end());
const std::set<State> kNonTerminal = {State::kOpen, State::kAcknowledged, State::kInProgress,
                                      State::kResolved, State::kCallbackDone};
const std::set<State> kContactedUnresolved = {State::kAcknowledged, State::kInProgress};

// DOMAIN.md T-3 as this service reads it (see state_machine.h).
const std::map<Action, std::set<State>>& ExpectedAllowed() {
  static const std::map<Action, std::set<State>> table = {
      {Action::kAcknowledge, {State::kOpen}},
      {Action::kAssign, kContactedUnresolved},
      {Action::kTransfer, kNonTerminal},
      {Action::kRecordCommitment, {State::kOpen, State::kAcknowledged, State::kInProgress}},
      {Action::kScheduleAppointment, kContactedUnresolved},
      {Action::kRescheduleAppointment, kContactedUnresolved},
      {Action::kRecordArrival, kContactedUnresolved},
      {Action::kResolve, kContactedUnresolved},
      {Action::kRecordCallback, {State::kResolved}},
      {Action::kClose, {State::kResolved, State::kCallbackDone}},
      {Action::kReopen, {State::kCallbackDone, State::kClosed}},
      {Action::kAddNote, kAll},
      {Action::kRaiseIncidentReport, kNonTerminal},
      {Action::kSubmitWrittenReport, kAll},
  };
  return table;
}

bool Expected(State state, Action action) { return ExpectedAllowed().at(action).contains(state); }

// Where a legal action leads with the inputs Perform uses.
State ExpectedTarget(State from, Action action) {
  switch (action) {
    case Action::kAcknowledge:
      return State::kAcknowledged;
    case Action::kAssign:
      return State::kInProgress;
    case Action::kResolve:
      return State::kResolved;
    case Action::kRecordCallback:
      return State::kCallbackDone;  // satisfaction 5
    case Action::kClose:
      return State::kClosed;
    case Action::kReopen:
      return State::kInProgress;  // the ticket was assigned
    default:
      return from;
  }
}

// The ticket each action is tried on: a kind the action is meant for, and the
// setup its non-state preconditions need.
BuildOptions OptionsFor(Action action) {
  switch (action) {
    case Action::kScheduleAppointment:
    case Action::kRecordArrival:
      return {.kind = Kind::kRepair};
    case Action::kRescheduleAppointment:
      return {.kind = Kind::kRepair, .with_appointment = true};
    case Action::kRaiseIncidentReport:
      return {.kind = Kind::kIncident};
    case Action::kSubmitWrittenReport:
      return {.kind = Kind::kIncident, .with_incident_report = true};
    case Action::kClose:
      return {.kind = Kind::kInquiry};  // needs no callback, so resolved may close
    default:
      return {.kind = Kind::kComplaint};
  }
}

Change Perform(Action action, const Ticket& t, const SlaSettings& settings) {
  const Actor at = testing::At(T0() + testing::minutes{30}, "desk-2");
  switch (action) {
    case Action::kAcknowledge:
      return Acknowledge(t, at, "called the resident");
    case Action::kAssign:
      return Assign(t, at, {.department = "engineering", .assignee_id = "eng-8"});
    case Action::kTransfer:
      return Transfer(t, at, "desk-3", "shift change");
    case Action::kRecordCommitment:
      return RecordCommitment(t, at, T0() + testing::hours{5}, "");
    case Action::kScheduleAppointment:
      return ScheduleAppointment(t, at, T0() + testing::days{1}, "");
    case Action::kRescheduleAppointment:
      return RescheduleAppointment(t, at,
                                   {.appointment_at = T0() + testing::days{2},
                                    .reason = "engineer ill",
                                    .resident_notice = "phoned the resident at 10:30"});
    case Action::kRecordArrival:
      return RecordArrival(t, at, "");
    case Action::kResolve:
      return Resolve(t, at, settings, testing::Reply());
    case Action::kRecordCallback:
      return RecordCallback(t, at, settings, 5, "");
    case Action::kClose:
      return Close(t, at, "");
    case Action::kReopen:
      return Reopen(t, at, settings, "the leak is back");
    case Action::kAddNote:
      return AddNote(t, at, "resident called to ask");
    case Action::kRaiseIncidentReport:
      return RaiseIncidentReport(t, at, settings, "burst pipe in the basement", {"p/1.jpg"});
    case Action::kSubmitWrittenReport:
      return SubmitWrittenReport(t, at, "written report");
  }
  throw std::logic_error("unhandled action");
}

class TransitionTable : public ::testing::TestWithParam<std::tuple<State, Action>> {};

TEST_P(TransitionTable, T3_PureTableMatchesDomainRules) {
  const auto [state, action] = GetParam();
  EXPECT_EQ(IsAllowed(state, action), Expected(state, action));
  const auto error = testing::ErrorOf([&] { CheckTransition(state, action); });
  if (Expected(state, action)) {
    EXPECT_FALSE(error.has_value()) << error->what();
    return;
  }
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), common::ErrorKind::kFailedPrecondition);
  EXPECT_EQ(error->reason(), "ILLEGAL_TRANSITION");
  EXPECT_EQ(error->metadata().at("current_state"), Name(state));
  EXPECT_EQ(error->metadata().at("action"), Name(action));
}

TEST_P(TransitionTable, T3_OperationsEnforceTheTable) {
  const auto [state, action] = GetParam();
  const SlaSettings settings = testing::DefaultSettings();
  const Ticket before = testing::InState(settings, state, OptionsFor(action));
  ASSERT_EQ(before.state, state);
  if (!Expected(state, action)) {
    EXPECT_PRECONDITION(Perform(action, before, settings), "ILLEGAL_TRANSITION");
    return;
  }
  const Change change = Perform(action, before, settings);
  EXPECT_EQ(change.ticket.state, ExpectedTarget(state, action));
  EXPECT_EQ(change.ticket.version, before.version + 1);
  // C-3: every operation leaves a history entry by the actor, ending in the
  // new state.
  ASSERT_FALSE(change.events.empty());
  EXPECT_EQ(change.events.back().actor_id, "desk-2");
  EXPECT_EQ(change.events.back().from_state, state);
  EXPECT_EQ(change.events.back().to_state, change.ticket.state);
}

std::string CaseName(const ::testing::TestParamInfo<std::tuple<State, Action>>& info) {
  return std::string(Name(std::get<0>(info.param))) + "_" +
         std::string(Name(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllStatesTimesAllActions, TransitionTable,
                         ::testing::Combine(::testing::ValuesIn(kAllStates),
                                            ::testing::ValuesIn(kAllActions)),
                         CaseName);

TEST(StateMachine, T3_TerminalStates) {
  for (const State state : kAllStates) {
    EXPECT_EQ(IsTerminal(state), state == State::kClosed || state == State::kReferred)
        << Name(state);
  }
  // Referred is final: nothing but notes (and an owed incident report).
  for (const Action action : kAllActions) {
    EXPECT_EQ(IsAllowed(State::kReferred, action),
              action == Action::kAddNote || action == Action::kSubmitWrittenReport)
        << Name(action);
  }
}

TEST(StateMachine, T6_AppointmentsAndArrivalOnlyForRepairs) {
  for (const Kind kind : kAllKinds) {
    for (const Action action :
         {Action::kScheduleAppointment, Action::kRescheduleAppointment, Action::kRecordArrival}) {
      EXPECT_EQ(AppliesToKind(kind, action), kind == Kind::kRepair)
          << Name(kind) << " " << Name(action);
    }
  }
  const auto error = testing::ErrorOf(
      [] { CheckAction(Kind::kComplaint, State::kAcknowledged, Action::kScheduleAppointment); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), common::ErrorKind::kFailedPrecondition);
  EXPECT_EQ(error->reason(), "ACTION_NOT_FOR_KIND");
  EXPECT_EQ(error->metadata().at("kind"), "complaint");
  EXPECT_EQ(error->metadata().at("current_state"), "acknowledged");
}

TEST(StateMachine, T8_IncidentReportsOnlyForIncidents) {
  for (const Kind kind : kAllKinds) {
    EXPECT_EQ(AppliesToKind(kind, Action::kRaiseIncidentReport), kind == Kind::kIncident);
    EXPECT_EQ(AppliesToKind(kind, Action::kSubmitWrittenReport), kind == Kind::kIncident);
  }
  // Every other action applies to every kind.
  for (const Kind kind : kAllKinds) {
    for (const Action action :
         {Action::kAcknowledge, Action::kAssign, Action::kTransfer, Action::kRecordCommitment,
          Action::kResolve, Action::kRecordCallback, Action::kClose, Action::kReopen,
          Action::kAddNote}) {
      EXPECT_TRUE(AppliesToKind(kind, action)) << Name(kind) << " " << Name(action);
    }
  }
}

TEST(StateMachine, NamesAreDistinctSnakeCase) {
  std::set<std::string_view> names;
  for (const Action action : kAllActions) {
    EXPECT_TRUE(names.insert(Name(action)).second) << Name(action);
    EXPECT_NE(Name(action), "unknown");
  }
  std::set<std::string_view> states;
  for (const State state : kAllStates) EXPECT_TRUE(states.insert(Name(state)).second);
  EXPECT_EQ(Name(State::kInProgress), "in_progress");
  EXPECT_EQ(Name(Kind::kPatrolFinding), "patrol_finding");
  EXPECT_EQ(Name(DeadlineKind::kIncidentReport), "incident_report");
}

}  // namespace
}  // namespace propdesk::tickets::domain
