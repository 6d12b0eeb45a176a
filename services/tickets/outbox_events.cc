#include "tickets/outbox_events.h"

#include "common/outbox.h"

namespace propdesk::tickets {

using common::MysqlConnection;
using domain::Change;
using domain::Ticket;

namespace {

// JSON string literal content: ids and names here are plain, but escape the
// characters JSON forbids anyway.
std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// One outbox event per history entry ("ticket.created", "ticket.resolved",
// "ticket.callback_recorded", …), in the change's transaction (ARCHITECTURE.md
// §7). Payloads carry ids and names only, never the resident's phone (C-2).
}  // namespace

std::string OutboxEventType(domain::EventType type) {
  // Breaches carry the short name other services subscribe to.
  if (type == domain::EventType::kDeadlineBreached) return "ticket.breached";
  return "ticket." + std::string(domain::Name(type));
}

void AppendOutboxEvents(MysqlConnection& tx, const Change& change) {
  AppendOutboxEvents(tx, std::vector<const Change*>{&change});
}

void AppendOutboxEvents(MysqlConnection& tx, const std::vector<const Change*>& changes) {
  std::vector<common::OutboxEvent> events;
  for (const Change* change : changes) {
    const Ticket& t = change->ticket;
    for (const domain::TicketEvent& e : change->events) {
      std::string payload =
          "{\"ticket_id\":\"" + JsonEscape(t.ticket_id) + "\",\"record_number\":\"" +
          JsonEscape(t.record_number) + "\",\"kind\":\"" + std::string(domain::Name(t.kind)) +
          "\",\"state\":\"" + std::string(domain::Name(t.state)) + "\",\"details\":{";
      bool first = true;
      for (const auto& [key, value] : e.details) {
        payload += (first ? "\"" : ",\"") + JsonEscape(key) + "\":\"" + JsonEscape(value) + "\"";
        first = false;
      }
      payload += "}}";
      events.push_back(
          {.type = OutboxEventType(e.type),
           .site_id = t.site_id,
           .aggregate_id = t.ticket_id,
           .payload = std::move(payload),
           .actor = e.actor_id == domain::kSystemActor ? "system:tickets" : e.actor_id});
    }
  }
  common::AppendEvents(tx, events);  // deferred: no round trip of its own
}

}  // namespace propdesk::tickets
