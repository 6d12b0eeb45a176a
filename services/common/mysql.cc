#include "common/mysql.h"

#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <thread>
#include <utility>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::common {
namespace {

// MySQL / MariaDB error codes the pool reacts to.
constexpr int kErDuplicateKey = 1062;
constexpr int kErLockWaitTimeout = 1205;
constexpr int kErDeadlock = 1213;
constexpr int kErStatementTimeout = 1969;  // MariaDB max_statement_time
constexpr int kCrCommandsOutOfSync = 2014;

// A connection idle for longer than this is pinged before it is handed out,
// so a server restart costs one failed ping instead of a failed request.
constexpr std::chrono::seconds kValidateAfterIdle{1};
// Prepared statements kept per connection (least recently used evicted).
constexpr size_t kStatementCacheSize = 128;
// The client-side read/write timeout is the server-side statement timeout
// plus this margin, so a slow statement ends with the server's clear 1969
// and only a hung server or network trips the client timeout.
constexpr std::chrono::seconds kSocketTimeoutMargin{10};

sql::mysql::MySQL_Driver* Driver() {
  // get_mysql_driver_instance() is not thread-safe on its first call.
  static std::once_flag once;
  static sql::mysql::MySQL_Driver* driver = nullptr;
  std::call_once(once, [] { driver = sql::mysql::get_mysql_driver_instance(); });
  return driver;
}

int CeilSeconds(std::chrono::milliseconds ms) {
  const auto s = (ms.count() + 999) / 1000;
  return static_cast<int>(std::clamp<int64_t>(s, 1, std::numeric_limits<int>::max() / 2));
}

std::string FormatSeconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

std::string Endpoint(const MysqlOptions& o) { return o.host + ":" + std::to_string(o.port); }

Error MysqlUnavailable(std::string message) {
  return Error(ErrorKind::kUnavailable, "MYSQL_UNAVAILABLE", std::move(message),
               {{"dependency", "mysql"}});
}

void LogSqlException(LogLevel level, std::string_view what_happened, const sql::SQLException& e) {
  DefaultLogger()->Log(level, what_happened, {},
                       {{"dependency", "mysql"},
                        {"sql_error_code", e.getErrorCode()},
                        {"sql_state", e.getSQLState()},
                        {"error", e.what()}});
}

// Small randomised exponential backoff between transaction attempts, so two
// transactions that deadlocked do not collide again in lockstep.
void BackoffBeforeRetry(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const int base_ms = 2 << std::min(attempt, 6);  // 4, 8, 16 … 128 ms
  std::uniform_int_distribution<int> jitter(0, base_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms / 2 + jitter(rng)));
}

// --- DSN parsing -----------------------------------------------------------

[[noreturn]] void BadDsn(std::string problem) {
  // The DSN itself is never echoed: it carries the password.
  throw InvalidArgument("mysql_dsn", std::move(problem) +
                                         " (expected mysql://user:password@host:port/database"
                                         "?pool=N&statement_timeout_ms=N&checkout_timeout_ms=N"
                                         "&connect_timeout_ms=N)");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes (a password may contain '@', ':' or '/').
std::string PercentDecode(std::string_view text, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) BadDsn(std::string(what) + " has a bad %-escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

int64_t ParseInteger(std::string_view text, std::string_view what, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    BadDsn(std::string(what) + " must be an integer, got '" + std::string(text) + "'");
  }
  if (value < min || value > max) {
    BadDsn(std::string(what) + " must be between " + std::to_string(min) + " and " +
           std::to_string(max) + ", got " + std::to_string(value));
  }
  return value;
}

void ApplyDsnParameter(std::string_view key, std::string_view value, MysqlOptions& o) {
  constexpr int64_t kMaxMs = 3600 * 1000;
  if (key == "pool") {
    o.pool_size = static_cast<int>(ParseInteger(value, "pool", 1, 1024));
  } else if (key == "statement_timeout_ms") {
    // 0 turns the statement timeout off (migrations, batch jobs).
    o.statement_timeout = std::chrono::milliseconds(ParseInteger(value, key, 0, kMaxMs));
  } else if (key == "checkout_timeout_ms") {
    o.checkout_timeout = std::chrono::milliseconds(ParseInteger(value, key, 1, kMaxMs));
  } else if (key == "connect_timeout_ms") {
    o.connect_timeout = std::chrono::milliseconds(ParseInteger(value, key, 1, kMaxMs));
  } else {
    BadDsn("unknown parameter '" + std::string(key) +
           "' (known: pool, statement_timeout_ms, checkout_timeout_ms, connect_timeout_ms)");
  }
}

void ParseDsnQuery(std::string_view query, MysqlOptions& o) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      BadDsn("parameter '" + std::string(pair) + "' has no value");
    }
    ApplyDsnParameter(pair.substr(0, eq), pair.substr(eq + 1), o);
  }
}

