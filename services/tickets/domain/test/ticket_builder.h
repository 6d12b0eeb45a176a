#pragma once

// Drives tickets through the real operations into any state, so tests start
// from tickets the domain itself produced.

#include <string>

#include "test_util.h"
#include "tickets/domain/workflow.h"

namespace propdesk::tickets::domain::testing {

// Mon 5 Feb 2024 10:00 in Shanghai: a working morning under the default calendar.
inline Timestamp T0() { return Utc(2024, 2, 5, 2, 0); }

inline Actor At(Timestamp now, std::string staff_id = "desk-1") {
  return Actor{.staff_id = std::move(staff_id), .now = now};
}

inline NewTicket Request(Kind kind, Priority priority = Priority::kNormal,
                         Category category = Category::kFacilitiesEquipment) {
  return NewTicket{.kind = kind,
                   .channel = Channel::kPhone,
                   .category = category,
                   .priority = priority,
                   .unit = "3-1204",
                   .contact = {.name = "王女士", .phone = "138 0013 8000"},
                   .description = "卫生间漏水 (bathroom leak)"};
}

struct BuildOptions {
  Kind kind = Kind::kComplaint;
  Priority priority = Priority::kNormal;
  bool with_appointment = false;      // repairs: scheduled once acknowledged
  bool with_incident_report = false;  // incidents: raised while open
};

inline Ticket Open(const SlaSettings& settings, const BuildOptions& options, Timestamp at = T0()) {
  return OpenTicket(Request(options.kind, options.priority),
                    {.ticket_id = "t-1", .site_id = "SZ01", .record_number = "TK-SZ01-240205001"},
                    At(at), settings)
      .ticket;
}

inline ResolveInput Reply() {
  return ResolveInput{.reply = "已更换水管 (pipe replaced)",
                      .cause = "老化的水管 (aged pipe)",
                      .result = "修复 (fixed)"};
}

// A ticket in `target`, reached by the normal path, one minute per step from
// T0(): open → acknowledged → in_progress → resolved → callback_done →
// closed; referred via a referral from in_progress.
inline Ticket InState(const SlaSettings& settings, State target, const BuildOptions& options) {
  Timestamp now = T0();
  auto next = [&now] { return At(now += minutes{1}); };
  Ticket t = Open(settings, options, now);
  if (options.with_incident_report) {
    t = RaiseIncidentReport(t, next(), settings, "水管爆裂 (burst pipe)", {"photos/1.jpg"}).ticket;
  }
  if (target == State::kOpen) return t;
  t = Acknowledge(t, next(), "").ticket;
  if (options.with_appointment) t = ScheduleAppointment(t, next(), T0() + days{1}, "").ticket;
  if (target == State::kAcknowledged) return t;
  t = Assign(t, next(), {.department = "engineering", .assignee_id = "eng-7"}).ticket;
  if (target == State::kInProgress) return t;
  if (target == State::kReferred) {
    ResolveInput referral = Reply();
    referral.referral =
        Referral{.organization = "燃气公司 (gas company)", .contact_phone = "95158"};
    return Resolve(t, next(), settings, referral).ticket;
  }
  t = Resolve(t, next(), settings, Reply()).ticket;
  if (target == State::kResolved) return t;
  t = RecordCallback(t, next(), settings, 5, "满意").ticket;
  if (target == State::kCallbackDone) return t;
  return Close(t, next(), "").ticket;  // kClosed
}

}  // namespace propdesk::tickets::domain::testing
