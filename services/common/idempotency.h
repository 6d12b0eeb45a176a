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
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/errors.h"
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

// One request as C-8 identifies it. An empty request_id is not deduplicated.
struct IdempotentRequest {
  std::string site_id;
  std::string request_id;
  std::string fingerprint;  // RequestFingerprint of the payload
};

// What Redis said of a request before its effect runs (Idempotency::Claim).
struct IdempotencyClaim {
  enum class State {
    kOwned,    // this caller marked it in flight: run the effect
    kUnknown,  // no marker could be set or read (Redis down, no request_id): MySQL decides
    kReplay,   // it already ran: `replay` holds its response
    kRefused,  // in flight elsewhere, or the id was used for another payload: `refusal`
  };
  State state = State::kUnknown;
  std::string replay;
  std::exception_ptr refusal;
};

// ABORTED / REQUEST_IN_PROGRESS: a request with that id is still running
// (the gateway's 409); for callers that detect a concurrent duplicate
// themselves.
Error RequestInProgress(std::string_view request_id);

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

  // The same in steps, for a caller that commits many requests in one
  // transaction (a batch of creates, tickets/creator.h):
  //  1. Claim them all: one Redis round trip (a pipeline of SET NX GET).
  //     Validates each request_id first (Error(kInvalidArgument)).
  std::vector<IdempotencyClaim> Claim(const std::vector<const IdempotentRequest*>& requests);
  //  2. Inside the transaction, after each request's effect: its key row,
  //     sent with the COMMIT. A duplicate key fails the whole transaction.
  static void DeferKey(MysqlConnection& tx, const IdempotentRequest& request,
                       const std::string& response);
  //     The same for many requests: one multi-row INSERT.
  static void DeferKeys(
      MysqlConnection& tx,
      const std::vector<std::pair<const IdempotentRequest*, const std::string*>>& done);
  //  3a. After the COMMIT: one Redis round trip answers later repeats.
  void Remember(const std::vector<std::pair<const IdempotentRequest*, const std::string*>>& done);
  //  3b. Or, when the transaction failed, one request at a time on its own
  //      transaction, as Run does after its claim (a committed duplicate is
  //      answered with the stored response); releases its claim on failure.
  IdempotentOutcome RunClaimed(const IdempotentRequest& request, const IdempotencyClaim& claim,
                               const Effect& effect);
  //  Claims taken and then not run (the request was refused later on):
  //  released so that a retry need not wait for in_flight_ttl.
  void Release(const IdempotentRequest& request, const IdempotencyClaim& claim);

 private:
  IdempotencyClaim ClaimFromReply(const IdempotentRequest& request, const RedisReply& reply);
  IdempotentOutcome RunInMysql(const IdempotentRequest& request, const Effect& effect);
  // The committed outcome of (site_id, request_id), if any; throws
  // REQUEST_ID_REUSED when it was stored for another payload.
  std::optional<IdempotentOutcome> StoredOutcome(const IdempotentRequest& request);
  std::vector<std::string> RememberCommand(const IdempotentRequest& request,
                                           const std::string& response) const;
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