// "host", "host:port", "[v6]" or "[v6]:port".
void ParseHostPort(std::string_view text, MysqlOptions& o) {
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) BadDsn("host has '[' without ']'");
    o.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') BadDsn("unexpected text after ']' in the host");
      port = rest.substr(1);
      if (port.empty()) BadDsn("port is empty");
    }
  } else {
    const size_t colon = text.rfind(':');
    o.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) BadDsn("port is empty");
    }
  }
  if (o.host.empty()) BadDsn("host is missing");
  o.port = port.empty() ? 3306 : static_cast<int>(ParseInteger(port, "port", 1, 65535));
}

// --- connection-level error detection --------------------------------------

// A connection whose state we can no longer trust: it is closed, never reused.
bool MustDiscardAfter(const sql::SQLException& e, sql::Connection& conn) {
  if (IsConnectionSqlError(e.getErrorCode()) || e.getErrorCode() == kCrCommandsOutOfSync) {
    return true;
  }
  try {
    return conn.isClosed();
  } catch (...) {
    return true;
  }
}

void RollbackQuietly(MysqlConnection& conn) {
  conn.DiscardDeferred();
  if (conn.broken()) return;
  try {
    conn.ExecuteRaw("ROLLBACK");
  } catch (const std::exception&) {
    // The connection is in an unknown state: never hand it out again.
    conn.MarkBroken();
  }
}

}  // namespace

// --- error classification ----------------------------------------------------

bool IsRetryableSqlError(int mysql_error_code) {
  return mysql_error_code == kErDeadlock || mysql_error_code == kErLockWaitTimeout;
}

bool IsConnectionSqlError(int mysql_error_code) {
  switch (mysql_error_code) {
    case 1040:  // ER_CON_COUNT_ERROR: too many connections
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1927:  // ER_CONNECTION_KILLED (MariaDB)
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2005:  // CR_UNKNOWN_HOST
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2026:  // CR_SSL_CONNECTION_ERROR
    case 2055:  // CR_SERVER_LOST_EXTENDED
      return true;
    default:
      return false;
  }
}

void RethrowSqlError(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e)) throw *error;
  const auto* sql_error = dynamic_cast<const sql::SQLException*>(&e);
  if (sql_error == nullptr) {
    DefaultLogger()->Error("unexpected exception in database code",
                           {{"dependency", "mysql"}, {"error", e.what()}});
    throw Internal("internal database error");
  }
  const int code = sql_error->getErrorCode();
  if (code == kErDuplicateKey) {
    LogSqlException(LogLevel::kInfo, "mysql duplicate key", *sql_error);
    throw Error(ErrorKind::kAlreadyExists, "DUPLICATE",
                "a record with the same unique key already exists");
  }
  if (IsConnectionSqlError(code)) {
    LogSqlException(LogLevel::kWarn, "mysql connection error", *sql_error);
    throw MysqlUnavailable("the database is unavailable; retry later");
  }
  if (code == kErStatementTimeout) {
    LogSqlException(LogLevel::kWarn, "mysql statement timeout", *sql_error);
    throw Error(ErrorKind::kUnavailable, "MYSQL_STATEMENT_TIMEOUT",
                "the database did not answer in time; retry later", {{"dependency", "mysql"}});
  }
  if (IsRetryableSqlError(code)) {
    LogSqlException(LogLevel::kWarn, "mysql transaction conflict", *sql_error);
    throw Error(ErrorKind::kAborted, "TRANSACTION_CONFLICT",
                "the change conflicted with a concurrent change; retry");
  }
  LogSqlException(LogLevel::kError, "mysql error", *sql_error);
  throw Internal("internal database error");
}

// --- DSN ---------------------------------------------------------------------

