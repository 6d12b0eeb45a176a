// The ticket lifecycle through the in-process gRPC server (TicketsHarness) on
// the run's real MariaDB and Redis: every transition RPC, its success path,
// the history and outbox it leaves, and the cases the domain refuses.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tickets/test/rpc_test_support.h"

namespace propdesk::tickets {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::system_clock;
using test_support::Describe;
using test_support::StatusCode;
using test_support::Stub;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSite[] = "SZ01";

class TicketsWorkflowTest : public test_support::TicketsRpcTest {
 protected:
  static void SetUpTestSuite() { StartHarness("tickets_flow", {{kSite, "g1", "SZ01", "Site A"}}); }
  static void TearDownTestSuite() { StopHarness(); }

  static v1::Ticket Complaint() { return Create(NewTicket(kSite, UniqueUnit("W"))); }
  static v1::Ticket Repair(v1::TicketPriority priority = v1::TICKET_PRIORITY_NORMAL) {
    v1::CreateTicketRequest r = NewTicket(kSite, UniqueUnit("R"), v1::TICKET_KIND_REPAIR,
                                          v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT);
    r.set_priority(priority);
    return Create(r);
  }
  static v1::Ticket Inquiry() {
    return Create(
        NewTicket(kSite, UniqueUnit("Q"), v1::TICKET_KIND_INQUIRY, v1::TICKET_CATEGORY_OTHER));
  }

  template <class Request, class Response>
  static grpc::Status Try(test_support::StubMethod<Request, Response> method,
                          const Request& request) {
    Response response;
    return Rpc(method, request, &response);
  }

  static v1::RescheduleAppointmentRequest Rebooking(const v1::Ticket& t,
                                                    system_clock::time_point at) {
    auto r = For<v1::RescheduleAppointmentRequest>(t);
    *r.mutable_appointment_at() = ProtoTime(at);
    r.set_reason("engineer called to an urgent leak");
    r.set_resident_notice("Phoned Ms Li at 09:10: the visit moves to the afternoon.");
    return r;
  }

  static v1::ScheduleAppointmentRequest Appointment(const v1::Ticket& t,
                                                    system_clock::time_point at) {
    auto r = For<v1::ScheduleAppointmentRequest>(t);
    *r.mutable_appointment_at() = ProtoTime(at);
    r.set_note("agreed by phone");
    return r;
  }

  static v1::RecordCommitmentRequest Commitment(const v1::Ticket& t, system_clock::time_point at) {
    auto r = For<v1::RecordCommitmentRequest>(t);
    *r.mutable_commitment_at() = ProtoTime(at);
    r.set_note("the contractor answers tomorrow");
    return r;
  }
};

// ---- C-6 first-contact responsibility --------------------------------------------

TEST_F(TicketsWorkflowTest, C6_TransferChangesTheOwnerKeepsTheFirstContactAndRecordsTheReason) {
  const v1::Ticket ticket = Acknowledge(Complaint());
  auto transfer = For<v1::TransferTicketRequest>(ticket);
  transfer.set_new_owner_id("staff-9");
  transfer.set_reason("going off shift; Zhou takes over");
  const v1::Ticket moved = Ok(&Stub::TransferTicket, transfer).ticket();
  EXPECT_EQ(moved.owner_id(), "staff-9");
  EXPECT_EQ(moved.first_contact_owner_id(), test_support::kStaff);
  EXPECT_EQ(moved.state(), v1::TICKET_STATE_ACKNOWLEDGED);

  // The new owner passes it on again: the first contact still stays.
  transfer.set_new_owner_id("staff-11");
  transfer.set_reason("needs a Cantonese speaker");
  const v1::Ticket again =
      Ok(&Stub::TransferTicket, transfer, Token({}, {"front_desk"}, "staff-9")).ticket();
  EXPECT_EQ(again.owner_id(), "staff-11");
  EXPECT_EQ(again.first_contact_owner_id(), test_support::kStaff);

  const std::vector<v1::TicketEvent> history = History(ticket);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[2].type(), v1::TICKET_EVENT_TYPE_TRANSFERRED);
  EXPECT_EQ(history[2].reason(), "going off shift; Zhou takes over");
  EXPECT_EQ(history[2].actor_id(), test_support::kStaff);
  EXPECT_EQ(history[2].details().at("previous_owner_id"), test_support::kStaff);
  EXPECT_EQ(history[2].details().at("new_owner_id"), "staff-9");
  EXPECT_EQ(history[3].reason(), "needs a Cantonese speaker");
  EXPECT_EQ(history[3].actor_id(), "staff-9");
  EXPECT_EQ(CountOutbox("ticket.transferred", ticket.ticket_id()), 2);

