// TicketGauges against the run's real MariaDB: the leader sets the gauges of
// open work from the database; a replica that does not lead exports nothing.

#include "tickets/gauges.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/errors.h"
#include "common/leader.h"
#include "tickets/test/store_test_support.h"

namespace propdesk::tickets {
namespace {

using domain::Kind;
using domain::Ticket;
using std::chrono::days;
using std::chrono::hours;
using Labels = std::map<std::string, std::string>;

constexpr char kOpen[] = "propdesk_tickets_open_tickets";
constexpr char kCallbacksDue[] = "propdesk_tickets_callbacks_due";
constexpr char kCallbacksOverdue[] = "propdesk_tickets_callbacks_overdue";

class TicketGaugesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pool_ = test_support::MigratedPool("tickets_gauges").release(); }
  static void TearDownTestSuite() {
    delete pool_;
    pool_ = nullptr;
  }

  // The gauge with exactly these labels, or nullopt when not exported.
  static std::optional<double> Value(prometheus::Registry& registry, const std::string& name,
                                     const Labels& labels) {
    for (const prometheus::MetricFamily& family : registry.Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        Labels got;
        for (const auto& label : metric.label) got[label.name] = label.value;
        if (got == labels) return metric.gauge.value;
      }
    }
    return std::nullopt;
  }

  // How many series of our three families the registry exports, and which
  // label names they use.
  static size_t SeriesCount(prometheus::Registry& registry, std::set<std::string>* label_names) {
    size_t n = 0;
    for (const prometheus::MetricFamily& family : registry.Collect()) {
      if (family.name != kOpen && family.name != kCallbacksDue &&
          family.name != kCallbacksOverdue) {
        continue;
      }
      n += family.metric.size();
      for (const prometheus::ClientMetric& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label_names) label_names->insert(label.name);
        }
      }
    }
    return n;
  }

  static Labels Open(const std::string& site, const std::string& kind, const std::string& state) {
    return {{"site", site}, {"kind", kind}, {"state", state}};
  }
  static Labels Of(const std::string& site, const std::string& kind) {
    return {{"site", site}, {"kind", kind}};
  }

  static inline common::MysqlPool* pool_ = nullptr;
  static inline MysqlTicketStore store_;
};

TEST_F(TicketGaugesTest, LeaderRefreshSetsOpenTicketsAndCallbacksFromTheDatabase) {
  test_support::DomainWriter w(*pool_, store_);
  const domain::Timestamp now = std::chrono::system_clock::now();
  const Ticket open1 = w.Open("GA01", Kind::kComplaint, now - hours(1));
  w.Open("GA01", Kind::kComplaint, now - hours(1));
  w.Acknowledge(w.Open("GA01", Kind::kComplaint, now - hours(2)), now - hours(1));
  // Resolved now: callback due in 3 days (T-9).
  const Ticket resolved =
      w.Resolve(w.Acknowledge(w.Open("GA01", Kind::kComplaint, now - hours(3)), now - hours(2)),
                now - hours(1));
  // A repair resolved 8 days ago: its 7-day callback is overdue.
  w.Resolve(w.Acknowledge(w.Open("GA01", Kind::kRepair, now - days(9)), now - days(9)),
            now - days(8));
  w.Close(w.Resolve(w.Acknowledge(w.Open("GA01", Kind::kInquiry, now - hours(2)), now - hours(2)),
                    now - hours(1)),
          now - hours(1));

  prometheus::Registry registry;
  common::LeaderLock leader(*pool_, "gauges-test-values");
  TicketGauges gauges(*pool_, store_, leader, registry);
  ASSERT_TRUE(gauges.RefreshOnce(now));

  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "complaint", "open")), 2);
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "complaint", "acknowledged")), 1);
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "complaint", "resolved")), 1);
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "repair", "resolved")), 1);
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "inquiry", "closed")), std::nullopt);
  EXPECT_EQ(Value(registry, kCallbacksDue, Of("GA01", "complaint")), 1);
  EXPECT_EQ(Value(registry, kCallbacksOverdue, Of("GA01", "complaint")), 0);
  EXPECT_EQ(Value(registry, kCallbacksDue, Of("GA01", "repair")), 0);
  EXPECT_EQ(Value(registry, kCallbacksOverdue, Of("GA01", "repair")), 1);
  std::set<std::string> label_names;
  EXPECT_GT(SeriesCount(registry, &label_names), 0u);
  // Labelled by site, kind and state only: never by person or record id (§10).
  EXPECT_EQ(label_names, (std::set<std::string>{"site", "kind", "state"}));

  // Work moves on: the next refresh follows, and what emptied reads 0.
  w.Acknowledge(open1, now);
  w.Close(w.Callback(resolved, now, 5), now);
  ASSERT_TRUE(gauges.RefreshOnce(now));
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "complaint", "open")), 1);
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "complaint", "acknowledged")), 2);
  EXPECT_EQ(Value(registry, kOpen, Open("GA01", "complaint", "resolved")), 0);
  EXPECT_EQ(Value(registry, kCallbacksDue, Of("GA01", "complaint")), 0);
  EXPECT_EQ(Value(registry, kCallbacksOverdue, Of("GA01", "repair")), 1);
}

TEST_F(TicketGaugesTest, OnlyTheLeaderExportsAndAFormerLeaderRemovesItsSeries) {
  test_support::DomainWriter w(*pool_, store_);
  const domain::Timestamp now = std::chrono::system_clock::now();
  for (int i = 0; i < 3; ++i) w.Open("GB01", Kind::kComplaint, now - hours(1));

  // Two replicas of one service: the same lock name on the same database.
  prometheus::Registry registry_a, registry_b;
  common::LeaderLock lock_a(*pool_, "gauges-test-replicas");
  common::LeaderLock lock_b(*pool_, "gauges-test-replicas");
  TicketGauges replica_a(*pool_, store_, lock_a, registry_a);
  TicketGauges replica_b(*pool_, store_, lock_b, registry_b);
  const Labels open = Open("GB01", "complaint", "open");

  ASSERT_TRUE(replica_a.RefreshOnce(now));
  ASSERT_FALSE(replica_b.RefreshOnce(now));
  EXPECT_EQ(Value(registry_a, kOpen, open), 3);
  EXPECT_EQ(SeriesCount(registry_b, nullptr), 0u);  // summed over replicas: 3, not 6

  // A loses leadership (its lock connection gone, say) and B takes over: A
  // must not keep exporting what it computed while it led.
  lock_a.Release();
  ASSERT_TRUE(replica_b.RefreshOnce(now));
  ASSERT_FALSE(replica_a.RefreshOnce(now));
  EXPECT_EQ(Value(registry_b, kOpen, open), 3);
  EXPECT_EQ(SeriesCount(registry_a, nullptr), 0u);
}

TEST_F(TicketGaugesTest, TheBackgroundLoopRefreshesAndStopRemovesTheSeries) {
  test_support::DomainWriter w(*pool_, store_);
  w.Open("GC01", Kind::kRepair, std::chrono::system_clock::now());
  prometheus::Registry registry;
  TicketGauges gauges(*pool_, store_, registry, std::chrono::milliseconds(50));
  gauges.Start();
  const Labels open = Open("GC01", "repair", "open");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!Value(registry, kOpen, open) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
  }
  EXPECT_EQ(Value(registry, kOpen, open), 1);
  gauges.Stop();
  EXPECT_EQ(SeriesCount(registry, nullptr), 0u);

  EXPECT_THROW({ TicketGauges never(*pool_, store_, registry, std::chrono::milliseconds(0)); },
               common::Error);
}

}  // namespace
}  // namespace propdesk::tickets
