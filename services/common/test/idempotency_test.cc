// Rule C-8: repeating a request id returns the first result and never
// repeats the effect — with Redis, without Redis, and under concurrency.

#include "common/idempotency.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/migrations.h"
#include "propdesk/testing/v1/echo.pb.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::FreshDatabase;
using propdesk::testing::PrivateRedis;
using propdesk::testing::SharedRedis;
using propdesk::testing::UniqueSuffix;

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<MysqlPool>(FreshDatabase("idem", 16));
    ApplyMigrations(*pool_, {{"common", PROPDESK_COMMON_MIGRATIONS}});
    pool_->Acquire()->ExecuteRaw(
        "CREATE TABLE effects (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload VARCHAR(64))");
    service_ = "idemtest" + UniqueSuffix();
  }

  // The effect: one row in `effects`; the response names the row id.
  Idempotency::Effect InsertEffect(const std::string& payload) {
    return [payload](MysqlConnection& tx) {
      tx.Execute("INSERT INTO effects (payload) VALUES (?)", {payload});
      return "effect#" + std::to_string(tx.LastInsertId());
    };
  }

  int64_t EffectCount() {
    auto rs = pool_->Acquire()->Query("SELECT COUNT(*) FROM effects");
    rs->next();
    return rs->getInt64(1);
  }

  std::unique_ptr<MysqlPool> pool_;
  std::string service_;
};

TEST_F(IdempotencyTest, C8_RepeatReturnsFirstResultWithoutSecondEffect) {
  RedisClient redis(SharedRedis());
  Idempotency idem(*pool_, &redis, {.service = service_});
  const auto first = idem.Run("SZ01", "req-1", "fp-a", InsertEffect("a"));
  const auto second = idem.Run("SZ01", "req-1", "fp-a", InsertEffect("a"));
  EXPECT_FALSE(first.replayed);
  EXPECT_TRUE(second.replayed);
  EXPECT_EQ(first.response, second.response);
  EXPECT_EQ(EffectCount(), 1);
}

TEST_F(IdempotencyTest, C8_SameIdOnAnotherSiteIsAnotherRequest) {
  RedisClient redis(SharedRedis());
  Idempotency idem(*pool_, &redis, {.service = service_});
  const auto a = idem.Run("SZ01", "req-1", "fp", InsertEffect("a"));
  const auto b = idem.Run("SZ02", "req-1", "fp", InsertEffect("b"));
  EXPECT_FALSE(b.replayed);
  EXPECT_NE(a.response, b.response);
  EXPECT_EQ(EffectCount(), 2);
}

TEST_F(IdempotencyTest, C8_SameIdDifferentPayloadIsRejectedFromRedisAndFromMysql) {
  RedisClient redis(SharedRedis());
  Idempotency with_redis(*pool_, &redis, {.service = service_});
  Idempotency mysql_only(*pool_, nullptr, {.service = service_});
  with_redis.Run("SZ01", "req-1", "fp-a", InsertEffect("a"));
  for (Idempotency* idem : {&with_redis, &mysql_only}) {
    try {
      idem->Run("SZ01", "req-1", "fp-b", InsertEffect("b"));
      FAIL() << "a reused request id with another payload must be rejected";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_EQ(e.reason(), "REQUEST_ID_REUSED");
    }
  }
  EXPECT_EQ(EffectCount(), 1);
}

// 50 concurrent identical requests: one effect; every success carries the
// same response; the rest are told the first one is still in flight.
TEST_F(IdempotencyTest, C8_FiftyConcurrentIdenticalRequestsHaveOneEffect) {
  RedisClient redis(SharedRedis(16));
  Idempotency idem(*pool_, &redis, {.service = service_});
  std::atomic<int> go{0};
  std::vector<std::string> responses(50);
  std::vector<std::string> errors(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      while (go.load() == 0) std::this_thread::yield();
      try {
        responses[i] = idem.Run("SZ01", "burst", "fp", InsertEffect("x")).response;
      } catch (const Error& e) {
        errors[i] = e.reason();
      }
    });
  }
  go = 1;
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (int i = 0; i < 50; ++i) {
    if (errors[i].empty()) {
      distinct.insert(responses[i]);
    } else {
      EXPECT_EQ(errors[i], "REQUEST_IN_PROGRESS");
    }
  }
  EXPECT_EQ(EffectCount(), 1);
  ASSERT_EQ(distinct.size(), 1u);
  // Once settled, every repeat gets that one response.
  EXPECT_EQ(idem.Run("SZ01", "burst", "fp", InsertEffect("x")).response, *distinct.begin());
  EXPECT_EQ(EffectCount(), 1);
}

