#include "tickets/domain/ticket.h"

#include <cstdio>

namespace propdesk::tickets::domain {

std::string_view Name(Kind kind) {
  switch (kind) {
    case Kind::kComplaint:
      return "complaint";
    case Kind::kRepair:
      return "repair";
    case Kind::kInquiry:
      return "inquiry";
    case Kind::kSuggestion:
      return "suggestion";
    case Kind::kPatrolFinding:
      return "patrol_finding";
    case Kind::kIncident:
      return "incident";
  }
  return "unknown";
}

std::string_view Name(Channel channel) {
  switch (channel) {
    case Channel::kPhone:
      return "phone";
    case Channel::kWalkIn:
      return "walk_in";
    case Channel::kLetter:
      return "letter";
    case Channel::kApp:
      return "app";
    case Channel::kPatrol:
      return "patrol";
    case Channel::kHotline:
      return "hotline";
  }
  return "unknown";
}

std::string_view Name(Category category) {
  switch (category) {
    case Category::kFacilitiesEquipment:
      return "facilities_equipment";
    case Category::kServiceAttitude:
      return "service_attitude";
    case Category::kServiceQuality:
      return "service_quality";
    case Category::kEmergency:
      return "emergency";
    case Category::kOther:
      return "other";
  }
  return "unknown";
}

std::string_view Name(Priority priority) {
  switch (priority) {
    case Priority::kNormal:
      return "normal";
    case Priority::kUrgent:
      return "urgent";
  }
  return "unknown";
}

std::string_view Name(State state) {
  switch (state) {
    case State::kOpen:
      return "open";
    case State::kAcknowledged:
      return "acknowledged";
    case State::kInProgress:
      return "in_progress";
    case State::kResolved:
      return "resolved";
    case State::kCallbackDone:
      return "callback_done";
    case State::kClosed:
      return "closed";
    case State::kReferred:
      return "referred";
  }
  return "unknown";
}

std::string_view Name(EscalationLevel level) {
  switch (level) {
    case EscalationLevel::kNone:
      return "none";
    case EscalationLevel::kSupervisor:
      return "supervisor";
    case EscalationLevel::kSiteManager:
      return "site_manager";
  }
  return "unknown";
}

std::string_view Name(DeadlineKind kind) {
  switch (kind) {
    case DeadlineKind::kContact:
      return "contact";
    case DeadlineKind::kDecision:
      return "decision";
    case DeadlineKind::kOnSite:
      return "on_site";
    case DeadlineKind::kAppointment:
      return "appointment";
    case DeadlineKind::kCommitment:
      return "commitment";
    case DeadlineKind::kCallback:
      return "callback";
    case DeadlineKind::kIncidentReport:
      return "incident_report";
  }
  return "unknown";
}

std::string_view Name(EventType type) {
  switch (type) {
    case EventType::kCreated:
      return "created";
    case EventType::kDuplicateLinked:
      return "duplicate_linked";
    case EventType::kAcknowledged:
      return "acknowledged";
    case EventType::kAssigned:
      return "assigned";
    case EventType::kTransferred:
      return "transferred";
    case EventType::kCommitmentRecorded:
      return "commitment_recorded";
    case EventType::kAppointmentScheduled:
      return "appointment_scheduled";
    case EventType::kAppointmentRescheduled:
      return "appointment_rescheduled";
    case EventType::kArrived:
      return "arrived";
    case EventType::kResolved:
      return "resolved";
    case EventType::kReferred:
      return "referred";
    case EventType::kCallbackRecorded:
      return "callback_recorded";
    case EventType::kReopened:
      return "reopened";
    case EventType::kClosed:
      return "closed";
    case EventType::kNoteAdded:
      return "note_added";
    case EventType::kIncidentReportRaised:
      return "incident_report_raised";
    case EventType::kWrittenReportSubmitted:
      return "written_report_submitted";
    case EventType::kDeadlineBreached:
      return "deadline_breached";
    case EventType::kEscalated:
      return "escalated";
  }
  return "unknown";
}

std::string FormatUtc(Timestamp t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day date{day};
  const hh_mm_ss time{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return buf;
}

bool IsTerminal(State state) { return state == State::kClosed || state == State::kReferred; }

const Deadline* Ticket::FindDeadline(DeadlineKind kind) const {
  const auto it = deadlines.find(kind);
  return it == deadlines.end() ? nullptr : &it->second;
}

std::optional<Timestamp> Ticket::DueOf(DeadlineKind kind) const {
  const Deadline* deadline = FindDeadline(kind);
  if (deadline == nullptr) return std::nullopt;
  return deadline->due;
}

bool Ticket::NeedsCallback() const {
  const Deadline* callback_deadline = FindDeadline(DeadlineKind::kCallback);
  return callback_deadline != nullptr && callback_deadline->pending();
}

}  // namespace propdesk::tickets::domain
