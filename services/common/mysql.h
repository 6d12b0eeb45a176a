#pragma once

// MySQL/MariaDB access over Connector/C++ 1.1 (the legacy sql:: API): a
// thread-safe connection pool, prepared-statement helpers, transactions with
// retry on deadlock / lock-wait timeout, and the optimistic-lock helper.
// This and each service's store are the only places with SQL.

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace propdesk::common {

struct MysqlOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user;
  std::string password;
  std::string database;
  int pool_size = 8;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds checkout_timeout{2000};
  // Applied per connection as MariaDB's max_statement_time.
  std::chrono::milliseconds statement_timeout{5000};
  // Retries of a transaction that failed on deadlock (1213) or lock-wait
  // timeout (1205), or lost its connection before COMMIT was sent.
  int max_transaction_attempts = 4;
};

// Parses `mysql://user:password@host:port/database?pool=16&statement_timeout_ms=5000
// &checkout_timeout_ms=2000&connect_timeout_ms=2000`. Throws Error(kInvalidArgument)
// naming what is wrong.
MysqlOptions ParseMysqlDsn(std::string_view dsn);

// A value bound to a `?` placeholder. std::monostate binds SQL NULL.
using SqlValue = std::variant<std::monostate, int64_t, uint64_t, double, bool, std::string>;

class MysqlConnection;

// A connection checked out of the pool; returns it on destruction. A
// connection that saw a connection-level error is discarded, not returned.
class PooledConnection {
 public:
  PooledConnection(PooledConnection&&) noexcept;
  PooledConnection& operator=(PooledConnection&&) noexcept;
  ~PooledConnection();

  MysqlConnection& operator*() const { return *conn_; }
  MysqlConnection* operator->() const { return conn_; }

 private:
  friend class MysqlPool;
  PooledConnection(class MysqlPool* pool, MysqlConnection* conn);
  class MysqlPool* pool_;
  MysqlConnection* conn_;
};

// One live connection. Not thread-safe: used by one thread at a time.
class MysqlConnection {
 public:
  explicit MysqlConnection(std::unique_ptr<sql::Connection> conn);
  ~MysqlConnection();

  // Runs a statement with `?` placeholders bound in order; returns rows
  // affected. Prepared statements are cached per connection by SQL text.
  uint64_t Execute(const std::string& sql, const std::vector<SqlValue>& args = {});
  // Runs a query; the result set is read before the next statement.
  std::unique_ptr<sql::ResultSet> Query(const std::string& sql,
                                        const std::vector<SqlValue>& args = {});
  // Runs a statement without preparing it (DDL, SET, COMMIT).
  void ExecuteRaw(const std::string& sql);

  // Queues a write whose outcome the caller does not read (an INSERT of a
  // history row, an outbox event): it travels with the next statement run on
  // this connection, or with the COMMIT, as one multi-statement round trip.
  // Round trips, not SQL, are what a transaction mostly costs here, so a
  // transaction of one read and four such writes costs two instead of six.
  // `args` are bound as literals (numbers, NULL, strings escaped by the
  // client library for the connection's character set). A queued statement
  // that fails throws from the call it travelled with, and the server runs
  // none of the statements after it; inside a transaction that is rolled
  // back like any failure. Never queue what the next step depends on (a
  // VERSION_CONFLICT check, a row count, a duplicate-key probe).
  void Defer(const std::string& sql, const std::vector<SqlValue>& args = {});
  // Forgets queued statements (before a ROLLBACK).
  void DiscardDeferred() {
    deferred_.clear();
    deferred_count_ = 0;
  }
  bool has_deferred() const { return !deferred_.empty(); }
  // LAST_INSERT_ID() of this connection.
  uint64_t LastInsertId();

  // Optimistic lock (ARCHITECTURE.md §5): runs `UPDATE <table> SET <set_clause>,
  // version = version + 1 WHERE <where_clause> AND version = ?` with `args`
  // followed by `expected_version`. Throws Error(kAborted, "VERSION_CONFLICT")
  // when no row matched.
  void UpdateWithVersion(const std::string& table, const std::string& set_clause,
                         const std::string& where_clause, std::vector<SqlValue> args,
                         int64_t expected_version);

  sql::Connection& raw() { return *conn_; }
  bool broken() const { return broken_; }
  void MarkBroken() { broken_ = true; }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  void Touch() { last_used_ = std::chrono::steady_clock::now(); }

 private:
  sql::PreparedStatement& Prepare(const std::string& sql);
  void Bind(sql::PreparedStatement& stmt, const std::vector<SqlValue>& args);
  // `sql` with each `?` outside quotes replaced by the literal of its argument.
  std::string Render(const std::string& sql, const std::vector<SqlValue>& args);
  // Sends the queued statements followed by `sql` as one text round trip and
  // returns the last statement's result set (null when it has none) and, in
  // `affected`, its row count.
  std::unique_ptr<sql::ResultSet> RunWithDeferred(const std::string& sql, uint64_t* affected);