TEST_F(IdempotencyTest, C8_FiftyConcurrentIdenticalRequestsWithRedisStopped) {
  PrivateRedis private_redis;
  RedisClient redis(private_redis.Options(16));
  private_redis.Stop();
  Idempotency idem(*pool_, &redis, {.service = service_});
  std::atomic<int> go{0};
  std::vector<std::string> responses(50);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      while (go.load() == 0) std::this_thread::yield();
      try {
        responses[i] = idem.Run("SZ01", "burst", "fp", InsertEffect("x")).response;
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  go = 1;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << "without Redis, MySQL alone must answer every duplicate";
  EXPECT_EQ(EffectCount(), 1);
  EXPECT_EQ(std::set<std::string>(responses.begin(), responses.end()).size(), 1u);
}

TEST_F(IdempotencyTest, C8_RepeatAfterRedisLostItsDataIsAnsweredByMysql) {
  PrivateRedis private_redis;
  RedisClient redis(private_redis.Options());
  Idempotency idem(*pool_, &redis, {.service = service_});
  const auto first = idem.Run("SZ01", "req-1", "fp", InsertEffect("a"));
  private_redis.Stop();  // data gone (no persistence), and down
  const auto while_down = idem.Run("SZ01", "req-1", "fp", InsertEffect("a"));
  private_redis.Start();  // back, empty
  const auto after = idem.Run("SZ01", "req-1", "fp", InsertEffect("a"));
  EXPECT_TRUE(while_down.replayed);
  EXPECT_TRUE(after.replayed);
  EXPECT_EQ(while_down.response, first.response);
  EXPECT_EQ(after.response, first.response);
  EXPECT_EQ(EffectCount(), 1);
}

TEST_F(IdempotencyTest, C8_FailedEffectLeavesNothingAndCanBeRetried) {
  RedisClient redis(SharedRedis());
  Idempotency idem(*pool_, &redis, {.service = service_});
  EXPECT_THROW(idem.Run("SZ01", "req-1", "fp",
                        [](MysqlConnection& tx) -> std::string {
                          tx.Execute("INSERT INTO effects (payload) VALUES ('half')");
                          throw InvalidArgument("unit", "unit is required");
                        }),
               Error);
  EXPECT_EQ(EffectCount(), 0);
  const auto retry = idem.Run("SZ01", "req-1", "fp", InsertEffect("a"));
  EXPECT_FALSE(retry.replayed);
  EXPECT_EQ(EffectCount(), 1);
}

TEST_F(IdempotencyTest, C8_EmptyRequestIdIsNotDeduplicated) {
  Idempotency idem(*pool_, nullptr, {.service = service_});
  idem.Run("SZ01", "", "fp", InsertEffect("a"));
  idem.Run("SZ01", "", "fp", InsertEffect("a"));
  EXPECT_EQ(EffectCount(), 2);
}

TEST_F(IdempotencyTest, C8_MalformedRequestIdIsRejectedBeforeAnyEffect) {
  Idempotency idem(*pool_, nullptr, {.service = service_});
  for (const std::string& bad :
       {std::string(129, 'x'), std::string("has space"), std::string("tab\there")}) {
    try {
      idem.Run("SZ01", bad, "fp", InsertEffect("a"));
      FAIL() << "accepted request id '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    }
  }
  EXPECT_EQ(EffectCount(), 0);
}

// The steps a batch of creates takes (tickets/creator.h): one claim round
// trip tells each request where it stands.
TEST_F(IdempotencyTest, C8_ClaimOfManyRequestsTellsEachWhereItStands) {
  RedisClient redis(SharedRedis());
  Idempotency idem(*pool_, &redis, {.service = service_});
  const auto done = idem.Run("SZ01", "done", "fp-a", InsertEffect("a"));
  const IdempotentRequest in_flight{"SZ01", "in-flight", "fp"};
  ASSERT_EQ(idem.Claim({&in_flight}).front().state, IdempotencyClaim::State::kOwned);

  const IdempotentRequest repeat{"SZ01", "done", "fp-a"};
  const IdempotentRequest reused{"SZ01", "done", "fp-other"};
  const IdempotentRequest fresh{"SZ01", "fresh", "fp"};
  const IdempotentRequest anonymous{"SZ01", "", "fp"};
  const std::vector<IdempotencyClaim> claims =
      idem.Claim({&repeat, &in_flight, &fresh, &reused, &anonymous});
  ASSERT_EQ(claims.size(), 5u);
  EXPECT_EQ(claims[0].state, IdempotencyClaim::State::kReplay);
  EXPECT_EQ(claims[0].replay, done.response);
  auto reason_of = [](const IdempotencyClaim& claim) {
    try {
      std::rethrow_exception(claim.refusal);
    } catch (const Error& e) {
      return e.reason();
    }
    return std::string("not an Error");
  };
  EXPECT_EQ(claims[1].state, IdempotencyClaim::State::kRefused);
  EXPECT_EQ(reason_of(claims[1]), "REQUEST_IN_PROGRESS");
  EXPECT_EQ(claims[2].state, IdempotencyClaim::State::kOwned);
  EXPECT_EQ(claims[3].state, IdempotencyClaim::State::kRefused);
  EXPECT_EQ(reason_of(claims[3]), "REQUEST_ID_REUSED");
  EXPECT_EQ(claims[4].state, IdempotencyClaim::State::kUnknown);  // no id: not deduplicated
  // A malformed id is refused before anything is claimed.
  const IdempotentRequest bad{"SZ01", "has space", "fp"};
  EXPECT_THROW(idem.Claim({&fresh, &bad}), Error);
}

TEST_F(IdempotencyTest, C8_KeysOfManyRequestsCommitWithTheirEffectsAndAnswerRepeats) {
  RedisClient redis(SharedRedis());
  Idempotency idem(*pool_, &redis, {.service = service_});
  const IdempotentRequest a{"SZ01", "batch-a", "fp-a"};
  const IdempotentRequest b{"SZ01", "batch-b", "fp-b"};
  const std::vector<IdempotencyClaim> claims = idem.Claim({&a, &b});
  std::string response_a, response_b;
  pool_->WithTransaction([&](MysqlConnection& tx) {
    response_a = InsertEffect("a")(tx);
    response_b = InsertEffect("b")(tx);
    Idempotency::DeferKeys(tx, {{&a, &response_a}, {&b, &response_b}});
  });
  idem.Remember({{&a, &response_a}, {&b, &response_b}});
  EXPECT_EQ(EffectCount(), 2);
  // Repeats are answered from Redis, and from MySQL alone as well.
  Idempotency mysql_only(*pool_, nullptr, {.service = service_});
  for (Idempotency* answering : {&idem, &mysql_only}) {
    EXPECT_EQ(answering->Run("SZ01", "batch-a", "fp-a", InsertEffect("a")).response, response_a);
    EXPECT_EQ(answering->Run("SZ01", "batch-b", "fp-b", InsertEffect("b")).response, response_b);
  }
  EXPECT_EQ(EffectCount(), 2);
  // A key MySQL already holds fails the whole transaction it is deferred in.
  EXPECT_THROW(pool_->WithTransaction([&](MysqlConnection& tx) {
    InsertEffect("c")(tx);
    Idempotency::DeferKey(tx, a, "again");
  }),
               Error);
  EXPECT_EQ(EffectCount(), 2);
}

TEST_F(IdempotencyTest, C8_ClaimWithRedisStoppedLeavesMysqlToDecide) {
  PrivateRedis private_redis;
  RedisClient redis(private_redis.Options());
  private_redis.Stop();
  Idempotency idem(*pool_, &redis, {.service = service_});
  const IdempotentRequest a{"SZ01", "a", "fp"};
  const IdempotentRequest b{"SZ01", "b", "fp"};
  for (const IdempotencyClaim& claim : idem.Claim({&a, &b})) {
    EXPECT_EQ(claim.state, IdempotencyClaim::State::kUnknown);
  }
}

TEST(RequestFingerprint, C8_IgnoresRequestIdButNotPayload) {
  propdesk::testing::v1::EchoRequest a;
  a.set_site_id("SZ01");
  a.set_message("hello");
  a.set_request_id("r1");
  auto b = a;
  b.set_request_id("r2");
  auto c = a;
  c.set_message("hello!");
  EXPECT_EQ(RequestFingerprint(a), RequestFingerprint(b));
  EXPECT_NE(RequestFingerprint(a), RequestFingerprint(c));
  EXPECT_EQ(RequestFingerprint(a).size(), 64u);
}

}  // namespace
}  // namespace propdesk::common
