#pragma once

// Domain events through a transactional outbox (ARCHITECTURE.md §7).
//
// A service calls AppendEvent inside the transaction of the change the event
// describes: the event exists exactly when the change does. OutboxRelay, run
// by the leader replica only, publishes unpublished rows in id order to the
// Redis stream `propdesk:events:<service>` and then stamps them published.
// A crash between XADD and the stamp publishes those rows again: delivery is
// at-least-once and consumers deduplicate by event id (EventConsumer).
//
// Order: rows are published in id (insert) order. Two writers that change
// the same aggregate serialize on its row lock, so events of one aggregate
// are published in the order they were committed; events of unrelated
// aggregates written concurrently may interleave either way.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/background_loop.h"
#include "common/leader.h"
#include "common/mysql.h"
#include "common/redis.h"
#include "propdesk/type/v1/event.pb.h"

namespace propdesk::common {

struct OutboxEvent {
  std::string type;          // dotted, e.g. "ticket.created"
  std::string site_id;       // rule C-1: every event belongs to a site
  std::string aggregate_id;  // the record the event is about
  std::string payload;       // JSON; empty means {}
  std::string actor;         // rule C-3: staff id, or "system:<component>"
};

// Inserts `event` into `outbox` within the caller's transaction and returns
// its new event id (a UUID v4). Throws Error(kInvalidArgument) naming the
// field when a field is empty, too long, or the payload is not JSON.
std::string AppendEvent(MysqlConnection& tx, const OutboxEvent& event);
// The same for several events in one multi-row INSERT; returns their ids in
// order. All are checked before anything is written. The INSERT is deferred
// (MysqlConnection::Defer): it reaches the server with the transaction's
// next statement or its COMMIT, costing no round trip of its own.
std::vector<std::string> AppendEvents(MysqlConnection& tx, const std::vector<OutboxEvent>& events);

// A random UUID v4 (OpenSSL RAND_bytes), lower-case hex with dashes.
std::string NewEventId();

// "propdesk:events:<service>".
std::string EventStreamName(std::string_view service);

// --- stream wire format -------------------------------------------------------
// One stream entry per event, one field per DomainEvent field, named as in
// proto/propdesk/type/v1/event.proto (readable with redis-cli):
//   event_id type site_id aggregate_id occurred_at_unix_ms payload actor
using StreamFields = std::vector<std::pair<std::string, std::string>>;
StreamFields EncodeEventFields(const type::v1::DomainEvent& event);
// Nullopt (with `*problem` set) when event_id or type is missing or
// occurred_at_unix_ms is not a number.
std::optional<type::v1::DomainEvent> DecodeEventFields(const StreamFields& fields,
                                                       std::string* problem);

// --- relay ---------------------------------------------------------------------

struct OutboxRelayOptions {
  size_t batch = 100;                            // rows per XADD pipeline
  std::chrono::milliseconds poll_interval{200};  // idle wait between polls
  int64_t max_stream_length = 0;                 // > 0: XADD MAXLEN ~ n
  // The leader's housekeeping of the common tables, at most once per
  // purge_interval while the relay is idle: published outbox rows older than
  // `retention` and idempotency keys older than `idempotency_retention` (C-8:
  // a repeat after that counts as new) are deleted; zero keeps them forever.
  std::chrono::hours retention{24 * 7};
  std::chrono::hours idempotency_retention{24 * 7};
  std::chrono::milliseconds purge_interval{std::chrono::minutes(1)};
};

class OutboxRelay {
 public:
  // Leadership: the LeaderLock "outbox:<service>" on `pool`'s database.
  OutboxRelay(MysqlPool& pool, RedisClient& redis, std::string service,
              OutboxRelayOptions options = {});
  ~OutboxRelay();  // Stop()s
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Publishes up to `batch` unpublished rows in id order and marks them.
  // Returns how many were published; 0 when there was nothing to do or this
  // replica is not the leader. Throws Error(kUnavailable) when Redis or MySQL
  // is down (the rows stay unpublished and go out on a later call).
  size_t PublishBatch();
  // Deletes up to `limit` rows published before now − `older_than`.
  size_t PurgePublished(std::chrono::seconds older_than, size_t limit = 1000);

  // A background thread: PublishBatch until a batch comes back short, then
  // wait poll_interval. Stop() releases leadership.
  void Start();
  void Stop();

  const std::string& stream() const { return stream_; }
  LeaderLock& leader() { return leader_; }

 private:
  struct Row {
    uint64_t id = 0;
    type::v1::DomainEvent event;
  };
  std::vector<Row> SelectUnpublished();
  std::vector<std::string> XaddCommand(const type::v1::DomainEvent& event) const;
  void MarkPublished(const std::vector<Row>& rows, size_t count);
  std::chrono::milliseconds Iterate();  // one pass of the background loop
  void MaybePurge();

  MysqlPool& pool_;
  RedisClient& redis_;
  const std::string stream_;
  const OutboxRelayOptions options_;
  LeaderLock leader_;
  std::mutex publish_mu_;  // one PublishBatch at a time, so batches stay in order

  std::chrono::steady_clock::time_point last_purge_{};  // only the relay thread
  BackgroundLoop loop_;  // last member: stopped first, before what it uses
};

}  // namespace propdesk::common