  std::unique_ptr<sql::Connection> conn_;
  std::unique_ptr<sql::Statement> text_statement_;  // owns RunWithDeferred's result set
  std::string deferred_;                            // "stmt;stmt;…;" not yet sent
  int deferred_count_ = 0;                          // statements in deferred_
  std::vector<std::pair<std::string, std::unique_ptr<sql::PreparedStatement>>> cache_;
  bool broken_ = false;
  std::chrono::steady_clock::time_point last_used_;
};

// One multi-row INSERT built a row at a time and deferred as one statement
// (MysqlConnection::Defer): a batch of records costs the server one parse
// per table instead of one per row.
//
//   MultiRowInsert rows("INSERT INTO t (a, b) VALUES", "(?, ?)");
//   rows.Add({1, "x"});
//   rows.Add({2, "y"});
//   rows.DeferOn(tx);  // nothing is sent when no row was added
class MultiRowInsert {
 public:
  MultiRowInsert(std::string head, std::string row) : sql_(std::move(head)), row_(std::move(row)) {}
  void Add(std::initializer_list<SqlValue> values) {
    sql_ += rows_ == 0 ? " " : ", ";
    sql_ += row_;
    args_.insert(args_.end(), values);
    ++rows_;
  }
  size_t rows() const { return rows_; }
  void DeferOn(MysqlConnection& tx) const {
    if (rows_ > 0) tx.Defer(sql_, args_);
  }

 private:
  std::string sql_;
  const std::string row_;
  std::vector<SqlValue> args_;
  size_t rows_ = 0;
};

class MysqlPool {
 public:
  // Connects lazily: creating a pool never fails because MySQL is down.
  explicit MysqlPool(MysqlOptions options);
  ~MysqlPool();
  MysqlPool(const MysqlPool&) = delete;
  MysqlPool& operator=(const MysqlPool&) = delete;

  // Waits up to checkout_timeout for a free connection; opens a new one when
  // the pool is below its size; validates a connection idle for over a second
  // (reconnects after a server restart). Throws Error(kUnavailable) when
  // MySQL cannot be reached or no connection frees up in time.
  PooledConnection Acquire();

  // Runs `fn` inside a transaction (REPEATABLE READ, autocommit off) and
  // commits. Retries the whole of `fn` on deadlock, lock-wait timeout, or a
  // connection lost before COMMIT; other errors roll back and propagate,
  // sql::SQLException translated into Error (kAlreadyExists for duplicate
  // keys, kUnavailable for connection and timeout errors, else kInternal).
  template <typename F>
  auto WithTransaction(F&& fn) -> decltype(fn(std::declval<MysqlConnection&>()));

  // Runs `fn` on a connection in autocommit mode: each statement is its own
  // transaction and sees one consistent snapshot. A read that is a single
  // statement then costs one round trip instead of three (START TRANSACTION
  // travels with it, COMMIT after it). For reads only: `fn` runs again on a
  // fresh connection when the connection is lost. Errors are translated as
  // WithTransaction's.
  template <typename F>
  auto WithAutocommit(F&& fn) -> decltype(fn(std::declval<MysqlConnection&>()));

  // True when a connection can be checked out and answers `SELECT 1`.
  bool Ping();

  const MysqlOptions& options() const { return options_; }
  int pool_size() const { return options_.pool_size; }

 private:
  friend class PooledConnection;
  void Release(MysqlConnection* conn);
  std::unique_ptr<MysqlConnection> Connect();
  void RunTransaction(const std::function<void(MysqlConnection&)>& body);
  void RunAutocommit(const std::function<void(MysqlConnection&)>& body);
  // `fn`'s result through `run` (RunTransaction or RunAutocommit).
  template <typename F, typename Run>
  static auto ResultOf(F&& fn, Run run) -> decltype(fn(std::declval<MysqlConnection&>()));

  const MysqlOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<MysqlConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                        // guarded by mu_
};

// Translates a Connector/C++ exception into propdesk's Error, keeping the SQL
// text out of the message (it is logged instead).
[[noreturn]] void RethrowSqlError(const std::exception& e);
bool IsRetryableSqlError(int mysql_error_code);
bool IsConnectionSqlError(int mysql_error_code);

template <typename F, typename Run>
auto MysqlPool::ResultOf(F&& fn, Run run) -> decltype(fn(std::declval<MysqlConnection&>())) {
  using R = decltype(fn(std::declval<MysqlConnection&>()));
  if constexpr (std::is_void_v<R>) {
    run([&](MysqlConnection& c) { fn(c); });
  } else {
    std::optional<R> result;
    run([&](MysqlConnection& c) { result.emplace(fn(c)); });
    return std::move(*result);
  }
}

template <typename F>
auto MysqlPool::WithTransaction(F&& fn) -> decltype(fn(std::declval<MysqlConnection&>())) {
  return ResultOf(std::forward<F>(fn),
                  [this](const std::function<void(MysqlConnection&)>& b) { RunTransaction(b); });
}

template <typename F>
auto MysqlPool::WithAutocommit(F&& fn) -> decltype(fn(std::declval<MysqlConnection&>())) {
  return ResultOf(std::forward<F>(fn),
                  [this](const std::function<void(MysqlConnection&)>& b) { RunAutocommit(b); });
}

}  // namespace propdesk::common
