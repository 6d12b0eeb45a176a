#pragma once

// The operations on a ticket (rules T-3 … T-12, C-3, C-6). Each takes the
// ticket as loaded, the acting staff member and the time, and returns a
// Change: the ticket after the operation (version + 1) and the history
// entries to append. Nothing is changed in place; the store writes the Change
// with optimistic locking on the old version.
//
// Every operation checks, in order:
//   1. its input on its own → Error(kInvalidArgument) naming the request field;
//   2. the kind and state (state_machine.h) → Error(kFailedPrecondition,
//      "ACTION_NOT_FOR_KIND" | "ILLEGAL_TRANSITION");
//   3. rules that depend on the ticket → kInvalidArgument for input that
//      conflicts with it (e.g. a commitment after the decision deadline),
//      kFailedPrecondition with a specific reason otherwise (e.g.
//      "CALLBACK_REQUIRED").
//
// Deadlines. Meeting a deadline late (after its due time) records its breach
// at that moment if the scanner has not yet: a breach never depends on the
// scanner's timing. Replacing a deadline that has already passed unmet (a new
// commitment, a new appointment) records its breach first.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tickets/domain/duplicates.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain {

// Text limits, in Unicode code points.
inline constexpr size_t kMaxIdLength = 64;  // staff ids, department names
inline constexpr size_t kMaxUnitLength = 32;
inline constexpr size_t kMaxNameLength = 64;
inline constexpr size_t kMaxNoteLength = 2000;
inline constexpr size_t kMaxDescriptionLength = 4000;
inline constexpr size_t kMaxReplyLength = 4000;
inline constexpr size_t kMaxWrittenReportLength = 20000;
inline constexpr size_t kMaxPhotoRefLength = 512;
inline constexpr size_t kMaxPhotos = 20;

// ---- receiving --------------------------------------------------------------

struct NewTicket {
  Kind kind = Kind::kComplaint;
  Channel channel = Channel::kPhone;
  Category category = Category::kOther;
  Priority priority = Priority::kNormal;
  std::string unit{};         // empty for common areas
  ResidentContact contact{};  // phone: rule C-2
  std::string description{};
};

// Description 1–4000 code points; unit ≤ 32; contact name ≤ 64; phone: digits
// with optional + - ( ) and spaces, 5–20 digits. Complaints and repairs need
// a unit or a phone: the resident must be contacted (T-4) and called back
// (T-9).
void ValidateNewTicket(const NewTicket& request);

struct TicketIdentity {
  std::string ticket_id{};
  std::string site_id{};
  std::string record_number{};  // rule C-5, allocated by the store
};

// A new ticket in state open: the actor is its first-contact owner and owner
// (C-6); deadlines from the site's settings (T-4, T-6).
Change OpenTicket(const NewTicket& request, const TicketIdentity& identity, const Actor& actor,
                  const SlaSettings& settings);

// The T-11 probe for a new request received at `received_at`.
DuplicateProbe ProbeFor(const NewTicket& request, Timestamp received_at);

// T-11: records the report on `existing` (duplicate_count + 1, a
// duplicate_linked entry with the reporter's name, channel and description —
// never the phone, C-2). FailedPrecondition("DUPLICATE_TARGET_NOT_OPEN") if
// `existing` no longer accepts duplicates (resolved meanwhile: open a new
// ticket instead).
Change LinkDuplicate(const Ticket& existing, const NewTicket& report, const Actor& actor);

// ---- optimistic locking -----------------------------------------------------

// expected_version 0 = don't check; otherwise Error(kAborted,
// "VERSION_MISMATCH") with metadata {"current_version", "expected_version"}.
void CheckExpectedVersion(const Ticket& ticket, int64_t expected_version);

// ---- transitions (T-3) --------------------------------------------------------

// open → acknowledged; meets the contact deadline (T-4). `note` optional.
Change Acknowledge(const Ticket& ticket, const Actor& actor, const std::string& note);

struct Assignment {
  std::string department{};   // required
  std::string assignee_id{};  // required
  std::string note{};         // optional
};
// acknowledged | in_progress → in_progress.
Change Assign(const Ticket& ticket, const Actor& actor, const Assignment& assignment);

// Any non-terminal state; the owner changes, the first-contact owner stays
// (C-6). A reason is required; the new owner must differ from the current.
Change Transfer(const Ticket& ticket, const Actor& actor, const std::string& new_owner_id,
                const std::string& reason);

// T-5, before resolution. See ValidateCommitmentTime (deadlines.h) for the
// allowed times. Replaces a previous commitment.
Change RecordCommitment(const Ticket& ticket, const Actor& actor, Timestamp commitment_at,
                        const std::string& note);

