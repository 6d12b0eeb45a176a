#pragma once

// Leader election among the replicas of one service (ARCHITECTURE.md §7, §8):
// a MySQL advisory lock, GET_LOCK(name, 0), held on a connection of its own.
// The server releases the lock the moment that connection ends, so a crashed
// or partitioned leader loses leadership without any lease to expire, and a
// replica whose lock connection died knows it is no longer the leader.
//
// Work that must not run twice should still be made safe by the database
// (row locks, unique keys): between a StillHeld() check and the work,
// leadership can be lost. The lock keeps the replicas from contending; it is
// not the only guarantee (see OutboxRelay, WindowedScanner).

#include <mutex>
#include <optional>
#include <string>

#include "common/mysql.h"

namespace propdesk::common {

class LeaderLock {
 public:
  // Opens its own single-connection pool with `options` (the pool used for
  // normal work never sees the lock connection). GET_LOCK names are
  // server-wide, so the lock is scoped to options.database: two schemas on
  // one server never contend. Throws Error(kInvalidArgument) on an empty name.
  LeaderLock(const MysqlOptions& options, std::string name);
  LeaderLock(const MysqlPool& pool, std::string name);
  ~LeaderLock();  // releases
  LeaderLock(const LeaderLock&) = delete;
  LeaderLock& operator=(const LeaderLock&) = delete;

  // True when this instance holds the lock afterwards (already held and still
  // valid, or just acquired). Never waits for the holder; false while MySQL
  // is unreachable (logged).
  bool TryAcquire();
  // True when the lock connection is alive and the server says this
  // connection holds the lock. A false answer forgets the lock.
  bool StillHeld();
  // Gives leadership up (no-op when not held). Never throws.
  void Release();

  const std::string& name() const { return name_; }
  // The name passed to GET_LOCK (database-scoped, at most 64 characters).
  const std::string& lock_name() const { return lock_name_; }

 private:
  bool CheckHeldLocked();
  void ForgetLocked(bool connection_suspect);

  const std::string name_;
  const std::string lock_name_;
  MysqlPool lock_pool_;
  std::mutex mu_;
  std::optional<PooledConnection> holder_;  // guarded by mu_; set while we hold the lock
};

// The database-scoped GET_LOCK name: "<database>:<name>", or a SHA-256 based
// name of 64 characters when that would be longer (MySQL's limit).
std::string ScopedLockName(const std::string& database, const std::string& name);

}  // namespace propdesk::common
