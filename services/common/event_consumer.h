#pragma once

// Consuming domain events from a Redis stream with a consumer group
// (ARCHITECTURE.md §7): at-least-once delivery, exactly-once effect.
//
// Each poll:
//   1. creates the group if needed (XGROUP CREATE … MKSTREAM);
//   2. reclaims entries another consumer (or an earlier run of this one)
//      read but did not acknowledge for claim_min_idle (XAUTOCLAIM);
//   3. reads new entries (XREADGROUP, blocking up to `block` on a dedicated
//      connection when nothing was reclaimed);
//   4. per entry: an entry delivered more than max_deliveries times, or one
//      that is not a DomainEvent, is parked on the dead-letter stream and
//      acknowledged; otherwise one MySQL transaction inserts
//      processed_events(group, event_id) — a duplicate means the event was
//      already handled, and the handler is skipped — and runs the handler;
//      after COMMIT the entry is acknowledged (XACK).
// A handler that throws rolls its transaction back; the entry stays pending
// and is redelivered after claim_min_idle. When MySQL itself is unreachable
// the batch stops and its entries' delivery counts are restored, so an
// outage does not push healthy events into the dead-letter stream.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/background_loop.h"
#include "common/mysql.h"
#include "common/outbox.h"
#include "common/redis.h"
#include "propdesk/type/v1/event.pb.h"

namespace propdesk::common {

struct EventConsumerOptions {
  std::string stream;    // e.g. EventStreamName("tickets")
  std::string group;     // the consuming component, e.g. "staffeval"
  std::string consumer;  // unique per replica, e.g. the pod name
  size_t batch = 32;
  // XREADGROUP BLOCK; zero or less reads without blocking.
  std::chrono::milliseconds block{1000};
  // Pending entries idle this long are taken over from their consumer.
  std::chrono::milliseconds claim_min_idle{std::chrono::seconds(30)};
  // Deliveries allowed before an entry is dead-lettered.
  int64_t max_deliveries = 5;
  // Defaults to "<stream>:dead".
  std::string dead_letter_stream;
  // Where a group created by this consumer starts: "0" = everything still
  // in the stream, "$" = only entries added from now on.
  std::string group_start_id = "0";
  // Wait after a failed poll in the background thread (and after an empty
  // one when `block` is zero).
  std::chrono::milliseconds error_backoff{500};
};

using EventHandler = std::function<void(MysqlConnection& tx, const type::v1::DomainEvent& event)>;

class EventConsumer {
 public:
  // Throws Error(kInvalidArgument) when stream, group or consumer is empty,
  // batch is 0 or max_deliveries < 1.
  EventConsumer(MysqlPool& pool, RedisClient& redis, EventConsumerOptions options,
                EventHandler handler);
  ~EventConsumer();  // Stop()s
  EventConsumer(const EventConsumer&) = delete;
  EventConsumer& operator=(const EventConsumer&) = delete;

  // One poll (steps 1–4 above). Returns how many entries were settled
  // (handled, skipped as duplicates, or dead-lettered) and acknowledged.
  // Throws Error(kUnavailable) when Redis or MySQL is down.
  size_t PollOnce();

  // A background thread calling PollOnce until Stop().
  void Start();
  void Stop();

  const EventConsumerOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string id;
    StreamFields fields;
    int64_t deliveries = 1;
  };
  void EnsureGroup();
  std::vector<Entry> Claim();
  std::vector<Entry> ReadNew(bool block);
  void LoadDeliveryCounts(std::vector<Entry>& entries);
  // True when the entry was handled, skipped as a duplicate or dead-lettered,
  // and acknowledged; false when the handler failed (left pending).
  bool Settle(const Entry& entry);
  bool Process(const Entry& entry, const type::v1::DomainEvent& event);
  void DeadLetter(const Entry& entry, const std::string& reason);
  void Ack(const std::string& id);
  void RestoreDeliveryCounts(const std::vector<Entry>& entries);
  bool IsNoGroup(const RedisReply& reply);
  std::chrono::milliseconds Iterate();  // one pass of the background loop

  MysqlPool& pool_;
  RedisClient& redis_;
  const EventConsumerOptions options_;
  const EventHandler handler_;

  std::mutex poll_mu_;                       // one PollOnce at a time; guards the members below
  std::unique_ptr<RedisConnection> reader_;  // guarded by poll_mu_ (blocking reads)
  bool group_ready_ = false;                 // guarded by poll_mu_
  std::string claim_cursor_ = "0-0";         // guarded by poll_mu_

  BackgroundLoop loop_;  // last member: stopped first, before what it uses
};

}  // namespace propdesk::common
