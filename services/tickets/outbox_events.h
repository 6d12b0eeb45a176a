#pragma once

// The tickets service's domain events (ARCHITECTURE.md §7): one outbox row
// per history entry of a change, written in the change's transaction.

#include <string>
#include <vector>

#include "common/mysql.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets {

// "ticket.created", "ticket.resolved", "ticket.callback_recorded",
// "ticket.breached", "ticket.escalated", …
std::string OutboxEventType(domain::EventType type);

// Payload: ticket_id, record_number, kind, state and the entry's details;
// never the resident's phone (C-2).
void AppendOutboxEvents(common::MysqlConnection& tx, const domain::Change& change);
// The events of many changes in one multi-row INSERT.
void AppendOutboxEvents(common::MysqlConnection& tx,
                        const std::vector<const domain::Change*>& changes);

}  // namespace propdesk::tickets
