#pragma once

// Mapping between the tickets domain values and propdesk.tickets.v1
// messages. Domain enums and proto enums list their values in the same
// order; proto value = domain index + 1 (0 is UNSPECIFIED).

#include <google/protobuf/timestamp.pb.h>

#include <optional>

#include "propdesk/tickets/v1/sla.pb.h"
#include "propdesk/tickets/v1/ticket.pb.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets {

template <class DomainEnum>
int ProtoNumber(DomainEnum value) {
  return static_cast<int>(value) + 1;
}
// The domain value of a proto enum number; nullopt for UNSPECIFIED or an
// unknown number (size = number of domain values).
template <class DomainEnum>
std::optional<DomainEnum> DomainValue(int number, int size) {
  if (number < 1 || number > size) return std::nullopt;
  return static_cast<DomainEnum>(number - 1);
}

int64_t ToMicros(domain::Timestamp t);
domain::Timestamp FromMicros(int64_t us);
void ToProto(domain::Timestamp t, google::protobuf::Timestamp* out);
domain::Timestamp FromProto(const google::protobuf::Timestamp& t);

void ToProto(const domain::Ticket& ticket, v1::Ticket* out);
void ToProto(const domain::TicketEvent& event, int64_t sequence, v1::TicketEvent* out);

void ToProto(const domain::Resolution& in, v1::Resolution* out);
domain::Resolution FromProto(const v1::Resolution& in);
void ToProto(const domain::Callback& in, v1::Callback* out);
domain::Callback FromProto(const v1::Callback& in);
void ToProto(const domain::IncidentReport& in, v1::IncidentReport* out);
domain::IncidentReport FromProto(const v1::IncidentReport& in);

// Site SLA settings. FromProto throws Error(kInvalidArgument) naming the
// field path ("sla_policy.rules[2].kind") for an enum or date that does not
// exist; the numbers are checked by ValidateSlaPolicy.
void ToProto(const domain::SlaPolicy& in, v1::SlaPolicy* out);
domain::SlaPolicy FromProto(const v1::SlaPolicy& in);

}  // namespace propdesk::tickets
