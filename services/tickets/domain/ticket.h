#pragma once

// The tickets domain model (rules T-1 … T-12): the vocabulary and the ticket
// aggregate as plain values. No I/O here: the store persists these structs,
// the service maps them to and from propdesk.tickets.v1 messages.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/calendar.h"

namespace propdesk::tickets::domain {

using common::Timestamp;

// Rule T-1.
enum class Kind { kComplaint, kRepair, kInquiry, kSuggestion, kPatrolFinding, kIncident };
// Rule T-1.
enum class Channel { kPhone, kWalkIn, kLetter, kApp, kPatrol, kHotline };
// Rule T-2.
enum class Category {
  kFacilitiesEquipment,
  kServiceAttitude,
  kServiceQuality,
  kEmergency,
  kOther,
};
enum class Priority { kNormal, kUrgent };
// Rule T-3. kClosed and kReferred are terminal (a closed ticket may still be
// reopened, a referred one never).
enum class State {
  kOpen,
  kAcknowledged,
  kInProgress,
  kResolved,
  kCallbackDone,
  kClosed,
  kReferred,
};
// Rule T-8. Ordered: a ticket's level only ever goes up.
enum class EscalationLevel { kNone, kSupervisor, kSiteManager };
enum class DeadlineKind {
  kContact,         // T-4, met by Acknowledge
  kDecision,        // T-4, met by Resolve
  kOnSite,          // T-6, met by RecordArrival
  kAppointment,     // T-6, met by RecordArrival
  kCommitment,      // T-5, met by Resolve
  kCallback,        // T-9, met by RecordCallback
  kIncidentReport,  // T-8, met by SubmitWrittenReport
};
enum class EventType {
  kCreated,
  kDuplicateLinked,
  kAcknowledged,
  kAssigned,
  kTransferred,
  kCommitmentRecorded,
  kAppointmentScheduled,
  kAppointmentRescheduled,
  kArrived,
  kResolved,
  kReferred,
  kCallbackRecorded,
  kReopened,
  kClosed,
  kNoteAdded,
  kIncidentReportRaised,
  kWrittenReportSubmitted,
  kDeadlineBreached,
  kEscalated,
};

inline constexpr std::array kAllKinds = {Kind::kComplaint,  Kind::kRepair,        Kind::kInquiry,
                                         Kind::kSuggestion, Kind::kPatrolFinding, Kind::kIncident};
inline constexpr std::array kAllChannels = {Channel::kPhone, Channel::kWalkIn, Channel::kLetter,
                                            Channel::kApp,   Channel::kPatrol, Channel::kHotline};
inline constexpr std::array kAllCategories = {Category::kFacilitiesEquipment,
                                              Category::kServiceAttitude, Category::kServiceQuality,
                                              Category::kEmergency, Category::kOther};
inline constexpr std::array kAllPriorities = {Priority::kNormal, Priority::kUrgent};
inline constexpr std::array kAllStates = {
    State::kOpen,         State::kAcknowledged, State::kInProgress, State::kResolved,
    State::kCallbackDone, State::kClosed,       State::kReferred};
inline constexpr std::array kAllDeadlineKinds = {
    DeadlineKind::kContact,       DeadlineKind::kDecision,   DeadlineKind::kOnSite,
    DeadlineKind::kAppointment,   DeadlineKind::kCommitment, DeadlineKind::kCallback,
    DeadlineKind::kIncidentReport};

// Stable lower_snake_case names ("patrol_finding", "in_progress",
// "site_manager", "incident_report", "deadline_breached"): used in event
// details, ErrorInfo metadata, logs and metric labels.
std::string_view Name(Kind kind);
std::string_view Name(Channel channel);
std::string_view Name(Category category);
std::string_view Name(Priority priority);
std::string_view Name(State state);
std::string_view Name(EscalationLevel level);
std::string_view Name(DeadlineKind kind);
std::string_view Name(EventType type);

// "2024-02-14T02:00:00Z" (UTC, whole seconds): how instants appear in event
// details.
std::string FormatUtc(Timestamp t);

// CLOSED and REFERRED.
bool IsTerminal(State state);

// One deadline of a ticket. Due is inclusive: meeting it at exactly `due` is on
// time; still unmet at any instant after `due` is a breach.
struct Deadline {
  Timestamp due{};
  bool breached = false;              // recorded once (T-8)
  std::optional<Timestamp> met_at{};  // set when met; no longer watched
  bool pending() const { return !met_at.has_value(); }

