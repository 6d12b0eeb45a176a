#pragma once

// Domain metrics of the tickets service (ARCHITECTURE.md §10: names
// propdesk_tickets_<noun>_<unit>, labels site / kind / deadline, never ids).
// Counted after the change committed and only when it was not a replay.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "tickets/domain/ticket.h"

namespace propdesk::tickets {

class TicketsMetrics {
 public:
  explicit TicketsMetrics(prometheus::Registry& registry);

  // What a committed change tells: created, first contact, resolution,
  // callback (satisfaction), breaches (T-4, T-8, T-9).
  void Observe(const domain::Change& change);

 private:
  prometheus::Family<prometheus::Counter>& created_;
  prometheus::Family<prometheus::Counter>& breaches_;
  prometheus::Family<prometheus::Counter>& callbacks_;
  prometheus::Family<prometheus::Histogram>& first_contact_;
  prometheus::Family<prometheus::Histogram>& resolution_;
  prometheus::Family<prometheus::Histogram>& satisfaction_;
};

}  // namespace propdesk::tickets
