#include "tickets/domain/workflow.h"

#include <algorithm>
#include <utility>

#include "common/errors.h"
#include "tickets/domain/deadlines.h"
#include "tickets/domain/escalation.h"
#include "tickets/domain/state_machine.h"
#include "tickets/domain/validation.h"

namespace propdesk::tickets::domain {
namespace {

using Details = std::map<std::string, std::string>;

std::string Str(std::string_view view) { return std::string(view); }

void PutIfNotEmpty(Details& details, const std::string& key, const std::string& value) {
  if (!value.empty()) details[key] = value;
}

// Builds one Change: a copy of the ticket that the operation edits, and the
// history entries it emits. Deadline bookkeeping (met, breached, escalation)
// lives here so that every operation does it the same way.
class Mutation {
 public:
  Mutation(const Ticket& before, const Actor& actor)
      : ticket_(before), actor_(actor), from_state_(before.state) {
    if (actor_.staff_id.empty()) throw common::Internal("tickets: an operation without an actor");
  }

  Ticket& ticket() { return ticket_; }
  Timestamp now() const { return actor_.now; }
  State from_state() const { return from_state_; }

  // A history entry from the state before the operation to the current one.
  void Emit(EventType type, std::string reason, Details details) {
    events_.push_back(TicketEvent{.type = type,
                                  .actor_id = actor_.staff_id,
                                  .at = actor_.now,
                                  .reason = std::move(reason),
                                  .from_state = from_state_,
                                  .to_state = ticket_.state,
                                  .details = std::move(details)});
  }

  // T-8: one breach of one deadline; escalates when the level rises.
  void Breach(DeadlineKind kind) {
    Deadline& deadline = ticket_.deadlines.at(kind);
    deadline.breached = true;
    ++ticket_.breach_count;
    const EscalationLevel previous = ticket_.escalation;
    ticket_.escalation = EscalateAfterBreach(ticket_.kind, previous, ticket_.breach_count);
    // Breaches are facts about the state before the operation.
    const State state = from_state_;
    events_.push_back(
        TicketEvent{.type = EventType::kDeadlineBreached,
                    .actor_id = actor_.staff_id,
                    .at = actor_.now,
                    .reason = "deadline passed unmet",
                    .from_state = state,
                    .to_state = state,
                    .details = {{"deadline", Str(Name(kind))},
                                {"due", FormatUtc(deadline.due)},
                                {"breach_count", std::to_string(ticket_.breach_count)}}});
    if (ticket_.escalation != previous) {
      events_.push_back(TicketEvent{.type = EventType::kEscalated,
                                    .actor_id = actor_.staff_id,
                                    .at = actor_.now,
                                    .reason = Str(Name(kind)) + " deadline breached",
                                    .from_state = state,
                                    .to_state = state,
                                    .details = {{"level", Str(Name(ticket_.escalation))},
                                                {"previous_level", Str(Name(previous))}}});
    }
  }

  // Whether the deadline exists, is unmet, unbreached and past due.
  bool IsPastDueUnbreached(DeadlineKind kind) const {
    const Deadline* deadline = ticket_.FindDeadline(kind);
    return deadline != nullptr && deadline->pending() && !deadline->breached &&
           actor_.now > deadline->due;
  }

  // Marks a pending deadline met now; late → its breach is recorded first.
  void Meet(DeadlineKind kind) {
    const auto it = ticket_.deadlines.find(kind);
    if (it == ticket_.deadlines.end() || !it->second.pending()) return;
    if (IsPastDueUnbreached(kind)) Breach(kind);
    ticket_.deadlines.at(kind).met_at = actor_.now;
  }

  // Replaces a deadline by a new one; an old one that passed unmet is
  // recorded as breached first (it was missed, whatever comes next).
  void Replace(DeadlineKind kind, Timestamp due) {
    if (IsPastDueUnbreached(kind)) Breach(kind);
    ticket_.deadlines[kind] = Deadline{.due = due};
  }

  Change Finish() && {
    ++ticket_.version;
    ticket_.updated_at = actor_.now;
    return Change{std::move(ticket_), std::move(events_)};
  }

