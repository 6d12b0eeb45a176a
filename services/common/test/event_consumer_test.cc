// EventConsumer against real MariaDB and Redis (ARCHITECTURE.md §7):
// at-least-once delivery with exactly-once effect — redeliveries and
// duplicate publishes have no second effect, a consumer that dies mid-batch
// is taken over, poison entries are parked after max_deliveries.

#include "common/event_consumer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::FreshDatabase;
using propdesk::testing::SharedRedis;
using propdesk::testing::UniqueSuffix;
using type::v1::DomainEvent;
using namespace std::chrono_literals;

class EventConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<MysqlPool>(FreshDatabase("consumer", 8));
    ApplyMigrations(*pool_, {{"common", PROPDESK_COMMON_MIGRATIONS}});
    pool_->Acquire()->ExecuteRaw(
        "CREATE TABLE effects (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
        "event_id VARCHAR(64) NOT NULL, consumer VARCHAR(64) NOT NULL)");
    redis_ = std::make_unique<RedisClient>(SharedRedis());
    stream_ = "propdesk:events:consumertest" + UniqueSuffix();
  }

  EventConsumerOptions Options(const std::string& consumer) {
    EventConsumerOptions options;
    options.stream = stream_;
    options.group = "effects";
    options.consumer = consumer;
    options.batch = 8;
    options.block = 20ms;
    options.claim_min_idle = 100ms;
    options.max_deliveries = 3;
    return options;
  }

  // The handler's effect: one row per call, in the consumer's transaction.
  EventHandler RecordAs(const std::string& consumer) {
    return [consumer](MysqlConnection& tx, const DomainEvent& event) {
      tx.Execute("INSERT INTO effects (event_id, consumer) VALUES (?, ?)",
                 {event.event_id(), consumer});
    };
  }

  DomainEvent MakeEvent(const std::string& type = "ticket.created") {
    DomainEvent event;
    event.set_event_id(NewEventId());
    event.set_type(type);
    event.set_site_id("SZ01");
    event.set_aggregate_id("TK-SZ01-240214001");
    event.set_occurred_at_unix_ms(1707899400000);
    event.set_payload("{}");
    event.set_actor("s-17");
    return event;
  }

  void Publish(const DomainEvent& event) { PublishFields(EncodeEventFields(event)); }

  void PublishFields(const StreamFields& fields) {
    std::vector<std::string> argv = {"XADD", stream_, "*"};
    for (const auto& [k, v] : fields) {
      argv.push_back(k);
      argv.push_back(v);
    }
    ASSERT_FALSE(redis_->Command(argv).is_error());
  }

  std::vector<DomainEvent> PublishMany(int n) {
    std::vector<DomainEvent> events;
    for (int i = 0; i < n; ++i) {
      events.push_back(MakeEvent());
      Publish(events.back());
    }
    return events;
  }

  // event id → how many times its effect happened.
  std::map<std::string, int> Effects() {
    std::map<std::string, int> out;
    auto rs = pool_->Acquire()->Query("SELECT event_id FROM effects");
    while (rs->next()) ++out[rs->getString(1)];
    return out;
  }

  int64_t EffectCount() {
    auto rs = pool_->Acquire()->Query("SELECT COUNT(*) FROM effects");
    rs->next();
    return rs->getInt64(1);
  }

  int64_t Pending(const std::string& group = "effects") {
    const RedisReply summary = redis_->Command({"XPENDING", stream_, group});
    return summary.elements.empty() ? 0 : summary.elements[0].integer;
  }

  // Polls `consumer` until `done` holds (or 10 s pass).
  bool PollUntil(EventConsumer& consumer, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      consumer.PollOnce();
    }
    return true;
  }

  void ExpectEachOnce(const std::vector<DomainEvent>& events) {
    const auto effects = Effects();
    EXPECT_EQ(effects.size(), events.size());
    for (const DomainEvent& e : events) {
      const auto it = effects.find(e.event_id());
      EXPECT_TRUE(it != effects.end() && it->second == 1)
          << e.event_id() << " had " << (it == effects.end() ? 0 : it->second) << " effects";
    }
  }

  std::unique_ptr<MysqlPool> pool_;
  std::unique_ptr<RedisClient> redis_;
  std::string stream_;
};

