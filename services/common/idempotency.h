#pragma once

// Rule C-8: a mutating request may carry a client request id; repeating it
// returns the first result and never repeats the effect.
//
// How (ARCHITECTURE.md §6):
//  - Redis is the fast path. `SET propdesk:<svc>:idem:<site>:<id> P|<fp> NX`
//    marks a request in flight; once it commits, the key holds D|<fp>|<response>,
//    so a repeat is answered from Redis without touching MySQL. A concurrent
//    duplicate that finds the in-flight marker is told to retry
//    (ABORTED / REQUEST_IN_PROGRESS, which the gateway turns into 409).
//  - MySQL is the truth: the effect runs in one transaction that ends with
//    an INSERT into idempotency_keys (PRIMARY KEY (site_id, request_id))
//    holding the response, sent with the COMMIT. A duplicate that reaches
//    MySQL runs its effect too, but its INSERT waits on the first one's row
//    and fails, its transaction rolls back whole, and it returns the
//    committed response instead. So Redis down, flushed or evicted costs
//    speed (a wasted effect, rolled back), never a second effect.
//  - The same id with a different payload (fingerprint) is rejected with
//    INVALID_ARGUMENT / REQUEST_ID_REUSED (the gateway's 422).

#include <google/protobuf/message.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/mysql.h"
#include "common/redis.h"

namespace propdesk::common {

struct IdempotencyOptions {
  std::string service;  // the <svc> of the Redis key
  // How long Redis remembers a finished request (MySQL keeps it longer).
  std::chrono::milliseconds done_ttl = std::chrono::hours(24);
  // How long an in-flight marker lives if its owner dies mid-request.
  std::chrono::milliseconds in_flight_ttl = std::chrono::seconds(30);
};

struct IdempotentOutcome {
  std::string response;   // serialized response of the first execution
  bool replayed = false;  // true when this call did not run the effect
};

class Idempotency {
 public:
  using Effect = std::function<std::string(MysqlConnection& tx)>;

  // `redis` may be null (then MySQL alone decides, which is still correct).
  Idempotency(MysqlPool& pool, RedisClient* redis, IdempotencyOptions options);

  // Runs `effect` in a MySQL transaction unless (site_id, request_id) already
  // ran; `effect` returns the serialized response to store and return. An
  // empty request_id runs the effect without any deduplication.
  IdempotentOutcome Run(std::string_view site_id, std::string_view request_id,
                        std::string_view fingerprint, const Effect& effect);

 private:
  enum class Claim { kOwned, kUnknown };
  Claim ClaimInRedis(const std::string& key, std::string_view request_id,
                     std::string_view fingerprint, IdempotentOutcome* replay);
  IdempotentOutcome RunInMysql(std::string_view site_id, std::string_view request_id,
                               std::string_view fingerprint, const Effect& effect);
  // The committed outcome of (site_id, request_id), if any; throws
  // REQUEST_ID_REUSED when it was stored for another payload.
  std::optional<IdempotentOutcome> StoredOutcome(std::string_view site_id,
                                                 std::string_view request_id,
                                                 std::string_view fingerprint);
  void RememberInRedis(const std::string& key, std::string_view fingerprint,
                       const std::string& response);
  void ForgetInRedis(const std::string& key);
  std::string Key(std::string_view site_id, std::string_view request_id) const;

  MysqlPool& pool_;
  RedisClient* redis_;
  const IdempotencyOptions options_;
};

// Deletes up to `limit` keys recorded before now − `older_than`; returns how
// many. A repeat of a purged request id counts as a new request, so keep
// keys far beyond any client's retry horizon (OutboxRelay, the leader's
// housekeeping, keeps them 7 days by default).
size_t PurgeIdempotencyKeys(MysqlPool& pool, std::chrono::seconds older_than, size_t limit = 1000);

// SHA-256 hex of the request's deterministic serialization with its
// `request_id` field cleared: the payload identity used to detect a reused id.
std::string RequestFingerprint(const google::protobuf::Message& request);

// Rule C-8 input check: at most 128 printable ASCII characters.
void ValidateRequestId(std::string_view request_id);

}  // namespace propdesk::common
