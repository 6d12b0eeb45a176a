#include "tickets/convert.h"

#include "common/errors.h"

namespace propdesk::tickets {

using domain::DeadlineKind;

int64_t ToMicros(domain::Timestamp t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

domain::Timestamp FromMicros(int64_t us) {
  return domain::Timestamp(
      std::chrono::duration_cast<domain::Timestamp::duration>(std::chrono::microseconds(us)));
}

void ToProto(domain::Timestamp t, google::protobuf::Timestamp* out) {
  const int64_t us = ToMicros(t);
  int64_t seconds = us / 1'000'000;
  int64_t rest = us % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

domain::Timestamp FromProto(const google::protobuf::Timestamp& t) {
  return FromMicros(t.seconds() * 1'000'000 + t.nanos() / 1000);
}

namespace {

google::protobuf::Timestamp* DeadlineField(v1::Ticket* out, DeadlineKind kind) {
  switch (kind) {
    case DeadlineKind::kContact:
      return out->mutable_contact_by();
    case DeadlineKind::kDecision:
      return out->mutable_decision_by();
    case DeadlineKind::kOnSite:
      return out->mutable_on_site_by();
    case DeadlineKind::kAppointment:
      return out->mutable_appointment_at();
    case DeadlineKind::kCommitment:
      return out->mutable_commitment_at();
    case DeadlineKind::kCallback:
      return out->mutable_callback_due_at();
    case DeadlineKind::kIncidentReport:
      return out->mutable_incident_report_due_at();
  }
  return out->mutable_contact_by();
}

}  // namespace

void ToProto(const domain::Ticket& t, v1::Ticket* out) {
  out->Clear();
  out->set_name("sites/" + t.site_id + "/tickets/" + t.ticket_id);
  out->set_ticket_id(t.ticket_id);
  out->set_site_id(t.site_id);
  out->set_record_number(t.record_number);
  out->set_kind(static_cast<v1::TicketKind>(ProtoNumber(t.kind)));
  out->set_channel(static_cast<v1::TicketChannel>(ProtoNumber(t.channel)));
  out->set_category(static_cast<v1::TicketCategory>(ProtoNumber(t.category)));
  out->set_priority(static_cast<v1::TicketPriority>(ProtoNumber(t.priority)));
  out->set_state(static_cast<v1::TicketState>(ProtoNumber(t.state)));
  out->set_unit(t.unit);
  out->mutable_contact()->set_name(t.contact.name);
  out->mutable_contact()->set_phone(t.contact.phone);
  out->set_description(t.description);
  out->set_first_contact_owner_id(t.first_contact_owner_id);
  out->set_owner_id(t.owner_id);
  out->set_department(t.department);
  out->set_assignee_id(t.assignee_id);
  for (const auto& [kind, deadline] : t.deadlines) {
    ToProto(deadline.due, DeadlineField(out, kind));
    const auto proto_kind = static_cast<v1::DeadlineKind>(ProtoNumber(kind));
    if (deadline.breached) out->add_breached_deadlines(proto_kind);
    if (deadline.met_at) out->add_met_deadlines(proto_kind);
  }
  out->set_breach_count(t.breach_count);
  out->set_escalation_level(static_cast<v1::EscalationLevel>(ProtoNumber(t.escalation)));
  out->set_appointment_reschedule_count(t.appointment_reschedule_count);
  out->set_duplicate_count(t.duplicate_count);
  out->set_reopen_count(t.reopen_count);
  if (t.resolution) ToProto(*t.resolution, out->mutable_resolution());
  if (t.callback) ToProto(*t.callback, out->mutable_callback());
  if (t.incident_report) ToProto(*t.incident_report, out->mutable_incident_report());
  out->set_version(t.version);
  ToProto(t.created_at, out->mutable_create_time());
  ToProto(t.updated_at, out->mutable_update_time());
}

void ToProto(const domain::TicketEvent& e, int64_t sequence, v1::TicketEvent* out) {
  out->set_sequence(sequence);
  out->set_type(static_cast<v1::TicketEventType>(ProtoNumber(e.type)));
  out->set_actor_id(e.actor_id);
  ToProto(e.at, out->mutable_event_time());
  out->set_reason(e.reason);
  out->set_from_state(static_cast<v1::TicketState>(ProtoNumber(e.from_state)));
  out->set_to_state(static_cast<v1::TicketState>(ProtoNumber(e.to_state)));
  for (const auto& [key, value] : e.details) (*out->mutable_details())[key] = value;
}

void ToProto(const domain::Resolution& in, v1::Resolution* out) {
  out->set_reply(in.reply);
  out->set_cause(in.cause);
  out->set_result(in.result);
  out->set_handler_id(in.handler_id);
  out->set_resolved_by(in.resolved_by);
  ToProto(in.resolved_at, out->mutable_resolve_time());
  out->set_valid_complaint(in.valid_complaint);
  if (in.referral) {
    out->mutable_referral()->set_organization(in.referral->organization);
    out->mutable_referral()->set_contact_name(in.referral->contact_name);
    out->mutable_referral()->set_contact_phone(in.referral->contact_phone);
  }
}

domain::Resolution FromProto(const v1::Resolution& in) {
  domain::Resolution r;
  r.reply = in.reply();
  r.cause = in.cause();
  r.result = in.result();
  r.handler_id = in.handler_id();
  r.resolved_by = in.resolved_by();
  r.resolved_at = FromProto(in.resolve_time());
  r.valid_complaint = in.valid_complaint();
  if (in.has_referral()) {
    r.referral = domain::Referral{in.referral().organization(), in.referral().contact_name(),
                                  in.referral().contact_phone()};
  }
  return r;
}

void ToProto(const domain::Callback& in, v1::Callback* out) {
  out->set_satisfaction(in.satisfaction);
  out->set_comments(in.comments);
  out->set_recorded_by(in.recorded_by);
  ToProto(in.recorded_at, out->mutable_callback_time());
}

domain::Callback FromProto(const v1::Callback& in) {
  return domain::Callback{in.satisfaction(), in.comments(), in.recorded_by(),
                          FromProto(in.callback_time())};
}

void ToProto(const domain::IncidentReport& in, v1::IncidentReport* out) {
  out->set_summary(in.summary);
  for (const std::string& ref : in.photo_refs) out->add_photo_refs(ref);
  out->set_raised_by(in.raised_by);
  ToProto(in.raised_at, out->mutable_raise_time());
  out->set_written_report(in.written_report);
  out->set_written_report_by(in.written_report_by);
  if (in.written_report_at) ToProto(*in.written_report_at, out->mutable_written_report_time());
}

domain::IncidentReport FromProto(const v1::IncidentReport& in) {
  domain::IncidentReport r;
  r.summary = in.summary();
  r.photo_refs.assign(in.photo_refs().begin(), in.photo_refs().end());
  r.raised_by = in.raised_by();
  r.raised_at = FromProto(in.raise_time());
  r.written_report = in.written_report();
  r.written_report_by = in.written_report_by();
  if (in.has_written_report_time()) r.written_report_at = FromProto(in.written_report_time());
  return r;
}

namespace {

void ToProto(std::chrono::seconds d, google::protobuf::Duration* out) {
  out->set_seconds(d.count());
}

std::chrono::seconds FromProto(const google::protobuf::Duration& d) {
  return std::chrono::seconds(d.seconds());
}

void ToProto(std::chrono::year_month_day date, v1::CalendarDate* out) {
  out->set_year(static_cast<int>(date.year()));
  out->set_month(static_cast<int>(static_cast<unsigned>(date.month())));
  out->set_day(static_cast<int>(static_cast<unsigned>(date.day())));
}

std::chrono::year_month_day FromProto(const v1::CalendarDate& in, const std::string& field) {
  const std::chrono::year_month_day date{std::chrono::year(in.year()),
                                         std::chrono::month(static_cast<unsigned>(in.month())),
                                         std::chrono::day(static_cast<unsigned>(in.day()))};
  if (!date.ok() || in.month() < 1 || in.day() < 1) {
    throw common::InvalidArgument(field, "is not a valid date (year, month 1-12, day of month)");
  }
  return date;
}

template <class E, size_t N>
E RequiredEnumField(int number, const std::array<E, N>&, const std::string& field) {
  std::optional<E> value = DomainValue<E>(number, static_cast<int>(N));
  if (!value) throw common::InvalidArgument(field, "is required: choose one of its values");
  return *value;
}

}  // namespace

void ToProto(const domain::SlaPolicy& in, v1::SlaPolicy* out) {
  for (const domain::DeadlineRule& rule : in.rules) {
    v1::DeadlineRule* r = out->add_rules();
    r->set_kind(static_cast<v1::TicketKind>(ProtoNumber(rule.kind)));
    if (rule.priority)
      r->set_priority(static_cast<v1::TicketPriority>(ProtoNumber(*rule.priority)));
    if (rule.category)
      r->set_category(static_cast<v1::TicketCategory>(ProtoNumber(*rule.category)));
    if (rule.contact_within) ToProto(*rule.contact_within, r->mutable_contact_within());
    if (rule.decision_working_days) r->set_decision_working_days(*rule.decision_working_days);
    if (rule.on_site_within) ToProto(*rule.on_site_within, r->mutable_on_site_within());
    if (rule.callback_days) r->set_callback_days(*rule.callback_days);
  }
  ToProto(in.duplicate_window, out->mutable_duplicate_window());
  out->set_incident_report_on_working_day(in.incident_report_on_working_day);
  v1::WorkingCalendar* calendar = out->mutable_calendar();
  calendar->set_time_zone(in.calendar.time_zone);
  // Proto weekdays run Monday = 1 … Sunday = 7; the spec indexes Sunday = 0.
  for (unsigned proto_day = 1; proto_day <= 7; ++proto_day) {
    for (const common::WorkInterval& interval : in.calendar.weekly[proto_day % 7]) {
      v1::WorkingInterval* w = calendar->add_weekly_hours();
      w->set_weekday(static_cast<v1::Weekday>(proto_day));
      w->set_start_minute(static_cast<int32_t>(interval.start.count()));
      w->set_end_minute(static_cast<int32_t>(interval.end.count()));
    }
  }
  for (const auto& date : in.calendar.holidays) ToProto(date, calendar->add_holidays());
  for (const auto& date : in.calendar.makeup_workdays) {
    ToProto(date, calendar->add_makeup_workdays());
  }
  out->set_unit_count(in.unit_count);
}

domain::SlaPolicy FromProto(const v1::SlaPolicy& in) {
  domain::SlaPolicy policy;
  for (int i = 0; i < in.rules_size(); ++i) {
    const v1::DeadlineRule& r = in.rules(i);
    const std::string path = "sla_policy.rules[" + std::to_string(i) + "].";
    domain::DeadlineRule rule;
    rule.kind = RequiredEnumField(r.kind(), domain::kAllKinds, path + "kind");
    if (r.priority() != 0) {
      rule.priority = RequiredEnumField(r.priority(), domain::kAllPriorities, path + "priority");
    }
    if (r.category() != 0) {
      rule.category = RequiredEnumField(r.category(), domain::kAllCategories, path + "category");
    }
    if (r.has_contact_within()) rule.contact_within = FromProto(r.contact_within());
    if (r.has_decision_working_days()) rule.decision_working_days = r.decision_working_days();
    if (r.has_on_site_within()) rule.on_site_within = FromProto(r.on_site_within());
    if (r.has_callback_days()) rule.callback_days = r.callback_days();
    policy.rules.push_back(rule);
  }
  if (in.has_duplicate_window()) policy.duplicate_window = FromProto(in.duplicate_window());
  policy.incident_report_on_working_day = in.incident_report_on_working_day();
  if (in.has_calendar()) {
    const v1::WorkingCalendar& c = in.calendar();
    policy.calendar.time_zone = c.time_zone();
    policy.calendar.weekly = {};
    for (int i = 0; i < c.weekly_hours_size(); ++i) {
      const v1::WorkingInterval& w = c.weekly_hours(i);
      if (w.weekday() < 1 || w.weekday() > 7) {
        throw common::InvalidArgument(
            "sla_policy.calendar.weekly_hours[" + std::to_string(i) + "].weekday",
            "is required: MONDAY … SUNDAY");
      }
      policy.calendar.weekly[w.weekday() % 7].push_back(
          {std::chrono::minutes(w.start_minute()), std::chrono::minutes(w.end_minute())});
    }
    for (int i = 0; i < c.holidays_size(); ++i) {
      policy.calendar.holidays.insert(
          FromProto(c.holidays(i), "sla_policy.calendar.holidays[" + std::to_string(i) + "]"));
    }
    for (int i = 0; i < c.makeup_workdays_size(); ++i) {
      policy.calendar.makeup_workdays.insert(FromProto(
          c.makeup_workdays(i), "sla_policy.calendar.makeup_workdays[" + std::to_string(i) + "]"));
    }
  }
  policy.unit_count = in.unit_count();
  return policy;
}

}  // namespace propdesk::tickets
