#include "common/leader.h"

#include <openssl/evp.h>

#include <exception>
#include <utility>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::common {
namespace {

constexpr size_t kMaxLockNameLength = 64;  // MySQL's limit on GET_LOCK names

MysqlOptions LockPoolOptions(MysqlOptions options) {
  options.pool_size = 1;  // the one lock connection
  return options;
}

// 1 → true; 0 or NULL → false.
bool QueryFlag(MysqlConnection& conn, const std::string& sql, const std::string& lock_name) {
  auto rs = conn.Query(sql, {lock_name});
  return rs->next() && !rs->isNull(1) && rs->getInt(1) == 1;
}

void LogLockProblem(const std::string& what, const std::string& lock_name,
                    const std::exception& e) {
  DefaultLogger()->Warn(what, {{"lock", lock_name}, {"error", e.what()}});
}

}  // namespace

std::string ScopedLockName(const std::string& database, const std::string& name) {
  std::string scoped = database.empty() ? name : database + ":" + name;
  if (scoped.size() <= kMaxLockNameLength) return scoped;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(scoped.data(), scoped.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    throw Internal("SHA-256 of a lock name failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "propdesk-lock:";
  for (unsigned int i = 0; i < digest_len && out.size() + 2 <= kMaxLockNameLength; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

LeaderLock::LeaderLock(const MysqlOptions& options, std::string name)
    : name_(std::move(name)),
      lock_name_(ScopedLockName(options.database, name_)),
      lock_pool_(LockPoolOptions(options)) {
  if (name_.empty()) throw InvalidArgument("name", "a leader lock needs a name");
}

LeaderLock::LeaderLock(const MysqlPool& pool, std::string name)
    : LeaderLock(pool.options(), std::move(name)) {}

LeaderLock::~LeaderLock() { Release(); }

bool LeaderLock::TryAcquire() {
  std::lock_guard lock(mu_);
  if (holder_.has_value() && CheckHeldLocked()) return true;
  std::optional<PooledConnection> conn;
  try {
    conn.emplace(lock_pool_.Acquire());
    if (!QueryFlag(**conn, "SELECT GET_LOCK(?, 0)", lock_name_)) return false;
    holder_ = std::move(conn);
    return true;
  } catch (const std::exception& e) {
    // GET_LOCK may have run without our seeing its answer: a connection in
    // that state could hold the lock, so it is closed, never pooled.
    if (conn.has_value()) (*conn)->MarkBroken();
    LogLockProblem("leader lock: cannot acquire", lock_name_, e);
    return false;
  }
}

bool LeaderLock::StillHeld() {
  std::lock_guard lock(mu_);
  return holder_.has_value() && CheckHeldLocked();
}

bool LeaderLock::CheckHeldLocked() {
  try {
    if (QueryFlag(**holder_, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", lock_name_)) return true;
    ForgetLocked(/*connection_suspect=*/false);
  } catch (const std::exception& e) {
    LogLockProblem("leader lock: lock connection failed; leadership lost", lock_name_, e);
    ForgetLocked(/*connection_suspect=*/true);
  }
  return false;
}

void LeaderLock::Release() {
  std::lock_guard lock(mu_);
  if (!holder_.has_value()) return;
  try {
    (*holder_)->Query("SELECT RELEASE_LOCK(?)", {lock_name_});
    ForgetLocked(/*connection_suspect=*/false);
  } catch (const std::exception& e) {
    // Closing the connection releases the lock server-side.
    LogLockProblem("leader lock: release failed; closing its connection", lock_name_, e);
    ForgetLocked(/*connection_suspect=*/true);
  }
}

void LeaderLock::ForgetLocked(bool connection_suspect) {
  if (connection_suspect) (*holder_)->MarkBroken();
  holder_.reset();
}

}  // namespace propdesk::common
