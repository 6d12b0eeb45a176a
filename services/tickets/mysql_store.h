#pragma once

// TicketStore over MariaDB: the only SQL of the tickets service (schema in
// migrations/0001_tickets.sql).

#include "tickets/store.h"

namespace propdesk::tickets {

class MysqlTicketStore : public TicketStore {
 public:
  std::optional<SiteRecord> FindSite(common::MysqlConnection& tx,
                                     std::string_view site_id) override;
  void UpsertSite(common::MysqlConnection& tx, const SiteRecord& site) override;
  std::optional<StoredPolicy> FindPolicy(common::MysqlConnection& tx, std::string_view site_id,
                                         bool for_update) override;
  void SavePolicy(common::MysqlConnection& tx, std::string_view site_id,
                  const std::string& policy) override;

  std::string Insert(common::MysqlConnection& tx, const domain::Change& change) override;
  void InsertAll(common::MysqlConnection& tx,
                 const std::vector<const domain::Change*>& changes) override;
  std::optional<domain::Ticket> Find(common::MysqlConnection& tx, std::string_view site_id,
                                     std::string_view ticket_id, bool for_update) override;
  void Update(common::MysqlConnection& tx, const domain::Change& change,
              int64_t expected_version) override;
  std::vector<domain::Ticket> List(common::MysqlConnection& tx, const TicketQuery& query) override;
  std::vector<StoredEvent> ListEvents(common::MysqlConnection& tx, std::string_view ticket_id,
                                      int64_t after_sequence, int limit) override;
  std::vector<DueDeadlineRef> DueDeadlines(common::MysqlConnection& tx, domain::Timestamp from,
                                           domain::Timestamp to) override;
  SlaCounts CountSla(common::MysqlConnection& tx, std::string_view site_id, domain::Timestamp start,
                     domain::Timestamp end, domain::Timestamp now) override;
  std::vector<domain::DuplicateCandidate> DuplicateCandidates(
      common::MysqlConnection& tx, std::string_view site_id,
      const std::vector<domain::DuplicateProbe>& probes, domain::Timestamp since) override;
  OpenWorkCounts CountOpenWork(common::MysqlConnection& tx, domain::Timestamp now) override;
};

// The numeric id of a ticket id string; nullopt unless it is 1–18 digits
// naming a positive number.
std::optional<int64_t> ParseTicketId(std::string_view ticket_id);

}  // namespace propdesk::tickets