  // A reason is required; the owner must change; closed tickets stay put.
  transfer.set_reason("");
  grpc::Status status = Try(&Stub::TransferTicket, transfer);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "reason");
  transfer.set_reason("again");
  status = Try(&Stub::TransferTicket, transfer);  // staff-11 already owns it
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "new_owner_id");
  const v1::Ticket closed = Close(Resolve(Acknowledge(Inquiry())));
  auto late = For<v1::TransferTicketRequest>(closed);
  late.set_new_owner_id("staff-9");
  late.set_reason("tidy up");
  status = Try(&Stub::TransferTicket, late);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "closed");
  EXPECT_EQ(Get(ticket).version(), again.version());
}

// ---- T-5 commitments ---------------------------------------------------------------

TEST_F(TicketsWorkflowTest, T5_CommitmentIsRecordedReplacedAndMetByTheReply) {
  const v1::Ticket ticket = Acknowledge(Complaint());
  const system_clock::time_point now = system_clock::now();
  const v1::Ticket committed =
      Ok(&Stub::RecordCommitment, Commitment(ticket, now + hours(2))).ticket();
  EXPECT_EQ(committed.commitment_at().seconds(),
            std::chrono::duration_cast<std::chrono::seconds>((now + hours(2)).time_since_epoch())
                .count());
  const v1::Ticket replaced =
      Ok(&Stub::RecordCommitment, Commitment(ticket, now + hours(1))).ticket();
  EXPECT_LT(replaced.commitment_at().seconds(), committed.commitment_at().seconds());
  const std::vector<v1::TicketEvent> history = History(ticket);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[3].type(), v1::TICKET_EVENT_TYPE_COMMITMENT_RECORDED);
  EXPECT_TRUE(history[3].details().contains("previous_commitment_at"));

  // Not in the past, not after the T-4 decision deadline, not missing.
  const system_clock::time_point decision_by = FromProto(ticket.decision_by());
  for (const system_clock::time_point bad : {now - minutes(1), decision_by + hours(1)}) {
    const grpc::Status status = Try(&Stub::RecordCommitment, Commitment(ticket, bad));
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(Field(status), "commitment_at");
  }
  auto missing = Commitment(ticket, now);
  missing.clear_commitment_at();
  EXPECT_EQ(Field(Try(&Stub::RecordCommitment, missing)), "commitment_at");

  // The reply meets it on time; afterwards there is nothing left to commit to.
  const v1::Ticket resolved = Resolve(ticket);
  EXPECT_THAT(resolved.met_deadlines(), Contains(v1::DEADLINE_KIND_COMMITMENT));
  EXPECT_EQ(resolved.breach_count(), 0);
  const grpc::Status after = Try(&Stub::RecordCommitment, Commitment(ticket, now + hours(1)));
  EXPECT_EQ(after.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(after, "current_state"), "resolved");
}

TEST_F(TicketsWorkflowTest, T5_AMissedCommitmentIsABreach) {
  const v1::Ticket ticket = Acknowledge(Complaint());
  Ok(&Stub::RecordCommitment, Commitment(ticket, system_clock::now() + hours(1)));
  SetDeadlineDue(ticket, v1::DEADLINE_KIND_COMMITMENT, system_clock::now() - minutes(1));
  const v1::Ticket resolved = Resolve(ticket);
  EXPECT_THAT(resolved.breached_deadlines(), ElementsAre(v1::DEADLINE_KIND_COMMITMENT));
  EXPECT_EQ(resolved.breach_count(), 1);
  EXPECT_EQ(resolved.escalation_level(), v1::ESCALATION_LEVEL_SUPERVISOR);  // T-8
  EXPECT_EQ(CountOutbox("ticket.breached", ticket.ticket_id()), 1);
}

// ---- T-6 repairs ------------------------------------------------------------------------

