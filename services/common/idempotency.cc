#include "common/idempotency.h"

#include <cppconn/exception.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include <istream>
#include <iterator>
#include <memory>

#include "common/errors.h"

namespace propdesk::common {
namespace {

constexpr char kInFlight = 'P';
constexpr char kDone = 'D';

std::string Hex(const unsigned char* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

// Tries of a transaction that failed on a duplicate while no key was
// committed yet (see RunInMysql).
constexpr int kDuplicateAttempts = 3;

Error ReusedRequestId(std::string_view request_id) {
  return Error(ErrorKind::kInvalidArgument, "REQUEST_ID_REUSED",
               "request_id '" + std::string(request_id) +
                   "' was already used for a different request; use a new request_id",
               {{"request_id", std::string(request_id)}});
}

// Redis value layouts: "P|<fp>" while in flight, "D|<fp>|<response>" when done.
struct StoredValue {
  char state = 0;
  std::string_view fingerprint;
  std::string_view response;
};

bool ParseValue(std::string_view v, StoredValue* out) {
  if (v.size() < 2 || v[1] != '|') return false;
  out->state = v[0];
  const std::string_view rest = v.substr(2);
  if (out->state == kInFlight) {
    out->fingerprint = rest;
    return true;
  }
  const auto bar = rest.find('|');
  if (out->state != kDone || bar == std::string_view::npos) return false;
  out->fingerprint = rest.substr(0, bar);
  out->response = rest.substr(bar + 1);
  return true;
}

}  // namespace

Error RequestInProgress(std::string_view request_id) {
  return Error(ErrorKind::kAborted, "REQUEST_IN_PROGRESS",
               "a request with request_id '" + std::string(request_id) +
                   "' is still being processed; retry shortly to get its result",
               {{"request_id", std::string(request_id)}});
}

Idempotency::Idempotency(MysqlPool& pool, RedisClient* redis, IdempotencyOptions options)
    : pool_(pool), redis_(redis), options_(std::move(options)) {}

std::string Idempotency::Key(std::string_view site_id, std::string_view request_id) const {
  return "propdesk:" + options_.service + ":idem:" + std::string(site_id) + ":" +
         std::string(request_id);
}

IdempotentOutcome Idempotency::Run(std::string_view site_id, std::string_view request_id,
                                   std::string_view fingerprint, const Effect& effect) {
  const IdempotentRequest request{std::string(site_id), std::string(request_id),
                                  std::string(fingerprint)};
  const IdempotencyClaim claim = std::move(Claim({&request}).front());
  if (claim.state == IdempotencyClaim::State::kReplay) return {claim.replay, true};
  if (claim.state == IdempotencyClaim::State::kRefused) std::rethrow_exception(claim.refusal);
  return RunClaimed(request, claim, effect);
}

std::vector<IdempotencyClaim> Idempotency::Claim(
    const std::vector<const IdempotentRequest*>& requests) {
  for (const IdempotentRequest* request : requests) ValidateRequestId(request->request_id);
  std::vector<IdempotencyClaim> claims(requests.size());
  if (redis_ == nullptr) return claims;  // kUnknown: MySQL decides
  // SET NX GET (Redis 7): marks the request in flight unless a value is
  // there, and returns that value, in one command.
  std::vector<std::vector<std::string>> commands;
  std::vector<size_t> sent;  // index into requests of each command
  const std::string ttl = std::to_string(options_.in_flight_ttl.count());
  for (size_t i = 0; i < requests.size(); ++i) {
    const IdempotentRequest& request = *requests[i];
    if (request.request_id.empty()) continue;
    commands.push_back({"SET", Key(request.site_id, request.request_id),
                        std::string(1, kInFlight) + "|" + request.fingerprint, "NX", "GET", "PX",
                        ttl});
    sent.push_back(i);
  }
  if (commands.empty()) return claims;
  std::vector<RedisReply> replies;
  try {
    replies = redis_->Pipeline(commands);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUnavailable) throw;
    return claims;  // Redis down: slower, still exactly one effect
  }
  for (size_t k = 0; k < sent.size() && k < replies.size(); ++k) {
    claims[sent[k]] = ClaimFromReply(*requests[sent[k]], replies[k]);
  }
  return claims;
}

IdempotencyClaim Idempotency::ClaimFromReply(const IdempotentRequest& request,
                                             const RedisReply& reply) {
  IdempotencyClaim claim;
  if (reply.is_nil()) {
    claim.state = IdempotencyClaim::State::kOwned;  // nothing was there: ours now
    return claim;
  }
  StoredValue stored;
  if (reply.type != RedisReply::Type::kString || !ParseValue(reply.str, &stored)) {
    return claim;  // an error reply or not our layout: MySQL decides
  }
  if (stored.fingerprint != request.fingerprint) {
    claim.state = IdempotencyClaim::State::kRefused;
    claim.refusal = std::make_exception_ptr(ReusedRequestId(request.request_id));
  } else if (stored.state == kInFlight) {
    claim.state = IdempotencyClaim::State::kRefused;
    claim.refusal = std::make_exception_ptr(RequestInProgress(request.request_id));
  } else {
    claim.state = IdempotencyClaim::State::kReplay;
    claim.replay = std::string(stored.response);
  }
  return claim;
}

void Idempotency::DeferKey(MysqlConnection& tx, const IdempotentRequest& request,
                           const std::string& response) {
  DeferKeys(tx, {{&request, &response}});
}

void Idempotency::DeferKeys(
    MysqlConnection& tx,
    const std::vector<std::pair<const IdempotentRequest*, const std::string*>>& done) {
  // The keys go in with the effects' last writes and the COMMIT, one round
  // trip. A concurrent duplicate's INSERT waits on its row and then fails
  // (RunInMysql); a repeat of a committed request fails at once. Either way
  // its whole transaction rolls back: one effect.
  MultiRowInsert rows(
      "INSERT INTO idempotency_keys (site_id, request_id, fingerprint, response) VALUES",
      "(?, ?, ?, ?)");
  for (const auto& [request, response] : done) {
    if (request->request_id.empty()) continue;
    rows.Add({request->site_id, request->request_id, request->fingerprint, *response});
  }
  rows.DeferOn(tx);
}

void Idempotency::Remember(
    const std::vector<std::pair<const IdempotentRequest*, const std::string*>>& done) {
  if (redis_ == nullptr) return;
  std::vector<std::vector<std::string>> commands;
  for (const auto& [request, response] : done) {
    if (!request->request_id.empty()) commands.push_back(RememberCommand(*request, *response));
  }
  if (commands.empty()) return;
  try {
    redis_->Pipeline(commands);
  } catch (const Error&) {
    // Best effort: MySQL already holds the truth.
  }
}

std::vector<std::string> Idempotency::RememberCommand(const IdempotentRequest& request,
                                                      const std::string& response) const {
  return {"SET", Key(request.site_id, request.request_id),
          std::string(1, kDone) + "|" + request.fingerprint + "|" + response, "PX",
          std::to_string(options_.done_ttl.count())};
}

IdempotentOutcome Idempotency::RunClaimed(const IdempotentRequest& request,
                                          const IdempotencyClaim& claim, const Effect& effect) {
  if (request.request_id.empty()) {
    return {pool_.WithTransaction([&](MysqlConnection& tx) { return effect(tx); }), false};
  }
  try {
    IdempotentOutcome outcome = RunInMysql(request, effect);
    Remember({{&request, &outcome.response}});
    return outcome;
  } catch (...) {
    Release(request, claim);
    throw;
  }
}

void Idempotency::Release(const IdempotentRequest& request, const IdempotencyClaim& claim) {
  // Let a retry through at once instead of after in_flight_ttl.
  if (redis_ == nullptr || claim.state != IdempotencyClaim::State::kOwned) return;
  try {
    redis_->Command({"DEL", Key(request.site_id, request.request_id)});
  } catch (const Error&) {
  }
}

IdempotentOutcome Idempotency::RunInMysql(const IdempotentRequest& request, const Effect& effect) {
  for (int attempt = 1;; ++attempt) {
    try {
      return pool_.WithTransaction([&](MysqlConnection& tx) -> IdempotentOutcome {
        std::string response = effect(tx);
        DeferKey(tx, request, response);
        return {std::move(response), false};
      });
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kAlreadyExists) throw;
      // Ours, or the effect's own duplicate? The committed key decides.
      std::optional<IdempotentOutcome> first = StoredOutcome(request);
      if (first) return *std::move(first);
      // No key committed (yet): InnoDB can report the duplicate while the
      // other request's commit is still on its way, or that one rolled back.
      // Run again; an effect's own duplicate fails the same way each time.
      if (attempt >= kDuplicateAttempts) throw;
    }
  }
}

