#pragma once

// What the store-level tests share (store_test.cc, gauges_test.cc,
// demo_test.cc): a fresh migrated database of the run's MariaDB, and tickets
// made by the domain operations and written through MysqlTicketStore the way
// the service writes them.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/migrations.h"
#include "common/mysql.h"
#include "support/test_env.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/domain/workflow.h"
#include "tickets/mysql_store.h"

namespace propdesk::tickets::test_support {

// A database of its own with the common and tickets migrations applied.
inline std::unique_ptr<common::MysqlPool> MigratedPool(std::string_view prefix) {
  auto pool = std::make_unique<common::MysqlPool>(propdesk::testing::FreshDatabase(prefix, 4));
  common::ApplyMigrations(*pool, {{"common", PROPDESK_SOURCE_DIR "/services/common/migrations"},
                                  {"tickets", PROPDESK_SOURCE_DIR "/services/tickets/migrations"}});
  return pool;
}

inline domain::Timestamp Micros(int64_t us) {
  return domain::Timestamp(std::chrono::microseconds(us));
}

// Tickets through the domain operations, written one change per transaction.
class DomainWriter {
 public:
  DomainWriter(common::MysqlPool& pool, TicketStore& store)
      : pool_(pool),
        store_(store),
        settings_(domain::SlaSettings::Create(domain::DefaultSlaPolicy())) {}

  const domain::SlaSettings& settings() const { return settings_; }

  domain::Ticket Open(const std::string& site_id, domain::Kind kind, domain::Timestamp at,
                      std::string unit = "1-0101") {
    domain::NewTicket request{.kind = kind,
                              .category = domain::Category::kFacilitiesEquipment,
                              .unit = std::move(unit),
                              .description = "test ticket"};
    const std::string number = "TK-" + site_id + "-" + tag_ + std::to_string(++numbered_);
    domain::Change change =
        domain::OpenTicket(request, {"new", site_id, number}, {"desk-1", at}, settings_);
    change.ticket.ticket_id = pool_.WithTransaction(
        [&](common::MysqlConnection& tx) { return store_.Insert(tx, change); });
    return change.ticket;
  }

  // `op(ticket, actor)` at `at`, written over `ticket`.
  template <class Op>
  domain::Ticket Then(const domain::Ticket& ticket, domain::Timestamp at, Op op) {
    const domain::Change change = op(ticket, domain::Actor{"desk-1", at});
    pool_.WithTransaction(
        [&](common::MysqlConnection& tx) { store_.Update(tx, change, ticket.version); });
    return change.ticket;
  }

  domain::Ticket Acknowledge(const domain::Ticket& t, domain::Timestamp at) {
    return Then(t, at, [](const domain::Ticket& t, const domain::Actor& a) {
      return domain::Acknowledge(t, a, "");
    });
  }
  domain::Ticket Resolve(const domain::Ticket& t, domain::Timestamp at, bool valid = false) {
    return Then(t, at, [&](const domain::Ticket& t, const domain::Actor& a) {
      return domain::Resolve(
          t, a, settings_,
          {.reply = "done", .cause = "c", .result = "r", .valid_complaint = valid});
    });
  }
  domain::Ticket Callback(const domain::Ticket& t, domain::Timestamp at, int satisfaction) {
    return Then(t, at, [&](const domain::Ticket& t, const domain::Actor& a) {
      return domain::RecordCallback(t, a, settings_, satisfaction, "");
    });
  }
  domain::Ticket Close(const domain::Ticket& t, domain::Timestamp at) {
    return Then(t, at, [](const domain::Ticket& t, const domain::Actor& a) {
      return domain::Close(t, a, "");
    });
  }

 private:
  common::MysqlPool& pool_;
  TicketStore& store_;
  const domain::SlaSettings settings_;
  const std::string tag_ = propdesk::testing::UniqueSuffix().substr(0, 6);  // unique numbers
  int numbered_ = 0;
};

}  // namespace propdesk::tickets::test_support
