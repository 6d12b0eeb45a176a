#pragma once

// Rule C-5: record numbers are `<TYPE>-<SITE>-YYMMDD###`: the record type, the
// site's code, the site-local date and a sequence within that day and site
// (the 14 Feb 2004 first ticket of SZ01 is TK-SZ01-040214001). Sequences
// never repeat, also under concurrent writers.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace propdesk::common {

class MysqlConnection;
class MysqlPool;

// A record type is 2–4 capital letters ("TK", "VIS"); a site code is 2–8
// capital letters or digits ("SZ01").
bool IsValidRecordType(std::string_view type);
bool IsValidSiteCode(std::string_view site_code);
// Throw Error(kInvalidArgument) naming the field when invalid.
void ValidateRecordType(std::string_view type);
void ValidateSiteCode(std::string_view site_code);

// TK-SZ01-240214001. The sequence is zero-padded to three digits; from 1000
// on it keeps all its digits (TK-SZ01-2402141000) rather than wrapping, so a
// busy day never repeats a number. Throws Error(kInvalidArgument) for a bad
// type or site code, an invalid date or one outside 2000–2099 (YY would be
// ambiguous), or seq < 1.
std::string FormatRecordNumber(std::string_view type, std::string_view site_code,
                               std::chrono::year_month_day local_date, int64_t seq);

// Allocates record numbers from the `record_sequences` table (common
// migration 0005). Stateless apart from the type: safe to share between
// threads.
class RecordNumberAllocator {
 public:
  explicit RecordNumberAllocator(std::string type);  // validated: Error(kInvalidArgument)

  // The next number for (type, site code, site-local day), allocated inside
  // the caller's transaction on `tx`: one upsert that row-locks the day's
  // counter until the caller commits. Concurrent writers for the same site
  // and day therefore queue behind each other's whole transaction and never
  // see the same value; a rolled-back transaction gives its number back, so
  // committed numbers have no gaps. Other sites and days are independent
  // rows. `local_date` must be the site-local date (see
  // WorkingCalendar::LocalDate).
  std::string Next(MysqlConnection& tx, std::string_view site_code,
                   std::chrono::year_month_day local_date) const;

  struct NumberAndId {
    std::string number;
    int64_t id = 0;
  };
  // `count` consecutive numbers and `count` consecutive row ids, allocated
  // and committed at once on a connection of its own, in one statement: the
  // numbers from the day's counter, the ids from one NEXTVAL of the database
  // SEQUENCE `id_sequence` (a plain identifier, else Error(kInvalidArgument);
  // it must increment by at least `count`). Take them before starting the
  // record's transaction (the pool is not re-entered while a transaction
  // holds a connection). The counter row is locked for that one statement
  // only, so busy writers of one site do not queue behind each other's
  // transactions. The price: a record whose transaction then fails leaves
  // its number unused, so numbers may have gaps — they still never repeat
  // (C-5 asks exactly that). A batch of creates takes its numbers this way
  // (tickets/creator.h), one statement for the whole batch.
  std::vector<NumberAndId> ReserveWithIds(MysqlPool& pool, std::string_view site_code,
                                          std::chrono::year_month_day local_date,
                                          std::string_view id_sequence, int count) const;
  // Error(kFailedPrecondition, "ID_SEQUENCE_STRIDE") unless `id_sequence`
  // increments by at least `count`: one NEXTVAL must cover a reservation of
  // `count` ids, or two reservations would share ids.
  void CheckIdStride(MysqlPool& pool, std::string_view id_sequence, int count) const;

  const std::string& type() const { return type_; }

 private:
  std::string type_;
};

}  // namespace propdesk::common