std::optional<IdempotentOutcome> Idempotency::StoredOutcome(const IdempotentRequest& request) {
  // A locking read: the duplicate error can reach us a moment before the
  // first request's commit is visible to a plain (snapshot) read, and the
  // locking read waits for it and sees the latest committed row.
  auto rs = pool_.Acquire()->Query(
      "SELECT fingerprint, response FROM idempotency_keys WHERE site_id = ? AND request_id = ? "
      "LOCK IN SHARE MODE",
      {request.site_id, request.request_id});
  if (!rs->next()) return std::nullopt;
  if (std::string(rs->getString(1)) != request.fingerprint) {
    throw ReusedRequestId(request.request_id);
  }
  std::unique_ptr<std::istream> blob(rs->getBlob(2));
  return IdempotentOutcome{std::string(std::istreambuf_iterator<char>(*blob), {}), true};
}

size_t PurgeIdempotencyKeys(MysqlPool& pool, std::chrono::seconds older_than, size_t limit) {
  return static_cast<size_t>(pool.Acquire()->Execute(
      "DELETE FROM idempotency_keys WHERE created_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND "
      "ORDER BY created_at LIMIT ?",
      {static_cast<int64_t>(older_than.count()), static_cast<uint64_t>(limit)}));
}

std::string RequestFingerprint(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  const auto* field = copy->GetDescriptor()->FindFieldByName("request_id");
  if (field != nullptr) copy->GetReflection()->ClearField(copy.get(), field);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  // The type name is part of the identity: one id reused across RPCs differs.
  bytes = copy->GetDescriptor()->full_name() + '\0' + bytes;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return Hex(digest, sizeof(digest));
}

void ValidateRequestId(std::string_view request_id) {
  if (request_id.size() > 128) {
    throw InvalidArgument("request_id", "request_id must be at most 128 characters");
  }
  for (const char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      throw InvalidArgument("request_id", "request_id must be printable ASCII without spaces");
    }
  }
}

}  // namespace propdesk::common
