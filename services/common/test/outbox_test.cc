// The transactional outbox and its relay (ARCHITECTURE.md §7) against real
// MariaDB and Redis: an event exists exactly when its transaction commits,
// the relay publishes every row once, in order, and only on the leader.

#include "common/outbox.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/idempotency.h"
#include "common/migrations.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::FreshDatabase;
using propdesk::testing::PrivateRedis;
using propdesk::testing::SharedRedis;
using propdesk::testing::UniqueSuffix;
using type::v1::DomainEvent;
using namespace std::chrono_literals;

OutboxEvent TicketEvent(int n) {
  return {.type = "ticket.created",
          .site_id = "SZ01",
          .aggregate_id = "TK-SZ01-240214" + std::to_string(100 + n),
          .payload = "{\"n\":" + std::to_string(n) + "}",
          .actor = "s-17"};
}

// Entries of `stream`, decoded, in stream order.
std::vector<DomainEvent> ReadStream(RedisClient& redis, const std::string& stream) {
  const RedisReply reply = redis.Command({"XRANGE", stream, "-", "+"});
  std::vector<DomainEvent> events;
  for (const RedisReply& entry : reply.elements) {
    StreamFields fields;
    const auto& kv = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) fields.emplace_back(kv[i].str, kv[i + 1].str);
    std::string problem;
    auto event = DecodeEventFields(fields, &problem);
    EXPECT_TRUE(event.has_value()) << problem;
    if (event) events.push_back(*event);
  }
  return events;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = FreshDatabase("outbox", 8);
    pool_ = std::make_unique<MysqlPool>(options_);
    ApplyMigrations(*pool_, {{"common", PROPDESK_COMMON_MIGRATIONS}});
    redis_ = std::make_unique<RedisClient>(SharedRedis());
    service_ = "outboxtest" + UniqueSuffix();
  }

  std::string Append(const OutboxEvent& event) {
    return pool_->WithTransaction([&](MysqlConnection& tx) { return AppendEvent(tx, event); });
  }

  int64_t Count(const std::string& where) {
    auto rs = pool_->Acquire()->Query("SELECT COUNT(*) FROM outbox WHERE " + where);
    rs->next();
    return rs->getInt64(1);
  }

  int64_t StreamLength(const std::string& stream) {
    return redis_->Command({"XLEN", stream}).integer;
  }

  MysqlOptions options_;
  std::unique_ptr<MysqlPool> pool_;
  std::unique_ptr<RedisClient> redis_;
  std::string service_;
};

