// Pure functions of the events/scheduling part of common: REDIS_ADDR
// parsing, event ids, the stream wire format, lock names, SQL datetimes.

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>

#include "common/errors.h"
#include "common/leader.h"
#include "common/outbox.h"
#include "common/redis.h"
#include "common/windowed_scan.h"

namespace propdesk::common {
namespace {

using std::chrono::microseconds;
using std::chrono::sys_days;
using namespace std::chrono_literals;

void ExpectInvalid(const std::function<void()>& fn) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << e.what();
  }
}

TEST(ParseRedisAddr, HostAndPort) {
  const RedisOptions o = ParseRedisAddr("redis.internal:6380");
  EXPECT_EQ(o.host, "redis.internal");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(ParseRedisAddr("127.0.0.1:1").port, 1);
  EXPECT_EQ(ParseRedisAddr("127.0.0.1:65535").port, 65535);
}

TEST(ParseRedisAddr, RejectsMalformedAddresses) {
  for (const char* bad : {"", "redis", "redis:", ":6379", "redis:abc", "redis:63x9", "redis:0",
                          "redis:65536", "redis:-1", "redis: 6379"}) {
    SCOPED_TRACE(bad);
    try {
      ParseRedisAddr(bad);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("REDIS_ADDR"), std::string::npos) << e.what();
    }
  }
}

TEST(NewEventId, IsUuidV4AndUnique) {
  const std::regex uuid_v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewEventId();
    ASSERT_TRUE(std::regex_match(id, uuid_v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(EventStreamName, FollowsTheArchitectureNaming) {
  EXPECT_EQ(EventStreamName("tickets"), "propdesk:events:tickets");
}

TEST(EventWireFormat, RoundTripsEveryField) {
  type::v1::DomainEvent event;
  event.set_event_id("3f0c…-id");
  event.set_type("ticket.created");
  event.set_site_id("SZ01");
  event.set_aggregate_id("TK-SZ01-240214001");
  event.set_occurred_at_unix_ms(1707899400123);
  event.set_payload(std::string("{\"note\":\"a\\u0000b\"}\0tail", 24));
  event.set_actor("s-17");
  std::string problem;
  const auto decoded = DecodeEventFields(EncodeEventFields(event), &problem);
  ASSERT_TRUE(decoded.has_value()) << problem;
  EXPECT_EQ(decoded->SerializeAsString(), event.SerializeAsString());
}

TEST(EventWireFormat, IgnoresUnknownFieldsFromNewerProducers) {
  std::string problem;
  const auto decoded =
      DecodeEventFields({{"event_id", "e1"}, {"type", "t"}, {"future_field", "x"}}, &problem);
  ASSERT_TRUE(decoded.has_value()) << problem;
  EXPECT_EQ(decoded->event_id(), "e1");
}

TEST(EventWireFormat, RejectsEntriesThatAreNotEvents) {
  std::string problem;
  EXPECT_FALSE(DecodeEventFields({{"type", "t"}}, &problem).has_value());
  EXPECT_NE(problem.find("event_id"), std::string::npos);
  EXPECT_FALSE(DecodeEventFields({{"event_id", "e1"}}, &problem).has_value());
  EXPECT_NE(problem.find("type"), std::string::npos);
  EXPECT_FALSE(DecodeEventFields(
                   {{"event_id", "e1"}, {"type", "t"}, {"occurred_at_unix_ms", "12x"}}, &problem)
                   .has_value());
  EXPECT_NE(problem.find("occurred_at_unix_ms"), std::string::npos);
}

TEST(ScopedLockName, ScopesToTheDatabase) {
  EXPECT_EQ(ScopedLockName("propdesk_tickets", "outbox:tickets"),
            "propdesk_tickets:outbox:tickets");
  EXPECT_EQ(ScopedLockName("", "outbox:tickets"), "outbox:tickets");
  EXPECT_NE(ScopedLockName("db_a", "x"), ScopedLockName("db_b", "x"));
}

TEST(ScopedLockName, HashesNamesOverMysqlsLimit) {
  const std::string long_a(100, 'a');
  const std::string long_b = std::string(99, 'a') + "b";
  const std::string a = ScopedLockName("db", long_a);
  EXPECT_LE(a.size(), 64u);
  EXPECT_EQ(a, ScopedLockName("db", long_a));  // stable
  EXPECT_NE(a, ScopedLockName("db", long_b));
  EXPECT_NE(a, ScopedLockName("other", long_a));
}

TEST(SqlDateTime, FormatsUtcWithMicroseconds) {
  const auto t = sys_days{2024y / 2 / 14} + 8h + 30min + 5s + 123456us;
  EXPECT_EQ(ToSqlDateTime(t), "2024-02-14 08:30:05.123456");
  EXPECT_EQ(ToSqlDateTime(sys_days{1970y / 1 / 1}), "1970-01-01 00:00:00.000000");
  // Sub-microsecond digits go toward the past, as DATETIME(6) stores them.
  EXPECT_EQ(ToSqlDateTime(t + std::chrono::nanoseconds(999)), "2024-02-14 08:30:05.123456");
}

TEST(SqlDateTime, ParsesWhatItFormatsAndShorterFractions) {
  const auto t = sys_days{2031y / 12 / 31} + 23h + 59min + 59s + 999999us;
  EXPECT_EQ(FromSqlDateTime(ToSqlDateTime(t)), t);
  EXPECT_EQ(FromSqlDateTime("2024-02-14 08:30:05"), sys_days{2024y / 2 / 14} + 8h + 30min + 5s);
  EXPECT_EQ(FromSqlDateTime("2024-02-14 08:30:05.5"),
            sys_days{2024y / 2 / 14} + 8h + 30min + 5s + 500ms);
  EXPECT_EQ(FromSqlDateTime("2024-02-29 00:00:00.000001"), sys_days{2024y / 2 / 29} + 1us);
}

TEST(SqlDateTime, RejectsAnythingElse) {
  for (const char* bad : {"", "garbage", "2024-02-14", "2024-02-14T08:30:05",
                          "2024-02-14 08:30:05.", "2024-02-14 08:30:05.1234567",
                          "2024-13-01 00:00:00", "2023-02-29 00:00:00", "2024-02-14 24:00:00",
                          "2024-02-14 08:60:00", "2024-02-14 08:30:05Z", "2024-2-14 08:30:05"}) {
    SCOPED_TRACE(bad);
    ExpectInvalid([&] { FromSqlDateTime(bad); });
  }
}

}  // namespace
}  // namespace propdesk::common
