#pragma once

// The deadline scanner (rule T-8, ARCHITECTURE.md §8): leader-locked and
// windowed, it finds every deadline that fell due since its previous tick,
// records the breach once on the ticket (escalating it) and emits
// ticket.breached / ticket.escalated through the outbox, all in the window's
// transaction, so two scanners never record one breach twice.

#include <chrono>
#include <memory>

#include "common/mysql.h"
#include "common/windowed_scan.h"
#include "tickets/metrics.h"
#include "tickets/store.h"

namespace propdesk::tickets {

class DeadlineScanner {
 public:
  // `tick` ≤ 5 s keeps breach detection within 5 s of the deadline.
  // `metrics` may be null.
  DeadlineScanner(common::MysqlPool& pool, TicketStore& store,
                  std::chrono::milliseconds tick = std::chrono::seconds(1),
                  TicketsMetrics* metrics = nullptr);

  // One tick as of `now` (tests and the bench); false when not the leader.
  bool TickOnce(domain::Timestamp now) { return scanner_.TickOnce(now); }
  void Start() { scanner_.Start(); }
  void Stop() { scanner_.Stop(); }

 private:
  void ScanWindow(common::MysqlConnection& tx, domain::Timestamp from, domain::Timestamp to);

  TicketStore& store_;
  TicketsMetrics* const metrics_;  // may be null
  common::WindowedScanner scanner_;
};

}  // namespace propdesk::tickets