TEST_F(TicketsWorkflowTest, T6_AppointmentIsRebookedOnceBeforeItsTimeToALaterTime) {
  const v1::Ticket open = Repair();
  const system_clock::time_point now = system_clock::now();
  // Agreed with a contacted resident only.
  grpc::Status status = Try(&Stub::ScheduleAppointment, Appointment(open, now + hours(2)));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "open");

  const v1::Ticket ticket = Acknowledge(open);
  const v1::Ticket booked =
      Ok(&Stub::ScheduleAppointment, Appointment(ticket, now + hours(2))).ticket();
  const int64_t first_at = booked.appointment_at().seconds();
  EXPECT_NEAR(static_cast<double>(first_at - system_clock::to_time_t(now)), 2 * 3600, 1);
  status = Try(&Stub::ScheduleAppointment, Appointment(ticket, now + hours(3)));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "APPOINTMENT_ALREADY_SCHEDULED");

  // Only to a later time, and only with what the resident was told.
  status = Try(&Stub::RescheduleAppointment, Rebooking(ticket, now + hours(1)));
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "appointment_at");
  auto untold = Rebooking(ticket, now + hours(4));
  untold.clear_resident_notice();
  status = Try(&Stub::RescheduleAppointment, untold);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "resident_notice");

  const v1::Ticket rebooked =
      Ok(&Stub::RescheduleAppointment, Rebooking(ticket, now + hours(4))).ticket();
  EXPECT_EQ(rebooked.appointment_at().seconds() - first_at, 2 * 3600);
  EXPECT_EQ(rebooked.appointment_reschedule_count(), 1);
  const std::vector<v1::TicketEvent> history = History(ticket);
  ASSERT_EQ(history.size(), 4u);
  const v1::TicketEvent& notice = history[3];
  EXPECT_EQ(notice.type(), v1::TICKET_EVENT_TYPE_APPOINTMENT_RESCHEDULED);
  EXPECT_EQ(notice.reason(), "engineer called to an urgent leak");
  EXPECT_EQ(notice.details().at("resident_notice"),
            "Phoned Ms Li at 09:10: the visit moves to the afternoon.");
  EXPECT_TRUE(notice.details().contains("previous_appointment_at"));
  EXPECT_EQ(CountOutbox("ticket.appointment_rescheduled", ticket.ticket_id()), 1);

  // "The rebooked one must not be missed": no second rebooking.
  status = Try(&Stub::RescheduleAppointment, Rebooking(ticket, now + hours(6)));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "APPOINTMENT_ALREADY_RESCHEDULED");
  EXPECT_EQ(Get(ticket).version(), rebooked.version());

  // Appointments are for repairs.
  const v1::Ticket complaint = Acknowledge(Complaint());
  status = Try(&Stub::ScheduleAppointment, Appointment(complaint, now + hours(2)));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "ACTION_NOT_FOR_KIND");
}

TEST_F(TicketsWorkflowTest, T6_APassedAppointmentCannotBeRebookedOnlyReplacedAsABreach) {
  const v1::Ticket ticket = Acknowledge(Repair());
  Ok(&Stub::ScheduleAppointment, Appointment(ticket, system_clock::now() + hours(2)));
  SetDeadlineDue(ticket, v1::DEADLINE_KIND_APPOINTMENT, system_clock::now() - minutes(5));

  // A rebooking is announced before the time (T-6).
  const grpc::Status status =
      Try(&Stub::RescheduleAppointment, Rebooking(ticket, system_clock::now() + hours(4)));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "APPOINTMENT_PASSED");
  EXPECT_EQ(Metadata(status, "current_state"), "acknowledged");

  // A new appointment replaces it, and the missed one is on record.
  const v1::Ticket replaced =
      Ok(&Stub::ScheduleAppointment, Appointment(ticket, system_clock::now() + hours(4))).ticket();
  EXPECT_EQ(replaced.breach_count(), 1);
  EXPECT_THAT(replaced.breached_deadlines(), Not(Contains(v1::DEADLINE_KIND_APPOINTMENT)));
  EXPECT_THAT(HistoryTypes(ticket),
              ElementsAre(v1::TICKET_EVENT_TYPE_CREATED, v1::TICKET_EVENT_TYPE_ACKNOWLEDGED,
                          v1::TICKET_EVENT_TYPE_APPOINTMENT_SCHEDULED,
                          v1::TICKET_EVENT_TYPE_DEADLINE_BREACHED, v1::TICKET_EVENT_TYPE_ESCALATED,
                          v1::TICKET_EVENT_TYPE_APPOINTMENT_SCHEDULED));
}

