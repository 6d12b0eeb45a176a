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

Error InProgress(std::string_view request_id) {
  return Error(ErrorKind::kAborted, "REQUEST_IN_PROGRESS",
               "a request with request_id '" + std::string(request_id) +
                   "' is still being processed; retry shortly to get its result",
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

Idempotency::Idempotency(MysqlPool& pool, RedisClient* redis, IdempotencyOptions options)
    : pool_(pool), redis_(redis), options_(std::move(options)) {}

std::string Idempotency::Key(std::string_view site_id, std::string_view request_id) const {
  return "propdesk:" + options_.service + ":idem:" + std::string(site_id) + ":" +
         std::string(request_id);
}

IdempotentOutcome Idempotency::Run(std::string_view site_id, std::string_view request_id,
                                   std::string_view fingerprint, const Effect& effect) {
  if (request_id.empty()) {
    return {pool_.WithTransaction([&](MysqlConnection& tx) { return effect(tx); }), false};
  }
  ValidateRequestId(request_id);
  const std::string key = Key(site_id, request_id);
  IdempotentOutcome replay;
  const Claim claim = ClaimInRedis(key, request_id, fingerprint, &replay);
  if (replay.replayed) return replay;
  try {
    IdempotentOutcome outcome = RunInMysql(site_id, request_id, fingerprint, effect);
    RememberInRedis(key, fingerprint, outcome.response);
    return outcome;
  } catch (...) {
    // Let a retry through at once instead of after in_flight_ttl.
    if (claim == Claim::kOwned) ForgetInRedis(key);
    throw;
  }
}

Idempotency::Claim Idempotency::ClaimInRedis(const std::string& key, std::string_view request_id,
                                             std::string_view fingerprint,
                                             IdempotentOutcome* replay) {
  if (redis_ == nullptr) return Claim::kUnknown;
  try {
    const std::string marker = std::string(1, kInFlight) + "|" + std::string(fingerprint);
    const RedisReply set = redis_->Command(
        {"SET", key, marker, "NX", "PX", std::to_string(options_.in_flight_ttl.count())});
    if (set.type == RedisReply::Type::kStatus) return Claim::kOwned;
    if (set.is_error()) return Claim::kUnknown;
    const RedisReply got = redis_->Command({"GET", key});
    StoredValue stored;
    if (got.type != RedisReply::Type::kString || !ParseValue(got.str, &stored)) {
      return Claim::kUnknown;  // expired in between, or not ours: MySQL decides
    }
    if (stored.fingerprint != fingerprint) throw ReusedRequestId(request_id);
    if (stored.state == kInFlight) throw InProgress(request_id);
    replay->response = std::string(stored.response);
    replay->replayed = true;
    return Claim::kUnknown;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUnavailable) throw;
    return Claim::kUnknown;  // Redis down: slower, still exactly one effect
  }
}

IdempotentOutcome Idempotency::RunInMysql(std::string_view site_id, std::string_view request_id,
                                          std::string_view fingerprint, const Effect& effect) {
  for (int attempt = 1;; ++attempt) {
    try {
      return pool_.WithTransaction([&](MysqlConnection& tx) -> IdempotentOutcome {
        std::string response = effect(tx);
        // The key goes in with the effect's last writes and the COMMIT, one
        // round trip. A concurrent duplicate's INSERT waits on this row and
        // then fails (caught below); a repeat of a committed request fails at
        // once. Either way its whole transaction rolls back: one effect.
        tx.Defer(
            "INSERT INTO idempotency_keys (site_id, request_id, fingerprint, response) "
            "VALUES (?, ?, ?, ?)",
            {std::string(site_id), std::string(request_id), std::string(fingerprint), response});
        return {std::move(response), false};
      });
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kAlreadyExists) throw;
      // Ours, or the effect's own duplicate? The committed key decides.
      std::optional<IdempotentOutcome> first = StoredOutcome(site_id, request_id, fingerprint);
      if (first) return *std::move(first);
      // No key committed (yet): InnoDB can report the duplicate while the
      // other request's commit is still on its way, or that one rolled back.
      // Run again; an effect's own duplicate fails the same way each time.
      if (attempt >= kDuplicateAttempts) throw;
    }
  }
}

std::optional<IdempotentOutcome> Idempotency::StoredOutcome(std::string_view site_id,
                                                            std::string_view request_id,
                                                            std::string_view fingerprint) {
  // A locking read: the duplicate error can reach us a moment before the
  // first request's commit is visible to a plain (snapshot) read, and the
  // locking read waits for it and sees the latest committed row.
  auto rs = pool_.Acquire()->Query(
      "SELECT fingerprint, response FROM idempotency_keys WHERE site_id = ? AND request_id = ? "
      "LOCK IN SHARE MODE",
      {std::string(site_id), std::string(request_id)});
  if (!rs->next()) return std::nullopt;
  if (std::string(rs->getString(1)) != fingerprint) throw ReusedRequestId(request_id);
  std::unique_ptr<std::istream> blob(rs->getBlob(2));
  return IdempotentOutcome{std::string(std::istreambuf_iterator<char>(*blob), {}), true};
}

void Idempotency::RememberInRedis(const std::string& key, std::string_view fingerprint,
                                  const std::string& response) {
  if (redis_ == nullptr) return;
  try {
    std::string value = std::string(1, kDone) + "|" + std::string(fingerprint) + "|" + response;
    redis_->Command(
        {"SET", key, std::move(value), "PX", std::to_string(options_.done_ttl.count())});
  } catch (const Error&) {
    // Best effort: MySQL already holds the truth.
  }
}

void Idempotency::ForgetInRedis(const std::string& key) {
  if (redis_ == nullptr) return;
  try {
    redis_->Command({"DEL", key});
  } catch (const Error&) {
  }
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
