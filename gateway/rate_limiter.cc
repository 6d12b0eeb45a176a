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

const std::string& RateLimiter::Script() {
  // KEYS[i]: bucket i; ARGV[2i-1], ARGV[2i]: its tokens per second and burst.
  // Returns {allowed 1|0, retry_after_ms, index of the refusing bucket}.
  // Redis' own clock (TIME) keeps every gateway replica on one time line;
  // Redis 5+ replicates the script's effects, so TIME before writes is fine.
  static const std::string script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tokens = {}
local worst_wait, worst = 0, 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i - 1]) / 1000
  local burst = tonumber(ARGV[2 * i])
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
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i - 1]) / 1000
  local burst = tonumber(ARGV[2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens[i] - 1), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate) + 1000)
end
return {1, 0, 0}
)lua";
  return script;
}

RateLimiter::RateLimiter(common::RedisClient* redis, std::chrono::milliseconds redis_retry_pause,
                         SteadyClock clock)
    : redis_(redis),
      retry_pause_(redis_retry_pause),
      clock_(clock),
      script_sha_(Sha1Hex(Script())),
      local_(clock) {}

bool RateLimiter::RedisPaused(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  return now < redis_paused_until_;
}

RateDecision RateLimiter::Acquire(const std::vector<BucketRequest>& buckets, Backend* used) {
  if (redis_ != nullptr && !RedisPaused(clock_())) {
    try {
      RateDecision decision = AcquireFromRedis(buckets);
      if (used != nullptr) *used = Backend::kRedis;
      return decision;
    } catch (const std::exception&) {
      // Redis is down (or answered nonsense): never fail open — the local
      // buckets decide until the pause is over.
      std::lock_guard<std::mutex> lock(mu_);
      redis_paused_until_ = clock_() + retry_pause_;
    }
  }
  if (used != nullptr) *used = Backend::kLocal;
  return local_.Acquire(buckets);
}

RateDecision RateLimiter::AcquireFromRedis(const std::vector<BucketRequest>& buckets) {
  std::vector<std::string> argv = {"EVALSHA", script_sha_, std::to_string(buckets.size())};
  for (const BucketRequest& b : buckets) argv.push_back(b.key);
  for (const BucketRequest& b : buckets) {
    argv.push_back(FormatDouble(b.limit.per_second));
    argv.push_back(FormatDouble(b.limit.burst));
  }
  common::RedisReply reply = redis_->Command(argv);
  if (reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0) {
    argv[0] = "EVAL";
    argv[1] = Script();
    reply = redis_->Command(argv);
  }
  if (reply.type != common::RedisReply::Type::kArray || reply.elements.size() != 3) {
    throw common::Unavailable("redis", "unexpected rate limit script reply: " + reply.str);
  }
  RateDecision decision;
  decision.allowed = reply.elements[0].integer == 1;
  if (!decision.allowed) {
    decision.retry_after = std::chrono::milliseconds(reply.elements[1].integer);
    const int64_t index = reply.elements[2].integer - 1;
    if (index >= 0 && index < static_cast<int64_t>(buckets.size()))
      decision.scope = buckets[index].scope;
  }
  return decision;
}

}  // namespace propdesk::gateway