MysqlOptions ParseMysqlDsn(std::string_view dsn) {
  constexpr std::string_view kScheme = "mysql://";
  if (dsn.substr(0, kScheme.size()) != kScheme) BadDsn("it must start with mysql://");
  std::string_view rest = dsn.substr(kScheme.size());

  MysqlOptions o;
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    ParseDsnQuery(rest.substr(question + 1), o);
    rest = rest.substr(0, question);
  }
  // The password may hold '@' when not escaped: the host starts after the last one.
  const size_t at = rest.rfind('@');
  if (at == std::string_view::npos) BadDsn("user is missing (no '@')");
  const std::string_view credentials = rest.substr(0, at);
  rest = rest.substr(at + 1);

  const size_t colon = credentials.find(':');
  o.user = PercentDecode(credentials.substr(0, colon), "user");
  if (colon != std::string_view::npos) {
    o.password = PercentDecode(credentials.substr(colon + 1), "password");
  }
  if (o.user.empty()) BadDsn("user is empty");

  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) BadDsn("database is missing (no '/database')");
  ParseHostPort(rest.substr(0, slash), o);
  o.database = PercentDecode(rest.substr(slash + 1), "database");
  if (o.database.empty()) BadDsn("database is empty");
  if (o.database.find_first_of("/`") != std::string::npos) {
    BadDsn("database name contains '/' or '`'");
  }
  return o;
}

// --- PooledConnection ----------------------------------------------------------

PooledConnection::PooledConnection(MysqlPool* pool, MysqlConnection* conn)
    : pool_(pool), conn_(conn) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::exchange(other.conn_, nullptr)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr && conn_ != nullptr) pool_->Release(conn_);
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

PooledConnection::~PooledConnection() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(conn_);
}

// --- MysqlConnection ---------------------------------------------------------

MysqlConnection::MysqlConnection(std::unique_ptr<sql::Connection> conn)
    : conn_(std::move(conn)), last_used_(std::chrono::steady_clock::now()) {}

MysqlConnection::~MysqlConnection() {
  // Statements belong to the connection: close them first.
  cache_.clear();
  text_statement_.reset();
  try {
    conn_->close();
  } catch (...) {
    // Closing a dead connection may fail; there is nothing left to do.
  }
}

sql::PreparedStatement& MysqlConnection::Prepare(const std::string& sql) {
  const auto hit = std::find_if(cache_.begin(), cache_.end(),
                                [&](const auto& entry) { return entry.first == sql; });
  if (hit != cache_.end()) {
    // Move to the back: the front is the least recently used.
    std::rotate(hit, hit + 1, cache_.end());
    return *cache_.back().second;
  }
  std::unique_ptr<sql::PreparedStatement> stmt(conn_->prepareStatement(sql));
  if (cache_.size() >= kStatementCacheSize) cache_.erase(cache_.begin());
  cache_.emplace_back(sql, std::move(stmt));
  return *cache_.back().second;
}

void MysqlConnection::Bind(sql::PreparedStatement& stmt, const std::vector<SqlValue>& args) {
  stmt.clearParameters();
  for (size_t i = 0; i < args.size(); ++i) {
    const auto index = static_cast<unsigned int>(i + 1);
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            stmt.setNull(index, sql::DataType::SQLNULL);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            stmt.setInt64(index, value);
          } else if constexpr (std::is_same_v<T, uint64_t>) {
            stmt.setUInt64(index, value);
          } else if constexpr (std::is_same_v<T, double>) {
            stmt.setDouble(index, value);
          } else if constexpr (std::is_same_v<T, bool>) {
            stmt.setBoolean(index, value);
          } else {
            // sql::SQLString wraps std::string and Connector 1.1 sends
            // length-counted buffers, so embedded NUL bytes survive
            // (checked by Mysql.BinarySafeStrings).
            stmt.setString(index, sql::SQLString(value));
          }
        },
        args[i]);
  }
}

