#pragma once

// Rate limits per principal and per site (token buckets). The buckets live
// in Redis, shared by every gateway replica, updated by one Lua script per
// request (EVALSHA, falling back to EVAL after a script flush). When Redis
// is down an in-process limiter with the same limits takes over — the
// gateway never fails open — and Redis is tried again after a pause, so an
// outage costs one failed round trip per pause, not one per request.
// (In-process buckets are per replica: during an outage a client can get up
// to replicas × its limit. That is the price of not failing closed.)

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/redis.h"

namespace propdesk::gateway {

struct RateLimit {
  double per_second = 50;  // refill rate
  double burst = 100;      // bucket size
};

struct BucketRequest {
  std::string key;  // "propdesk:gateway:ratelimit:principal:<id>", …
  RateLimit limit;
  std::string scope;  // "principal", "site": reported when this bucket refuses
};

struct RateDecision {
  bool allowed = true;
  std::chrono::milliseconds retry_after{0};  // when refused: until a token is back
  std::string scope;                         // the bucket that refused
};

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

// In-process token buckets. Thread-safe. A request takes one token from
// every bucket or from none.
class LocalRateLimiter {
 public:
  explicit LocalRateLimiter(SteadyClock clock = std::chrono::steady_clock::now,
                            size_t max_buckets = 100000);
  RateDecision Acquire(const std::vector<BucketRequest>& buckets);
  size_t bucket_count() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
    RateLimit limit;
  };
  // Drops buckets that have refilled completely (they equal a new bucket).
  void Sweep(std::chrono::steady_clock::time_point now);

  const SteadyClock clock_;
  const size_t max_buckets_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

class RateLimiter {
 public:
  enum class Backend { kRedis, kLocal };

  // `redis` may be null (in-process only); it must outlive the limiter.
  RateLimiter(common::RedisClient* redis, std::chrono::milliseconds redis_retry_pause,
              SteadyClock clock = std::chrono::steady_clock::now);

  // Thread-safe; blocks for one Redis round trip at most.
  RateDecision Acquire(const std::vector<BucketRequest>& buckets, Backend* used = nullptr);

  // The Lua script (exposed for tests).
  static const std::string& Script();

 private:
  RateDecision AcquireFromRedis(const std::vector<BucketRequest>& buckets);
  bool RedisPaused(std::chrono::steady_clock::time_point now) const;

  common::RedisClient* const redis_;
  const std::chrono::milliseconds retry_pause_;
  const SteadyClock clock_;
  const std::string script_sha_;
  LocalRateLimiter local_;
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point redis_paused_until_{};  // guarded by mu_
};

}  // namespace propdesk::gateway