TEST_F(TicketsWorkflowTest, T6_ArrivalMeetsTheOnSiteAndAppointmentDeadlines) {
  // Urgent repairs: on site within 2 hours of receipt.
  const v1::Ticket urgent = Repair(v1::TICKET_PRIORITY_URGENT);
  ASSERT_TRUE(urgent.has_on_site_by());
  EXPECT_NEAR(static_cast<double>(urgent.on_site_by().seconds() - urgent.create_time().seconds()),
              2 * 3600, 1);
  grpc::Status status = Try(&Stub::RecordArrival, For<v1::RecordArrivalRequest>(urgent));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "open");

  const v1::Ticket ticket = Assign(Acknowledge(urgent), "eng-4");
  Ok(&Stub::ScheduleAppointment, Appointment(ticket, system_clock::now() + hours(1)));
  auto arrival = For<v1::RecordArrivalRequest>(ticket);
  arrival.set_note("on site, main valve closed");
  const v1::Ticket arrived = Ok(&Stub::RecordArrival, arrival).ticket();
  EXPECT_THAT(arrived.met_deadlines(), Contains(v1::DEADLINE_KIND_ON_SITE));
  EXPECT_THAT(arrived.met_deadlines(), Contains(v1::DEADLINE_KIND_APPOINTMENT));
  EXPECT_EQ(arrived.breach_count(), 0);
  EXPECT_EQ(arrived.state(), v1::TICKET_STATE_IN_PROGRESS);
  const std::vector<v1::TicketEvent> history = History(ticket);
  EXPECT_EQ(history.back().type(), v1::TICKET_EVENT_TYPE_ARRIVED);
  EXPECT_EQ(history.back().details().at("note"), "on site, main valve closed");
  EXPECT_EQ(CountOutbox("ticket.arrived", ticket.ticket_id()), 1);

  const v1::Ticket complaint = Acknowledge(Complaint());
  status = Try(&Stub::RecordArrival, For<v1::RecordArrivalRequest>(complaint));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "ACTION_NOT_FOR_KIND");
  EXPECT_EQ(Metadata(status, "kind"), "complaint");
}

// ---- T-9 callbacks, closing and reopening --------------------------------------------

TEST_F(TicketsWorkflowTest, T9_UnsatisfiedCallbackReopensTheTicket) {
  const v1::Ticket resolved = Resolve(Assign(Acknowledge(Complaint()), "eng-5"));
  ASSERT_TRUE(resolved.has_callback_due_at());  // T-9: 3 days for complaints
  EXPECT_NEAR(static_cast<double>(resolved.callback_due_at().seconds() -
                                  resolved.resolution().resolve_time().seconds()),
              3 * 24 * 3600, 1);
  for (int bad : {0, 6}) {
    auto callback = For<v1::RecordCallbackRequest>(resolved);
    callback.set_satisfaction(bad);
    const grpc::Status status = Try(&Stub::RecordCallback, callback);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(Field(status), "satisfaction");
  }

  const v1::Ticket reopened = Callback(resolved, 2);
  EXPECT_EQ(reopened.state(), v1::TICKET_STATE_IN_PROGRESS);  // back to its assignee
  EXPECT_EQ(reopened.reopen_count(), 1);
  EXPECT_FALSE(reopened.has_resolution());
  EXPECT_EQ(reopened.callback().satisfaction(), 2);
  EXPECT_THAT(reopened.met_deadlines(), Contains(v1::DEADLINE_KIND_CALLBACK));
  EXPECT_THAT(reopened.met_deadlines(), Not(Contains(v1::DEADLINE_KIND_DECISION)));
  const std::vector<v1::TicketEvent> history = History(resolved);
  ASSERT_GE(history.size(), 2u);
  const v1::TicketEvent& recorded = history[history.size() - 2];
  EXPECT_EQ(recorded.type(), v1::TICKET_EVENT_TYPE_CALLBACK_RECORDED);
  EXPECT_EQ(recorded.details().at("satisfied"), "false");
  EXPECT_EQ(history.back().type(), v1::TICKET_EVENT_TYPE_REOPENED);
  EXPECT_THAT(history.back().reason(), HasSubstr("unsatisfied"));
  EXPECT_EQ(history.back().to_state(), v1::TICKET_STATE_IN_PROGRESS);
  EXPECT_EQ(CountOutbox("ticket.reopened", resolved.ticket_id()), 1);

  // Handled again, the next callback can close the loop.
  EXPECT_EQ(Callback(Resolve(reopened), 5).state(), v1::TICKET_STATE_CALLBACK_DONE);

  // Never dispatched: back to acknowledged.
  EXPECT_EQ(Callback(Resolve(Acknowledge(Complaint())), 1).state(), v1::TICKET_STATE_ACKNOWLEDGED);
}

