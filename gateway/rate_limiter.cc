#include "gateway/rate_limiter.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/errors.h"

namespace propdesk::gateway {
namespace {

using Clock = std::chrono::steady_clock;

std::string Sha1Hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  char buf[3];
  for (unsigned char byte : digest) {
    std::snprintf(buf, sizeof buf, "%02x", byte);
    hex += buf;
  }
  return hex;
}

std::string FormatDouble(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", value);
  return buf;
}

}  // namespace

int LeaseSize(const RateLimit& limit, const LeasePolicy& policy) {
  const double share = std::floor(limit.burst * policy.burst_fraction);
  const double span_refill =
      std::floor(limit.per_second * std::chrono::duration<double>(policy.span).count());
  const double cap = std::max({1.0, static_cast<double>(policy.max_tokens), span_refill});
  return static_cast<int>(std::clamp(share, 1.0, cap));
}

const std::string& RateLimiter::Script() {
  // KEYS[i]: bucket i; ARGV[3i-2], ARGV[3i-1], ARGV[3i]: its tokens per
  // second, burst, and the tokens wanted (a lease, at least 1).
  // When every bucket has a whole token, each gives min(wanted, its whole
  // tokens) and the script returns {1, given_1, …, given_n}; otherwise
  // nothing is taken and it returns {0, retry_after_ms, index of the
  // bucket that refused}. Redis' own clock (TIME) keeps every gateway
  // replica on one time line; Redis 5+ replicates the script's effects, so
  // TIME before writes is fine.
  static const std::string script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tokens = {}
local worst_wait, worst = 0, 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[3 * i - 2]) / 1000
  local burst = tonumber(ARGV[3 * i - 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local have, ts = tonumber(state[1]), tonumber(state[2])
  if have == nil or ts == nil then have, ts = burst, now end
  have = math.min(burst, have + math.max(0, now - ts) * rate)
  tokens[i] = have
  if have < 1 then
    local wait = math.ceil((1 - have) / rate)
    if wait > worst_wait then worst_wait, worst = wait, i end
  end
end
if worst > 0 then return {0, worst_wait, worst} end
local given = {1}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[3 * i - 2]) / 1000
  local burst = tonumber(ARGV[3 * i - 1])
  local n = math.min(tonumber(ARGV[3 * i]), math.floor(tokens[i]))
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens[i] - n), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate) + 1000)
  given[i + 1] = n
end
return given
)lua";
  return script;
}

RateLimiter::RateLimiter(common::RedisClient* redis, std::chrono::milliseconds redis_retry_pause,
                         SteadyClock clock, LeasePolicy lease)
    : redis_(redis),
      retry_pause_(redis_retry_pause),
      clock_(clock),
      policy_(lease),
      script_sha_(Sha1Hex(Script())),
      local_(clock) {}

bool RateLimiter::RedisPaused(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  return now < redis_paused_until_;
}

RateDecision RateLimiter::Acquire(const std::vector<BucketRequest>& buckets, Backend* used) {
  const Clock::time_point now = clock_();
  if (redis_ != nullptr && !RedisPaused(now)) {
    std::vector<size_t> to_lease;
    std::vector<size_t> reserved;
    if (std::optional<RateDecision> refused = TakeFromLeases(buckets, now, &to_lease, &reserved)) {
      if (used != nullptr) *used = Backend::kRedis;
      return *refused;
    }
    if (to_lease.empty()) {
      if (used != nullptr) *used = Backend::kRedis;
      return {};
    }
    try {
      Grant grant = LeaseFromRedis(buckets, to_lease);
      if (used != nullptr) *used = Backend::kRedis;
      std::lock_guard<std::mutex> lock(mu_);
      if (!grant.decision.allowed) {
        // Nothing comes back into the shared bucket before then.
        leases_[buckets[to_lease[grant.refusing]].key].refused_until =
            now + grant.decision.retry_after;
        for (size_t i : reserved) leases_[buckets[i].key].tokens += 1;
        return grant.decision;
      }
      for (size_t k = 0; k < to_lease.size(); ++k) {
        Lease& lease = leases_[buckets[to_lease[k]].key];
        lease.tokens += grant.tokens[k] - 1;  // one is this request's
        lease.expires = now + policy_.ttl;
      }
      return {};
    } catch (const std::exception&) {
      // Redis is down (or answered nonsense): never fail open — the local
      // buckets decide until the pause is over.
      GiveBack(buckets, reserved);
      std::lock_guard<std::mutex> lock(mu_);
      redis_paused_until_ = clock_() + retry_pause_;
    }
  }
  if (used != nullptr) *used = Backend::kLocal;
  return local_.Acquire(buckets);
}

