#pragma once

// Gauges of open work (ARCHITECTURE.md §10: "computed from the database by
// the leader, not per replica"):
//
//   propdesk_tickets_open_tickets{site, kind, state}   tickets neither closed
//                                                      nor referred (T-3)
//   propdesk_tickets_callbacks_due{site, kind}         callbacks owed, still
//                                                      within their deadline (T-9)
//   propdesk_tickets_callbacks_overdue{site, kind}     callbacks owed past it
//
// Only the replica holding the leader lock sets them, every `refresh`, so
// summing over N replicas gives the true figure rather than N times it. A
// replica that is not (or is no longer) the leader, or cannot read the
// database, removes its series instead of exporting values it cannot vouch
// for. While leading, a label set that was seen and whose count dropped to
// nothing reads 0 rather than vanishing, so dashboards see the drop.

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "common/background_loop.h"
#include "common/leader.h"
#include "common/mysql.h"
#include "tickets/store.h"

namespace propdesk::tickets {

inline constexpr std::chrono::milliseconds kDefaultGaugeRefresh = std::chrono::seconds(15);

class TicketGauges {
 public:
  // Leads with `leader`, which may be shared with other leader-only work.
  // Throws Error(kInvalidArgument) for a refresh interval that is not positive.
  TicketGauges(common::MysqlPool& pool, TicketStore& store, common::LeaderLock& leader,
               prometheus::Registry& registry,
               std::chrono::milliseconds refresh = kDefaultGaugeRefresh);
  // Leads with a LeaderLock of its own, "gauges:tickets".
  TicketGauges(common::MysqlPool& pool, TicketStore& store, prometheus::Registry& registry,
               std::chrono::milliseconds refresh = kDefaultGaugeRefresh);
  ~TicketGauges();  // Stop()s
  TicketGauges(const TicketGauges&) = delete;
  TicketGauges& operator=(const TicketGauges&) = delete;

  // When leader: sets the gauges from the database as of `now` and returns
  // true. Otherwise removes every series and returns false. Throws what MySQL
  // throws, after removing every series.
  bool RefreshOnce(domain::Timestamp now);

  // A background thread: RefreshOnce(system_clock::now()) every `refresh`.
  void Start();
  // Stops the thread, gives up a lock of its own and removes every series.
  void Stop();

 private:
  // The series of one gauge family that this replica has set.
  class Series {
   public:
    explicit Series(prometheus::Family<prometheus::Gauge>& family) : family_(family) {}
    // Sets every label set of `values`; one set before but absent now reads 0.
    void Publish(const std::map<prometheus::Labels, double>& values);
    void RemoveAll();

   private:
    prometheus::Family<prometheus::Gauge>& family_;
    std::map<prometheus::Labels, prometheus::Gauge*> gauges_;
  };

  TicketGauges(common::MysqlPool& pool, TicketStore& store,
               std::unique_ptr<common::LeaderLock> own_leader, common::LeaderLock* leader,
               prometheus::Registry& registry, std::chrono::milliseconds refresh);
  void Publish(const OpenWorkCounts& counts);  // requires mu_
  void RemoveAll();                            // requires mu_
  std::chrono::milliseconds Iterate();         // one pass of the background loop

  common::MysqlPool& pool_;
  TicketStore& store_;
  std::unique_ptr<common::LeaderLock> own_leader_;  // set when not sharing one
  common::LeaderLock* leader_;
  const std::chrono::milliseconds refresh_;

  std::mutex mu_;  // one refresh at a time; guards the series
  Series open_;
  Series callbacks_due_;
  Series callbacks_overdue_;

  common::BackgroundLoop loop_;  // last member: stopped first, before what it uses
};

}  // namespace propdesk::tickets
