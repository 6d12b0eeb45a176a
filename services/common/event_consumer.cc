#include "common/event_consumer.h"

#include <exception>
#include <utility>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::common {
namespace {

using type::v1::DomainEvent;

constexpr size_t kMaxEventIdLength = 64;  // processed_events.event_id

Error RedisError(const std::string& what, const RedisReply& reply) {
  return Error(ErrorKind::kInternal, "REDIS_ERROR", what + ": " + reply.str,
               {{"dependency", "redis"}});
}

bool StartsWith(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// [[id, [field, value, …]], …] → entries; entries without fields (deleted
// from the stream while pending) are skipped.
template <typename Entry>
std::vector<Entry> ParseEntries(const RedisReply& array) {
  std::vector<Entry> out;
  for (const RedisReply& item : array.elements) {
    if (item.type != RedisReply::Type::kArray || item.elements.size() != 2) continue;
    const RedisReply& fields = item.elements[1];
    if (fields.type != RedisReply::Type::kArray) continue;
    Entry entry;
    entry.id = item.elements[0].str;
    for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      entry.fields.emplace_back(fields.elements[i].str, fields.elements[i + 1].str);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

EventConsumerOptions WithDefaults(EventConsumerOptions options) {
  if (options.dead_letter_stream.empty()) options.dead_letter_stream = options.stream + ":dead";
  return options;
}

}  // namespace

EventConsumer::EventConsumer(MysqlPool& pool, RedisClient& redis, EventConsumerOptions options,
                             EventHandler handler)
    : pool_(pool),
      redis_(redis),
      options_(WithDefaults(std::move(options))),
      handler_(std::move(handler)) {
  if (options_.stream.empty()) throw InvalidArgument("stream", "name the stream to consume");
  if (options_.group.empty()) throw InvalidArgument("group", "name the consumer group");
  if (options_.consumer.empty()) {
    throw InvalidArgument("consumer", "name this consumer (unique per replica)");
  }
  if (options_.batch == 0) throw InvalidArgument("batch", "must be at least 1");
  if (options_.max_deliveries < 1) throw InvalidArgument("max_deliveries", "must be at least 1");
  if (!handler_) throw InvalidArgument("handler", "an event consumer needs a handler");
}

EventConsumer::~EventConsumer() { Stop(); }

size_t EventConsumer::PollOnce() {
  std::lock_guard polling(poll_mu_);
  EnsureGroup();
  std::vector<Entry> entries = Claim();
  std::vector<Entry> fresh = ReadNew(/*block=*/entries.empty());
  for (Entry& e : fresh) entries.push_back(std::move(e));

  size_t settled = 0;
  size_t next = 0;
  try {
    for (; next < entries.size(); ++next) {
      if (Settle(entries[next])) ++settled;
    }
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kUnavailable) {
      // A dependency is down, not the events: undo this batch's deliveries
      // so the outage does not count against max_deliveries.
      try {
        RestoreDeliveryCounts({entries.begin() + static_cast<std::ptrdiff_t>(next), entries.end()});
      } catch (const std::exception&) {
        // Redis is down as well; the counts stay, which is all we can do.
      }
    }
    throw;
  }
  return settled;
}

void EventConsumer::EnsureGroup() {
  if (group_ready_) return;
  const RedisReply reply = redis_.Command(
      {"XGROUP", "CREATE", options_.stream, options_.group, options_.group_start_id, "MKSTREAM"});
  if (reply.is_error() && !StartsWith(reply.str, "BUSYGROUP")) {
    throw RedisError("XGROUP CREATE " + options_.stream + " " + options_.group + " failed", reply);
  }
  group_ready_ = true;
}

bool EventConsumer::IsNoGroup(const RedisReply& reply) {
  // The stream or group was deleted under us; recreate it on the next poll.
  if (!reply.is_error() || !StartsWith(reply.str, "NOGROUP")) return false;
  group_ready_ = false;
  return true;
}

std::vector<EventConsumer::Entry> EventConsumer::Claim() {
  const RedisReply reply =
      redis_.Command({"XAUTOCLAIM", options_.stream, options_.group, options_.consumer,
                      std::to_string(options_.claim_min_idle.count()), claim_cursor_, "COUNT",
                      std::to_string(options_.batch)});
  if (IsNoGroup(reply)) return {};
  if (reply.is_error()) throw RedisError("XAUTOCLAIM on " + options_.stream + " failed", reply);
  // Redis 7: [next cursor, [entries], [ids deleted from the stream]].
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() < 2) {
    throw Internal("XAUTOCLAIM returned an unexpected reply; Redis 7 is required");
  }
  claim_cursor_ = reply.elements[0].str;
  std::vector<Entry> entries = ParseEntries<Entry>(reply.elements[1]);
  LoadDeliveryCounts(entries);
  return entries;
}

void EventConsumer::LoadDeliveryCounts(std::vector<Entry>& entries) {
  if (entries.empty()) return;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(entries.size());
  for (const Entry& e : entries) {
    commands.push_back({"XPENDING", options_.stream, options_.group, e.id, e.id, "1"});
  }
  const std::vector<RedisReply> replies = redis_.Pipeline(commands);
  std::vector<Entry> still_pending;
  for (size_t i = 0; i < entries.size(); ++i) {
    // Extended form: [[id, consumer, idle ms, deliveries]].
    const RedisReply& r = replies[i];
    if (r.type != RedisReply::Type::kArray || r.elements.empty()) continue;  // acked meanwhile
    const RedisReply& info = r.elements[0];
    if (info.type != RedisReply::Type::kArray || info.elements.size() < 4) continue;
    entries[i].deliveries = info.elements[3].integer;
    still_pending.push_back(std::move(entries[i]));
  }
  entries = std::move(still_pending);
}

std::vector<EventConsumer::Entry> EventConsumer::ReadNew(bool block) {
  const bool blocking = block && options_.block.count() > 0;
  if (reader_ == nullptr) {
    // A read blocks for up to `block`; its socket timeout must outlast it.
    reader_ = redis_.Dedicated(options_.block + redis_.options().command_timeout);
  }
  std::vector<std::string> argv = {"XREADGROUP",      "GROUP", options_.group,
                                   options_.consumer, "COUNT", std::to_string(options_.batch)};
  if (blocking) argv.insert(argv.end(), {"BLOCK", std::to_string(options_.block.count())});
  argv.insert(argv.end(), {"STREAMS", options_.stream, ">"});
  const RedisReply reply = reader_->Command(argv);
  if (reply.is_nil() || IsNoGroup(reply)) return {};
  if (reply.is_error()) throw RedisError("XREADGROUP on " + options_.stream + " failed", reply);
  // [[stream, [entries]]]
  if (reply.elements.empty() || reply.elements[0].elements.size() != 2) return {};
  return ParseEntries<Entry>(reply.elements[0].elements[1]);  // first delivery each
}

bool EventConsumer::Settle(const Entry& entry) {
  std::string problem;
  const std::optional<DomainEvent> event = DecodeEventFields(entry.fields, &problem);
  if (!event.has_value()) {
    DeadLetter(entry, "not a DomainEvent: " + problem);
    return true;
  }
  if (event->event_id().size() > kMaxEventIdLength) {
    DeadLetter(entry, "event_id longer than " + std::to_string(kMaxEventIdLength) + " bytes");
    return true;
  }
  if (entry.deliveries > options_.max_deliveries) {
    DeadLetter(entry, "delivered " + std::to_string(entry.deliveries) + " times; the limit is " +
                          std::to_string(options_.max_deliveries));
    return true;
  }
  if (!Process(entry, *event)) return false;
  Ack(entry.id);  // only after COMMIT: a crash before this means redelivery, not loss
  return true;
}

bool EventConsumer::Process(const Entry& entry, const DomainEvent& event) {
  try {
    pool_.WithTransaction([&](MysqlConnection& tx) {
      // The dedupe row and the handler's work commit together: either both
      // exist or neither, so an event has its effect exactly once.
      const uint64_t inserted =
          tx.Execute("INSERT IGNORE INTO processed_events (consumer_group, event_id) VALUES (?, ?)",
                     {options_.group, event.event_id()});
      if (inserted == 0) return;  // handled before (a redelivery or a duplicate publish)
      handler_(tx, event);
    });
    return true;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kUnavailable) throw;
    DefaultLogger()->Warn("event consumer: handler failed; the entry will be redelivered",
                          {{"stream", options_.stream},
                           {"group", options_.group},
                           {"entry", entry.id},
                           {"event_id", event.event_id()},
                           {"type", event.type()},
                           {"error", e.what()}});
  } catch (const std::exception& e) {
    DefaultLogger()->Warn("event consumer: handler failed; the entry will be redelivered",
                          {{"stream", options_.stream},
                           {"group", options_.group},
                           {"entry", entry.id},
                           {"event_id", event.event_id()},
                           {"type", event.type()},
                           {"error", e.what()}});
  }
  return false;
}

