#include "tickets/mysql_store.h"

#include <cppconn/resultset.h>

#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "tickets/convert.h"

namespace propdesk::tickets {

using common::MultiRowInsert;
using common::MysqlConnection;
using common::SqlValue;
using domain::Change;
using domain::DeadlineKind;
using domain::Ticket;

namespace {

constexpr const char* kTicketColumns =
    "id, site_id, number, kind, channel, category, priority, state, unit, contact_name, "
    "contact_phone, description, first_contact_owner_id, owner_id, department, assignee_id, "
    "escalation_level, breach_count, appointment_reschedule_count, duplicate_count, "
    "reopen_count, resolution, callback, incident_report, version, created_at_us, updated_at_us";

std::string Str(sql::ResultSet& rs, const char* column) {
  return rs.getString(column).asStdString();
}

template <class E>
E EnumColumn(sql::ResultSet& rs, const char* column, int size) {
  std::optional<E> value = DomainValue<E>(rs.getInt(column), size);
  if (!value) {
    throw common::Error(common::ErrorKind::kInternal, "CORRUPT_ROW",
                        std::string("tickets.") + column + " holds an unknown value");
  }
  return *value;
}

template <class E, size_t N>
E EnumColumn(sql::ResultSet& rs, const char* column, const std::array<E, N>&) {
  return EnumColumn<E>(rs, column, static_cast<int>(N));
}

template <class Message>
std::string Serialize(const Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

std::string SerializedResolution(const Ticket& t) {
  if (!t.resolution) return "";
  v1::Resolution proto;
  ToProto(*t.resolution, &proto);
  return Serialize(proto);
}

std::string SerializedCallback(const Ticket& t) {
  if (!t.callback) return "";
  v1::Callback proto;
  ToProto(*t.callback, &proto);
  return Serialize(proto);
}

std::string SerializedIncident(const Ticket& t) {
  if (!t.incident_report) return "";
  v1::IncidentReport proto;
  ToProto(*t.incident_report, &proto);
  return Serialize(proto);
}

bool IsValidComplaint(const Ticket& t) {
  return t.kind == domain::Kind::kComplaint && t.resolution && t.resolution->valid_complaint;
}

int64_t Satisfaction(const domain::TicketEvent& e) {
  if (e.type != domain::EventType::kCallbackRecorded) return 0;
  auto it = e.details.find("satisfaction");
  if (it == e.details.end() || it->second.size() != 1) return 0;
  return it->second[0] - '0';
}

Ticket TicketFromRow(sql::ResultSet& rs) {
  Ticket t;
  t.ticket_id = std::to_string(rs.getInt64("id"));
  t.site_id = Str(rs, "site_id");
  t.record_number = Str(rs, "number");
  t.kind = EnumColumn(rs, "kind", domain::kAllKinds);
  t.channel = EnumColumn(rs, "channel", domain::kAllChannels);
  t.category = EnumColumn(rs, "category", domain::kAllCategories);
  t.priority = EnumColumn(rs, "priority", domain::kAllPriorities);
  t.state = EnumColumn(rs, "state", domain::kAllStates);
  t.unit = Str(rs, "unit");
  t.contact.name = Str(rs, "contact_name");
  t.contact.phone = Str(rs, "contact_phone");
  t.description = Str(rs, "description");
  t.first_contact_owner_id = Str(rs, "first_contact_owner_id");
  t.owner_id = Str(rs, "owner_id");
  t.department = Str(rs, "department");
  t.assignee_id = Str(rs, "assignee_id");
  t.escalation = EnumColumn<domain::EscalationLevel>(rs, "escalation_level", 3);
  t.breach_count = rs.getInt("breach_count");
  t.appointment_reschedule_count = rs.getInt("appointment_reschedule_count");
  t.duplicate_count = rs.getInt("duplicate_count");
  t.reopen_count = rs.getInt("reopen_count");
  if (std::string blob = Str(rs, "resolution"); !blob.empty()) {
    v1::Resolution proto;
    proto.ParseFromString(blob);
    t.resolution = FromProto(proto);
  }
  if (std::string blob = Str(rs, "callback"); !blob.empty()) {
    v1::Callback proto;
    proto.ParseFromString(blob);
    t.callback = FromProto(proto);
  }
  if (std::string blob = Str(rs, "incident_report"); !blob.empty()) {
    v1::IncidentReport proto;
    proto.ParseFromString(blob);
    t.incident_report = FromProto(proto);
  }
  t.version = rs.getInt64("version");
  t.created_at = FromMicros(rs.getInt64("created_at_us"));
  t.updated_at = FromMicros(rs.getInt64("updated_at_us"));
  return t;
}

// A deadline's columns, named apart from the ticket's own (`kind`), so that
// one row can carry both (Find's join).
constexpr const char* kDeadlineColumns =
    "d.kind AS deadline_kind, d.due_at_us AS deadline_due_at_us, "
    "d.met_at_us AS deadline_met_at_us, d.breached AS deadline_breached";

// The deadline in the row's kDeadlineColumns, added to `ticket`.
void AddDeadlineFromRow(sql::ResultSet& rs, Ticket& ticket) {
  const auto kind = EnumColumn(rs, "deadline_kind", domain::kAllDeadlineKinds);
  domain::Deadline& d = ticket.deadlines[kind];
  d.due = FromMicros(rs.getInt64("deadline_due_at_us"));
  d.breached = rs.getInt("deadline_breached") != 0;
  if (!rs.isNull("deadline_met_at_us")) d.met_at = FromMicros(rs.getInt64("deadline_met_at_us"));
}

// Fills the deadlines of `tickets` (keyed by numeric id) from ticket_deadlines.
void LoadDeadlines(MysqlConnection& tx, std::map<int64_t, Ticket*>& tickets) {
  if (tickets.empty()) return;
  std::string sql = std::string("SELECT d.ticket_id, ") + kDeadlineColumns +
                    " FROM ticket_deadlines d "
                    "WHERE d.ticket_id IN (";
  std::vector<SqlValue> args;
  for (const auto& [id, ticket] : tickets) {
    sql += args.empty() ? "?" : ",?";
    args.emplace_back(id);
  }
  sql += ")";
  auto rs = tx.Query(sql, args);
  while (rs->next()) AddDeadlineFromRow(*rs, *tickets.at(rs->getInt64("ticket_id")));
}

// kTicketColumns of the table aliased `t` (Find's join, where ticket_deadlines
// has a site_id too).
const std::string& QualifiedTicketColumns() {
  static const std::string columns = [] {
    std::string out = "t.";
    for (const char* c = kTicketColumns; *c != '\0'; ++c) {
      out.push_back(*c);
      if (*c == ' ') out += "t.";
    }
    return out;
  }();
  return columns;
}

// The ticket's deadlines in one multi-row INSERT, deferred to the next
// statement or the COMMIT (MysqlConnection::Defer); a new ticket has none to
// replace.
MultiRowInsert DeadlineRows() {
  return MultiRowInsert(
      "INSERT INTO ticket_deadlines (ticket_id, kind, site_id, due_at_us, met_at_us, breached, "
      "watched) VALUES",
      "(?, ?, ?, ?, ?, ?, ?)");
}

void AddDeadlines(MultiRowInsert& rows, int64_t id, const Ticket& t) {
  for (const auto& [kind, d] : t.deadlines) {
    const bool watched = d.pending() && !d.breached;
    rows.Add({id, int64_t{ProtoNumber(kind)}, t.site_id, ToMicros(d.due),
              d.met_at ? SqlValue(ToMicros(*d.met_at)) : SqlValue(std::monostate{}),
              int64_t{d.breached ? 1 : 0}, int64_t{watched ? 1 : 0}});
  }
}

void WriteDeadlines(MysqlConnection& tx, int64_t id, const Ticket& t, bool replace) {
  if (replace) tx.Defer("DELETE FROM ticket_deadlines WHERE ticket_id = ?", {id});
  MultiRowInsert rows = DeadlineRows();
  AddDeadlines(rows, id, t);
  rows.DeferOn(tx);
}

MultiRowInsert HistoryRows() {
  return MultiRowInsert(
      "INSERT INTO ticket_events (ticket_id, seq, site_id, type, actor_id, at_us, reason, "
      "from_state, to_state, details, satisfaction) VALUES",
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
}

// `events` numbered from `first_seq` on.
void AddHistory(MultiRowInsert& rows, int64_t id, const std::string& site_id,
                const std::vector<domain::TicketEvent>& events, int64_t first_seq) {
  int64_t next = first_seq;
  for (const domain::TicketEvent& e : events) {
    v1::TicketEvent details;
    for (const auto& [key, value] : e.details) (*details.mutable_details())[key] = value;
    rows.Add({id, next++, site_id, int64_t{ProtoNumber(e.type)}, e.actor_id, ToMicros(e.at),
              e.reason, int64_t{ProtoNumber(e.from_state)}, int64_t{ProtoNumber(e.to_state)},
              Serialize(details), Satisfaction(e)});
  }
}

// Appends `events` numbered after the ticket's last one (read from the
// table), in one deferred multi-row INSERT.
void AppendHistory(MysqlConnection& tx, int64_t id, const std::string& site_id,
                   const std::vector<domain::TicketEvent>& events) {
  if (events.empty()) return;
  auto rs =
      tx.Query("SELECT COALESCE(MAX(seq), 0) AS last FROM ticket_events WHERE ticket_id = ?", {id});
  const int64_t last_seq = rs->next() ? rs->getInt64("last") : 0;
  MultiRowInsert rows = HistoryRows();
  AddHistory(rows, id, site_id, events, last_seq + 1);
  rows.DeferOn(tx);
}

MultiRowInsert TicketRows() {
  return MultiRowInsert(
      "INSERT INTO tickets (id, site_id, number, kind, channel, category, priority, state, unit, "
      "contact_name, contact_phone, description, first_contact_owner_id, owner_id, department, "
      "assignee_id, escalation_level, breach_count, appointment_reschedule_count, "
      "duplicate_count, reopen_count, resolution, callback, incident_report, version, "
      "created_at_us, updated_at_us, valid_complaint) VALUES",
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
}

void AddTicket(MultiRowInsert& rows, int64_t id, const Ticket& t) {
  rows.Add({id,
            t.site_id,
            t.record_number,
            int64_t{ProtoNumber(t.kind)},
            int64_t{ProtoNumber(t.channel)},
            int64_t{ProtoNumber(t.category)},
            int64_t{ProtoNumber(t.priority)},
            int64_t{ProtoNumber(t.state)},
            t.unit,
            t.contact.name,
            t.contact.phone,
            t.description,
            t.first_contact_owner_id,
            t.owner_id,
            t.department,
            t.assignee_id,
            int64_t{ProtoNumber(t.escalation)},
            int64_t{t.breach_count},
            int64_t{t.appointment_reschedule_count},
            int64_t{t.duplicate_count},
            int64_t{t.reopen_count},
            SerializedResolution(t),
            SerializedCallback(t),
            SerializedIncident(t),
            t.version,
            ToMicros(t.created_at),
            ToMicros(t.updated_at),
            int64_t{IsValidComplaint(t) ? 1 : 0}});
}

}  // namespace

std::optional<int64_t> ParseTicketId(std::string_view ticket_id) {
  if (ticket_id.empty() || ticket_id.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : ticket_id) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value <= 0) return std::nullopt;
  return value;
}

std::optional<SiteRecord> MysqlTicketStore::FindSite(MysqlConnection& tx,
                                                     std::string_view site_id) {
  auto rs = tx.Query("SELECT site_id, group_id, code, name FROM sites WHERE site_id = ?",
                     {std::string(site_id)});
  if (!rs->next()) return std::nullopt;
  return SiteRecord{Str(*rs, "site_id"), Str(*rs, "group_id"), Str(*rs, "code"), Str(*rs, "name")};
}

void MysqlTicketStore::UpsertSite(MysqlConnection& tx, const SiteRecord& site) {
  tx.Execute(
      "INSERT INTO sites (site_id, group_id, code, name) VALUES (?, ?, ?, ?) "
      "ON DUPLICATE KEY UPDATE group_id = VALUES(group_id), code = VALUES(code), "
      "name = VALUES(name)",
      {site.site_id, site.group_id, site.code, site.name});
}

std::optional<StoredPolicy> MysqlTicketStore::FindPolicy(MysqlConnection& tx,
                                                         std::string_view site_id,
                                                         bool for_update) {
  auto rs = tx.Query(std::string("SELECT policy, version FROM site_policies WHERE site_id = ?") +
                         (for_update ? " FOR UPDATE" : ""),
                     {std::string(site_id)});
  if (!rs->next()) return std::nullopt;
  return StoredPolicy{Str(*rs, "policy"), rs->getInt64("version")};
}

void MysqlTicketStore::SavePolicy(MysqlConnection& tx, std::string_view site_id,
                                  const std::string& policy) {
  tx.Execute(
      "INSERT INTO site_policies (site_id, policy, version) VALUES (?, ?, 1) "
      "ON DUPLICATE KEY UPDATE policy = VALUES(policy), version = version + 1",
      {std::string(site_id), policy});
}

std::string MysqlTicketStore::Insert(MysqlConnection& tx, const Change& change) {
  if (ParseTicketId(change.ticket.ticket_id)) {
    InsertAll(tx, {&change});
    return change.ticket.ticket_id;
  }
  auto rs = tx.Query(std::string("SELECT NEXTVAL(") + kTicketIdSequence + ")");
  if (!rs->next()) throw common::Internal("NEXTVAL(ticket_ids) returned no row");
  Change numbered = change;
  numbered.ticket.ticket_id = std::to_string(rs->getInt64(1));
  InsertAll(tx, {&numbered});
  return numbered.ticket.ticket_id;
}

void MysqlTicketStore::InsertAll(MysqlConnection& tx, const std::vector<const Change*>& changes) {
  // Deferred: new tickets cost no round trip until the transaction's next
  // read or its COMMIT, and three statements however many tickets.
  MultiRowInsert tickets = TicketRows();
  MultiRowInsert deadlines = DeadlineRows();
  MultiRowInsert history = HistoryRows();
  for (const Change* change : changes) {
    const Ticket& t = change->ticket;
    const std::optional<int64_t> id = ParseTicketId(t.ticket_id);
    if (!id) throw common::Internal("InsertAll needs ticket ids, got '" + t.ticket_id + "'");
    AddTicket(tickets, *id, t);
    AddDeadlines(deadlines, *id, t);
    AddHistory(history, *id, t.site_id, change->events, 1);
  }
  tickets.DeferOn(tx);
  deadlines.DeferOn(tx);
  history.DeferOn(tx);
}

std::optional<Ticket> MysqlTicketStore::Find(MysqlConnection& tx, std::string_view site_id,
                                             std::string_view ticket_id, bool for_update) {
  const std::optional<int64_t> id = ParseTicketId(ticket_id);
  if (!id) return std::nullopt;
  if (for_update) {  // the ticket row alone is locked; its deadlines follow the lock
    auto rs = tx.Query(std::string("SELECT ") + kTicketColumns +
                           " FROM tickets WHERE id = ? AND site_id = ? FOR UPDATE",
                       {*id, std::string(site_id)});
    if (!rs->next()) return std::nullopt;
    Ticket t = TicketFromRow(*rs);
    std::map<int64_t, Ticket*> by_id{{*id, &t}};
    LoadDeadlines(tx, by_id);
    return t;
  }
  // A read: the ticket and its deadlines in one statement, so one snapshot
  // (and, outside a transaction, one round trip): a row per deadline.
  static const std::string sql = "SELECT " + QualifiedTicketColumns() + ", " + kDeadlineColumns +
                                 " FROM tickets t LEFT JOIN ticket_deadlines d "
                                 "ON d.ticket_id = t.id WHERE t.id = ? AND t.site_id = ?";
  auto rs = tx.Query(sql, {*id, std::string(site_id)});
  if (!rs->next()) return std::nullopt;
  Ticket t = TicketFromRow(*rs);
  do {
    if (!rs->isNull("deadline_kind")) AddDeadlineFromRow(*rs, t);
  } while (rs->next());
  return t;
}

void MysqlTicketStore::Update(MysqlConnection& tx, const Change& change, int64_t expected_version) {
  const Ticket& t = change.ticket;
  const std::optional<int64_t> id = ParseTicketId(t.ticket_id);
  if (!id) {
    throw common::Error(common::ErrorKind::kInternal, "BAD_TICKET_ID",
                        "a ticket without a stored id cannot be updated");
  }
  // UpdateWithVersion bumps version itself: the domain's new version must be
  // exactly one above the expected one.
  tx.UpdateWithVersion(
      "tickets",
      "state = ?, unit = ?, contact_name = ?, contact_phone = ?, owner_id = ?, department = ?, "
      "assignee_id = ?, escalation_level = ?, breach_count = ?, "
      "appointment_reschedule_count = ?, duplicate_count = ?, reopen_count = ?, resolution = ?, "
      "callback = ?, incident_report = ?, updated_at_us = ?, valid_complaint = ?",
      "id = ? AND site_id = ?",
      {int64_t{ProtoNumber(t.state)}, t.unit, t.contact.name, t.contact.phone, t.owner_id,
       t.department, t.assignee_id, int64_t{ProtoNumber(t.escalation)}, int64_t{t.breach_count},
       int64_t{t.appointment_reschedule_count}, int64_t{t.duplicate_count}, int64_t{t.reopen_count},
       SerializedResolution(t), SerializedCallback(t), SerializedIncident(t),
       ToMicros(t.updated_at), int64_t{IsValidComplaint(t) ? 1 : 0}, *id, t.site_id},
      expected_version);
  WriteDeadlines(tx, *id, t, /*replace=*/true);
  AppendHistory(tx, *id, t.site_id, change.events);
}

namespace {

// The index that walks the query's rows in id order, newest first, so that
// LIMIT stops after one page at any depth. MariaDB's own choice for
// `site_id = ? AND id < ? ORDER BY id DESC LIMIT n` is a `ref` on site_id
// alone, which reads every newer row of the site before the page (measured:
// 18,000 rows read for a 50-row page 90 % deep into 20,000 tickets).
const char* ListIndexFor(const TicketQuery& q) {
  if (!q.unit.empty()) return nullptr;  // a unit has few tickets: any plan is cheap
  // Overdue tickets are few: the plan starts from their deadlines
  // (ticket_deadlines_open) and sorts that small set.
  if (q.overdue_at) return nullptr;
  if (!q.assignee_id.empty()) return "tickets_site_assignee";
  if (!q.owner_id.empty()) return "tickets_site_owner";
  if (q.states.size() == 1) return "tickets_site_state";
  if (q.kind && q.states.empty()) return "tickets_site_kind";
  return "tickets_site_id";
}

}  // namespace

std::vector<Ticket> MysqlTicketStore::List(MysqlConnection& tx, const TicketQuery& q) {
  std::string sql = std::string("SELECT ") + kTicketColumns + " FROM tickets t";
  if (const char* index = ListIndexFor(q)) sql += std::string(" FORCE INDEX (") + index + ")";
  sql += " WHERE site_id = ?";
  std::vector<SqlValue> args{q.site_id};
  if (q.after_id > 0) {
    sql += " AND id < ?";
    args.emplace_back(q.after_id);
  }
  if (q.kind) {
    sql += " AND kind = ?";
    args.emplace_back(int64_t{ProtoNumber(*q.kind)});
  }
  if (!q.states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < q.states.size(); ++i) {
      sql += i == 0 ? "?" : ",?";
      args.emplace_back(int64_t{ProtoNumber(q.states[i])});
    }
    sql += ")";
  }
  if (q.category) {
    sql += " AND category = ?";
    args.emplace_back(int64_t{ProtoNumber(*q.category)});
  }
  if (!q.unit.empty()) {
    sql += " AND unit = ?";
    args.emplace_back(q.unit);
  }
  if (!q.assignee_id.empty()) {
    sql += " AND assignee_id = ?";
    args.emplace_back(q.assignee_id);
  }
  if (!q.owner_id.empty()) {
    sql += " AND owner_id = ?";
    args.emplace_back(q.owner_id);
  }
  if (q.created_after) {
    sql += " AND created_at_us >= ?";
    args.emplace_back(ToMicros(*q.created_after));
  }
  if (q.created_before) {
    sql += " AND created_at_us < ?";
    args.emplace_back(ToMicros(*q.created_before));
  }
  if (q.overdue_at) {
    sql +=
        " AND id IN (SELECT d.ticket_id FROM ticket_deadlines d WHERE d.site_id = ? "
        "AND d.met_at_us IS NULL AND d.due_at_us < ?)";
    args.emplace_back(q.site_id);
    args.emplace_back(ToMicros(*q.overdue_at));
  }
  sql += " ORDER BY id DESC LIMIT ?";
  args.emplace_back(int64_t{q.limit});

  std::vector<Ticket> tickets;
  {
    auto rs = tx.Query(sql, args);
    while (rs->next()) tickets.push_back(TicketFromRow(*rs));
  }
  std::map<int64_t, Ticket*> by_id;
  for (Ticket& t : tickets) by_id[*ParseTicketId(t.ticket_id)] = &t;
  LoadDeadlines(tx, by_id);
  return tickets;
}

std::vector<StoredEvent> MysqlTicketStore::ListEvents(MysqlConnection& tx,
                                                      std::string_view ticket_id,
                                                      int64_t after_sequence, int limit) {
  std::vector<StoredEvent> events;
  const std::optional<int64_t> id = ParseTicketId(ticket_id);
  if (!id) return events;
  auto rs = tx.Query(
      "SELECT seq, type, actor_id, at_us, reason, from_state, to_state, details "
      "FROM ticket_events WHERE ticket_id = ? AND seq > ? ORDER BY seq LIMIT ?",
      {*id, after_sequence, int64_t{limit}});
  while (rs->next()) {
    StoredEvent stored;
    stored.sequence = rs->getInt64("seq");
    domain::TicketEvent& e = stored.event;
    e.type = EnumColumn<domain::EventType>(*rs, "type", 19);
    e.actor_id = Str(*rs, "actor_id");
    e.at = FromMicros(rs->getInt64("at_us"));
    e.reason = Str(*rs, "reason");
    e.from_state = EnumColumn(*rs, "from_state", domain::kAllStates);
    e.to_state = EnumColumn(*rs, "to_state", domain::kAllStates);
    v1::TicketEvent details;
    details.ParseFromString(Str(*rs, "details"));
    for (const auto& [key, value] : details.details()) e.details[key] = value;
    events.push_back(std::move(stored));
  }
  return events;
}

std::vector<DueDeadlineRef> MysqlTicketStore::DueDeadlines(MysqlConnection& tx,
                                                           domain::Timestamp from,
                                                           domain::Timestamp to) {
  // KEY ticket_deadlines_watch (watched, due_at_us): a range read of the window.
  auto rs = tx.Query(
      "SELECT ticket_id, kind, site_id FROM ticket_deadlines "
      "WHERE watched = 1 AND due_at_us > ? AND due_at_us <= ? ORDER BY due_at_us",
      {ToMicros(from), ToMicros(to)});
  std::vector<DueDeadlineRef> out;
  while (rs->next()) {
    out.push_back({Str(*rs, "site_id"), std::to_string(rs->getInt64("ticket_id")),
                   EnumColumn(*rs, "kind", domain::kAllDeadlineKinds)});
  }
  return out;
}

SlaCounts MysqlTicketStore::CountSla(MysqlConnection& tx, std::string_view site_id,
                                     domain::Timestamp start, domain::Timestamp end,
                                     domain::Timestamp now) {
  SlaCounts c;
  const std::string site(site_id);
  const int64_t from = ToMicros(start);
  const int64_t to = ToMicros(end);
  {
    auto rs = tx.Query(
        "SELECT state, kind, COUNT(*) AS n FROM tickets WHERE site_id = ? AND state NOT IN (?, ?) "
        "GROUP BY state, kind",
        {site, int64_t{ProtoNumber(domain::State::kClosed)},
         int64_t{ProtoNumber(domain::State::kReferred)}});
    while (rs->next()) {
      const int64_t n = rs->getInt64("n");
      c.open_by_state[EnumColumn(*rs, "state", domain::kAllStates)] += n;
      c.open_by_kind[EnumColumn(*rs, "kind", domain::kAllKinds)] += n;
    }
  }
  auto count = [&](const std::string& sql, const std::vector<SqlValue>& args) {
    auto rs = tx.Query(sql, args);
    return rs->next() ? rs->getInt64(1) : int64_t{0};
  };
  c.breached = count(
      "SELECT COUNT(*) FROM ticket_events WHERE site_id = ? AND type = ? AND at_us >= ? AND "
      "at_us < ?",
      {site, int64_t{ProtoNumber(domain::EventType::kDeadlineBreached)}, from, to});
  c.due_within_next_hour = count(
      "SELECT COUNT(*) FROM ticket_deadlines WHERE watched = 1 AND due_at_us > ? AND "
      "due_at_us <= ? AND site_id = ?",
      {ToMicros(now), ToMicros(now + std::chrono::hours(1)), site});
  {
    auto rs = tx.Query(
        "SELECT COUNT(*) AS due, COALESCE(SUM(met_at_us IS NOT NULL), 0) AS done "
        "FROM ticket_deadlines WHERE site_id = ? AND kind = ? AND due_at_us >= ? AND due_at_us < ?",
        {site, int64_t{ProtoNumber(DeadlineKind::kCallback)}, from, to});
    if (rs->next()) {
      c.callbacks_due = rs->getInt64("due");
      c.callbacks_done = rs->getInt64("done");
    }
  }
  {
    auto rs = tx.Query(
        "SELECT COUNT(*) AS received, COALESCE(SUM(valid_complaint), 0) AS valid FROM tickets "
        "WHERE site_id = ? AND kind = ? AND created_at_us >= ? AND created_at_us < ?",
        {site, int64_t{ProtoNumber(domain::Kind::kComplaint)}, from, to});
    if (rs->next()) {
      c.complaints_received = rs->getInt64("received");
      c.valid_complaints = rs->getInt64("valid");
    }
  }
  {
    auto rs = tx.Query(
        "SELECT COUNT(*) AS responses, COALESCE(SUM(satisfaction), 0) AS total FROM ticket_events "
        "WHERE site_id = ? AND type = ? AND at_us >= ? AND at_us < ? AND satisfaction > 0",
        {site, int64_t{ProtoNumber(domain::EventType::kCallbackRecorded)}, from, to});
    if (rs->next()) {
      c.satisfaction_responses = rs->getInt64("responses");
      c.satisfaction_sum = rs->getInt64("total");
    }
  }
  return c;
}

std::vector<domain::DuplicateCandidate> MysqlTicketStore::DuplicateCandidates(
    MysqlConnection& tx, std::string_view site_id,
    const std::vector<domain::DuplicateProbe>& probes, domain::Timestamp since) {
  if (probes.empty()) return {};
  // A plain read: the ticket it picks is then row-locked by Find. Locking
  // the probe itself (FOR UPDATE) would gap-lock the unit's index range and
  // queue every concurrent create of the site whose unit sorts into that gap
  // (measured: creates of distinct units stopped scaling past one caller).
  // Reports of one fault that arrive together are linked by the batch that
  // commits them (tickets/creator.h); only reports committed by different
  // replicas within the same few milliseconds may both open a ticket.
  // Point lookups of tickets_site_unit by unit, forced (when the probes
  // share a kind MariaDB may otherwise walk every ticket of that kind in the
  // site); the few tickets of those units with another category or kind
  // are dropped by domain::FindDuplicateTarget.
  std::string sql =
      "SELECT id, kind, category, unit, state, created_at_us FROM tickets "
      "FORCE INDEX (tickets_site_unit) WHERE site_id = ? AND unit IN (";
  std::vector<common::SqlValue> params{std::string(site_id)};
  std::set<std::string_view> units;
  for (const domain::DuplicateProbe& probe : probes) {
    if (!units.insert(probe.unit).second) continue;
    sql += units.size() == 1 ? "?" : ", ?";
    params.push_back(probe.unit);
  }
  sql += ") AND created_at_us >= ? ORDER BY id";
  params.push_back(ToMicros(since));
  auto rs = tx.Query(sql, params);
  std::vector<domain::DuplicateCandidate> out;
  while (rs->next()) {
    domain::DuplicateCandidate c;
    c.ticket_id = std::to_string(rs->getInt64("id"));
    c.kind = EnumColumn(*rs, "kind", domain::kAllKinds);
    c.category = EnumColumn(*rs, "category", domain::kAllCategories);
    c.unit = Str(*rs, "unit");
    c.state = EnumColumn(*rs, "state", domain::kAllStates);
    c.created_at = FromMicros(rs->getInt64("created_at_us"));
    out.push_back(std::move(c));
  }
  return out;
}

OpenWorkCounts MysqlTicketStore::CountOpenWork(MysqlConnection& tx, domain::Timestamp now) {
  OpenWorkCounts counts;
  {
    auto rs = tx.Query(
        "SELECT site_id, kind, state, COUNT(*) AS n FROM tickets WHERE state NOT IN (?, ?) "
        "GROUP BY state, site_id, kind",  // the order of tickets_open_work: no temporary table
        {int64_t{ProtoNumber(domain::State::kClosed)},
         int64_t{ProtoNumber(domain::State::kReferred)}});
    while (rs->next()) {
      counts.open.push_back({Str(*rs, "site_id"), EnumColumn(*rs, "kind", domain::kAllKinds),
                             EnumColumn(*rs, "state", domain::kAllStates), rs->getInt64("n")});
    }
  }
  // Due is inclusive (domain::Deadline): a callback due exactly now is not
  // overdue yet.
  const int64_t now_us = ToMicros(now);
  auto rs = tx.Query(
      "SELECT d.site_id, t.kind, COALESCE(SUM(d.due_at_us >= ?), 0) AS due, "
      "COALESCE(SUM(d.due_at_us < ?), 0) AS overdue FROM ticket_deadlines d "
      "JOIN tickets t ON t.id = d.ticket_id "
      "WHERE d.kind = ? AND d.met_at_us IS NULL GROUP BY d.site_id, t.kind",
      {now_us, now_us, int64_t{ProtoNumber(DeadlineKind::kCallback)}});
  while (rs->next()) {
    counts.callbacks.push_back({Str(*rs, "site_id"), EnumColumn(*rs, "kind", domain::kAllKinds),
                                rs->getInt64("due"), rs->getInt64("overdue")});
  }
  return counts;
}

}  // namespace propdesk::tickets