  friend bool operator==(const Deadline&, const Deadline&) = default;
};

struct ResidentContact {
  std::string name{};
  std::string phone{};  // sensitive (rule C-2): never put into events or logs

  friend bool operator==(const ResidentContact&, const ResidentContact&) = default;
};

// An external party a ticket is referred to (rule T-6).
struct Referral {
  std::string organization{};
  std::string contact_name{};
  std::string contact_phone{};

  friend bool operator==(const Referral&, const Referral&) = default;
};

// The handling record (rules T-10, T-12).
struct Resolution {
  std::string reply{};
  std::string cause{};
  std::string result{};
  std::string handler_id{};
  std::string resolved_by{};
  Timestamp resolved_at{};
  bool valid_complaint = false;  // complaints only (T-9 valid-complaint rate)
  std::optional<Referral> referral{};

  friend bool operator==(const Resolution&, const Resolution&) = default;
};

// Rule T-9.
struct Callback {
  int satisfaction = 0;  // 1–5
  std::string comments{};
  std::string recorded_by{};
  Timestamp recorded_at{};

  friend bool operator==(const Callback&, const Callback&) = default;
};

// Rule T-8.
struct IncidentReport {
  std::string summary{};
  std::vector<std::string> photo_refs{};
  std::string raised_by{};
  Timestamp raised_at{};
  std::string written_report{};
  std::string written_report_by{};
  std::optional<Timestamp> written_report_at{};

  friend bool operator==(const IncidentReport&, const IncidentReport&) = default;
};

// The ticket aggregate.
struct Ticket {
  std::string ticket_id{};
  std::string site_id{};
  std::string record_number{};  // rule C-5
  Kind kind = Kind::kComplaint;
  Channel channel = Channel::kPhone;
  Category category = Category::kOther;
  Priority priority = Priority::kNormal;
  State state = State::kOpen;
  std::string unit{};
  ResidentContact contact{};
  std::string description{};
  std::string first_contact_owner_id{};  // rule C-6: never changes
  std::string owner_id{};                // rule C-6: changes only by Transfer
  std::string department{};
  std::string assignee_id{};
  std::map<DeadlineKind, Deadline> deadlines{};
  int breach_count = 0;
  EscalationLevel escalation = EscalationLevel::kNone;
  int appointment_reschedule_count = 0;  // of the current appointment (T-6)
  int duplicate_count = 0;               // T-11
  int reopen_count = 0;
  std::optional<Resolution> resolution{};
  std::optional<Callback> callback{};
  std::optional<IncidentReport> incident_report{};
  int64_t version = 0;  // optimistic locking: +1 on every change
  Timestamp created_at{};
  Timestamp updated_at{};

  // The deadline of that kind, or nullptr.
  const Deadline* FindDeadline(DeadlineKind kind) const;
  // The due time of that deadline whether pending or met, if the ticket has it.
  std::optional<Timestamp> DueOf(DeadlineKind kind) const;
  // Whether the ticket must be called back before it can close (T-9).
  bool NeedsCallback() const;

  friend bool operator==(const Ticket&, const Ticket&) = default;
};

// One history entry (rule C-3: actor, time, reason).
struct TicketEvent {
  EventType type = EventType::kCreated;
  std::string actor_id{};
  Timestamp at{};
  std::string reason{};
  State from_state = State::kOpen;
  State to_state = State::kOpen;
  std::map<std::string, std::string> details{};

  friend bool operator==(const TicketEvent&, const TicketEvent&) = default;
};

// Who acts, and when.
struct Actor {
  std::string staff_id{};
  Timestamp now{};
};

// The staff id the deadline scanner acts as.
inline constexpr std::string_view kSystemActor = "system";

// The result of an operation: the ticket after it (version + 1, updated_at =
// the actor's now) and the history entries to append, in order.
struct Change {
  Ticket ticket{};
  std::vector<TicketEvent> events{};
};

}  // namespace propdesk::tickets::domain