std::optional<RateDecision> RateLimiter::TakeFromLeases(const std::vector<BucketRequest>& buckets,
                                                        Clock::time_point now,
                                                        std::vector<size_t>* to_lease,
                                                        std::vector<size_t>* reserved) {
  std::lock_guard<std::mutex> lock(mu_);
  if (leases_.size() > policy_.max_entries) SweepLeases(now);
  std::optional<RateDecision> refused;
  std::vector<Lease*> leases;
  leases.reserve(buckets.size());
  for (const BucketRequest& bucket : buckets) {
    Lease& lease = leases_[bucket.key];
    if (lease.expires <= now) lease.tokens = 0;
    if (lease.refused_until > now) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(lease.refused_until - now);
      if (!refused || wait > refused->retry_after) {
        refused = RateDecision{false, wait, bucket.scope};
      }
    }
    leases.push_back(&lease);
  }
  if (refused) return refused;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (leases[i]->tokens >= 1) {
      leases[i]->tokens -= 1;
      reserved->push_back(i);
    } else {
      to_lease->push_back(i);
    }
  }
  return std::nullopt;
}

void RateLimiter::GiveBack(const std::vector<BucketRequest>& buckets,
                           const std::vector<size_t>& reserved) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i : reserved) leases_[buckets[i].key].tokens += 1;
}

void RateLimiter::SweepLeases(Clock::time_point now) {
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.expires <= now && it->second.refused_until <= now) {
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
}

RateLimiter::Grant RateLimiter::LeaseFromRedis(const std::vector<BucketRequest>& buckets,
                                               const std::vector<size_t>& which) {
  std::vector<std::string> argv = {"EVALSHA", script_sha_, std::to_string(which.size())};
  argv.reserve(3 + which.size() * 4);
  for (size_t i : which) argv.push_back(buckets[i].key);
  for (size_t i : which) {
    argv.push_back(FormatDouble(buckets[i].limit.per_second));
    argv.push_back(FormatDouble(buckets[i].limit.burst));
    argv.push_back(std::to_string(LeaseSize(buckets[i].limit, policy_)));
  }
  ++redis_round_trips_;
  common::RedisReply reply = redis_->Command(argv);
  if (reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0) {
    argv[0] = "EVAL";
    argv[1] = Script();
    ++redis_round_trips_;
    reply = redis_->Command(argv);
  }
  const bool shaped = reply.type == common::RedisReply::Type::kArray && !reply.elements.empty();
  Grant grant;
  if (shaped && reply.elements[0].integer == 1 && reply.elements.size() == which.size() + 1) {
    for (size_t k = 0; k < which.size(); ++k) {
      const int64_t given = reply.elements[k + 1].integer;
      if (given < 1) break;
      grant.tokens.push_back(given);
    }
    if (grant.tokens.size() == which.size()) return grant;
  } else if (shaped && reply.elements[0].integer == 0 && reply.elements.size() == 3) {
    const int64_t index = reply.elements[2].integer - 1;
    if (index >= 0 && index < static_cast<int64_t>(which.size())) {
      grant.decision.allowed = false;
      grant.decision.retry_after = std::chrono::milliseconds(reply.elements[1].integer);
      grant.decision.scope = buckets[which[index]].scope;
      grant.refusing = static_cast<size_t>(index);
      return grant;
    }
  }
  throw common::Unavailable("redis", "unexpected rate limit script reply: " + reply.str);
}

}  // namespace propdesk::gateway
