#pragma once

// Redis over hiredis 0.14 (RESP2): pooled synchronous connections with
// connect/command timeouts, reconnect, and binary-safe argv commands.
// A NULL reply from hiredis means the connection is dead: it is dropped and
// the command fails with Error(kUnavailable); callers decide whether to
// degrade (idempotency, rate limits) or fail.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace propdesk::common {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int pool_size = 8;
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds checkout_timeout{1000};
};

// Parses `host:port` (REDIS_ADDR). Throws Error(kInvalidArgument).
RedisOptions ParseRedisAddr(std::string_view addr);

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

class RedisConnection;

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command. Throws Error(kUnavailable) when Redis is unreachable
  // or the connection dies; an error reply is returned as kError, not thrown.
  RedisReply Command(const std::vector<std::string>& argv);
  // Sends several commands in one round trip (pipelining).
  std::vector<RedisReply> Pipeline(const std::vector<std::vector<std::string>>& commands);

  // A connection outside the pool, for blocking reads (XREADGROUP BLOCK).
  std::unique_ptr<RedisConnection> Dedicated(std::chrono::milliseconds command_timeout);

  bool Ping();
  const RedisOptions& options() const { return options_; }

 private:
  std::unique_ptr<RedisConnection> Take();
  void Give(std::unique_ptr<RedisConnection> conn);

  const RedisOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                        // guarded by mu_
};

// A single connection; reconnects on the next command after a failure.
class RedisConnection {
 public:
  RedisConnection(std::string host, int port, std::chrono::milliseconds connect_timeout,
                  std::chrono::milliseconds command_timeout);
  ~RedisConnection();
  RedisReply Command(const std::vector<std::string>& argv);
  std::vector<RedisReply> Pipeline(const std::vector<std::vector<std::string>>& commands);
  bool healthy() const { return ctx_ != nullptr; }

 private:
  void EnsureConnected();
  void Drop();

  std::string host_;
  int port_;
  std::chrono::milliseconds connect_timeout_;
  std::chrono::milliseconds command_timeout_;
  redisContext* ctx_ = nullptr;
};

}  // namespace propdesk::common
