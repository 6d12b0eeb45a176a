#include "common/record_number.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/errors.h"
#include "common/mysql.h"

namespace propdesk::common {
namespace {

bool AllOf(std::string_view text, bool (*allowed)(char)) {
  for (char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsUpperOrDigit(char c) { return IsUpper(c) || (c >= '0' && c <= '9'); }

std::string SqlDate(std::chrono::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

}  // namespace

bool IsValidRecordType(std::string_view type) {
  return type.size() >= 2 && type.size() <= 4 && AllOf(type, IsUpper);
}

bool IsValidSiteCode(std::string_view site_code) {
  return site_code.size() >= 2 && site_code.size() <= 8 && AllOf(site_code, IsUpperOrDigit);
}

void ValidateRecordType(std::string_view type) {
  if (!IsValidRecordType(type)) {
    throw InvalidArgument(
        "record_type",
        "\"" + std::string(type) + "\" is not a record type: use 2–4 capital letters, e.g. TK");
  }
}

void ValidateSiteCode(std::string_view site_code) {
  if (!IsValidSiteCode(site_code)) {
    throw InvalidArgument(
        "site_code", "\"" + std::string(site_code) +
                         "\" is not a site code: use 2–8 capital letters or digits, e.g. SZ01");
  }
}

std::string FormatRecordNumber(std::string_view type, std::string_view site_code,
                               std::chrono::year_month_day local_date, int64_t seq) {
  ValidateRecordType(type);
  ValidateSiteCode(site_code);
  const int year = static_cast<int>(local_date.year());
  if (!local_date.ok() || year < 2000 || year > 2099) {
    throw InvalidArgument(
        "local_date",
        SqlDate(local_date) + " cannot be numbered: record numbers cover valid dates in 2000–2099");
  }
  if (seq < 1) {
    throw InvalidArgument("seq", "record sequences start at 1, got " + std::to_string(seq));
  }

  char digits[40];
  std::snprintf(digits, sizeof digits, "%02d%02u%02u%03lld", year % 100,
                static_cast<unsigned>(local_date.month()), static_cast<unsigned>(local_date.day()),
                static_cast<long long>(seq));
  std::string out;
  out.reserve(type.size() + site_code.size() + 2 + 16);
  out.append(type).append("-").append(site_code).append("-").append(digits);
  return out;
}

namespace {

// Sequence names are spliced into SQL: plain lower-case identifiers only.
void ValidateSequenceName(std::string_view name) {
  const bool plain =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
  if (!plain) throw InvalidArgument("id_sequence", "must be a plain lower-case identifier");
}

}  // namespace

RecordNumberAllocator::RecordNumberAllocator(std::string type) : type_(std::move(type)) {
  ValidateRecordType(type_);
}

std::string RecordNumberAllocator::Next(MysqlConnection& tx, std::string_view site_code,
                                        std::chrono::year_month_day local_date) const {
  // Validate before touching the database so bad input never creates a row.
  (void)FormatRecordNumber(type_, site_code, local_date, 1);
  // One round trip: MariaDB's RETURNING gives the row's value after the
  // insert or the update.
  auto rs = tx.Query(
      "INSERT INTO record_sequences (record_type, site_code, day, last_seq) VALUES (?, ?, ?, 1) "
      "ON DUPLICATE KEY UPDATE last_seq = last_seq + 1 RETURNING last_seq",
      {type_, std::string(site_code), SqlDate(local_date)});
  const int64_t seq = rs->next() ? rs->getInt64(1) : 0;
  if (seq < 1) throw Internal("record_sequences upsert returned no sequence for " + type_);
  return FormatRecordNumber(type_, site_code, local_date, seq);
}

std::vector<RecordNumberAllocator::NumberAndId> RecordNumberAllocator::ReserveWithIds(
    MysqlPool& pool, std::string_view site_code, std::chrono::year_month_day local_date,
    std::string_view id_sequence, int count) const {
  // Bad input writes nothing; the sequence name is spliced into the SQL.
  (void)FormatRecordNumber(type_, site_code, local_date, 1);
  ValidateSequenceName(id_sequence);
  if (count < 1) throw InvalidArgument("count", "must be at least 1");
  PooledConnection conn = pool.Acquire();  // autocommit: committed when the statement ends
  auto rs = conn->Query(
      "INSERT INTO record_sequences (record_type, site_code, day, last_seq) VALUES (?, ?, ?, ?) "
      "ON DUPLICATE KEY UPDATE last_seq = last_seq + VALUES(last_seq) "
      "RETURNING last_seq, NEXTVAL(" +
          std::string(id_sequence) + ")",
      {type_, std::string(site_code), SqlDate(local_date), int64_t{count}});
  if (!rs->next()) throw Internal("record_sequences upsert returned no row for " + type_);
  const int64_t last = rs->getInt64(1);
  const int64_t first_id = rs->getInt64(2);
  if (last < count || first_id < 1) {
    throw Internal("record_sequences upsert returned no sequence or id for " + type_);
  }
  std::vector<NumberAndId> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    out.push_back(
        {FormatRecordNumber(type_, site_code, local_date, last - count + 1 + i), first_id + i});
  }
  return out;
}

void RecordNumberAllocator::CheckIdStride(MysqlPool& pool, std::string_view id_sequence,
                                          int count) const {
  ValidateSequenceName(id_sequence);
  auto rs = pool.Acquire()->Query("SELECT increment FROM " + std::string(id_sequence));
  const int64_t increment = rs->next() ? rs->getInt64(1) : 0;
  if (increment < count) {
    throw Error(ErrorKind::kFailedPrecondition, "ID_SEQUENCE_STRIDE",
                "sequence " + std::string(id_sequence) + " increments by " +
                    std::to_string(increment) + "; reservations of " + std::to_string(count) +
                    " ids need INCREMENT BY >= that");
  }
}

}  // namespace propdesk::common
