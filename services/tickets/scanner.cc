#include "tickets/scanner.h"

#include <algorithm>

#include "tickets/domain/workflow.h"
#include "tickets/outbox_events.h"

namespace propdesk::tickets {

DeadlineScanner::DeadlineScanner(common::MysqlPool& pool, TicketStore& store,
                                 std::chrono::milliseconds tick, TicketsMetrics* metrics)
    : store_(store),
      metrics_(metrics),
      scanner_(pool, "tickets-deadlines", tick,
               [this](common::MysqlConnection& tx, domain::Timestamp from, domain::Timestamp to) {
                 ScanWindow(tx, from, to);
               }) {}

void DeadlineScanner::ScanWindow(common::MysqlConnection& tx, domain::Timestamp from,
                                 domain::Timestamp to) {
  // A deadline due exactly at `to` is breached at any instant after it; the
  // window is processed after `to`, so judge as of just past it (or later).
  const domain::Timestamp judged_at =
      std::max(std::chrono::system_clock::now(), to + std::chrono::microseconds(1));
  for (const DueDeadlineRef& due : store_.DueDeadlines(tx, from, to)) {
    std::optional<domain::Ticket> ticket =
        store_.Find(tx, due.site_id, due.ticket_id, /*for_update=*/true);
    if (!ticket) continue;
    // Nullopt when met or already recorded meanwhile: recorded once (T-8).
    std::optional<domain::Change> change = domain::RecordBreach(*ticket, due.kind, judged_at);
    if (!change) continue;
    store_.Update(tx, *change, ticket->version);
    AppendOutboxEvents(tx, *change);
    // Counted before the window commits: a rolled-back window (rare) is
    // counted again when retried. Breach records themselves stay exact.
    if (metrics_) metrics_->Observe(*change);
  }
}

}  // namespace propdesk::tickets