TEST_F(OutboxTest, CommittedEventIsStoredWithItsFields) {
  const auto before = std::chrono::system_clock::now();
  const std::string id = Append(TicketEvent(1));
  EXPECT_TRUE(std::regex_match(id, std::regex("^[0-9a-f-]{36}$"))) << id;
  auto rs = pool_->Acquire()->Query(
      "SELECT event_type, site_id, aggregate_id, payload, actor, occurred_at_unix_ms, "
      "published_at IS NULL FROM outbox WHERE event_id = ?",
      {id});
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(rs->getString(1), "ticket.created");
  EXPECT_EQ(rs->getString(2), "SZ01");  // rule C-1
  EXPECT_EQ(rs->getString(3), "TK-SZ01-240214101");
  EXPECT_EQ(rs->getString(4), "{\"n\":1}");
  EXPECT_EQ(rs->getString(5), "s-17");  // rule C-3
  const int64_t before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  EXPECT_GE(rs->getInt64(6), before_ms);
  EXPECT_LT(rs->getInt64(6), before_ms + 60'000);
  EXPECT_TRUE(rs->getBoolean(7));
}

TEST_F(OutboxTest, SeveralEventsGoInOneInsertInOrderOrNotAtAll) {
  const std::vector<std::string> ids = pool_->WithTransaction([&](MysqlConnection& tx) {
    return AppendEvents(tx, {TicketEvent(1), TicketEvent(2)});
  });
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
  auto rs = pool_->Acquire()->Query("SELECT event_id, payload FROM outbox ORDER BY id");
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(rs->getString(1), ids[0]);
  EXPECT_EQ(rs->getString(2), "{\"n\":1}");
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(rs->getString(1), ids[1]);
  EXPECT_EQ(rs->getString(2), "{\"n\":2}");

  // One bad event: none of the batch is written.
  OutboxEvent bad = TicketEvent(3);
  bad.payload = "{not json";
  EXPECT_THROW(pool_->WithTransaction([&](MysqlConnection& tx) {
    AppendEvents(tx, {TicketEvent(3), bad});
  }),
               Error);
  EXPECT_EQ(Count("1"), 2);
}

TEST_F(OutboxTest, RolledBackTransactionLeavesNoEvent) {
  EXPECT_THROW(pool_->WithTransaction([&](MysqlConnection& tx) {
    AppendEvent(tx, TicketEvent(1));
    throw std::runtime_error("the change failed after the event was appended");
  }),
               std::exception);
  EXPECT_EQ(Count("1"), 0);
  OutboxRelay relay(*pool_, *redis_, service_);
  EXPECT_EQ(relay.PublishBatch(), 0u);
  EXPECT_EQ(StreamLength(relay.stream()), 0);
}

TEST_F(OutboxTest, BadEventsAreRejectedNamingTheField) {
  auto expect_invalid = [&](OutboxEvent event, const std::string& field) {
    try {
      Append(event);
      ADD_FAILURE() << "accepted a bad " << field;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  OutboxEvent e = TicketEvent(1);
  e.type = "";
  expect_invalid(e, "type");
  e = TicketEvent(1);
  e.site_id = "";
  expect_invalid(e, "site_id");
  e = TicketEvent(1);
  e.aggregate_id = "";
  expect_invalid(e, "aggregate_id");
  e = TicketEvent(1);
  e.actor = "";
  expect_invalid(e, "actor");
  e = TicketEvent(1);
  e.site_id = std::string(65, 'S');
  expect_invalid(e, "site_id");
  e = TicketEvent(1);
  e.payload = "{\"n\": 1";
  expect_invalid(e, "payload");
  EXPECT_EQ(Count("1"), 0);

  e = TicketEvent(1);
  e.payload = "";  // no body: stored as an empty object
  const std::string id = Append(e);
  auto rs = pool_->Acquire()->Query("SELECT payload FROM outbox WHERE event_id = ?", {id});
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(rs->getString(1), "{}");
}

TEST_F(OutboxTest, RelayPublishesEveryRowOnceInIdOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(Append(TicketEvent(i)));
  OutboxRelay relay(*pool_, *redis_, service_, {.batch = 10});
  EXPECT_EQ(relay.stream(), "propdesk:events:" + service_);
  EXPECT_EQ(relay.PublishBatch(), 10u);
  EXPECT_EQ(relay.PublishBatch(), 10u);
  EXPECT_EQ(relay.PublishBatch(), 5u);
  EXPECT_EQ(relay.PublishBatch(), 0u);  // nothing left: no republishing

  const std::vector<DomainEvent> events = ReadStream(*redis_, relay.stream());
  ASSERT_EQ(events.size(), 25u);
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(events[i].event_id(), ids[i]);
    EXPECT_EQ(events[i].type(), "ticket.created");
    EXPECT_EQ(events[i].site_id(), "SZ01");
    EXPECT_EQ(events[i].aggregate_id(), TicketEvent(i).aggregate_id);
    EXPECT_EQ(events[i].payload(), TicketEvent(i).payload);
    EXPECT_EQ(events[i].actor(), "s-17");
    EXPECT_GT(events[i].occurred_at_unix_ms(), 0);
  }
  EXPECT_EQ(Count("published_at IS NULL"), 0);
}

TEST_F(OutboxTest, RowCommittedAfterALaterRowIsStillPublished) {
  // Ids are assigned at insert, not at commit: the relay must not skip a row
  // whose transaction commits after a higher id was already published.
  std::promise<void> appended, commit;
  std::string slow_id;
  std::thread slow([&] {
    pool_->WithTransaction([&](MysqlConnection& tx) {
      slow_id = AppendEvent(tx, TicketEvent(1));
      tx.Query("SELECT 1");  // sends the deferred INSERT: its id is taken now
      appended.set_value();
      commit.get_future().wait();
    });
  });
  appended.get_future().wait();
  const std::string fast_id = Append(TicketEvent(2));
  OutboxRelay relay(*pool_, *redis_, service_);
  EXPECT_EQ(relay.PublishBatch(), 1u);
  commit.set_value();
  slow.join();
  EXPECT_EQ(relay.PublishBatch(), 1u);
  const std::vector<DomainEvent> events = ReadStream(*redis_, relay.stream());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_id(), fast_id);
  EXPECT_EQ(events[1].event_id(), slow_id);
}

TEST_F(OutboxTest, OnlyTheLeaderRelayPublishes) {
  MysqlPool other_pool(options_);  // a second replica of the same service
  OutboxRelay first(*pool_, *redis_, service_);
  OutboxRelay second(other_pool, *redis_, service_);
  for (int i = 0; i < 3; ++i) Append(TicketEvent(i));
  EXPECT_EQ(first.PublishBatch(), 3u);
  Append(TicketEvent(3));
  EXPECT_EQ(second.PublishBatch(), 0u);  // not the leader
  EXPECT_EQ(Count("published_at IS NULL"), 1);
  first.leader().Release();  // e.g. the first replica shuts down
  EXPECT_EQ(second.PublishBatch(), 1u);
  EXPECT_EQ(first.PublishBatch(), 0u);  // the second leads now
  EXPECT_EQ(StreamLength(first.stream()), 4);
}

TEST_F(OutboxTest, BackgroundRelayPublishesWhatIsCommitted) {
  OutboxRelay relay(*pool_, *redis_, service_, {.batch = 7, .poll_interval = 20ms});
  relay.Start();
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(Append(TicketEvent(i)));
  EXPECT_TRUE(WaitFor([&] { return StreamLength(relay.stream()) >= 30; }));
  relay.Stop();
  const std::vector<DomainEvent> events = ReadStream(*redis_, relay.stream());
  ASSERT_EQ(events.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(events[i].event_id(), ids[i]);
  EXPECT_EQ(Count("published_at IS NULL"), 0);
}

TEST_F(OutboxTest, RedisOutageKeepsRowsUntilTheyCanBePublished) {
  PrivateRedis server;
  RedisClient redis(server.Options());
  OutboxRelay relay(*pool_, redis, service_);
  for (int i = 0; i < 5; ++i) Append(TicketEvent(i));
  server.Stop();
  try {
    relay.PublishBatch();
    ADD_FAILURE() << "published with Redis down";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
  }
  EXPECT_EQ(Count("published_at IS NULL"), 5);
  server.Start();
  EXPECT_EQ(relay.PublishBatch(), 5u);
  EXPECT_EQ(redis.Command({"XLEN", relay.stream()}).integer, 5);
}

TEST_F(OutboxTest, StreamIsTrimmedWhenAMaximumLengthIsSet) {
  for (int i = 0; i < 400; ++i) Append(TicketEvent(i));
  OutboxRelay relay(*pool_, *redis_, service_, {.batch = 400, .max_stream_length = 50});
  EXPECT_EQ(relay.PublishBatch(), 400u);
  // MAXLEN ~ trims whole macro nodes (100 entries by default), so "about 50".
  const int64_t length = StreamLength(relay.stream());
  EXPECT_GE(length, 50);
  EXPECT_LE(length, 200);
}

TEST_F(OutboxTest, PurgeRemovesOnlyOldPublishedRows) {
  for (int i = 0; i < 4; ++i) Append(TicketEvent(i));
  OutboxRelay relay(*pool_, *redis_, service_, {.batch = 3});
  EXPECT_EQ(relay.PublishBatch(), 3u);
  EXPECT_EQ(relay.PurgePublished(3600s), 0u);  // published just now: kept
  pool_->Acquire()->Execute(
      "UPDATE outbox SET published_at = UTC_TIMESTAMP(6) - INTERVAL 2 HOUR "
      "WHERE published_at IS NOT NULL");
  EXPECT_EQ(relay.PurgePublished(3600s), 3u);
  EXPECT_EQ(Count("1"), 1);  // the unpublished row is never purged
  EXPECT_EQ(Count("published_at IS NULL"), 1);
}

// C-8 keys are kept for `idempotency_retention`, then purged by the
// leader's housekeeping; recent keys stay.
TEST_F(OutboxTest, C8_HousekeepingPurgesOnlyOldIdempotencyKeys) {
  auto conn = pool_->Acquire();
  conn->Execute(
      "INSERT INTO idempotency_keys (site_id, request_id, fingerprint, created_at) VALUES "
      "('SZ01', 'old', 'f', UTC_TIMESTAMP(6) - INTERVAL 8 DAY), ('SZ01', 'new', 'f', "
      "UTC_TIMESTAMP(6))");
  EXPECT_EQ(PurgeIdempotencyKeys(*pool_, std::chrono::hours(24 * 7)), 1u);
  conn->Execute(
      "INSERT INTO idempotency_keys (site_id, request_id, fingerprint, created_at) VALUES "
      "('SZ01', 'old2', 'f', UTC_TIMESTAMP(6) - INTERVAL 3 HOUR)");
  OutboxRelay relay(*pool_, *redis_, service_,
                    {.poll_interval = 10ms,
                     .idempotency_retention = std::chrono::hours(2),
                     .purge_interval = 10ms});
  relay.Start();
  EXPECT_TRUE(WaitFor([&] {
    auto rs = pool_->Acquire()->Query("SELECT COUNT(*) FROM idempotency_keys");
    rs->next();
    return rs->getInt64(1) == 1;
  }));
  relay.Stop();
  auto rs = conn->Query("SELECT request_id FROM idempotency_keys");
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(std::string(rs->getString(1)), "new");
}

}  // namespace
}  // namespace propdesk::common
