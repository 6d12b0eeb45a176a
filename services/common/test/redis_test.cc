// RedisClient against a real Redis: commands, binary safety, pipelining,
// timeouts, the pool bound, and behaviour across a Redis outage.

#include "common/redis.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::PrivateRedis;
using propdesk::testing::SharedRedis;
using propdesk::testing::UniqueSuffix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void ExpectUnavailable(const std::function<void()>& fn) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable) << e.what();
    EXPECT_EQ(e.reason(), "REDIS_UNAVAILABLE") << e.what();
  }
}

// Waits until the connection named `name` is blocked in BLPOP, as the
// server reports it (CLIENT LIST), so a test never guesses with a sleep.
bool AwaitBlockedInBlpop(RedisClient& observer, const std::string& name) {
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    const std::string clients = observer.Command({"CLIENT", "LIST"}).str;
    size_t line_start = 0;
    while (line_start < clients.size()) {
      size_t line_end = clients.find('\n', line_start);
      if (line_end == std::string::npos) line_end = clients.size();
      const std::string line = clients.substr(line_start, line_end - line_start);
      if (line.find(" name=" + name + " ") != std::string::npos &&
          line.find(" cmd=blpop") != std::string::npos) {
        return true;
      }
      line_start = line_end + 1;
    }
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

class RedisTest : public ::testing::Test {
 protected:
  std::string Key(const std::string& name) { return "propdesk:test:" + prefix_ + ":" + name; }
  const std::string prefix_ = UniqueSuffix();
};

TEST_F(RedisTest, BasicCommandsAndReplyTypes) {
  RedisClient redis(SharedRedis());
  EXPECT_TRUE(redis.Ping());

  const RedisReply set = redis.Command({"SET", Key("a"), "1"});
  EXPECT_EQ(set.type, RedisReply::Type::kStatus);
  EXPECT_EQ(set.str, "OK");

  const RedisReply get = redis.Command({"GET", Key("a")});
  EXPECT_EQ(get.type, RedisReply::Type::kString);
  EXPECT_EQ(get.str, "1");

  const RedisReply incr = redis.Command({"INCRBY", Key("a"), "41"});
  EXPECT_EQ(incr.type, RedisReply::Type::kInteger);
  EXPECT_EQ(incr.integer, 42);

  EXPECT_TRUE(redis.Command({"GET", Key("missing")}).is_nil());

  redis.Command({"RPUSH", Key("list"), "x", "y"});
  const RedisReply range = redis.Command({"LRANGE", Key("list"), "0", "-1"});
  ASSERT_EQ(range.type, RedisReply::Type::kArray);
  ASSERT_EQ(range.elements.size(), 2u);
  EXPECT_EQ(range.elements[1].str, "y");

  // An error reply is a value, not an exception: the connection stays usable.
  redis.Command({"SET", Key("text"), "not a number"});
  const RedisReply error = redis.Command({"INCR", Key("text")});
  EXPECT_TRUE(error.is_error());
  EXPECT_NE(error.str.find("not an integer"), std::string::npos) << error.str;
  EXPECT_EQ(redis.Command({"GET", Key("a")}).str, "42");
}

TEST_F(RedisTest, ArgumentsAndValuesAreBinarySafe) {
  RedisClient redis(SharedRedis());
  std::string value("a\0b\r\n*3\r\n$1\r\n", 15);
  for (int c = 0; c < 256; ++c) value += static_cast<char>(c);
  const std::string key = Key(std::string("bin\0 key with spaces", 21));
  ASSERT_EQ(redis.Command({"SET", key, value}).str, "OK");
  const RedisReply got = redis.Command({"GET", key});
  EXPECT_EQ(got.str, value);
  EXPECT_EQ(redis.Command({"STRLEN", key}).integer, static_cast<int64_t>(value.size()));
  EXPECT_TRUE(redis.Command({"GET", Key("bin")}).is_nil());  // the NUL is part of the key
  EXPECT_EQ(redis.Command({"SET", Key("empty"), ""}).str, "OK");
  EXPECT_EQ(redis.Command({"GET", Key("empty")}).type, RedisReply::Type::kString);
}

TEST_F(RedisTest, PipelineAnswersInOrderIncludingErrors) {
  RedisClient redis(SharedRedis());
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 100; ++i) commands.push_back({"INCR", Key("counter")});
  commands.push_back({"HSET", Key("counter"), "f", "v"});  // wrong type: an error reply
  commands.push_back({"GET", Key("counter")});
  const std::vector<RedisReply> replies = redis.Pipeline(commands);
  ASSERT_EQ(replies.size(), 102u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(replies[i].integer, i + 1);
  EXPECT_TRUE(replies[100].is_error());
  EXPECT_EQ(replies[101].str, "100");
  EXPECT_TRUE(redis.Pipeline({}).empty());
}

TEST_F(RedisTest, EmptyCommandIsRejected) {
  RedisClient redis(SharedRedis());
  try {
    redis.Command({});
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_TRUE(redis.Ping());  // the pooled connection was returned
}

TEST_F(RedisTest, CommandTimeoutFailsTheCommandAndTheNextOneReconnects) {
  RedisOptions options = SharedRedis(1);
  options.command_timeout = 200ms;
  RedisClient redis(options);
  const auto start = Clock::now();
  ExpectUnavailable([&] { redis.Command({"BLPOP", Key("never"), "5"}); });
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
  // The timed-out connection was dropped (a late reply must not be read as
  // the answer to the next command); the next command gets a fresh one.
  EXPECT_EQ(redis.Command({"SET", Key("after"), "x"}).str, "OK");
  EXPECT_EQ(redis.Command({"GET", Key("after")}).str, "x");
}

TEST_F(RedisTest, DedicatedConnectionOutlastsABlockingRead) {
  RedisClient redis(SharedRedis());
  auto conn = redis.Dedicated(3s);
  const std::string name = "dedicated-" + prefix_;
  ASSERT_EQ(conn->Command({"CLIENT", "SETNAME", name}).str, "OK");
  std::thread pusher([&] {
    EXPECT_TRUE(AwaitBlockedInBlpop(redis, name));  // the read really blocks first
    redis.Command({"RPUSH", Key("queue"), "job"});
  });
  const RedisReply reply = conn->Command({"BLPOP", Key("queue"), "2"});
  pusher.join();
  ASSERT_EQ(reply.type, RedisReply::Type::kArray);
  EXPECT_EQ(reply.elements[1].str, "job");
  EXPECT_TRUE(conn->healthy());
}

TEST_F(RedisTest, PoolIsBoundedAndCheckoutTimesOut) {
  RedisOptions options = SharedRedis(1);
  options.checkout_timeout = 100ms;
  options.command_timeout = 3s;
  RedisClient redis(options);
  RedisClient observer(SharedRedis(1));
  const std::string name = "holder-" + prefix_;
  ASSERT_EQ(redis.Command({"CLIENT", "SETNAME", name}).str, "OK");  // the pool's only connection
  std::thread holder([&] {
    redis.Command({"BLPOP", Key("hold"), "1"});  // keeps the only connection ~1 s
  });
  EXPECT_TRUE(AwaitBlockedInBlpop(observer, name));
  const auto start = Clock::now();
  ExpectUnavailable([&] { redis.Command({"PING"}); });
  EXPECT_LT(Clock::now() - start, 900ms);
  holder.join();
  EXPECT_TRUE(redis.Ping());
}

TEST_F(RedisTest, ConcurrentCommandsShareThePool) {
  RedisClient redis(SharedRedis(4));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) redis.Command({"INCR", Key("shared")});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(redis.Command({"GET", Key("shared")}).str, "1600");
}

TEST_F(RedisTest, UnreachableRedisIsUnavailable) {
  PrivateRedis server;
  RedisOptions options = server.Options(2);
  server.Stop();
  RedisClient redis(options);
  ExpectUnavailable([&] { redis.Command({"PING"}); });
  ExpectUnavailable([&] { redis.Pipeline({{"PING"}, {"PING"}}); });
  EXPECT_FALSE(redis.Ping());
}

TEST_F(RedisTest, UnavailableWhileDownThenReconnectsAfterRestart) {
  PrivateRedis server;
  RedisClient redis(server.Options(2));
  ASSERT_EQ(redis.Command({"SET", "k", "before"}).str, "OK");  // a pooled, idle connection

  server.Stop();
  ExpectUnavailable([&] { redis.Command({"GET", "k"}); });
  ExpectUnavailable([&] { redis.Command({"GET", "k"}); });  // each attempt fails fast, no hang
  EXPECT_FALSE(redis.Ping());

  server.Start();  // no persistence: the data is gone, the client is not
  EXPECT_TRUE(redis.Command({"GET", "k"}).is_nil());
  EXPECT_EQ(redis.Command({"SET", "k", "after"}).str, "OK");
}

TEST_F(RedisTest, IdleConnectionSurvivesARestartWithoutAFailedCommand) {
  PrivateRedis server;
  RedisClient redis(server.Options(1));
  ASSERT_TRUE(redis.Ping());  // leaves one idle connection in the pool
  server.Stop();
  server.Start();
  // The idle connection's socket was closed by the old server; it is noticed
  // before the command is sent, so the first command after the restart works.
  EXPECT_EQ(redis.Command({"SET", "k", "v"}).str, "OK");
}

}  // namespace
}  // namespace propdesk::common