TEST_F(EventConsumerTest, ProcessesEachEventOnceAndAcknowledges) {
  const auto events = PublishMany(20);  // published before the group exists: start id 0
  EventConsumer consumer(*pool_, *redis_, Options("c1"), RecordAs("c1"));
  EXPECT_TRUE(PollUntil(consumer, [&] { return EffectCount() >= 20; }));
  EXPECT_EQ(consumer.PollOnce(), 0u);  // nothing new, nothing redelivered
  ExpectEachOnce(events);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventConsumerTest, RedeliveredEventHasNoSecondEffect) {
  const DomainEvent event = MakeEvent();
  Publish(event);
  Publish(event);  // the relay crashed between XADD and marking the row
  EventConsumer consumer(*pool_, *redis_, Options("c1"), RecordAs("c1"));
  EXPECT_EQ(consumer.PollOnce(), 2u);  // both settled and acknowledged
  ExpectEachOnce({event});
  EXPECT_EQ(Pending(), 0);

  Publish(event);  // and once more, much later
  EXPECT_EQ(consumer.PollOnce(), 1u);
  ExpectEachOnce({event});
}

TEST_F(EventConsumerTest, ConsumerKilledAfterReadingIsTakenOverWithEachEventOnce) {
  const auto events = PublishMany(10);
  // Consumer A joins the group, reads a batch and dies before handling or
  // acknowledging any of it.
  ASSERT_FALSE(
      redis_->Command({"XGROUP", "CREATE", stream_, "effects", "0", "MKSTREAM"}).is_error());
  const RedisReply read = redis_->Command(
      {"XREADGROUP", "GROUP", "effects", "a", "COUNT", "10", "STREAMS", stream_, ">"});
  ASSERT_EQ(read.elements.at(0).elements.at(1).elements.size(), 10u);
  ASSERT_EQ(Pending(), 10);
  EventConsumer b(*pool_, *redis_, Options("b"), RecordAs("b"));
  EXPECT_TRUE(PollUntil(b, [&] { return Pending() == 0; }));
  ExpectEachOnce(events);
  auto rs = pool_->Acquire()->Query("SELECT COUNT(*) FROM effects WHERE consumer = 'b'");
  rs->next();
  EXPECT_EQ(rs->getInt64(1), 10);
}

TEST_F(EventConsumerTest, ConsumerFailingMidBatchIsTakenOverWithEachEventOnce) {
  const auto events = PublishMany(8);
  // A handles three events, then its handler starts failing (it is dying).
  std::atomic<int> a_calls{0};
  EventConsumer a(*pool_, *redis_, Options("a"),
                  [&](MysqlConnection& tx, const DomainEvent& event) {
                    if (++a_calls > 3) throw std::runtime_error("consumer a is going down");
                    RecordAs("a")(tx, event);
                  });
  EXPECT_EQ(a.PollOnce(), 3u);
  EXPECT_EQ(EffectCount(), 3);
  EXPECT_EQ(Pending(), 5);

  EventConsumer b(*pool_, *redis_, Options("b"), RecordAs("b"));
  EXPECT_TRUE(PollUntil(b, [&] { return Pending() == 0; }));
  ExpectEachOnce(events);
  auto rs = pool_->Acquire()->Query("SELECT COUNT(*) FROM effects WHERE consumer = 'b'");
  rs->next();
  EXPECT_EQ(rs->getInt64(1), 5);
}

TEST_F(EventConsumerTest, PoisonEventIsDeadLetteredAfterMaxDeliveries) {
  const DomainEvent poison = MakeEvent("ticket.poison");
  const DomainEvent good = MakeEvent();
  Publish(poison);
  Publish(good);
  std::atomic<int> poison_calls{0};
  EventConsumerOptions options = Options("c1");
  options.claim_min_idle = 0ms;  // retry at once; one consumer, so nothing is stolen
  EventConsumer consumer(*pool_, *redis_, options,
                         [&](MysqlConnection& tx, const DomainEvent& event) {
                           if (event.type() == "ticket.poison") {
                             ++poison_calls;
                             throw std::runtime_error("cannot handle this one");
                           }
                           RecordAs("c1")(tx, event);
                         });
  const std::string dead = stream_ + ":dead";
  EXPECT_TRUE(PollUntil(consumer, [&] { return redis_->Command({"XLEN", dead}).integer > 0; }));
  EXPECT_EQ(poison_calls.load(), 3);  // max_deliveries attempts, then parked
  ExpectEachOnce({good});
  EXPECT_EQ(Pending(), 0);

  const RedisReply parked = redis_->Command({"XRANGE", dead, "-", "+"});
  ASSERT_EQ(parked.elements.size(), 1u);
  std::map<std::string, std::string> fields;
  const auto& kv = parked.elements[0].elements[1].elements;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) fields[kv[i].str] = kv[i + 1].str;
  EXPECT_EQ(fields["event_id"], poison.event_id());
  EXPECT_EQ(fields["dead_letter_stream"], stream_);
  EXPECT_EQ(fields["dead_letter_group"], "effects");
  EXPECT_EQ(fields["dead_letter_deliveries"], "4");
  EXPECT_NE(fields["dead_letter_reason"].find("delivered 4 times"), std::string::npos);

  consumer.PollOnce();
  EXPECT_EQ(poison_calls.load(), 3);  // parked means gone from the group
}