 private:
  Ticket ticket_;
  const Actor& actor_;
  const State from_state_;
  std::vector<TicketEvent> events_;
};

// Where a reopened ticket goes: back to its assignee, or — never dispatched —
// to acknowledged (the resident has just been spoken to).
State ReopenedState(const Ticket& ticket) {
  return ticket.assignee_id.empty() ? State::kAcknowledged : State::kInProgress;
}

// T-9: an unsatisfied callback and ReopenTicket restart the handling.
void ReopenInto(Mutation& m, const SlaSettings& settings) {
  Ticket& t = m.ticket();
  t.state = ReopenedState(t);
  t.resolution.reset();
  ++t.reopen_count;
  if (const std::optional<Timestamp> decision_by =
          ComputeDecisionAfterReopen(settings, t.kind, t.priority, t.category, m.now())) {
    m.Replace(DeadlineKind::kDecision, *decision_by);
  }
}

Details ReopenDetails(const Ticket& t) {
  Details details{{"reopen_count", std::to_string(t.reopen_count)}};
  if (const Deadline* decision = t.FindDeadline(DeadlineKind::kDecision);
      decision != nullptr && decision->pending()) {
    details["decision_by"] = FormatUtc(decision->due);
  }
  return details;
}

void ValidateReferral(const Referral& referral) {
  RequireText("referral.organization", referral.organization, 200);
  OptionalText("referral.contact_name", referral.contact_name, kMaxNameLength);
  OptionalPhone("referral.contact_phone", referral.contact_phone);
  if (IsBlank(referral.contact_name) && referral.contact_phone.empty()) {
    throw common::InvalidArgument("referral.contact_name",
                                  "a referral needs a contact name or phone (rule T-6)");
  }
}

void ValidateFutureTime(const char* field, Timestamp at, Timestamp now) {
  if (at <= now) {
    throw common::InvalidArgument(field, "must be in the future (it is " + FormatUtc(at) +
                                             ", now is " + FormatUtc(now) + ")");
  }
  if (at > now + kMaxSchedulingHorizon) {
    throw common::InvalidArgument(field, "must be within a year from now");
  }
}

}  // namespace

// ---- receiving --------------------------------------------------------------

void ValidateNewTicket(const NewTicket& request) {
  RequireText("description", request.description, kMaxDescriptionLength);
  OptionalText("unit", request.unit, kMaxUnitLength);
  OptionalText("contact.name", request.contact.name, kMaxNameLength);
  OptionalPhone("contact.phone", request.contact.phone);
  const bool needs_reachable_resident =
      request.kind == Kind::kComplaint || request.kind == Kind::kRepair;
  if (needs_reachable_resident && IsBlank(request.unit) && request.contact.phone.empty()) {
    throw common::InvalidArgument(
        "contact.phone",
        "a complaint or repair needs a unit or a contact phone, so that the "
        "resident can be contacted and called back (rules T-4, T-9)");
  }
}

Change OpenTicket(const NewTicket& request, const TicketIdentity& identity, const Actor& actor,
                  const SlaSettings& settings) {
  ValidateNewTicket(request);
  if (identity.ticket_id.empty() || identity.site_id.empty() || identity.record_number.empty()) {
    throw common::Internal("tickets: OpenTicket without ticket id, site or record number");
  }
  Ticket t;
  t.ticket_id = identity.ticket_id;
  t.site_id = identity.site_id;
  t.record_number = identity.record_number;
  t.kind = request.kind;
  t.channel = request.channel;
  t.category = request.category;
  t.priority = request.priority;
  t.state = State::kOpen;
  t.unit = request.unit;
  t.contact = request.contact;
  t.description = request.description;
  t.first_contact_owner_id = actor.staff_id;  // rule C-6
  t.owner_id = actor.staff_id;
  t.created_at = actor.now;

  Mutation m(t, actor);
  const InitialDeadlines due =
      ComputeInitialDeadlines(settings, t.kind, t.priority, t.category, actor.now);
  Details details{{"kind", Str(Name(t.kind))},
                  {"channel", Str(Name(t.channel))},
                  {"category", Str(Name(t.category))},
                  {"priority", Str(Name(t.priority))},
                  {"record_number", t.record_number}};
  PutIfNotEmpty(details, "unit", t.unit);
  if (due.contact_by) {
    m.ticket().deadlines[DeadlineKind::kContact] = Deadline{.due = *due.contact_by};
    details["contact_by"] = FormatUtc(*due.contact_by);
  }
  if (due.decision_by) {
    m.ticket().deadlines[DeadlineKind::kDecision] = Deadline{.due = *due.decision_by};
    details["decision_by"] = FormatUtc(*due.decision_by);
  }
  if (due.on_site_by) {
    m.ticket().deadlines[DeadlineKind::kOnSite] = Deadline{.due = *due.on_site_by};
    details["on_site_by"] = FormatUtc(*due.on_site_by);
  }
  m.Emit(EventType::kCreated, "", std::move(details));
  return std::move(m).Finish();
}

DuplicateProbe ProbeFor(const NewTicket& request, Timestamp received_at) {
  return DuplicateProbe{.kind = request.kind,
                        .category = request.category,
                        .unit = request.unit,
                        .received_at = received_at};
}

Change LinkDuplicate(const Ticket& existing, const NewTicket& report, const Actor& actor) {
  ValidateNewTicket(report);
  if (existing.unit != report.unit || existing.kind != report.kind ||
      existing.category != report.category) {
    throw common::Internal("tickets: LinkDuplicate on a ticket of another unit, kind or category");
  }
  if (!AcceptsDuplicates(existing.state)) {
    throw common::FailedPrecondition("DUPLICATE_TARGET_NOT_OPEN",
                                     "ticket " + existing.record_number + " is " +
                                         Str(Name(existing.state)) +
                                         " and no longer absorbs new reports",
                                     {{"current_state", Str(Name(existing.state))}});
  }
  Mutation m(existing, actor);
  ++m.ticket().duplicate_count;
  Details details{{"channel", Str(Name(report.channel))},
                  {"description", report.description},
                  {"duplicate_count", std::to_string(m.ticket().duplicate_count)}};
  PutIfNotEmpty(details, "contact_name", report.contact.name);  // never the phone (C-2)
  m.Emit(EventType::kDuplicateLinked, "same unit, kind and category reported again (T-11)",
         std::move(details));
  return std::move(m).Finish();
}

void CheckExpectedVersion(const Ticket& ticket, int64_t expected_version) {
  if (expected_version == 0 || expected_version == ticket.version) return;
  throw common::Error(common::ErrorKind::kAborted, "VERSION_MISMATCH",
                      "the ticket has changed (version " + std::to_string(ticket.version) +
                          ", expected " + std::to_string(expected_version) +
                          "); reload it and try again",
                      {{"current_version", std::to_string(ticket.version)},
                       {"expected_version", std::to_string(expected_version)}});
}

// ---- transitions --------------------------------------------------------------

Change Acknowledge(const Ticket& ticket, const Actor& actor, const std::string& note) {
  OptionalText("note", note, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kAcknowledge);
  Mutation m(ticket, actor);
  m.Meet(DeadlineKind::kContact);  // T-4
  m.ticket().state = State::kAcknowledged;
  Details details;
  PutIfNotEmpty(details, "note", note);
  m.Emit(EventType::kAcknowledged, "", std::move(details));
  return std::move(m).Finish();
}

Change Assign(const Ticket& ticket, const Actor& actor, const Assignment& assignment) {
  RequireId("department", assignment.department, kMaxIdLength);
  RequireId("assignee_id", assignment.assignee_id, kMaxIdLength);
  OptionalText("note", assignment.note, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kAssign);
  Mutation m(ticket, actor);
  Details details{{"department", assignment.department}, {"assignee_id", assignment.assignee_id}};
  PutIfNotEmpty(details, "previous_department", ticket.department);
  PutIfNotEmpty(details, "previous_assignee_id", ticket.assignee_id);
  PutIfNotEmpty(details, "note", assignment.note);
  m.ticket().department = assignment.department;
  m.ticket().assignee_id = assignment.assignee_id;
  m.ticket().state = State::kInProgress;
  m.Emit(EventType::kAssigned, "", std::move(details));
  return std::move(m).Finish();
}

Change Transfer(const Ticket& ticket, const Actor& actor, const std::string& new_owner_id,
                const std::string& reason) {
  RequireId("new_owner_id", new_owner_id, kMaxIdLength);
  RequireText("reason", reason, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kTransfer);
  if (new_owner_id == ticket.owner_id) {
    throw common::InvalidArgument("new_owner_id", new_owner_id + " already owns the ticket");
  }
  Mutation m(ticket, actor);
  m.ticket().owner_id = new_owner_id;  // C-6: first_contact_owner_id stays
  m.Emit(EventType::kTransferred, reason,
         {{"previous_owner_id", ticket.owner_id},
          {"new_owner_id", new_owner_id},
          {"first_contact_owner_id", ticket.first_contact_owner_id}});
  return std::move(m).Finish();
}

Change RecordCommitment(const Ticket& ticket, const Actor& actor, Timestamp commitment_at,
                        const std::string& note) {
  OptionalText("note", note, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kRecordCommitment);
  std::optional<Timestamp> decision_by;
  if (const Deadline* decision = ticket.FindDeadline(DeadlineKind::kDecision);
      decision != nullptr && decision->pending()) {
    decision_by = decision->due;
  }
  ValidateCommitmentTime(commitment_at, actor.now, decision_by);  // T-5
  Mutation m(ticket, actor);
  Details details{{"commitment_at", FormatUtc(commitment_at)}};
  if (const Deadline* previous = ticket.FindDeadline(DeadlineKind::kCommitment);
      previous != nullptr && previous->pending()) {
    details["previous_commitment_at"] = FormatUtc(previous->due);
  }
  PutIfNotEmpty(details, "note", note);
  m.Replace(DeadlineKind::kCommitment, commitment_at);
  m.Emit(EventType::kCommitmentRecorded, "", std::move(details));
  return std::move(m).Finish();
}

Change ScheduleAppointment(const Ticket& ticket, const Actor& actor, Timestamp appointment_at,
                           const std::string& note) {
  ValidateFutureTime("appointment_at", appointment_at, actor.now);
  OptionalText("note", note, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kScheduleAppointment);
  if (const Deadline* current = ticket.FindDeadline(DeadlineKind::kAppointment);
      current != nullptr && current->pending() && actor.now <= current->due) {
    throw common::FailedPrecondition(
        "APPOINTMENT_ALREADY_SCHEDULED",
        "the ticket already has an appointment at " + FormatUtc(current->due) +
            "; use RescheduleAppointment to rebook it",
        {{"current_state", Str(Name(ticket.state))}, {"appointment_at", FormatUtc(current->due)}});
  }
  Mutation m(ticket, actor);
  m.Replace(DeadlineKind::kAppointment, appointment_at);  // a passed, unmet one is a breach
  m.ticket().appointment_reschedule_count = 0;
  Details details{{"appointment_at", FormatUtc(appointment_at)}};
  PutIfNotEmpty(details, "note", note);
  m.Emit(EventType::kAppointmentScheduled, "", std::move(details));
  return std::move(m).Finish();
}

Change RescheduleAppointment(const Ticket& ticket, const Actor& actor, const Rebooking& rebooking) {
  ValidateFutureTime("appointment_at", rebooking.appointment_at, actor.now);
  RequireText("reason", rebooking.reason, kMaxNoteLength);
  RequireText("resident_notice", rebooking.resident_notice, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kRescheduleAppointment);
  const Deadline* current = ticket.FindDeadline(DeadlineKind::kAppointment);
  const std::map<std::string, std::string> state_metadata{
      {"current_state", Str(Name(ticket.state))}};
  if (current == nullptr || !current->pending()) {
    throw common::FailedPrecondition("NO_APPOINTMENT",
                                     "the ticket has no upcoming appointment to rebook; use "
                                     "ScheduleAppointment",
                                     state_metadata);
  }
  // T-6: the rebooking is announced to the resident before the time.
  if (actor.now >= current->due) {
    throw common::FailedPrecondition(
        "APPOINTMENT_PASSED",
        "the appointment at " + FormatUtc(current->due) +
            " has passed; a rebooking must be announced before it (rule T-6). Use "
            "ScheduleAppointment for a new one",
        state_metadata);
  }
  // T-6: "the rebooked one must not be missed" — no second rebooking.
  if (ticket.appointment_reschedule_count >= 1) {
    throw common::FailedPrecondition(
        "APPOINTMENT_ALREADY_RESCHEDULED",
        "this appointment was already rebooked once and must now be kept (rule T-6)",
        state_metadata);
  }
  if (rebooking.appointment_at <= current->due) {
    throw common::InvalidArgument("appointment_at", "must be later than the current appointment " +
                                                        FormatUtc(current->due) + " (rule T-6)");
  }
  Mutation m(ticket, actor);
  m.ticket().deadlines[DeadlineKind::kAppointment] = Deadline{.due = rebooking.appointment_at};
  ++m.ticket().appointment_reschedule_count;
  m.Emit(EventType::kAppointmentRescheduled, rebooking.reason,
         {{"previous_appointment_at", FormatUtc(current->due)},
          {"appointment_at", FormatUtc(rebooking.appointment_at)},
          {"resident_notice", rebooking.resident_notice}});
  return std::move(m).Finish();
}

Change RecordArrival(const Ticket& ticket, const Actor& actor, const std::string& note) {
  OptionalText("note", note, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kRecordArrival);
  Mutation m(ticket, actor);
  m.Meet(DeadlineKind::kOnSite);       // T-6
  m.Meet(DeadlineKind::kAppointment);  // T-6
  Details details;
  PutIfNotEmpty(details, "note", note);
  m.Emit(EventType::kArrived, "", std::move(details));
  return std::move(m).Finish();
}

Change Resolve(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
               const ResolveInput& input) {
  RequireText("reply", input.reply, kMaxReplyLength);  // T-10
  OptionalText("cause", input.cause, kMaxNoteLength);
  OptionalText("result", input.result, kMaxNoteLength);
  if (!input.handler_id.empty()) RequireId("handler_id", input.handler_id, kMaxIdLength);
  if (input.referral) ValidateReferral(*input.referral);
  CheckAction(ticket.kind, ticket.state, Action::kResolve);
  if (ticket.kind == Kind::kComplaint) {  // T-12: a complaint's handling record
    RequireText("cause", input.cause, kMaxNoteLength);
    RequireText("result", input.result, kMaxNoteLength);
  } else if (input.valid_complaint) {
    throw common::InvalidArgument("valid_complaint", "applies to complaints only");
  }

  Mutation m(ticket, actor);
  Ticket& t = m.ticket();
  for (const DeadlineKind kind : {DeadlineKind::kDecision, DeadlineKind::kCommitment,
                                  DeadlineKind::kOnSite, DeadlineKind::kAppointment}) {
    m.Meet(kind);
  }
  t.resolution = Resolution{
      .reply = input.reply,
      .cause = input.cause,
      .result = input.result,
      .handler_id = !input.handler_id.empty() ? input.handler_id
                    : !t.assignee_id.empty()  ? t.assignee_id
                                              : actor.staff_id,
      .resolved_by = actor.staff_id,
      .resolved_at = actor.now,
      .valid_complaint = input.valid_complaint,
      .referral = input.referral,
  };
  Details details{{"reply", input.reply}, {"handler_id", t.resolution->handler_id}};
  PutIfNotEmpty(details, "cause", input.cause);
  PutIfNotEmpty(details, "result", input.result);
  if (t.kind == Kind::kComplaint) {
    details["valid_complaint"] = input.valid_complaint ? "true" : "false";
  }

  if (input.referral) {  // T-6: closed as referred
    t.state = State::kReferred;
    details["organization"] = input.referral->organization;
    PutIfNotEmpty(details, "contact_name", input.referral->contact_name);
    PutIfNotEmpty(details, "contact_phone", input.referral->contact_phone);
    m.Emit(EventType::kReferred, "", std::move(details));
    return std::move(m).Finish();
  }

  t.state = State::kResolved;
  if (const std::optional<Timestamp> callback_due =
          ComputeCallbackDue(settings, t.kind, t.priority, t.category, actor.now)) {  // T-9
    m.Replace(DeadlineKind::kCallback, *callback_due);
    details["callback_due_at"] = FormatUtc(*callback_due);
  }
  m.Emit(EventType::kResolved, "", std::move(details));
  return std::move(m).Finish();
}

Change RecordCallback(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
                      int satisfaction, const std::string& comments) {
  if (satisfaction < 1 || satisfaction > 5) {
    throw common::InvalidArgument("satisfaction",
                                  "must be 1 (very unsatisfied) to 5 (very "
                                  "satisfied), got " +
                                      std::to_string(satisfaction));
  }
  OptionalText("comments", comments, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kRecordCallback);

  Mutation m(ticket, actor);
  m.Meet(DeadlineKind::kCallback);
  m.ticket().callback = Callback{.satisfaction = satisfaction,
                                 .comments = comments,
                                 .recorded_by = actor.staff_id,
                                 .recorded_at = actor.now};
  const bool unsatisfied = satisfaction <= kMaxUnsatisfied;
  Details details{{"satisfaction", std::to_string(satisfaction)},
                  {"satisfied", unsatisfied ? "false" : "true"}};
  PutIfNotEmpty(details, "comments", comments);
  if (!unsatisfied) {
    m.ticket().state = State::kCallbackDone;
    m.Emit(EventType::kCallbackRecorded, "", std::move(details));
    return std::move(m).Finish();
  }
  ReopenInto(m, settings);  // T-9: an unsatisfied callback reopens the ticket
  m.Emit(EventType::kCallbackRecorded, "", std::move(details));
  m.Emit(EventType::kReopened,
         "unsatisfied callback (satisfaction " + std::to_string(satisfaction) + ")",
         ReopenDetails(m.ticket()));
  return std::move(m).Finish();
}

Change Close(const Ticket& ticket, const Actor& actor, const std::string& note) {
  OptionalText("note", note, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kClose);
  if (ticket.state == State::kResolved && ticket.NeedsCallback()) {
    throw common::FailedPrecondition(
        "CALLBACK_REQUIRED",
        "a resolved " + Str(Name(ticket.kind)) +
            " is closed after its callback (rule T-9); record the callback first",
        {{"current_state", Str(Name(ticket.state))},
         {"callback_due_at", FormatUtc(ticket.deadlines.at(DeadlineKind::kCallback).due)}});
  }
  Mutation m(ticket, actor);
  m.ticket().state = State::kClosed;
  Details details;
  PutIfNotEmpty(details, "note", note);
  m.Emit(EventType::kClosed, "", std::move(details));
  return std::move(m).Finish();
}

Change Reopen(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
              const std::string& reason) {
  RequireText("reason", reason, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kReopen);
  Mutation m(ticket, actor);
  ReopenInto(m, settings);
  m.Emit(EventType::kReopened, reason, ReopenDetails(m.ticket()));
  return std::move(m).Finish();
}

Change AddNote(const Ticket& ticket, const Actor& actor, const std::string& text) {
  RequireText("text", text, kMaxNoteLength);
  CheckAction(ticket.kind, ticket.state, Action::kAddNote);
  Mutation m(ticket, actor);
  m.Emit(EventType::kNoteAdded, "", {{"text", text}});
  return std::move(m).Finish();
}

Change RaiseIncidentReport(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
                           const std::string& summary, const std::vector<std::string>& photo_refs) {
  RequireText("summary", summary, kMaxDescriptionLength);
  if (photo_refs.empty() || photo_refs.size() > kMaxPhotos) {
    throw common::InvalidArgument("photo_refs",
                                  "an incident report needs 1 to 20 photos (rule T-8)");
  }
  for (size_t i = 0; i < photo_refs.size(); ++i) {
    RequireText("photo_refs[" + std::to_string(i) + "]", photo_refs[i], kMaxPhotoRefLength);
  }
  CheckAction(ticket.kind, ticket.state, Action::kRaiseIncidentReport);
  if (ticket.incident_report) {
    throw common::FailedPrecondition("INCIDENT_REPORT_ALREADY_RAISED",
                                     "the incident report was already raised; add a note instead",
                                     {{"current_state", Str(Name(ticket.state))}});
  }
  Mutation m(ticket, actor);
  const Timestamp due = ComputeIncidentReportDue(settings, actor.now);  // T-8
  m.ticket().incident_report = IncidentReport{.summary = summary,
                                              .photo_refs = photo_refs,
                                              .raised_by = actor.staff_id,
                                              .raised_at = actor.now};
  m.Replace(DeadlineKind::kIncidentReport, due);
  std::string refs;
  for (const std::string& ref : photo_refs) refs += (refs.empty() ? "" : "\n") + ref;
  m.Emit(EventType::kIncidentReportRaised, "",
         {{"summary", summary}, {"photo_refs", refs}, {"incident_report_due_at", FormatUtc(due)}});
  return std::move(m).Finish();
}

Change SubmitWrittenReport(const Ticket& ticket, const Actor& actor,
                           const std::string& written_report) {
  RequireText("written_report", written_report, kMaxWrittenReportLength);
  CheckAction(ticket.kind, ticket.state, Action::kSubmitWrittenReport);
  const std::map<std::string, std::string> state_metadata{
      {"current_state", Str(Name(ticket.state))}};
  if (!ticket.incident_report) {
    throw common::FailedPrecondition("INCIDENT_REPORT_NOT_RAISED",
                                     "raise the incident report (with photos) first",
                                     state_metadata);
  }
  if (ticket.incident_report->written_report_at) {
    throw common::FailedPrecondition("WRITTEN_REPORT_ALREADY_SUBMITTED",
                                     "the written report was already submitted; add a note "
                                     "instead",
                                     state_metadata);
  }
  Mutation m(ticket, actor);
  m.Meet(DeadlineKind::kIncidentReport);
  IncidentReport& report = *m.ticket().incident_report;
  report.written_report = written_report;
  report.written_report_by = actor.staff_id;
  report.written_report_at = actor.now;
  // The report itself stays on the ticket; events carry only its size.
  m.Emit(EventType::kWrittenReportSubmitted, "",
         {{"written_report_chars", std::to_string(CodePointCount(written_report))}});
  return std::move(m).Finish();
}

// ---- deadlines --------------------------------------------------------------

std::optional<Change> RecordBreach(const Ticket& ticket, DeadlineKind kind, Timestamp now) {
  const Actor system{.staff_id = Str(kSystemActor), .now = now};
  Mutation m(ticket, system);
  if (!m.IsPastDueUnbreached(kind)) return std::nullopt;
  m.Breach(kind);
  return std::move(m).Finish();
}

std::vector<DueDeadline> WatchedDeadlines(const Ticket& ticket) {
  std::vector<DueDeadline> watched;
  for (const auto& [kind, deadline] : ticket.deadlines) {
    if (deadline.pending() && !deadline.breached) watched.push_back({kind, deadline.due});
  }
  std::sort(watched.begin(), watched.end(), [](const DueDeadline& a, const DueDeadline& b) {
    return a.due != b.due ? a.due < b.due : a.kind < b.kind;
  });
  return watched;
}

bool IsOverdue(const Ticket& ticket, Timestamp now) {
  return std::any_of(ticket.deadlines.begin(), ticket.deadlines.end(), [now](const auto& entry) {
    return entry.second.pending() && now > entry.second.due;
  });
}

}  // namespace propdesk::tickets::domain
