#include "tickets/gauges.h"

#include <string>
#include <utility>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::tickets {

namespace {

prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& registry,
                                                   const std::string& name,
                                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

}  // namespace

void TicketGauges::Series::Publish(const std::map<prometheus::Labels, double>& values) {
  // Zero what vanished first, then set the rest: a scrape in between sees
  // each series either at its old or its new value, never missing.
  for (auto& [labels, gauge] : gauges_) {
    if (!values.contains(labels)) gauge->Set(0);
  }
  for (const auto& [labels, value] : values) {
    auto it = gauges_.find(labels);
    if (it == gauges_.end()) it = gauges_.emplace(labels, &family_.Add(labels)).first;
    it->second->Set(value);
  }
}

void TicketGauges::Series::RemoveAll() {
  for (auto& [labels, gauge] : gauges_) family_.Remove(gauge);
  gauges_.clear();
}

TicketGauges::TicketGauges(common::MysqlPool& pool, TicketStore& store,
                           std::unique_ptr<common::LeaderLock> own_leader,
                           common::LeaderLock* leader, prometheus::Registry& registry,
                           std::chrono::milliseconds refresh)
    : pool_(pool),
      store_(store),
      own_leader_(std::move(own_leader)),
      leader_(own_leader_ ? own_leader_.get() : leader),
      refresh_(refresh),
      open_(GaugeFamily(registry, "propdesk_tickets_open_tickets",
                        "Tickets neither closed nor referred, by site, kind and state (T-3); "
                        "set by the leader replica only")),
      callbacks_due_(GaugeFamily(registry, "propdesk_tickets_callbacks_due",
                                 "Callbacks owed and still within their deadline, by site and "
                                 "kind (T-9); set by the leader replica only")),
      callbacks_overdue_(GaugeFamily(registry, "propdesk_tickets_callbacks_overdue",
                                     "Callbacks owed past their deadline, by site and kind "
                                     "(T-9); set by the leader replica only")) {
  if (refresh_.count() <= 0) throw common::InvalidArgument("refresh", "must be positive");
}

TicketGauges::TicketGauges(common::MysqlPool& pool, TicketStore& store, common::LeaderLock& leader,
                           prometheus::Registry& registry, std::chrono::milliseconds refresh)
    : TicketGauges(pool, store, nullptr, &leader, registry, refresh) {}

TicketGauges::TicketGauges(common::MysqlPool& pool, TicketStore& store,
                           prometheus::Registry& registry, std::chrono::milliseconds refresh)
    : TicketGauges(pool, store, std::make_unique<common::LeaderLock>(pool, "gauges:tickets"),
                   nullptr, registry, refresh) {}

TicketGauges::~TicketGauges() { Stop(); }

bool TicketGauges::RefreshOnce(domain::Timestamp now) {
  std::lock_guard lock(mu_);
  if (!leader_->TryAcquire()) {
    RemoveAll();
    return false;
  }
  OpenWorkCounts counts;
  try {
    counts = pool_.WithTransaction(
        [&](common::MysqlConnection& tx) { return store_.CountOpenWork(tx, now); });
  } catch (...) {
    RemoveAll();
    throw;
  }
  // Leadership can be lost while counting; a former leader publishes nothing.
  if (!leader_->StillHeld()) {
    RemoveAll();
    return false;
  }
  Publish(counts);
  return true;
}

void TicketGauges::Publish(const OpenWorkCounts& counts) {
  std::map<prometheus::Labels, double> open;
  for (const OpenWorkCounts::Open& row : counts.open) {
    open[{{"site", row.site_id},
          {"kind", std::string(domain::Name(row.kind))},
          {"state", std::string(domain::Name(row.state))}}] = static_cast<double>(row.count);
  }
  std::map<prometheus::Labels, double> due;
  std::map<prometheus::Labels, double> overdue;
  for (const OpenWorkCounts::Callbacks& row : counts.callbacks) {
    const prometheus::Labels labels{{"site", row.site_id},
                                    {"kind", std::string(domain::Name(row.kind))}};
    due[labels] = static_cast<double>(row.due);
    overdue[labels] = static_cast<double>(row.overdue);
  }
  open_.Publish(open);
  callbacks_due_.Publish(due);
  callbacks_overdue_.Publish(overdue);
}

void TicketGauges::RemoveAll() {
  open_.RemoveAll();
  callbacks_due_.RemoveAll();
  callbacks_overdue_.RemoveAll();
}

void TicketGauges::Start() {
  loop_.Start([this] { return Iterate(); });
}

void TicketGauges::Stop() {
  loop_.Stop();
  if (own_leader_) own_leader_->Release();
  std::lock_guard lock(mu_);
  RemoveAll();
}

std::chrono::milliseconds TicketGauges::Iterate() {
  try {
    RefreshOnce(std::chrono::system_clock::now());
  } catch (const std::exception& e) {
    common::DefaultLogger()->Warn("tickets gauges: refresh failed; series removed until the next",
                                  {{"error", e.what()}});
  }
  return refresh_;
}

}  // namespace propdesk::tickets