TEST_F(TicketsWorkflowTest, T9_CloseNeedsTheCallbackAndReopenRestartsTheHandling) {
  const v1::Ticket resolved = Resolve(Assign(Acknowledge(Complaint()), "eng-6"));
  grpc::Status status = Try(&Stub::CloseTicket, For<v1::CloseTicketRequest>(resolved));
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "CALLBACK_REQUIRED");
  EXPECT_EQ(Metadata(status, "current_state"), "resolved");

  auto close = For<v1::CloseTicketRequest>(resolved);
  close.set_note("resident satisfied");
  Callback(resolved, 4);
  const v1::Ticket closed = Ok(&Stub::CloseTicket, close).ticket();
  EXPECT_EQ(closed.state(), v1::TICKET_STATE_CLOSED);
  EXPECT_EQ(CountOutbox("ticket.closed", resolved.ticket_id()), 1);

  auto reopen = For<v1::ReopenTicketRequest>(closed);
  status = Try(&Stub::ReopenTicket, reopen);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "reason");
  reopen.set_reason("the light failed again the next evening");
  const v1::Ticket reopened = Ok(&Stub::ReopenTicket, reopen).ticket();
  EXPECT_EQ(reopened.state(), v1::TICKET_STATE_IN_PROGRESS);
  EXPECT_EQ(reopened.reopen_count(), 1);
  EXPECT_FALSE(reopened.has_resolution());
  EXPECT_TRUE(reopened.has_decision_by());  // T-4's decision clock runs again
  EXPECT_THAT(reopened.met_deadlines(), Not(Contains(v1::DEADLINE_KIND_DECISION)));
  const std::vector<v1::TicketEvent> history = History(closed);
  EXPECT_EQ(history.back().type(), v1::TICKET_EVENT_TYPE_REOPENED);
  EXPECT_EQ(history.back().reason(), "the light failed again the next evening");
  EXPECT_EQ(history.back().from_state(), v1::TICKET_STATE_CLOSED);
  status = Try(&Stub::ReopenTicket, reopen);  // only closed or called-back tickets reopen
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "in_progress");

  // What needs no callback closes straight from resolved.
  const v1::Ticket inquiry = Resolve(Acknowledge(Inquiry()));
  EXPECT_FALSE(inquiry.has_callback_due_at());
  EXPECT_EQ(Close(inquiry).state(), v1::TICKET_STATE_CLOSED);
}

// ---- C-3 notes, C-8 replays ---------------------------------------------------------

TEST_F(TicketsWorkflowTest, C3_NotesAreAppendedInAnyStateWithTheirAuthor) {
  const v1::Ticket closed = Close(Resolve(Acknowledge(Inquiry())));
  auto note = For<v1::AddTicketNoteRequest>(closed);
  note.set_text("resident phoned to say thanks");
  const v1::Ticket noted =
      Ok(&Stub::AddTicketNote, note, Token({}, {"supervisor"}, "sup-2")).ticket();
  EXPECT_EQ(noted.state(), v1::TICKET_STATE_CLOSED);
  EXPECT_EQ(noted.version(), closed.version() + 1);
  const std::vector<v1::TicketEvent> history = History(closed);
  EXPECT_EQ(history.back().type(), v1::TICKET_EVENT_TYPE_NOTE_ADDED);
  EXPECT_EQ(history.back().actor_id(), "sup-2");
  EXPECT_EQ(history.back().details().at("text"), "resident phoned to say thanks");

  for (const std::string& bad : {std::string(), std::string(2001, 'x')}) {
    note.set_text(bad);
    const grpc::Status status = Try(&Stub::AddTicketNote, note);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Field(status), "text");
  }
  EXPECT_EQ(Get(closed).version(), noted.version());
}

