#include "common/outbox.h"

#include <openssl/rand.h>

#include <charconv>
#include <exception>

#include "common/errors.h"
#include "common/idempotency.h"
#include "common/json.h"
#include "common/log.h"

namespace propdesk::common {
namespace {

using type::v1::DomainEvent;

// Column limits of migrations/0002_outbox.sql.
constexpr size_t kMaxTypeLength = 128;
constexpr size_t kMaxSiteLength = 64;
constexpr size_t kMaxAggregateLength = 128;
constexpr size_t kMaxActorLength = 64;

void CheckField(std::string_view field, const std::string& value, size_t max_length) {
  if (value.empty()) throw InvalidArgument(std::string(field), "must not be empty");
  if (value.size() > max_length) {
    throw InvalidArgument(std::string(field), "is " + std::to_string(value.size()) +
                                                  " bytes; at most " + std::to_string(max_length) +
                                                  " are allowed");
  }
}

void CheckJson(const std::string& payload) {
  if (std::optional<std::string> error = JsonSyntaxError(payload)) {
    throw InvalidArgument("payload", "is not valid JSON: " + *error);
  }
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string NewEventId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) throw Internal("RAND_bytes failed while making an event id");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xf];
  }
  return out;
}

std::string EventStreamName(std::string_view service) {
  return "propdesk:events:" + std::string(service);
}

std::string AppendEvent(MysqlConnection& tx, const OutboxEvent& event) {
  return AppendEvents(tx, {event}).front();
}

std::vector<std::string> AppendEvents(MysqlConnection& tx, const std::vector<OutboxEvent>& events) {
  std::vector<std::string> ids;
  if (events.empty()) return ids;
  for (const OutboxEvent& event : events) {
    CheckField("type", event.type, kMaxTypeLength);
    CheckField("site_id", event.site_id, kMaxSiteLength);  // rule C-1
    CheckField("aggregate_id", event.aggregate_id, kMaxAggregateLength);
    CheckField("actor", event.actor, kMaxActorLength);  // rule C-3
    if (!event.payload.empty()) CheckJson(event.payload);
  }
  MultiRowInsert rows(
      "INSERT INTO outbox (event_id, event_type, site_id, aggregate_id, payload, actor, "
      "occurred_at_unix_ms) VALUES",
      "(?, ?, ?, ?, ?, ?, ?)");
  const auto now_ms = static_cast<int64_t>(NowUnixMs());
  for (const OutboxEvent& event : events) {
    ids.push_back(NewEventId());
    rows.Add({ids.back(), event.type, event.site_id, event.aggregate_id,
              event.payload.empty() ? std::string("{}") : event.payload, event.actor, now_ms});
  }
  // Sent with the transaction's next statement or its COMMIT: nothing in
  // the change depends on the outcome, and a failure still rolls it all back.
  rows.DeferOn(tx);
  return ids;
}

// --- wire format --------------------------------------------------------------

StreamFields EncodeEventFields(const DomainEvent& event) {
  return {{"event_id", event.event_id()},
          {"type", event.type()},
          {"site_id", event.site_id()},
          {"aggregate_id", event.aggregate_id()},
          {"occurred_at_unix_ms", std::to_string(event.occurred_at_unix_ms())},
          {"payload", event.payload()},
          {"actor", event.actor()}};
}

std::optional<DomainEvent> DecodeEventFields(const StreamFields& fields, std::string* problem) {
  DomainEvent event;
  for (const auto& [name, value] : fields) {
    if (name == "event_id") {
      event.set_event_id(value);
    } else if (name == "type") {
      event.set_type(value);
    } else if (name == "site_id") {
      event.set_site_id(value);
    } else if (name == "aggregate_id") {
      event.set_aggregate_id(value);
    } else if (name == "payload") {
      event.set_payload(value);
    } else if (name == "actor") {
      event.set_actor(value);
    } else if (name == "occurred_at_unix_ms") {
      int64_t ms = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec != std::errc() || end != value.data() + value.size()) {
        *problem = "occurred_at_unix_ms is not a number: \"" + value + "\"";
        return std::nullopt;
      }
      event.set_occurred_at_unix_ms(ms);
    }  // unknown fields: written by a newer producer; ignored
  }
  if (event.event_id().empty()) {
    *problem = "the entry has no event_id";
    return std::nullopt;
  }
  if (event.type().empty()) {
    *problem = "the entry has no type";
    return std::nullopt;
  }
  return event;
}

// --- relay ----------------------------------------------------------------------

OutboxRelay::OutboxRelay(MysqlPool& pool, RedisClient& redis, std::string service,
                         OutboxRelayOptions options)
    : pool_(pool),
      redis_(redis),
      stream_(EventStreamName(service)),
      options_(options),
      leader_(pool, "outbox:" + service) {
  if (service.empty()) throw InvalidArgument("service", "the relay needs a service name");
  if (options_.batch == 0) throw InvalidArgument("batch", "must be at least 1");
}