std::string MysqlConnection::Render(const std::string& sql, const std::vector<SqlValue>& args) {
  auto* native = dynamic_cast<sql::mysql::MySQL_Connection*>(conn_.get());
  if (native == nullptr)
    throw Internal("the MySQL driver's connection type is not MySQL_Connection");
  std::string out;
  out.reserve(sql.size() + 16 * args.size());
  size_t next_arg = 0;
  char quote = 0;  // inside '…', "…" or `…`: a `?` there is text, not a placeholder
  for (const char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      out += c;
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') quote = c;
    if (c != '?') {
      out += c;
      continue;
    }
    if (next_arg >= args.size()) throw Internal("more placeholders than arguments in: " + sql);
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out += "NULL";
          } else if constexpr (std::is_same_v<T, bool>) {
            out += value ? "1" : "0";
          } else if constexpr (std::is_same_v<T, double>) {
            if (!std::isfinite(value))
              throw InvalidArgument("sql", "NaN and infinity cannot be stored");
            char buffer[32];
            std::snprintf(buffer, sizeof buffer, "%.17g", value);
            out += buffer;
          } else if constexpr (std::is_same_v<T, std::string>) {
            out += '\'';
            out += std::string(native->escapeString(sql::SQLString(value)));
            out += '\'';
          } else {
            out += std::to_string(value);
          }
        },
        args[next_arg++]);
  }
  if (next_arg != args.size()) throw Internal("fewer placeholders than arguments in: " + sql);
  return out;
}

void MysqlConnection::Defer(const std::string& sql, const std::vector<SqlValue>& args) {
  deferred_ += Render(sql, args);
  deferred_ += ';';
  ++deferred_count_;
}

std::unique_ptr<sql::ResultSet> MysqlConnection::RunWithDeferred(const std::string& sql,
                                                                 uint64_t* affected) {
  std::string text = std::move(deferred_);
  int statements = deferred_count_ + 1;
  DiscardDeferred();
  text += sql;
  if (affected != nullptr) {
    // Connector 1.1 reports no row count for the results after the first
    // one of a multi-statement text; the server's ROW_COUNT() does.
    text += ";SELECT ROW_COUNT()";
    ++statements;
  }
  try {
    if (!text_statement_) text_statement_.reset(conn_->createStatement());
    sql::Statement& stmt = *text_statement_;
    // One result per statement, in order. A failing statement throws (from
    // execute or getMoreResults) and the server runs none after it. Every
    // result is read before the next: the protocol requires it.
    bool has_rows = stmt.execute(text);
    for (int i = 1; i < statements; ++i) {
      if (has_rows) std::unique_ptr<sql::ResultSet>(stmt.getResultSet());
      has_rows = stmt.getMoreResults();
    }
    std::unique_ptr<sql::ResultSet> last(has_rows ? stmt.getResultSet() : nullptr);
    Touch();
    if (affected != nullptr) {
      if (!last || !last->next()) throw Internal("SELECT ROW_COUNT() returned no row");
      const int64_t count = last->getInt64(1);
      *affected = count < 0 ? 0 : static_cast<uint64_t>(count);
      last.reset();
    }
    return last;
  } catch (const sql::SQLException& e) {
    if (MustDiscardAfter(e, *conn_)) MarkBroken();
    throw;
  }
}

uint64_t MysqlConnection::Execute(const std::string& sql, const std::vector<SqlValue>& args) {
  if (!deferred_.empty()) {
    uint64_t affected = 0;
    RunWithDeferred(Render(sql, args), &affected);
    return affected;
  }
  try {
    sql::PreparedStatement& stmt = Prepare(sql);
    Bind(stmt, args);
    const int affected = stmt.executeUpdate();
    Touch();
    return affected < 0 ? 0 : static_cast<uint64_t>(affected);
  } catch (const sql::SQLException& e) {
    if (MustDiscardAfter(e, *conn_)) MarkBroken();
    throw;
  }
}

std::unique_ptr<sql::ResultSet> MysqlConnection::Query(const std::string& sql,
                                                       const std::vector<SqlValue>& args) {
  if (!deferred_.empty()) {
    std::unique_ptr<sql::ResultSet> rs = RunWithDeferred(Render(sql, args), nullptr);
    if (!rs) throw Internal("a query returned no result set: " + sql);
    return rs;
  }
  try {
    sql::PreparedStatement& stmt = Prepare(sql);
    Bind(stmt, args);
    std::unique_ptr<sql::ResultSet> rs(stmt.executeQuery());
    Touch();
    return rs;
  } catch (const sql::SQLException& e) {
    if (MustDiscardAfter(e, *conn_)) MarkBroken();
    throw;
  }
}

void MysqlConnection::ExecuteRaw(const std::string& sql) {
  if (!deferred_.empty()) {
    RunWithDeferred(sql, nullptr);
    return;
  }
  try {
    std::unique_ptr<sql::Statement> stmt(conn_->createStatement());
    if (stmt->execute(sql)) {
      // A statement that produced rows must have them read, or the next
      // command on this connection fails with "commands out of sync".
      std::unique_ptr<sql::ResultSet> ignored(stmt->getResultSet());
    }
    Touch();
  } catch (const sql::SQLException& e) {
    if (MustDiscardAfter(e, *conn_)) MarkBroken();
    throw;
  }
}