// T-6, repairs, acknowledged | in_progress. In the future, within a year.
// FailedPrecondition("APPOINTMENT_ALREADY_SCHEDULED") while an unmet
// appointment is still ahead (rebook it instead); a passed or met one is
// replaced.
Change ScheduleAppointment(const Ticket& ticket, const Actor& actor, Timestamp appointment_at,
                           const std::string& note);

struct Rebooking {
  Timestamp appointment_at{};     // later than the current appointment
  std::string reason{};           // required
  std::string resident_notice{};  // required: what the resident was told (T-6)
};
// T-6, repairs: only before the current appointment's time
// (FailedPrecondition "NO_APPOINTMENT" / "APPOINTMENT_PASSED"), only to a
// later time (InvalidArgument), and once per appointment — "the rebooked one
// must not be missed" (FailedPrecondition "APPOINTMENT_ALREADY_RESCHEDULED").
Change RescheduleAppointment(const Ticket& ticket, const Actor& actor, const Rebooking& rebooking);

// Repairs, acknowledged | in_progress: staff are on site; meets the on-site
// and appointment deadlines (T-6).
Change RecordArrival(const Ticket& ticket, const Actor& actor, const std::string& note);

struct ResolveInput {
  std::string reply{};                 // T-10: required
  std::string cause{};                 // T-12: required for complaints
  std::string result{};                // T-12: required for complaints
  std::string handler_id{};            // default: the assignee, else the actor
  bool valid_complaint = false;        // complaints only
  std::optional<Referral> referral{};  // T-6: organisation + contact name or phone
};
// acknowledged | in_progress → resolved, or → referred with a referral (a
// referral also needs the reply: the resident is told whom to contact, T-10).
// Meets the decision, commitment, on-site and appointment deadlines; on
// resolved sets the callback deadline when the policy gives the kind one
// (T-9).
Change Resolve(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
               const ResolveInput& input);

// Satisfaction 1–5 at or below which a callback reopens the ticket (T-9).
inline constexpr int kMaxUnsatisfied = 2;

// resolved only; satisfaction 1–5, comments ≤ 2000. Meets the callback
// deadline. 3–5 → callback_done. 1–2 (T-9) → reopened: in_progress, or
// acknowledged if never assigned; the resolution is cleared (it stays in the
// history) and the decision deadline restarts (ComputeDecisionAfterReopen).
Change RecordCallback(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
                      int satisfaction, const std::string& comments);

// callback_done → closed; resolved → closed only when the ticket needs no
// callback (no callback deadline: inquiries, suggestions, patrol findings and
// incidents by default), else FailedPrecondition("CALLBACK_REQUIRED").
Change Close(const Ticket& ticket, const Actor& actor, const std::string& note);

// callback_done | closed → in_progress (acknowledged if never assigned), with
// a required reason; the resolution is cleared and the decision deadline
// restarts, as for an unsatisfied callback.
Change Reopen(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
              const std::string& reason);

// Any state; 1–2000 code points.
Change AddNote(const Ticket& ticket, const Actor& actor, const std::string& text);

// T-8, incidents, any non-terminal state, once
// (FailedPrecondition "INCIDENT_REPORT_ALREADY_RAISED"): summary 1–4000,
// 1–20 photo references; sets the written-report deadline
// (ComputeIncidentReportDue).
Change RaiseIncidentReport(const Ticket& ticket, const Actor& actor, const SlaSettings& settings,
                           const std::string& summary, const std::vector<std::string>& photo_refs);

// T-8, incidents, any state (the report is owed even after closing), after
// RaiseIncidentReport ("INCIDENT_REPORT_NOT_RAISED"), once
// ("WRITTEN_REPORT_ALREADY_SUBMITTED"); 1–20000 code points. Meets the
// incident-report deadline.
Change SubmitWrittenReport(const Ticket& ticket, const Actor& actor,
                           const std::string& written_report);

// ---- deadlines: what the scanner needs ---------------------------------------

// T-8: records the breach of that deadline as the system actor, if it is
// pending, not yet breached and `now` is past its due time; nullopt otherwise
// (so a second scanner, or a second tick, records nothing). Escalates:
// first breach → supervisor, second or any incident's → site manager.
std::optional<Change> RecordBreach(const Ticket& ticket, DeadlineKind kind, Timestamp now);

struct DueDeadline {
  DeadlineKind kind = DeadlineKind::kContact;
  Timestamp due{};
  friend bool operator==(const DueDeadline&, const DueDeadline&) = default;
};
// The unmet, not yet breached deadlines: the ones the scanner must watch,
// earliest first.
std::vector<DueDeadline> WatchedDeadlines(const Ticket& ticket);

// Whether any unmet deadline's due time has passed (ListTickets overdue_only).
bool IsOverdue(const Ticket& ticket, Timestamp now);

}  // namespace propdesk::tickets::domain