TEST_F(TicketsWorkflowTest, C8_ARepeatedTransitionRequestIdTakesEffectOnce) {
  const v1::Ticket ticket = Complaint();
  auto note = For<v1::AddTicketNoteRequest>(ticket);
  note.set_text("first call");
  note.set_request_id("note-" + propdesk::testing::UniqueSuffix());
  const v1::Ticket first = Ok(&Stub::AddTicketNote, note).ticket();
  const v1::Ticket replay = Ok(&Stub::AddTicketNote, note).ticket();
  EXPECT_EQ(replay.version(), first.version());
  // The same id for a different change is refused.
  note.set_text("something else");
  const grpc::Status reused = Try(&Stub::AddTicketNote, note);
  EXPECT_EQ(reused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");
  EXPECT_THAT(HistoryTypes(ticket),
              ElementsAre(v1::TICKET_EVENT_TYPE_CREATED, v1::TICKET_EVENT_TYPE_NOTE_ADDED));
  EXPECT_EQ(CountOutbox("ticket.note_added", ticket.ticket_id()), 1);
}

// ---- T-8 incidents ------------------------------------------------------------------------

TEST_F(TicketsWorkflowTest, T8_IncidentReportWithPhotosThenTheWrittenReportByTheEndOfNextDay) {
  v1::CreateTicketRequest request =
      NewTicket(kSite, "", v1::TICKET_KIND_INCIDENT, v1::TICKET_CATEGORY_EMERGENCY);
  request.set_description("Water pipe burst in car park B2");
  const v1::Ticket incident = Acknowledge(Create(request));

  auto written = For<v1::SubmitWrittenReportRequest>(incident);
  written.set_written_report("At 02:10 the duty manager was called to B2 ...");
  grpc::Status status = Try(&Stub::SubmitWrittenReport, written);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "INCIDENT_REPORT_NOT_RAISED");

  auto raise = For<v1::RaiseIncidentReportRequest>(incident);
  raise.set_summary("Main valve closed, water pumped out, cars moved");
  status = Try(&Stub::RaiseIncidentReport, raise);  // the special report needs photos
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "photo_refs");
  raise.add_photo_refs("photos/b2-1.jpg");
  raise.add_photo_refs("photos/b2-2.jpg");
  const v1::Ticket raised = Ok(&Stub::RaiseIncidentReport, raise).ticket();
  EXPECT_THAT(raised.incident_report().photo_refs(),
              ElementsAre("photos/b2-1.jpg", "photos/b2-2.jpg"));
  EXPECT_EQ(raised.incident_report().raised_by(), test_support::kStaff);
  // Due at 24:00 site time (Asia/Shanghai, UTC+8 all year) of the next day.
  const system_clock::time_point raised_at = FromProto(raised.incident_report().raise_time());
  const std::chrono::sys_days local_day =
      std::chrono::floor<std::chrono::days>(raised_at + hours(8));
  const system_clock::time_point expected_due = local_day + std::chrono::days(2) - hours(8);
  EXPECT_EQ(FromProto(raised.incident_report_due_at()), expected_due);
  status = Try(&Stub::RaiseIncidentReport, raise);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "INCIDENT_REPORT_ALREADY_RAISED");

  // Owed even after closing (T-8).
  const v1::Ticket closed = Close(Resolve(raised));
  const v1::Ticket submitted = Ok(&Stub::SubmitWrittenReport, written).ticket();
  EXPECT_EQ(submitted.state(), v1::TICKET_STATE_CLOSED);
  EXPECT_EQ(submitted.incident_report().written_report(), written.written_report());
  EXPECT_EQ(submitted.incident_report().written_report_by(), test_support::kStaff);
  EXPECT_THAT(submitted.met_deadlines(), Contains(v1::DEADLINE_KIND_INCIDENT_REPORT));
  EXPECT_EQ(submitted.breach_count(), 0);
  EXPECT_EQ(submitted.version(), closed.version() + 1);
  status = Try(&Stub::SubmitWrittenReport, written);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "WRITTEN_REPORT_ALREADY_SUBMITTED");
  EXPECT_EQ(CountOutbox("ticket.incident_report_raised", incident.ticket_id()), 1);
  EXPECT_EQ(CountOutbox("ticket.written_report_submitted", incident.ticket_id()), 1);

  // Incident reports are for incidents.
  auto on_complaint = For<v1::RaiseIncidentReportRequest>(Complaint());
  on_complaint.set_summary("s");
  on_complaint.add_photo_refs("p");
  status = Try(&Stub::RaiseIncidentReport, on_complaint);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(status), "ACTION_NOT_FOR_KIND");
}

}  // namespace
}  // namespace propdesk::tickets