uint64_t MysqlConnection::LastInsertId() {
  auto rs = Query("SELECT LAST_INSERT_ID()");
  if (!rs->next()) throw Internal("LAST_INSERT_ID() returned no row");
  return rs->getUInt64(1);
}

void MysqlConnection::UpdateWithVersion(const std::string& table, const std::string& set_clause,
                                        const std::string& where_clause, std::vector<SqlValue> args,
                                        int64_t expected_version) {
  args.emplace_back(expected_version);
  const std::string sql = "UPDATE " + table + " SET " + set_clause +
                          ", version = version + 1 WHERE (" + where_clause + ") AND version = ?";
  // `version = version + 1` always changes the row, so "rows affected" is
  // "rows matched": zero means someone else bumped the version first (or the
  // row is gone — callers check existence before).
  if (Execute(sql, args) == 0) {
    throw Error(ErrorKind::kAborted, "VERSION_CONFLICT",
                "the record was changed by someone else since it was read; reload it and retry",
                {{"table", table}, {"expected_version", std::to_string(expected_version)}});
  }
}

// --- MysqlPool ---------------------------------------------------------------

MysqlPool::MysqlPool(MysqlOptions options) : options_(std::move(options)) {
  if (options_.pool_size < 1) throw InvalidArgument("pool_size", "must be at least 1");
  if (options_.max_transaction_attempts < 1) {
    throw InvalidArgument("max_transaction_attempts", "must be at least 1");
  }
}

MysqlPool::~MysqlPool() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

std::unique_ptr<MysqlConnection> MysqlPool::Connect() {
  sql::ConnectOptionsMap props;
  props["hostName"] = sql::SQLString("tcp://" + Endpoint(options_));
  props["userName"] = sql::SQLString(options_.user);
  props["password"] = sql::SQLString(options_.password);
  if (!options_.database.empty()) props["schema"] = sql::SQLString(options_.database);
  props["OPT_CONNECT_TIMEOUT"] = CeilSeconds(options_.connect_timeout);
  if (options_.statement_timeout.count() > 0) {
    const int socket_timeout =
        CeilSeconds(options_.statement_timeout) + static_cast<int>(kSocketTimeoutMargin.count());
    props["OPT_READ_TIMEOUT"] = socket_timeout;
    props["OPT_WRITE_TIMEOUT"] = socket_timeout;
  }
  // The pool decides about reconnecting: a silent reconnect would lose the
  // session settings and any open transaction without anyone noticing.
  props["OPT_RECONNECT"] = false;
  // MysqlConnection::Defer sends queued writes with the next statement as
  // one multi-statement text. Every value in such text is a literal built by
  // Render (escaped by the client library), never caller-spliced SQL.
  props["CLIENT_MULTI_STATEMENTS"] = true;
  props["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");

  std::unique_ptr<MysqlConnection> conn;
  try {
    conn = std::make_unique<MysqlConnection>(
        std::unique_ptr<sql::Connection>(Driver()->connect(props)));
    // MariaDB's max_statement_time (seconds, fractional); 0 = no limit.
    conn->ExecuteRaw(
        "SET SESSION max_statement_time = " +
        FormatSeconds(std::max(options_.statement_timeout, std::chrono::milliseconds(0))) +
        ", time_zone = '+00:00', NAMES utf8mb4");
    // MariaDB 10.11 has no `transaction_isolation` variable (only tx_isolation);
    // this form works on every version.
    conn->ExecuteRaw("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  } catch (const sql::SQLException& e) {
    LogSqlException(LogLevel::kWarn, "mysql connect failed", e);
    throw MysqlUnavailable("cannot connect to MySQL at " + Endpoint(options_) + " (error " +
                           std::to_string(e.getErrorCode()) + "); retry later");
  }
  return conn;
}

PooledConnection MysqlPool::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.checkout_timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      // Most recently used first: it is the least likely to need a ping.
      std::unique_ptr<MysqlConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (std::chrono::steady_clock::now() - conn->last_used() <= kValidateAfterIdle) {
        return PooledConnection(this, conn.release());
      }
      bool valid = false;
      try {
        valid = conn->raw().isValid();
      } catch (const sql::SQLException&) {
        valid = false;
      }
      if (valid) {
        conn->Touch();
        return PooledConnection(this, conn.release());
      }
      conn.reset();  // e.g. the server restarted: open a fresh one instead
      lock.lock();
      --open_;
      continue;
    }
    if (open_ < options_.pool_size) {
      ++open_;
      lock.unlock();
      try {
        return PooledConnection(this, Connect().release());
      } catch (...) {
        lock.lock();
        --open_;
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      throw Error(ErrorKind::kUnavailable, "MYSQL_POOL_EXHAUSTED",
                  "no database connection became free within " +
                      std::to_string(options_.checkout_timeout.count()) + " ms (pool size " +
                      std::to_string(options_.pool_size) + "); retry later",
                  {{"dependency", "mysql"}});
    }
  }
}

