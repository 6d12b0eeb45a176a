#pragma once

// Rate limits per principal and per site (token buckets), shared by every
// gateway replica through Redis without a Redis round trip per request.
//
// Leases. The bucket itself lives in Redis (tokens, last refill; refilled
// on Redis' own clock by a Lua script). A replica takes tokens from it in
// batches — a lease of LeaseSize(limit) tokens: 10 % of the burst, at most
// 64 or what the bucket refills in 50 ms, whichever is more — and admits
// requests from its lease in memory; it goes back to Redis only when a
// lease is used up. The 50 ms keeps a busy bucket's round trips at 20/s
// per replica however high its rate, when its burst holds half a second
// of it (with a flat 64, a 20,000/s bucket needed 312/s, each blocking a
// request and costing Redis CPU). A refusal is remembered until the moment
// Redis said a token comes back (nothing can be granted before), so a
// client hammering a full bucket costs no round trips either. Unused
// leased tokens lapse after `lease_ttl` (never returned: they count as
// spent).
//
// Never fails open: every admitted request spent a token taken from the
// shared bucket, so over any long interval a bucket admits at most burst +
// rate × time across all replicas, as without leases. Tolerance: tokens
// parked in leases can be spent up to `lease_ttl` after Redis granted them,
// so a short window may admit up to replicas × LeaseSize more than the
// bucket alone would; and a replica can refuse while another holds unused
// leased tokens (up to replicas × LeaseSize fewer). Small buckets (burst
// < 20) lease one token at a time: exact, one round trip per request.
//
// When Redis is down an in-process limiter with the same limits takes over
// and Redis is tried again after a pause, so an outage costs one failed
// round trip per pause, not one per request. (In-process buckets are per
// replica: during an outage a client can get up to replicas × its limit.
// That is the price of not failing closed.)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

// How much of a shared bucket one replica takes at a time: burst_fraction
// of the burst, but no more than max(max_tokens, the bucket's refill
// during `span`).
struct LeasePolicy {
  double burst_fraction = 0.1;  // of the bucket's burst, rounded down
  int max_tokens = 64;
  std::chrono::milliseconds span{50};
  // Leased tokens not spent by then lapse.
  std::chrono::milliseconds ttl{1000};
  // Lease entries kept before expired ones are dropped.
  size_t max_entries = 100000;
};

// Tokens one lease takes from `limit`'s bucket: at least 1.
int LeaseSize(const RateLimit& limit, const LeasePolicy& policy = {});

class RateLimiter {
 public:
  enum class Backend { kRedis, kLocal };

  // `redis` may be null (in-process only); it must outlive the limiter.
  RateLimiter(common::RedisClient* redis, std::chrono::milliseconds redis_retry_pause,
              SteadyClock clock = std::chrono::steady_clock::now, LeasePolicy lease = {});

  // Thread-safe. Decides from the leases in memory, or after one Redis
  // round trip when a bucket's lease is used up. `used` says whether the
  // shared buckets decided (kRedis) or the in-process fallback (kLocal).
  RateDecision Acquire(const std::vector<BucketRequest>& buckets, Backend* used = nullptr);

  // Round trips to Redis so far (tests, to show most requests need none).
  int64_t redis_round_trips() const { return redis_round_trips_.load(); }

  // The Lua script (exposed for tests).
  static const std::string& Script();

 private:
  struct Lease {
    int64_t tokens = 0;                                     // spendable here
    std::chrono::steady_clock::time_point expires{};        // tokens lapse then
    std::chrono::steady_clock::time_point refused_until{};  // Redis has none before
  };
  struct Grant {
    RateDecision decision;
    std::vector<int64_t> tokens;  // per bucket asked for, when allowed
    size_t refusing = 0;          // which bucket asked for refused, when not
  };

  // Takes a token of every bucket from the leases when each has one; else
  // reserves those it can and lists the buckets to lease (`to_lease`).
  // Returns a refusal remembered from Redis, if any bucket has one.
  std::optional<RateDecision> TakeFromLeases(const std::vector<BucketRequest>& buckets,
                                             std::chrono::steady_clock::time_point now,
                                             std::vector<size_t>* to_lease,
                                             std::vector<size_t>* reserved);
  void GiveBack(const std::vector<BucketRequest>& buckets, const std::vector<size_t>& reserved);
  // One round trip: leases for `which` of `buckets`, all or none.
  Grant LeaseFromRedis(const std::vector<BucketRequest>& buckets, const std::vector<size_t>& which);
  void SweepLeases(std::chrono::steady_clock::time_point now);  // mu_ held
  bool RedisPaused(std::chrono::steady_clock::time_point now) const;

  common::RedisClient* const redis_;
  const std::chrono::milliseconds retry_pause_;
  const SteadyClock clock_;
  const LeasePolicy policy_;
  const std::string script_sha_;
  LocalRateLimiter local_;
  std::atomic<int64_t> redis_round_trips_{0};
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point redis_paused_until_{};  // guarded by mu_
  std::unordered_map<std::string, Lease> leases_;               // guarded by mu_
};

}  // namespace propdesk::gateway