TEST_F(EventConsumerTest, MalformedEntryIsDeadLetteredAtOnce) {
  PublishFields({{"type", "ticket.created"}, {"payload", "{}"}});  // no event_id
  const DomainEvent good = MakeEvent();
  Publish(good);
  int calls = 0;
  EventConsumer consumer(*pool_, *redis_, Options("c1"),
                         [&](MysqlConnection& tx, const DomainEvent& event) {
                           ++calls;
                           RecordAs("c1")(tx, event);
                         });
  EXPECT_EQ(consumer.PollOnce(), 2u);
  EXPECT_EQ(calls, 1);
  ExpectEachOnce({good});
  EXPECT_EQ(redis_->Command({"XLEN", stream_ + ":dead"}).integer, 1);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventConsumerTest, DependencyOutageDoesNotCountTowardsDeadLettering) {
  const DomainEvent event = MakeEvent();
  Publish(event);
  EventConsumerOptions options = Options("c1");
  options.claim_min_idle = 0ms;
  options.max_deliveries = 1;
  std::atomic<bool> peer_down{true};
  EventConsumer consumer(*pool_, *redis_, options, [&](MysqlConnection& tx, const DomainEvent& e) {
    if (peer_down) throw Unavailable("peer", "peer is down");
    RecordAs("c1")(tx, e);
  });
  for (int i = 0; i < 3; ++i) {  // three polls, each a delivery, during the outage
    try {
      consumer.PollOnce();
      ADD_FAILURE() << "an outage must surface from PollOnce";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    }
  }
  peer_down = false;
  EXPECT_EQ(consumer.PollOnce(), 1u);  // handled, not dead-lettered
  ExpectEachOnce({event});
  EXPECT_EQ(redis_->Command({"XLEN", stream_ + ":dead"}).integer, 0);
}

TEST_F(EventConsumerTest, TwoRunningConsumersShareTheWorkWithEachEventOnce) {
  EventConsumer a(*pool_, *redis_, Options("a"), RecordAs("a"));
  EventConsumer b(*pool_, *redis_, Options("b"), RecordAs("b"));
  a.Start();
  b.Start();
  const auto events = PublishMany(200);
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (EffectCount() < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  a.Stop();
  b.Stop();
  ExpectEachOnce(events);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventConsumerTest, RecreatesItsGroupWhenTheStreamIsDeleted) {
  EventConsumer consumer(*pool_, *redis_, Options("c1"), RecordAs("c1"));
  EXPECT_EQ(consumer.PollOnce(), 0u);  // creates the group on an empty stream
  redis_->Command({"DEL", stream_});
  EXPECT_EQ(consumer.PollOnce(), 0u);  // NOGROUP: not an error
  const auto events = PublishMany(3);
  EXPECT_TRUE(PollUntil(consumer, [&] { return EffectCount() >= 3; }));
  ExpectEachOnce(events);
}

TEST_F(EventConsumerTest, RejectsIncompleteOptions) {
  auto expect_invalid = [&](EventConsumerOptions options, EventHandler handler) {
    try {
      EventConsumer c(*pool_, *redis_, options, handler);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    }
  };
  EventConsumerOptions o = Options("c1");
  o.stream = "";
  expect_invalid(o, RecordAs("c1"));
  o = Options("c1");
  o.group = "";
  expect_invalid(o, RecordAs("c1"));
  o = Options("");
  expect_invalid(o, RecordAs("c1"));
  o = Options("c1");
  o.max_deliveries = 0;
  expect_invalid(o, RecordAs("c1"));
  expect_invalid(Options("c1"), nullptr);
}

}  // namespace
}  // namespace propdesk::common
