#include <algorithm>
#include <cmath>

#include "gateway/rate_limiter.h"

namespace propdesk::gateway {
namespace {

using Clock = std::chrono::steady_clock;

// Refills a bucket to `now`; returns its tokens.
double Refill(double tokens, Clock::time_point updated, Clock::time_point now,
              const RateLimit& limit) {
  const double elapsed = std::chrono::duration<double>(now - updated).count();
  return std::min(limit.burst, tokens + std::max(0.0, elapsed) * limit.per_second);
}

std::chrono::milliseconds WaitForOneToken(double tokens, const RateLimit& limit) {
  const double seconds = (1.0 - tokens) / limit.per_second;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000.0)));
}

}  // namespace

LocalRateLimiter::LocalRateLimiter(SteadyClock clock, size_t max_buckets)
    : clock_(std::move(clock)), max_buckets_(max_buckets) {}

RateDecision LocalRateLimiter::Acquire(const std::vector<BucketRequest>& requests) {
  const Clock::time_point now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > max_buckets_) Sweep(now);
  std::vector<Bucket*> buckets;
  RateDecision decision;
  for (const BucketRequest& request : requests) {
    auto [it, created] = buckets_.try_emplace(request.key);
    Bucket& bucket = it->second;
    if (created) {
      bucket.tokens = request.limit.burst;
      bucket.updated = now;
    }
    bucket.limit = request.limit;
    bucket.tokens = Refill(bucket.tokens, bucket.updated, now, request.limit);
    bucket.updated = now;
    if (bucket.tokens < 1.0) {
      const auto wait = WaitForOneToken(bucket.tokens, request.limit);
      if (decision.allowed || wait > decision.retry_after) {
        decision.allowed = false;
        decision.retry_after = wait;
        decision.scope = request.scope;
      }
    }
    buckets.push_back(&bucket);
  }
  if (decision.allowed) {
    for (Bucket* bucket : buckets) bucket->tokens -= 1.0;
  }
  return decision;
}

size_t LocalRateLimiter::bucket_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void LocalRateLimiter::Sweep(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const Bucket& b = it->second;
    if (Refill(b.tokens, b.updated, now, b.limit) >= b.limit.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace propdesk::gateway
