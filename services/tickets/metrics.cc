#include "tickets/metrics.h"

#include <chrono>
#include <string>

namespace propdesk::tickets {

namespace {

using prometheus::Histogram;

double SecondsBetween(domain::Timestamp from, domain::Timestamp to) {
  return std::chrono::duration<double>(to - from).count();
}

const Histogram::BucketBoundaries& DurationBuckets() {
  // 1 min … 10 days: deadlines run from minutes (contact) to working days.
  static const Histogram::BucketBoundaries buckets{60,    300,   900,   1800,   3600,   7200,
                                                   14400, 28800, 86400, 172800, 345600, 864000};
  return buckets;
}

}  // namespace

TicketsMetrics::TicketsMetrics(prometheus::Registry& registry)
    : created_(prometheus::BuildCounter()
                   .Name("propdesk_tickets_created_total")
                   .Help("Tickets opened, by site and kind (T-1)")
                   .Register(registry)),
      breaches_(prometheus::BuildCounter()
                    .Name("propdesk_tickets_breaches_total")
                    .Help("Deadline breaches recorded, by site, kind and deadline (T-8)")
                    .Register(registry)),
      callbacks_(prometheus::BuildCounter()
                     .Name("propdesk_tickets_callbacks_total")
                     .Help("Callbacks recorded, by site and kind (T-9)")
                     .Register(registry)),
      first_contact_(prometheus::BuildHistogram()
                         .Name("propdesk_tickets_time_to_first_contact_seconds")
                         .Help("Receipt to acknowledgement (T-4)")
                         .Register(registry)),
      resolution_(prometheus::BuildHistogram()
                      .Name("propdesk_tickets_time_to_resolution_seconds")
                      .Help("Receipt to resolution (T-4)")
                      .Register(registry)),
      satisfaction_(prometheus::BuildHistogram()
                        .Name("propdesk_tickets_callback_satisfaction_score")
                        .Help("Satisfaction 1-5 given at callback (T-9)")
                        .Register(registry)) {}

void TicketsMetrics::Observe(const domain::Change& change) {
  const domain::Ticket& t = change.ticket;
  const std::string kind(domain::Name(t.kind));
  for (const domain::TicketEvent& e : change.events) {
    switch (e.type) {
      case domain::EventType::kCreated:
        created_.Add({{"site", t.site_id}, {"kind", kind}}).Increment();
        break;
      case domain::EventType::kAcknowledged:
        first_contact_.Add({{"site", t.site_id}, {"kind", kind}}, DurationBuckets())
            .Observe(SecondsBetween(t.created_at, e.at));
        break;
      case domain::EventType::kResolved:
      case domain::EventType::kReferred:
        resolution_.Add({{"site", t.site_id}, {"kind", kind}}, DurationBuckets())
            .Observe(SecondsBetween(t.created_at, e.at));
        break;
      case domain::EventType::kCallbackRecorded:
        callbacks_.Add({{"site", t.site_id}, {"kind", kind}}).Increment();
        if (t.callback) {
          satisfaction_.Add({{"site", t.site_id}}, Histogram::BucketBoundaries{1, 2, 3, 4, 5})
              .Observe(t.callback->satisfaction);
        }
        break;
      case domain::EventType::kDeadlineBreached: {
        auto it = e.details.find("deadline");
        breaches_
            .Add({{"site", t.site_id},
                  {"kind", kind},
                  {"deadline", it == e.details.end() ? "unknown" : it->second}})
            .Increment();
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace propdesk::tickets
