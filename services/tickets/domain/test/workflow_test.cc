// The ticket operations: receiving (C-5, C-6, T-4, T-6), transfers (C-6),
// commitments (T-5), appointments and referrals (T-6), breaches and
// escalation (T-8), callbacks (T-9), replies (T-10), handling records (T-12),
// duplicates (T-11), optimistic locking and the audit trail (C-3).

#include "tickets/domain/workflow.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ticket_builder.h"

namespace propdesk::tickets::domain {
namespace {

using testing::At;
using testing::BuildOptions;
using testing::days;
using testing::hours;
using testing::InState;
using testing::minutes;
using testing::Reply;
using testing::seconds;
using testing::T0;

class WorkflowTest : public ::testing::Test {
 protected:
  Ticket Complaint(State state) { return InState(settings_, state, {.kind = Kind::kComplaint}); }

  std::vector<EventType> Types(const Change& change) {
    std::vector<EventType> types;
    for (const TicketEvent& event : change.events) types.push_back(event.type);
    return types;
  }

  const SlaSettings settings_ = testing::DefaultSettings();
};

// ---- receiving ----------------------------------------------------------------

TEST_F(WorkflowTest, C6_OpenTicketMakesTheReceiverFirstContactOwner_T4_SetsDeadlines) {
  const Change change =
      OpenTicket(testing::Request(Kind::kComplaint),
                 {.ticket_id = "t-9", .site_id = "SZ01", .record_number = "TK-SZ01-240205001"},
                 At(T0(), "desk-1"), settings_);
  const Ticket& t = change.ticket;
  EXPECT_EQ(t.state, State::kOpen);
  EXPECT_EQ(t.first_contact_owner_id, "desk-1");
  EXPECT_EQ(t.owner_id, "desk-1");
  EXPECT_EQ(t.record_number, "TK-SZ01-240205001");
  EXPECT_EQ(t.version, 1);
  EXPECT_EQ(t.created_at, T0());
  EXPECT_EQ(t.DueOf(DeadlineKind::kContact), T0() + hours{2});
  EXPECT_EQ(t.DueOf(DeadlineKind::kDecision), testing::Utc(2024, 2, 9, 10));  // Fri 18:00 +08
  EXPECT_EQ(t.DueOf(DeadlineKind::kOnSite), std::nullopt);
  ASSERT_EQ(change.events.size(), 1u);
  const TicketEvent& created = change.events[0];
  EXPECT_EQ(created.type, EventType::kCreated);
  EXPECT_EQ(created.actor_id, "desk-1");
  EXPECT_EQ(created.at, T0());
  EXPECT_EQ(created.details.at("contact_by"), "2024-02-05T04:00:00Z");
  EXPECT_EQ(created.details.at("decision_by"), "2024-02-09T10:00:00Z");
  // C-2: the resident's phone never goes into the history.
  for (const auto& [key, value] : created.details) {
    EXPECT_EQ(value.find("138"), std::string::npos) << key;
  }
}

TEST_F(WorkflowTest, T6_UrgentRepairGetsOnSiteDeadline) {
  const Ticket t = testing::Open(settings_, {.kind = Kind::kRepair, .priority = Priority::kUrgent});
  EXPECT_EQ(t.DueOf(DeadlineKind::kOnSite), T0() + hours{2});
  EXPECT_EQ(t.DueOf(DeadlineKind::kContact), std::nullopt);
}

TEST_F(WorkflowTest, NewTicketValidationNamesTheField) {
  NewTicket request = testing::Request(Kind::kComplaint);
  request.description = "  \n ";
  EXPECT_INVALID_FIELD(ValidateNewTicket(request), "description");
  request.description = std::string(4001, 'x');
  EXPECT_INVALID_FIELD(ValidateNewTicket(request), "description");
  // Lengths count characters, not bytes: 4000 Chinese characters are fine.
  std::string chinese;
  for (int i = 0; i < 4000; ++i) chinese += "漏";
  request.description = chinese;
  EXPECT_NO_THROW(ValidateNewTicket(request));

  request = testing::Request(Kind::kComplaint);
  request.contact.phone = "138-0013-800O";  // a letter O
  EXPECT_INVALID_FIELD(ValidateNewTicket(request), "contact.phone");
  request.contact.phone = "1234";
  EXPECT_INVALID_FIELD(ValidateNewTicket(request), "contact.phone");
  request.contact.phone = "+86 (755) 8888-0000";
  EXPECT_NO_THROW(ValidateNewTicket(request));

  request = testing::Request(Kind::kComplaint);
  request.unit = std::string(33, '1');
  EXPECT_INVALID_FIELD(ValidateNewTicket(request), "unit");
}

TEST_F(WorkflowTest, T4_T9_ComplaintsAndRepairsNeedAUnitOrAPhone) {
  for (const Kind kind : kAllKinds) {
    NewTicket request = testing::Request(kind);
    request.unit.clear();
    request.contact.phone.clear();
    if (kind == Kind::kComplaint || kind == Kind::kRepair) {
      EXPECT_INVALID_FIELD(ValidateNewTicket(request), "contact.phone");
    } else {
      EXPECT_NO_THROW(ValidateNewTicket(request)) << Name(kind);  // e.g. a patrol finding
    }
    request.unit = "3-1204";
    EXPECT_NO_THROW(ValidateNewTicket(request));
  }
}

TEST_F(WorkflowTest, OpenTicketRejectsBadInputBeforeAnythingElse) {
  NewTicket request = testing::Request(Kind::kRepair);
  request.description.clear();
  EXPECT_INVALID_FIELD(
      OpenTicket(request, {"t-1", "SZ01", "TK-SZ01-240205001"}, At(T0()), settings_),
      "description");
}

// ---- duplicates (T-11) ----------------------------------------------------------

TEST_F(WorkflowTest, T11_LinkDuplicateCountsTheReportWithoutThePhone) {
  const Ticket original = Complaint(State::kAcknowledged);
  NewTicket again = testing::Request(Kind::kComplaint);
  again.contact = {.name = "李先生", .phone = "139 0000 1111"};
  again.description = "楼上还在漏水";
  const Change change = LinkDuplicate(original, again, At(T0() + hours{3}, "desk-2"));
  EXPECT_EQ(change.ticket.duplicate_count, 1);
  EXPECT_EQ(change.ticket.state, State::kAcknowledged);
  EXPECT_EQ(change.ticket.contact, original.contact);  // the first reporter stays the contact
  EXPECT_EQ(change.ticket.version, original.version + 1);
  ASSERT_EQ(change.events.size(), 1u);
  EXPECT_EQ(change.events[0].type, EventType::kDuplicateLinked);
  EXPECT_EQ(change.events[0].details.at("contact_name"), "李先生");
  EXPECT_EQ(change.events[0].details.at("description"), "楼上还在漏水");
  for (const auto& [key, value] : change.events[0].details) {
    EXPECT_EQ(value.find("139"), std::string::npos) << key;  // C-2
  }
  EXPECT_EQ(LinkDuplicate(change.ticket, again, At(T0() + hours{4})).ticket.duplicate_count, 2);
}

TEST_F(WorkflowTest, T11_ResolvedTicketNoLongerAbsorbsReports) {
  const Ticket resolved = Complaint(State::kResolved);
  EXPECT_PRECONDITION(LinkDuplicate(resolved, testing::Request(Kind::kComplaint), At(T0())),
                      "DUPLICATE_TARGET_NOT_OPEN");
}

// ---- optimistic locking ---------------------------------------------------------

TEST_F(WorkflowTest, ExpectedVersionZeroSkipsTheCheckOtherwiseMustMatch) {
  const Ticket t = Complaint(State::kInProgress);
  EXPECT_NO_THROW(CheckExpectedVersion(t, 0));
  EXPECT_NO_THROW(CheckExpectedVersion(t, t.version));
  const auto error = testing::ErrorOf([&] { CheckExpectedVersion(t, t.version - 1); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), common::ErrorKind::kAborted);
  EXPECT_EQ(error->reason(), "VERSION_MISMATCH");
  EXPECT_EQ(error->metadata().at("current_version"), std::to_string(t.version));
}

// ---- contact, assignment, transfer ----------------------------------------------

TEST_F(WorkflowTest, T4_AcknowledgeInTimeMeetsContactWithoutBreach) {
  const Ticket open = Complaint(State::kOpen);
  const Change change = Acknowledge(open, At(T0() + hours{2}), "spoke to the resident");
  const Deadline& contact = change.ticket.deadlines.at(DeadlineKind::kContact);
  EXPECT_EQ(contact.met_at, T0() + hours{2});  // exactly at the due time is on time
  EXPECT_FALSE(contact.breached);
  EXPECT_EQ(change.ticket.breach_count, 0);
  EXPECT_EQ(Types(change), std::vector<EventType>{EventType::kAcknowledged});
  EXPECT_EQ(change.events[0].details.at("note"), "spoke to the resident");
}

TEST_F(WorkflowTest, T4_T8_LateAcknowledgeRecordsTheBreachItself) {
  const Ticket open = Complaint(State::kOpen);
  const Change change = Acknowledge(open, At(T0() + hours{2} + seconds{1}), "");
  EXPECT_TRUE(change.ticket.deadlines.at(DeadlineKind::kContact).breached);
  EXPECT_EQ(change.ticket.breach_count, 1);
  EXPECT_EQ(change.ticket.escalation, EscalationLevel::kSupervisor);
  EXPECT_EQ(Types(change),
            (std::vector<EventType>{EventType::kDeadlineBreached, EventType::kEscalated,
                                    EventType::kAcknowledged}));
  EXPECT_EQ(change.events[0].details.at("deadline"), "contact");
}

TEST_F(WorkflowTest, T8_BreachAlreadyRecordedByScannerIsNotCountedAgain) {
  const Ticket open = Complaint(State::kOpen);
  const std::optional<Change> breach = RecordBreach(open, DeadlineKind::kContact, T0() + hours{3});
  ASSERT_TRUE(breach.has_value());
  EXPECT_EQ(breach->ticket.breach_count, 1);
  EXPECT_EQ(breach->events[0].actor_id, kSystemActor);
  const Change late = Acknowledge(breach->ticket, At(T0() + hours{4}), "");
  EXPECT_EQ(late.ticket.breach_count, 1);
  EXPECT_EQ(Types(late), std::vector<EventType>{EventType::kAcknowledged});
  EXPECT_EQ(late.ticket.deadlines.at(DeadlineKind::kContact).met_at, T0() + hours{4});
}

TEST_F(WorkflowTest, AssignRequiresDepartmentAndAssignee_AndMayReassign) {
  const Ticket ack = Complaint(State::kAcknowledged);
  EXPECT_INVALID_FIELD(Assign(ack, At(T0()), {.department = "", .assignee_id = "eng-1"}),
                       "department");
  EXPECT_INVALID_FIELD(Assign(ack, At(T0()), {.department = "engineering", .assignee_id = "a b"}),
                       "assignee_id");
  const Change first =
      Assign(ack, At(T0() + hours{1}), {.department = "engineering", .assignee_id = "eng-1"});
  EXPECT_EQ(first.ticket.state, State::kInProgress);
  const Change second =
      Assign(first.ticket, At(T0() + hours{2}),
             {.department = "cleaning", .assignee_id = "cln-3", .note = "not a pipe"});
  EXPECT_EQ(second.ticket.department, "cleaning");
  EXPECT_EQ(second.ticket.assignee_id, "cln-3");
  EXPECT_EQ(second.events[0].details.at("previous_assignee_id"), "eng-1");
}

TEST_F(WorkflowTest, C6_TransferChangesOwnerKeepsFirstContactOwner) {
  const Ticket t = Complaint(State::kInProgress);
  ASSERT_EQ(t.owner_id, "desk-1");
  const Change change =
      Transfer(t, At(T0() + hours{1}, "supervisor-1"), "desk-2", "desk-1 goes off shift");
  EXPECT_EQ(change.ticket.owner_id, "desk-2");
  EXPECT_EQ(change.ticket.first_contact_owner_id, "desk-1");
  EXPECT_EQ(change.ticket.state, State::kInProgress);
  ASSERT_EQ(change.events.size(), 1u);
  EXPECT_EQ(change.events[0].reason, "desk-1 goes off shift");
  EXPECT_EQ(change.events[0].actor_id, "supervisor-1");
  EXPECT_EQ(change.events[0].details.at("previous_owner_id"), "desk-1");
  // A second transfer still remembers the first-contact owner.
  const Change again = Transfer(change.ticket, At(T0() + hours{2}), "desk-3", "escalated");
  EXPECT_EQ(again.ticket.first_contact_owner_id, "desk-1");
  EXPECT_EQ(again.ticket.owner_id, "desk-3");
}

TEST_F(WorkflowTest, C6_TransferNeedsReasonAndAnotherOwner) {
  const Ticket t = Complaint(State::kAcknowledged);
  EXPECT_INVALID_FIELD(Transfer(t, At(T0()), "desk-2", " "), "reason");
  EXPECT_INVALID_FIELD(Transfer(t, At(T0()), "", "why"), "new_owner_id");
  EXPECT_INVALID_FIELD(Transfer(t, At(T0()), "desk-1", "why"), "new_owner_id");
}

// ---- commitments (T-5) ------------------------------------------------------------

TEST_F(WorkflowTest, T5_CommitmentMustBeFutureAndWithinTheDecisionDeadline) {
  const Ticket t = Complaint(State::kInProgress);
  const Timestamp now = T0() + hours{1};
  const Timestamp decision_by = *t.DueOf(DeadlineKind::kDecision);
  EXPECT_INVALID_FIELD(RecordCommitment(t, At(now), now, ""), "commitment_at");
  EXPECT_INVALID_FIELD(RecordCommitment(t, At(now), decision_by + minutes{1}, ""), "commitment_at");
  const Change change = RecordCommitment(t, At(now), decision_by, "answer by Friday");
  EXPECT_EQ(change.ticket.DueOf(DeadlineKind::kCommitment), decision_by);
}

TEST_F(WorkflowTest, T5_MissedCommitmentIsABreach_ReplacingAPassedOneRecordsIt) {
  const Ticket t = Complaint(State::kInProgress);
  const Ticket committed = RecordCommitment(t, At(T0() + hours{1}), T0() + hours{3}, "").ticket;
  EXPECT_EQ(RecordBreach(committed, DeadlineKind::kCommitment, T0() + hours{3}), std::nullopt);
  // Replaced after it passed, before any scanner saw it: still a breach.
  const Change replaced =
      RecordCommitment(committed, At(T0() + hours{4}), T0() + hours{8}, "sorry, by 18:00");
  EXPECT_EQ(replaced.ticket.breach_count, 1);
  EXPECT_EQ(replaced.ticket.DueOf(DeadlineKind::kCommitment), T0() + hours{8});
  EXPECT_FALSE(replaced.ticket.deadlines.at(DeadlineKind::kCommitment).breached);
  EXPECT_EQ(replaced.events.front().type, EventType::kDeadlineBreached);
  EXPECT_EQ(replaced.events.back().details.at("commitment_at"), "2024-02-05T10:00:00Z");
  // Replaced before it passes: no breach.
  const Change early = RecordCommitment(committed, At(T0() + hours{2}), T0() + hours{5}, "");
  EXPECT_EQ(early.ticket.breach_count, 0);
  EXPECT_EQ(early.events.back().details.at("previous_commitment_at"), "2024-02-05T05:00:00Z");
}

TEST_F(WorkflowTest, T5_ResolvingMeetsTheCommitment) {
  const Ticket committed =
      RecordCommitment(Complaint(State::kInProgress), At(T0() + hours{1}), T0() + hours{3}, "")
          .ticket;
  const Change resolved = Resolve(committed, At(T0() + hours{2}), settings_, Reply());
  EXPECT_EQ(resolved.ticket.deadlines.at(DeadlineKind::kCommitment).met_at, T0() + hours{2});
  EXPECT_EQ(resolved.ticket.breach_count, 0);
  EXPECT_TRUE(WatchedDeadlines(resolved.ticket).size() == 1);  // only the callback
}

// ---- repairs: appointments, arrival (T-6) ------------------------------------------

class RepairTest : public WorkflowTest {
 protected:
  Ticket Repair(State state, bool with_appointment = true) {
    return InState(settings_, state, {.kind = Kind::kRepair, .with_appointment = with_appointment});
  }
  // InState books the appointment for T0 + 1 day.
  Timestamp Appointment() { return T0() + days{1}; }
  Rebooking Later(Timestamp at) {
    return {.appointment_at = at,
            .reason = "part not delivered",
            .resident_notice = "phoned the resident; agreed the new time"};
  }
};

TEST_F(RepairTest, T6_RescheduleBeforeTheAppointmentToALaterTime) {
  const Ticket t = Repair(State::kInProgress);
  const Change change =
      RescheduleAppointment(t, At(Appointment() - hours{1}), Later(Appointment() + days{1}));
  EXPECT_EQ(change.ticket.DueOf(DeadlineKind::kAppointment), Appointment() + days{1});
  EXPECT_EQ(change.ticket.appointment_reschedule_count, 1);
  ASSERT_EQ(change.events.size(), 1u);
  EXPECT_EQ(change.events[0].type, EventType::kAppointmentRescheduled);
  EXPECT_EQ(change.events[0].reason, "part not delivered");
  EXPECT_EQ(change.events[0].details.at("resident_notice"),
            "phoned the resident; agreed the new time");
  EXPECT_EQ(change.events[0].details.at("previous_appointment_at"), "2024-02-06T02:00:00Z");
}

TEST_F(RepairTest, T6_RescheduleRules) {
  const Ticket t = Repair(State::kInProgress);
  // Not to an earlier or the same time.
  EXPECT_INVALID_FIELD(RescheduleAppointment(t, At(T0() + hours{1}), Later(Appointment())),
                       "appointment_at");
  EXPECT_INVALID_FIELD(
      RescheduleAppointment(t, At(T0() + hours{1}), Later(Appointment() - hours{2})),
      "appointment_at");
  // The notice to the resident and a reason are required.
  Rebooking no_notice = Later(Appointment() + days{1});
  no_notice.resident_notice = "";
  EXPECT_INVALID_FIELD(RescheduleAppointment(t, At(T0() + hours{1}), no_notice), "resident_notice");
  Rebooking no_reason = Later(Appointment() + days{1});
  no_reason.reason = "";
  EXPECT_INVALID_FIELD(RescheduleAppointment(t, At(T0() + hours{1}), no_reason), "reason");
  // Only before the appointment: at its time it is too late.
  EXPECT_PRECONDITION(RescheduleAppointment(t, At(Appointment()), Later(Appointment() + days{1})),
                      "APPOINTMENT_PASSED");
  // Only once: the rebooked appointment must not be missed.
  const Ticket rebooked =
      RescheduleAppointment(t, At(T0() + hours{1}), Later(Appointment() + days{1})).ticket;
  EXPECT_PRECONDITION(
      RescheduleAppointment(rebooked, At(T0() + hours{2}), Later(Appointment() + days{2})),
      "APPOINTMENT_ALREADY_RESCHEDULED");
  // Nothing to rebook without an appointment.
  EXPECT_PRECONDITION(
      RescheduleAppointment(Repair(State::kInProgress, false), At(T0()), Later(Appointment())),
      "NO_APPOINTMENT");
}

TEST_F(RepairTest, T6_ScheduleWhileOneIsAheadIsRejected_APassedOneIsABreachAndReplaced) {
  const Ticket t = Repair(State::kInProgress);
  EXPECT_PRECONDITION(ScheduleAppointment(t, At(T0() + hours{1}), Appointment() + days{1}, ""),
                      "APPOINTMENT_ALREADY_SCHEDULED");
  EXPECT_INVALID_FIELD(
      ScheduleAppointment(Repair(State::kInProgress, false), At(T0()), T0() - hours{1}, ""),
      "appointment_at");
  // The engineer never came: a new appointment after the old one passed.
  const Change change =
      ScheduleAppointment(t, At(Appointment() + hours{3}), Appointment() + days{1}, "");
  EXPECT_EQ(change.ticket.breach_count, 1);
  EXPECT_EQ(change.ticket.escalation, EscalationLevel::kSupervisor);
  EXPECT_EQ(change.ticket.DueOf(DeadlineKind::kAppointment), Appointment() + days{1});
  EXPECT_EQ(change.ticket.appointment_reschedule_count, 0);
  EXPECT_EQ(change.events.back().type, EventType::kAppointmentScheduled);
}

TEST_F(RepairTest, T6_ArrivalMeetsOnSiteAndAppointment) {
  Ticket urgent =
      InState(settings_, State::kInProgress,
              {.kind = Kind::kRepair, .priority = Priority::kUrgent, .with_appointment = true});
  const Change change = RecordArrival(urgent, At(T0() + minutes{90}), "valve closed");
  EXPECT_EQ(change.ticket.deadlines.at(DeadlineKind::kOnSite).met_at, T0() + minutes{90});
  EXPECT_EQ(change.ticket.deadlines.at(DeadlineKind::kAppointment).met_at, T0() + minutes{90});
  EXPECT_EQ(change.ticket.breach_count, 0);
  EXPECT_EQ(change.ticket.state, State::kInProgress);
  // Arriving after the 2 hours is a breach.
  EXPECT_EQ(RecordArrival(urgent, At(T0() + hours{3}), "").ticket.breach_count, 1);
}

TEST_F(RepairTest, T6_ReferralEndsAsReferredWithExternalContact) {
  const Ticket t = Repair(State::kInProgress);
  ResolveInput input = Reply();
  input.referral = Referral{.organization = "电梯公司 (lift maker)", .contact_name = "张工"};
  const Change change = Resolve(t, At(T0() + hours{5}), settings_, input);
  EXPECT_EQ(change.ticket.state, State::kReferred);
  EXPECT_TRUE(IsTerminal(change.ticket.state));
  ASSERT_TRUE(change.ticket.resolution.has_value());
  EXPECT_EQ(change.ticket.resolution->referral, input.referral);
  EXPECT_FALSE(change.ticket.NeedsCallback());
  EXPECT_TRUE(WatchedDeadlines(change.ticket).empty());
  EXPECT_EQ(change.events.back().type, EventType::kReferred);
  EXPECT_EQ(change.events.back().details.at("organization"), "电梯公司 (lift maker)");
  EXPECT_PRECONDITION(Reopen(change.ticket, At(T0() + days{1}), settings_, "why"),
                      "ILLEGAL_TRANSITION");

  input.referral = Referral{.organization = "电梯公司"};
  EXPECT_INVALID_FIELD(Resolve(t, At(T0()), settings_, input), "referral.contact_name");
  input.referral = Referral{.organization = "", .contact_phone = "95158"};
  EXPECT_INVALID_FIELD(Resolve(t, At(T0()), settings_, input), "referral.organization");
}

// ---- resolve (T-10, T-12) ---------------------------------------------------------

TEST_F(WorkflowTest, T10_NoResolutionWithoutAReply) {
  const Ticket t = Complaint(State::kInProgress);
  ResolveInput input = Reply();
  input.reply = " \t ";
  EXPECT_INVALID_FIELD(Resolve(t, At(T0()), settings_, input), "reply");
  ResolveInput referral = Reply();
  referral.reply = "";
  referral.referral = Referral{.organization = "gas", .contact_phone = "95158"};
  EXPECT_INVALID_FIELD(Resolve(t, At(T0()), settings_, referral), "reply");
}

TEST_F(WorkflowTest, T12_ComplaintHandlingRecordNeedsCauseAndResult) {
  const Ticket t = Complaint(State::kInProgress);
  ResolveInput input = Reply();
  input.cause = "";
  EXPECT_INVALID_FIELD(Resolve(t, At(T0()), settings_, input), "cause");
  input = Reply();
  input.result = "";
  EXPECT_INVALID_FIELD(Resolve(t, At(T0()), settings_, input), "result");
  // Other kinds may resolve with the reply alone.
  const Ticket inquiry = InState(settings_, State::kAcknowledged, {.kind = Kind::kInquiry});
  EXPECT_NO_THROW(Resolve(inquiry, At(T0() + hours{1}), settings_, {.reply = "周一到周五开放"}));
  // valid_complaint only means something for complaints.
  EXPECT_INVALID_FIELD(
      Resolve(inquiry, At(T0() + hours{1}), settings_, {.reply = "ok", .valid_complaint = true}),
      "valid_complaint");
}

TEST_F(WorkflowTest, T12_HandlingRecordNamesTimeReceiverHandlerCauseResult) {
  const Ticket t = Complaint(State::kInProgress);  // assigned to eng-7 by desk-1
  ResolveInput input = Reply();
  input.valid_complaint = true;
  const Change change = Resolve(t, At(T0() + hours{6}, "desk-2"), settings_, input);
  ASSERT_TRUE(change.ticket.resolution.has_value());
  const Resolution& r = *change.ticket.resolution;
  EXPECT_EQ(r.handler_id, "eng-7");  // defaults to the assignee
  EXPECT_EQ(r.resolved_by, "desk-2");
  EXPECT_EQ(r.resolved_at, T0() + hours{6});
  EXPECT_EQ(r.cause, input.cause);
  EXPECT_EQ(r.result, input.result);
  EXPECT_TRUE(r.valid_complaint);
  EXPECT_EQ(change.ticket.first_contact_owner_id, "desk-1");  // the receiver
  EXPECT_EQ(change.events.back().details.at("valid_complaint"), "true");
  input.handler_id = "eng-9";
  EXPECT_EQ(Resolve(t, At(T0() + hours{6}), settings_, input).ticket.resolution->handler_id,
            "eng-9");
}

TEST_F(WorkflowTest, T4_LateResolutionBreachesTheDecisionDeadline) {
  const Ticket t = Complaint(State::kInProgress);
  const Timestamp decision_by = *t.DueOf(DeadlineKind::kDecision);
  EXPECT_EQ(Resolve(t, At(decision_by), settings_, Reply()).ticket.breach_count, 0);
  const Change late = Resolve(t, At(decision_by + minutes{1}), settings_, Reply());
  EXPECT_EQ(late.ticket.breach_count, 1);
  EXPECT_TRUE(late.ticket.deadlines.at(DeadlineKind::kDecision).breached);
}

// ---- callbacks (T-9) ---------------------------------------------------------------

TEST_F(WorkflowTest, T9_ResolveSetsCallbackDue) {
  const Timestamp at = T0() + hours{6};
  EXPECT_EQ(Resolve(Complaint(State::kInProgress), At(at), settings_, Reply())
                .ticket.DueOf(DeadlineKind::kCallback),
            at + days{3});
  const Ticket repair = InState(settings_, State::kInProgress, {.kind = Kind::kRepair});
  EXPECT_EQ(Resolve(repair, At(at), settings_, Reply()).ticket.DueOf(DeadlineKind::kCallback),
            at + days{7});
  const Ticket inquiry = InState(settings_, State::kInProgress, {.kind = Kind::kInquiry});
  const Ticket resolved = Resolve(inquiry, At(at), settings_, Reply()).ticket;
  EXPECT_EQ(resolved.DueOf(DeadlineKind::kCallback), std::nullopt);
  EXPECT_FALSE(resolved.NeedsCallback());
}

TEST_F(WorkflowTest, T9_SatisfiedCallbackCompletes) {
  const Ticket resolved = Complaint(State::kResolved);
  for (const int satisfaction : {3, 4, 5}) {
    const Change change =
        RecordCallback(resolved, At(T0() + days{1}, "cs-1"), settings_, satisfaction, "ok");
    EXPECT_EQ(change.ticket.state, State::kCallbackDone);
    EXPECT_EQ(change.ticket.callback->satisfaction, satisfaction);
    EXPECT_EQ(change.ticket.callback->recorded_by, "cs-1");
    EXPECT_EQ(change.ticket.deadlines.at(DeadlineKind::kCallback).met_at, T0() + days{1});
    EXPECT_TRUE(change.ticket.resolution.has_value());
    EXPECT_EQ(change.ticket.reopen_count, 0);
  }
}

TEST_F(WorkflowTest, T9_UnsatisfiedCallbackReopens) {
  const Ticket resolved = Complaint(State::kResolved);
  const Timestamp at = testing::Utc(2024, 2, 7, 2);  // Wed 10:00 Shanghai
  for (const int satisfaction : {1, 2}) {
    const Change change = RecordCallback(resolved, At(at), settings_, satisfaction, "still leaks");
    const Ticket& t = change.ticket;
    EXPECT_EQ(t.state, State::kInProgress);  // back to the assignee
    EXPECT_EQ(t.assignee_id, "eng-7");
    EXPECT_EQ(t.reopen_count, 1);
    EXPECT_FALSE(t.resolution.has_value());
    EXPECT_EQ(t.callback->satisfaction, satisfaction);
    EXPECT_EQ(t.callback->comments, "still leaks");
    // A new decision deadline: 4 working days from the callback (Thu … Tue).
    const Deadline& decision = t.deadlines.at(DeadlineKind::kDecision);
    EXPECT_TRUE(decision.pending());
    EXPECT_EQ(decision.due, testing::Utc(2024, 2, 13, 10));
    EXPECT_EQ(Types(change),
              (std::vector<EventType>{EventType::kCallbackRecorded, EventType::kReopened}));
    EXPECT_EQ(change.events[1].to_state, State::kInProgress);
    EXPECT_EQ(change.events[1].from_state, State::kResolved);
    // It must be resolved (and called back) again.
    const Change again = Resolve(t, At(at + hours{1}), settings_, Reply());
    EXPECT_EQ(again.ticket.DueOf(DeadlineKind::kCallback), at + hours{1} + days{3});
    EXPECT_TRUE(again.ticket.NeedsCallback());
  }
}

TEST_F(WorkflowTest, T9_UnsatisfiedNeverAssignedGoesBackToAcknowledged) {
  const Ticket inquiry = InState(settings_, State::kAcknowledged, {.kind = Kind::kInquiry});
  const Ticket resolved = Resolve(inquiry, At(T0() + hours{1}), settings_, Reply()).ticket;
  const Change change = RecordCallback(resolved, At(T0() + hours{5}), settings_, 1, "wrong answer");
  EXPECT_EQ(change.ticket.state, State::kAcknowledged);
  EXPECT_EQ(change.ticket.DueOf(DeadlineKind::kDecision), std::nullopt);  // inquiries have none
}

TEST_F(WorkflowTest, T9_SatisfactionOutsideOneToFiveRejected) {
  const Ticket resolved = Complaint(State::kResolved);
  EXPECT_INVALID_FIELD(RecordCallback(resolved, At(T0()), settings_, 0, ""), "satisfaction");
  EXPECT_INVALID_FIELD(RecordCallback(resolved, At(T0()), settings_, 6, ""), "satisfaction");
  EXPECT_INVALID_FIELD(RecordCallback(resolved, At(T0()), settings_, 3, std::string(2001, 'x')),
                       "comments");
}

TEST_F(WorkflowTest, T9_LateCallbackIsABreach) {
  const Ticket resolved = Complaint(State::kResolved);
  const Timestamp due = *resolved.DueOf(DeadlineKind::kCallback);
  const Change change = RecordCallback(resolved, At(due + hours{1}), settings_, 5, "");
  EXPECT_EQ(change.ticket.breach_count, 1);
  EXPECT_EQ(change.ticket.state, State::kCallbackDone);
}

TEST_F(WorkflowTest, T9_CloseNeedsTheCallbackUnlessTheKindNeedsNone) {
  const Ticket resolved = Complaint(State::kResolved);
  const auto error = testing::ErrorOf([&] { Close(resolved, At(T0() + days{1}), ""); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->reason(), "CALLBACK_REQUIRED");
  EXPECT_EQ(error->metadata().at("current_state"), "resolved");
  for (const Kind kind :
       {Kind::kInquiry, Kind::kSuggestion, Kind::kPatrolFinding, Kind::kIncident}) {
    const Ticket t = InState(settings_, State::kResolved, {.kind = kind});
    EXPECT_EQ(Close(t, At(T0() + days{1}), "answered").ticket.state, State::kClosed) << Name(kind);
  }
}

TEST_F(WorkflowTest, ReopenNeedsAReasonAndRestartsTheDecisionClock) {
  const Ticket closed = Complaint(State::kClosed);
  EXPECT_INVALID_FIELD(Reopen(closed, At(T0()), settings_, ""), "reason");
  const Timestamp at = testing::Utc(2024, 2, 7, 2);
  const Change change = Reopen(closed, At(at), settings_, "the leak is back");
  EXPECT_EQ(change.ticket.state, State::kInProgress);
  EXPECT_EQ(change.ticket.reopen_count, 1);
  EXPECT_FALSE(change.ticket.resolution.has_value());
  EXPECT_EQ(change.ticket.DueOf(DeadlineKind::kDecision), testing::Utc(2024, 2, 13, 10));
  EXPECT_EQ(change.events.back().reason, "the leak is back");
  EXPECT_EQ(change.events.back().details.at("decision_by"), "2024-02-13T10:00:00Z");
}

// ---- incidents (T-8) ---------------------------------------------------------------

TEST_F(WorkflowTest, T8_IncidentReportSetsNextDayDeadline) {
  const Ticket incident = InState(settings_, State::kAcknowledged, {.kind = Kind::kIncident});
  const Timestamp at = testing::Utc(2024, 2, 5, 14, 30);  // Mon 22:30 Shanghai
  const Change change = RaiseIncidentReport(incident, At(at, "duty-1"), settings_, "水管爆裂",
                                            {"s3://p/1.jpg", "s3://p/2.jpg"});
  EXPECT_EQ(change.ticket.DueOf(DeadlineKind::kIncidentReport),
            testing::Utc(2024, 2, 6, 16));  // Tue 24:00 Shanghai
  ASSERT_TRUE(change.ticket.incident_report.has_value());
  EXPECT_EQ(change.ticket.incident_report->photo_refs.size(), 2u);
  EXPECT_EQ(change.ticket.incident_report->raised_by, "duty-1");
  EXPECT_EQ(change.events.back().details.at("photo_refs"), "s3://p/1.jpg\ns3://p/2.jpg");
  EXPECT_PRECONDITION(
      RaiseIncidentReport(change.ticket, At(at + hours{1}), settings_, "again", {"p.jpg"}),
      "INCIDENT_REPORT_ALREADY_RAISED");
}

TEST_F(WorkflowTest, T8_IncidentReportNeedsSummaryAndPhotos) {
  const Ticket incident = InState(settings_, State::kOpen, {.kind = Kind::kIncident});
  EXPECT_INVALID_FIELD(RaiseIncidentReport(incident, At(T0()), settings_, "x", {}), "photo_refs");
  EXPECT_INVALID_FIELD(RaiseIncidentReport(incident, At(T0()), settings_, "x",
                                           std::vector<std::string>(21, "p.jpg")),
                       "photo_refs");
  EXPECT_INVALID_FIELD(RaiseIncidentReport(incident, At(T0()), settings_, "x", {"a.jpg", ""}),
                       "photo_refs[1]");
  EXPECT_INVALID_FIELD(RaiseIncidentReport(incident, At(T0()), settings_, "", {"a.jpg"}),
                       "summary");
  EXPECT_PRECONDITION(
      RaiseIncidentReport(Complaint(State::kOpen), At(T0()), settings_, "x", {"a.jpg"}),
      "ACTION_NOT_FOR_KIND");
}

TEST_F(WorkflowTest, T8_WrittenReportMeetsDeadlineEvenAfterClosing) {
  const Ticket closed =
      InState(settings_, State::kClosed, {.kind = Kind::kIncident, .with_incident_report = true});
  const Timestamp due = *closed.DueOf(DeadlineKind::kIncidentReport);
  EXPECT_EQ(WatchedDeadlines(closed),
            (std::vector<DueDeadline>{{DeadlineKind::kIncidentReport, due}}));
  const Change change = SubmitWrittenReport(closed, At(due - hours{1}, "duty-1"), "report text");
  EXPECT_EQ(change.ticket.state, State::kClosed);
  EXPECT_EQ(change.ticket.incident_report->written_report, "report text");
  EXPECT_EQ(change.ticket.incident_report->written_report_at, due - hours{1});
  EXPECT_FALSE(change.ticket.deadlines.at(DeadlineKind::kIncidentReport).pending());
  EXPECT_TRUE(WatchedDeadlines(change.ticket).empty());
  EXPECT_PRECONDITION(SubmitWrittenReport(change.ticket, At(due), "again"),
                      "WRITTEN_REPORT_ALREADY_SUBMITTED");
  const Ticket no_report = InState(settings_, State::kOpen, {.kind = Kind::kIncident});
  EXPECT_PRECONDITION(SubmitWrittenReport(no_report, At(T0()), "text"),
                      "INCIDENT_REPORT_NOT_RAISED");
}

TEST_F(WorkflowTest, T8_LateWrittenReportEscalatesStraightToSiteManager) {
  const Ticket t = InState(settings_, State::kInProgress,
                           {.kind = Kind::kIncident, .with_incident_report = true});
  const Timestamp due = *t.DueOf(DeadlineKind::kIncidentReport);
  const Change change = SubmitWrittenReport(t, At(due + minutes{1}), "late report");
  EXPECT_EQ(change.ticket.breach_count, 1);
  EXPECT_EQ(change.ticket.escalation, EscalationLevel::kSiteManager);
}

// ---- the scanner's view (T-8) --------------------------------------------------------

TEST_F(WorkflowTest, T8_RecordBreachOnlyPastDueAndOnlyOnce) {
  const Ticket open = Complaint(State::kOpen);
  const Timestamp due = *open.DueOf(DeadlineKind::kContact);
  EXPECT_EQ(RecordBreach(open, DeadlineKind::kContact, due), std::nullopt);  // due is on time
  EXPECT_EQ(RecordBreach(open, DeadlineKind::kOnSite, due + hours{1}), std::nullopt);  // none
  const std::optional<Change> first = RecordBreach(open, DeadlineKind::kContact, due + seconds{1});
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->ticket.version, open.version + 1);
  EXPECT_EQ(first->ticket.state, State::kOpen);
  EXPECT_EQ(first->ticket.escalation, EscalationLevel::kSupervisor);
  // A second scanner (or tick) finds nothing more to record.
  EXPECT_EQ(RecordBreach(first->ticket, DeadlineKind::kContact, due + hours{5}), std::nullopt);
  // A met deadline never breaches.
  const Ticket ack = Acknowledge(open, At(due - minutes{1}), "").ticket;
  EXPECT_EQ(RecordBreach(ack, DeadlineKind::kContact, due + hours{1}), std::nullopt);
}

TEST_F(WorkflowTest, T8_SecondBreachEscalatesToSiteManager) {
  const Ticket open = Complaint(State::kOpen);
  const Ticket once = RecordBreach(open, DeadlineKind::kContact, T0() + hours{3})->ticket;
  EXPECT_EQ(once.escalation, EscalationLevel::kSupervisor);
  const Timestamp decision_by = *open.DueOf(DeadlineKind::kDecision);
  const std::optional<Change> twice =
      RecordBreach(once, DeadlineKind::kDecision, decision_by + seconds{1});
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(twice->ticket.breach_count, 2);
  EXPECT_EQ(twice->ticket.escalation, EscalationLevel::kSiteManager);
  ASSERT_EQ(twice->events.size(), 2u);
  EXPECT_EQ(twice->events[1].type, EventType::kEscalated);
  EXPECT_EQ(twice->events[1].details.at("level"), "site_manager");
  EXPECT_EQ(twice->events[1].details.at("previous_level"), "supervisor");
}

TEST_F(WorkflowTest, WatchedDeadlinesAndOverdue) {
  const Ticket open = Complaint(State::kOpen);
  const auto watched = WatchedDeadlines(open);
  ASSERT_EQ(watched.size(), 2u);
  EXPECT_EQ(watched[0].kind, DeadlineKind::kContact);  // earliest first
  EXPECT_EQ(watched[1].kind, DeadlineKind::kDecision);
  EXPECT_FALSE(IsOverdue(open, T0() + hours{2}));
  EXPECT_TRUE(IsOverdue(open, T0() + hours{2} + seconds{1}));
  // Breached but still unmet: no longer watched, still overdue.
  const Ticket breached = RecordBreach(open, DeadlineKind::kContact, T0() + hours{3})->ticket;
  EXPECT_EQ(WatchedDeadlines(breached).size(), 1u);
  EXPECT_TRUE(IsOverdue(breached, T0() + hours{3}));
  const Ticket ack = Acknowledge(breached, At(T0() + hours{3}), "").ticket;
  EXPECT_FALSE(IsOverdue(ack, T0() + hours{3}));
}

// ---- notes and the audit trail (C-3) -------------------------------------------------

TEST_F(WorkflowTest, C3_NotesInAnyStateAndEveryChangeBumpsVersion) {
  for (const State state : kAllStates) {
    const Ticket t = Complaint(state);
    const Change change = AddNote(t, At(T0() + days{2}, "sup-1"), "checked by the supervisor");
    EXPECT_EQ(change.ticket.state, state);
    EXPECT_EQ(change.ticket.version, t.version + 1);
    EXPECT_EQ(change.ticket.updated_at, T0() + days{2});
    ASSERT_EQ(change.events.size(), 1u);
    EXPECT_EQ(change.events[0].details.at("text"), "checked by the supervisor");
    EXPECT_EQ(change.events[0].actor_id, "sup-1");
  }
  EXPECT_INVALID_FIELD(AddNote(Complaint(State::kOpen), At(T0()), ""), "text");
}

TEST_F(WorkflowTest, C3_AnOperationNeedsAnActor) {
  const auto error = testing::ErrorOf(
      [&] { AddNote(Complaint(State::kOpen), Actor{.staff_id = "", .now = T0()}, "x"); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), common::ErrorKind::kInternal);
}

TEST_F(WorkflowTest, OperationsNeverChangeTheirInput) {
  const Ticket t = Complaint(State::kInProgress);
  const Ticket copy = t;
  (void)Resolve(t, At(T0() + days{5}), settings_, Reply());  // late: breaches inside
  (void)Transfer(t, At(T0()), "desk-9", "why");
  EXPECT_EQ(t, copy);
}

}  // namespace
}  // namespace propdesk::tickets::domain