void MysqlPool::Release(MysqlConnection* raw) {
  std::unique_ptr<MysqlConnection> conn(raw);
  if (conn->has_deferred()) {
    // Only a caller that Defer()s outside RunTransaction and never runs
    // another statement gets here: a bug, and the writes must not leak into
    // the next borrower's statements.
    DefaultLogger()->Error(
        "mysql connection returned with unsent deferred statements; "
        "they are dropped",
        {{"dependency", "mysql"}});
    conn->DiscardDeferred();
  }
  if (conn->broken()) {
    conn.reset();  // closed outside the lock
    std::lock_guard lock(mu_);
    --open_;
  } else {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

bool MysqlPool::Ping() {
  try {
    PooledConnection conn = Acquire();
    auto rs = conn->Query("SELECT 1");
    return rs->next() && rs->getInt(1) == 1;
  } catch (const std::exception&) {
    return false;
  }
}

void MysqlPool::RunTransaction(const std::function<void(MysqlConnection&)>& body) {
  for (int attempt = 1;; ++attempt) {
    const bool last_attempt = attempt >= options_.max_transaction_attempts;
    bool back_off = false;
    {
      PooledConnection conn = Acquire();
      bool commit_sent = false;
      try {
        // Sent with the body's first statement (or the COMMIT).
        conn->Defer("START TRANSACTION");
        body(*conn);
        commit_sent = true;
        conn->ExecuteRaw("COMMIT");
        return;
      } catch (const sql::SQLException& e) {
        RollbackQuietly(*conn);
        if (IsRetryableSqlError(e.getErrorCode()) && !last_attempt) {
          back_off = true;
        } else if (conn->broken() && !commit_sent && !last_attempt) {
          // Lost before COMMIT went out: nothing was committed, so the whole
          // body runs again on a fresh connection. Lost during COMMIT, the
          // outcome is unknown and a rerun could apply the change twice.
        } else {
          RethrowSqlError(e);
        }
        DefaultLogger()->Info(
            "mysql transaction retried",
            {{"dependency", "mysql"}, {"sql_error_code", e.getErrorCode()}, {"attempt", attempt}});
      } catch (const Error&) {
        RollbackQuietly(*conn);
        throw;  // the body's own verdict, unchanged
      } catch (const std::exception& e) {
        RollbackQuietly(*conn);
        RethrowSqlError(e);
      } catch (...) {
        RollbackQuietly(*conn);
        throw;
      }
    }  // the connection goes back (or is closed) before waiting
    if (back_off) BackoffBeforeRetry(attempt);
  }
}

void MysqlPool::RunAutocommit(const std::function<void(MysqlConnection&)>& body) {
  for (int attempt = 1;; ++attempt) {
    const bool last_attempt = attempt >= options_.max_transaction_attempts;
    {
      PooledConnection conn = Acquire();
      try {
        body(*conn);
        return;
      } catch (const sql::SQLException& e) {
        conn->DiscardDeferred();
        // A read lost with its connection is simply read again.
        if (!conn->broken() || last_attempt) RethrowSqlError(e);
        DefaultLogger()->Info(
            "mysql read retried",
            {{"dependency", "mysql"}, {"sql_error_code", e.getErrorCode()}, {"attempt", attempt}});
      } catch (const Error&) {
        conn->DiscardDeferred();
        throw;
      } catch (const std::exception& e) {
        conn->DiscardDeferred();
        RethrowSqlError(e);
      }
    }
  }
}

}  // namespace propdesk::common