void EventConsumer::DeadLetter(const Entry& entry, const std::string& reason) {
  std::vector<std::string> argv = {"XADD", options_.dead_letter_stream, "*"};
  for (const auto& [name, value] : entry.fields) {
    argv.push_back(name);
    argv.push_back(value);
  }
  const std::pair<const char*, std::string> provenance[] = {
      {"dead_letter_stream", options_.stream},
      {"dead_letter_entry", entry.id},
      {"dead_letter_group", options_.group},
      {"dead_letter_consumer", options_.consumer},
      {"dead_letter_deliveries", std::to_string(entry.deliveries)},
      {"dead_letter_reason", reason}};
  for (const auto& [name, value] : provenance) {
    argv.push_back(name);
    argv.push_back(value);
  }
  // Parked first, acknowledged second: a crash in between parks it twice,
  // never loses it.
  const RedisReply reply = redis_.Command(argv);
  if (reply.is_error()) {
    throw RedisError("XADD to dead-letter stream " + options_.dead_letter_stream + " failed",
                     reply);
  }
  DefaultLogger()->Warn("event consumer: entry parked on the dead-letter stream",
                        {{"stream", options_.stream},
                         {"group", options_.group},
                         {"entry", entry.id},
                         {"dead_letter_stream", options_.dead_letter_stream},
                         {"reason", reason}});
  Ack(entry.id);
}