OutboxRelay::~OutboxRelay() { Stop(); }

size_t OutboxRelay::PublishBatch() {
  std::lock_guard publishing(publish_mu_);
  // Leader only: two relays would interleave their batches on the stream.
  if (!leader_.TryAcquire()) return 0;
  const std::vector<Row> rows = SelectUnpublished();
  if (rows.empty()) return 0;

  std::vector<std::vector<std::string>> commands;
  commands.reserve(rows.size());
  for (const Row& row : rows) commands.push_back(XaddCommand(row.event));
  const std::vector<RedisReply> replies = redis_.Pipeline(commands);

  // Replies come in order; stop at the first failure so the rows after it
  // are published again in order (the ones Redis did take become duplicates,
  // which consumers skip).
  size_t published = 0;
  while (published < replies.size() && !replies[published].is_error()) ++published;
  MarkPublished(rows, published);
  if (published < rows.size()) {
    throw Error(ErrorKind::kUnavailable, "REDIS_UNAVAILABLE",
                "XADD to " + stream_ + " failed: " + replies[published].str,
                {{"dependency", "redis"}});
  }
  return published;
}

std::vector<OutboxRelay::Row> OutboxRelay::SelectUnpublished() {
  auto conn = pool_.Acquire();
  auto rs = conn->Query(
      "SELECT id, event_id, event_type, site_id, aggregate_id, occurred_at_unix_ms, payload, "
      "actor FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?",
      {static_cast<uint64_t>(options_.batch)});
  std::vector<Row> rows;
  while (rs->next()) {
    Row row;
    row.id = rs->getUInt64(1);
    row.event.set_event_id(rs->getString(2));
    row.event.set_type(rs->getString(3));
    row.event.set_site_id(rs->getString(4));
    row.event.set_aggregate_id(rs->getString(5));
    row.event.set_occurred_at_unix_ms(rs->getInt64(6));
    row.event.set_payload(rs->getString(7));
    row.event.set_actor(rs->getString(8));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> OutboxRelay::XaddCommand(const DomainEvent& event) const {
  std::vector<std::string> argv = {"XADD", stream_};
  if (options_.max_stream_length > 0) {
    argv.insert(argv.end(), {"MAXLEN", "~", std::to_string(options_.max_stream_length)});
  }
  argv.push_back("*");
  for (auto& [name, value] : EncodeEventFields(event)) {
    argv.push_back(std::move(name));
    argv.push_back(std::move(value));
  }
  return argv;
}

void OutboxRelay::MarkPublished(const std::vector<Row>& rows, size_t count) {
  if (count == 0) return;
  // The ids are our own integers, so they are spelled into the statement
  // rather than bound: one statement text per batch size would otherwise be
  // prepared and cached on every connection.
  std::string sql = "UPDATE outbox SET published_at = UTC_TIMESTAMP(6) WHERE id IN (";
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) sql += ',';
    sql += std::to_string(rows[i].id);
  }
  sql += ')';
  pool_.Acquire()->ExecuteRaw(sql);
}

size_t OutboxRelay::PurgePublished(std::chrono::seconds older_than, size_t limit) {
  return static_cast<size_t>(pool_.Acquire()->Execute(
      "DELETE FROM outbox WHERE published_at IS NOT NULL AND "
      "published_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND ORDER BY published_at LIMIT ?",
      {static_cast<int64_t>(older_than.count()), static_cast<uint64_t>(limit)}));
}

void OutboxRelay::Start() {
  loop_.Start([this] { return Iterate(); });
}

void OutboxRelay::Stop() {
  loop_.Stop();
  leader_.Release();
}

std::chrono::milliseconds OutboxRelay::Iterate() {
  size_t published = 0;
  try {
    published = PublishBatch();
    if (published == 0) MaybePurge();
  } catch (const std::exception& e) {
    DefaultLogger()->Warn("outbox relay: publish failed; retrying",
                          {{"stream", stream_}, {"error", e.what()}});
  }
  if (published == options_.batch) return std::chrono::milliseconds(0);  // more rows wait
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.poll_interval);
}

void OutboxRelay::MaybePurge() {
  if (options_.retention.count() <= 0 && options_.idempotency_retention.count() <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_purge_ < options_.purge_interval) return;
  last_purge_ = now;
  if (!leader_.StillHeld()) return;
  if (options_.retention.count() > 0) {
    PurgePublished(std::chrono::duration_cast<std::chrono::seconds>(options_.retention));
  }
  if (options_.idempotency_retention.count() > 0) {
    PurgeIdempotencyKeys(
        pool_, std::chrono::duration_cast<std::chrono::seconds>(options_.idempotency_retention));
  }
}

}  // namespace propdesk::common
