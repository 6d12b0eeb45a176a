// The demo data of `make run` (DEMO_DATA=1) on a fresh database: what it
// seeds, and that seeding again — also by two replicas at once — adds nothing.

#include "tickets/demo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "propdesk/tickets/v1/sla.pb.h"
#include "tickets/test/store_test_support.h"

namespace propdesk::tickets {
namespace {

using domain::DeadlineKind;
using domain::Kind;
using domain::State;
using domain::Ticket;

MysqlTicketStore store;

std::vector<Ticket> DemoTickets(common::MysqlPool& pool) {
  return pool.WithTransaction([](common::MysqlConnection& tx) {
    TicketQuery query;
    query.site_id = kDemoSiteId;
    query.limit = 1000;
    return store.List(tx, query);
  });
}

int64_t Count(common::MysqlPool& pool, const std::string& sql) {
  return pool.WithTransaction([&](common::MysqlConnection& tx) {
    auto rs = tx.Query(sql);
    rs->next();
    return static_cast<int64_t>(rs->getInt64(1));
  });
}

bool IsDemoStaff(const std::string& id) { return id.starts_with("demo-"); }

TEST(TicketsDemoTest, SeedsAPolicyAndTicketsInEveryStateWithRealHistory) {
  auto pool = test_support::MigratedPool("tickets_demo");
  const int created = SeedDemoData(*pool, store);
  EXPECT_GE(created, 6);
  EXPECT_LE(created, 10);
  const std::vector<Ticket> tickets = DemoTickets(*pool);
  ASSERT_EQ(static_cast<int>(tickets.size()), created);

  // The site and its policy: the DOMAIN.md defaults with the units served.
  pool->WithTransaction([](common::MysqlConnection& tx) {
    const std::optional<SiteRecord> site = store.FindSite(tx, kDemoSiteId);
    ASSERT_TRUE(site.has_value());
    EXPECT_EQ(site->group_id, kDemoGroupId);
    const std::optional<StoredPolicy> policy = store.FindPolicy(tx, kDemoSiteId, false);
    ASSERT_TRUE(policy.has_value());
    v1::SlaPolicy proto;
    ASSERT_TRUE(proto.ParseFromString(policy->policy));
    EXPECT_EQ(proto.unit_count(), kDemoUnitCount);
    EXPECT_EQ(proto.rules_size(), static_cast<int>(domain::DefaultSlaPolicy().rules.size()));
  });

  std::map<State, int> by_state;
  int closed_after_satisfied_callback = 0;
  std::set<Kind> kinds;
  int64_t history_entries = 0;
  for (const Ticket& t : tickets) {
    ++by_state[t.state];
    kinds.insert(t.kind);
    EXPECT_TRUE(std::regex_match(t.record_number, std::regex("TK-SZ01-\\d{9}")))
        << t.record_number;  // C-5
    EXPECT_TRUE(IsDemoStaff(t.first_contact_owner_id)) << t.first_contact_owner_id;
    EXPECT_TRUE(IsDemoStaff(t.owner_id)) << t.owner_id;
    EXPECT_TRUE(t.assignee_id.empty() || IsDemoStaff(t.assignee_id)) << t.assignee_id;
    // Every deadline already past is met: the scanner finds nothing stale.
    for (const auto& [kind, deadline] : t.deadlines) {
      EXPECT_FALSE(deadline.breached) << t.record_number << " " << domain::Name(kind);
      if (deadline.pending()) {
        EXPECT_GT(deadline.due, std::chrono::system_clock::now())
            << t.record_number << " " << domain::Name(kind);
      }
    }
    const std::vector<StoredEvent> history = pool->WithTransaction(
        [&](common::MysqlConnection& tx) { return store.ListEvents(tx, t.ticket_id, 0, 100); });
    ASSERT_FALSE(history.empty());
    EXPECT_EQ(history.front().event.type, domain::EventType::kCreated);
    EXPECT_EQ(history.back().event.to_state, t.state) << t.record_number;
    EXPECT_EQ(static_cast<int64_t>(history.size()), t.version);  // one entry per change here
    history_entries += static_cast<int64_t>(history.size());

    switch (t.state) {
      case State::kInProgress:
        if (t.kind == Kind::kRepair) {
          EXPECT_TRUE(t.FindDeadline(DeadlineKind::kAppointment)->pending());  // T-6
        }
        break;
      case State::kResolved:
        EXPECT_TRUE(t.FindDeadline(DeadlineKind::kCallback)->pending());  // T-9
        break;
      case State::kClosed:
        if (t.callback && t.callback->satisfaction == 5) ++closed_after_satisfied_callback;
        break;
      default:
        break;
    }
    if (t.kind == Kind::kIncident) {
      ASSERT_TRUE(t.incident_report.has_value());  // T-8
      EXPECT_FALSE(t.incident_report->photo_refs.empty());
      EXPECT_TRUE(t.FindDeadline(DeadlineKind::kIncidentReport)->pending());
    }
  }
  for (const State state :
       {State::kOpen, State::kAcknowledged, State::kInProgress, State::kResolved, State::kClosed}) {
    EXPECT_GE(by_state[state], 1) << domain::Name(state);
  }
  EXPECT_GE(closed_after_satisfied_callback, 1);
  EXPECT_TRUE(kinds.contains(Kind::kComplaint));
  EXPECT_TRUE(kinds.contains(Kind::kRepair));
  EXPECT_TRUE(kinds.contains(Kind::kIncident));
  // The history went out through the outbox as the service's would.
  EXPECT_EQ(Count(*pool, "SELECT COUNT(*) FROM outbox WHERE site_id = 'SZ01'"), history_entries);
}

TEST(TicketsDemoTest, SeedingAgainAddsNothing) {
  auto pool = test_support::MigratedPool("tickets_demo");
  const int first = SeedDemoData(*pool, store);
  const int64_t outbox = Count(*pool, "SELECT COUNT(*) FROM outbox");
  EXPECT_EQ(SeedDemoData(*pool, store), 0);
  EXPECT_EQ(static_cast<int>(DemoTickets(*pool).size()), first);
  EXPECT_EQ(Count(*pool, "SELECT COUNT(*) FROM outbox"), outbox);
}

TEST(TicketsDemoTest, TwoReplicasSeedingAtOnceSeedOnce) {
  auto pool = test_support::MigratedPool("tickets_demo");
  std::atomic<int> created{0};
  std::vector<std::thread> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.emplace_back([&] { created += SeedDemoData(*pool, store); });
  }
  for (auto& r : replicas) r.join();
  EXPECT_GT(created.load(), 0);
  EXPECT_EQ(static_cast<int>(DemoTickets(*pool).size()), created.load());
  EXPECT_EQ(Count(*pool, "SELECT COUNT(*) FROM site_policies"), 1);
}

}  // namespace
}  // namespace propdesk::tickets