void EventConsumer::Ack(const std::string& id) {
  const RedisReply reply = redis_.Command({"XACK", options_.stream, options_.group, id});
  if (reply.is_error()) throw RedisError("XACK on " + options_.stream + " failed", reply);
}

void EventConsumer::RestoreDeliveryCounts(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(entries.size());
  for (const Entry& e : entries) {
    // XCLAIM … RETRYCOUNT sets the counter; JUSTID keeps it from counting
    // this claim. Idle time restarts, which spaces out the retries.
    commands.push_back({"XCLAIM", options_.stream, options_.group, options_.consumer, "0", e.id,
                        "RETRYCOUNT", std::to_string(e.deliveries > 0 ? e.deliveries - 1 : 0),
                        "JUSTID"});
  }
  redis_.Pipeline(commands);
}

void EventConsumer::Start() {
  loop_.Start([this] { return Iterate(); });
}

void EventConsumer::Stop() { loop_.Stop(); }

std::chrono::milliseconds EventConsumer::Iterate() {
  try {
    // A blocking read paces the loop; without one, an empty poll waits.
    const bool idle = PollOnce() == 0 && options_.block.count() <= 0;
    return idle ? std::chrono::duration_cast<std::chrono::milliseconds>(options_.error_backoff)
                : std::chrono::milliseconds(0);
  } catch (const std::exception& e) {
    DefaultLogger()->Warn(
        "event consumer: poll failed; retrying",
        {{"stream", options_.stream}, {"group", options_.group}, {"error", e.what()}});
    return std::chrono::duration_cast<std::chrono::milliseconds>(options_.error_backoff);
  }
}

}  // namespace propdesk::common
