#pragma once

// Persistence of the tickets aggregate (ARCHITECTURE.md §3). Every method
// runs on the caller's transaction, so the service can combine it with
// Idempotency::Run, AppendEvent (the outbox) and RecordNumberAllocator in one
// commit.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mysql.h"
#include "tickets/domain/duplicates.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets {

struct SiteRecord {
  std::string site_id;
  std::string group_id;
  std::string code;  // rule C-5: the SITE of TK-<SITE>-YYMMDD###
  std::string name;
};

struct StoredPolicy {
  std::string policy;  // serialized propdesk.tickets.v1.SlaPolicy
  int64_t version = 0;
};

// Filters of ListTickets; unset = any.
struct TicketQuery {
  std::string site_id;
  int64_t after_id = 0;  // keyset: ids below this one (newest first); 0 = from the top
  int limit = 50;
  std::optional<domain::Kind> kind;
  std::vector<domain::State> states;
  std::optional<domain::Category> category;
  std::string unit;
  std::string assignee_id;
  std::string owner_id;
  std::optional<domain::Timestamp> created_after;
  std::optional<domain::Timestamp> created_before;
  // Only tickets with an unmet deadline due before this instant.
  std::optional<domain::Timestamp> overdue_at;
};

struct StoredEvent {
  int64_t sequence = 0;
  domain::TicketEvent event;
};

// A deadline the scanner must look at (T-8).
struct DueDeadlineRef {
  std::string site_id;
  std::string ticket_id;
  domain::DeadlineKind kind = domain::DeadlineKind::kContact;
};

// Raw counts behind GetSlaSummary (T-9); the service computes the rates.
struct SlaCounts {
  std::map<domain::State, int64_t> open_by_state;
  std::map<domain::Kind, int64_t> open_by_kind;
  int64_t breached = 0;
  int64_t due_within_next_hour = 0;
  int64_t callbacks_due = 0;
  int64_t callbacks_done = 0;
  int64_t complaints_received = 0;
  int64_t valid_complaints = 0;
  int64_t satisfaction_responses = 0;
  int64_t satisfaction_sum = 0;
};

// What the gauges of open work show (tickets/gauges.h), one row per label set
// with a non-zero count.
struct OpenWorkCounts {
  // Tickets neither closed nor referred, by site, kind and state.
  struct Open {
    std::string site_id;
    domain::Kind kind = domain::Kind::kComplaint;
    domain::State state = domain::State::kOpen;
    int64_t count = 0;
  };
  // Callbacks owed (T-9: an unmet callback deadline), by site and kind:
  // `due` still within their deadline, `overdue` past it.
  struct Callbacks {
    std::string site_id;
    domain::Kind kind = domain::Kind::kComplaint;
    int64_t due = 0;
    int64_t overdue = 0;
  };
  std::vector<Open> open;
  std::vector<Callbacks> callbacks;
};

// The database SEQUENCE ticket ids come from (migration 0003).
inline constexpr char kTicketIdSequence[] = "ticket_ids";

class TicketStore {
 public:
  virtual ~TicketStore() = default;

  virtual std::optional<SiteRecord> FindSite(common::MysqlConnection& tx,
                                             std::string_view site_id) = 0;
  virtual void UpsertSite(common::MysqlConnection& tx, const SiteRecord& site) = 0;
  virtual std::optional<StoredPolicy> FindPolicy(common::MysqlConnection& tx,
                                                 std::string_view site_id, bool for_update) = 0;
  virtual void SavePolicy(common::MysqlConnection& tx, std::string_view site_id,
                          const std::string& policy) = 0;

  // Inserts a new ticket with its deadlines and history; returns its id: the
  // ticket_id of `ticket` when it is one taken from kTicketIdSequence
  // beforehand (tickets/creator.h), else a new one.
  virtual std::string Insert(common::MysqlConnection& tx, const domain::Change& change) = 0;
  // Inserts new tickets whose ids were taken beforehand, all in one go (a
  // batch of creates, tickets/creator.h).
  virtual void InsertAll(common::MysqlConnection& tx,
                         const std::vector<const domain::Change*>& changes) = 0;
  // The ticket of that site, or nullopt (missing, another site's, or a
  // malformed id: all look the same, rule C-1). `for_update` row-locks it;
  // without, the ticket and its deadlines are read by one statement, one
  // consistent snapshot even outside a transaction (MysqlPool::WithAutocommit).
  virtual std::optional<domain::Ticket> Find(common::MysqlConnection& tx, std::string_view site_id,
                                             std::string_view ticket_id, bool for_update) = 0;
  // Writes `change` over the ticket at `expected_version` (optimistic lock:
  // Error(kAborted, "VERSION_CONFLICT") when it moved on) and appends its
  // history entries.
  virtual void Update(common::MysqlConnection& tx, const domain::Change& change,
                      int64_t expected_version) = 0;
  // Newest first (id descending).
  virtual std::vector<domain::Ticket> List(common::MysqlConnection& tx,
                                           const TicketQuery& query) = 0;
  // History in order, sequence > after_sequence.
  virtual std::vector<StoredEvent> ListEvents(common::MysqlConnection& tx,
                                              std::string_view ticket_id, int64_t after_sequence,
                                              int limit) = 0;
  // Unmet, unbreached deadlines with due in (from, to], earliest first: the
  // scanner's window (cost follows what falls due, not what is open).
  virtual std::vector<DueDeadlineRef> DueDeadlines(common::MysqlConnection& tx,
                                                   domain::Timestamp from,
                                                   domain::Timestamp to) = 0;
  // Open work now, and the period [start, end)'s figures.
  virtual SlaCounts CountSla(common::MysqlConnection& tx, std::string_view site_id,
                             domain::Timestamp start, domain::Timestamp end,
                             domain::Timestamp now) = 0;
  // T-11 candidates: tickets created since `since` that share unit, kind and
  // category with any of `probes` (one query for a whole batch of creates;
  // domain::FindDuplicateTarget picks each probe's own).
  virtual std::vector<domain::DuplicateCandidate> DuplicateCandidates(
      common::MysqlConnection& tx, std::string_view site_id,
      const std::vector<domain::DuplicateProbe>& probes, domain::Timestamp since) = 0;

  // Open work of every site as of `now`, for the leader's gauges
  // (ARCHITECTURE.md §10, tickets/gauges.h).
  virtual OpenWorkCounts CountOpenWork(common::MysqlConnection& tx, domain::Timestamp now) = 0;
};

}  // namespace propdesk::tickets
