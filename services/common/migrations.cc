#include "common/migrations.h"

#include <cppconn/exception.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "common/errors.h"
#include "common/log.h"

namespace propdesk::common {
namespace {

namespace fs = std::filesystem;

constexpr int kLockWaitSeconds = 60;
constexpr size_t kMaxLockNameLength = 64;  // MariaDB's limit for GET_LOCK names
constexpr size_t kMaxComponentLength = 64;

struct MigrationFile {
  int64_t version = 0;
  std::string name;      // file name, e.g. "0001_idempotency.sql"
  std::string checksum;  // SHA-256 hex of the bytes
  std::vector<std::string> statements;
};

struct ComponentPlan {
  std::string component;
  std::vector<MigrationFile> files;  // sorted by version
};

struct AppliedRecord {
  std::string name;
  std::string checksum;
};

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw Internal("SHA-256 of a migration file failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::kInvalidArgument, "MIGRATION_UNREADABLE",
                "cannot read migration file " + path.string());
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

MigrationFile LoadFile(const std::string& component, const fs::path& path) {
  static const std::regex kFileName(R"(^([0-9]{4,9})_([a-z0-9_]+)\.sql$)");
  const std::string file_name = path.filename().string();
  std::smatch match;
  if (!std::regex_match(file_name, match, kFileName)) {
    throw InvalidArgument("migrations",
                          "file " + path.string() +
                              " is not named NNNN_name.sql (four or more digits, '_', then "
                              "lower-case letters, digits and '_')");
  }
  MigrationFile file;
  file.version = std::stoll(match[1].str());
  if (file.version == 0) {
    throw InvalidArgument("migrations", "file " + path.string() + ": numbers start at 0001");
  }
  file.name = file_name;
  const std::string content = ReadWholeFile(path);
  file.checksum = Sha256Hex(content);
  file.statements = SplitMigrationStatements(content);
  if (file.statements.empty()) {
    throw InvalidArgument("migrations",
                          "file " + component + "/" + file_name + " holds no statement");
  }
  return file;
}

ComponentPlan LoadComponent(const MigrationSource& source) {
  if (source.component.empty() || source.component.size() > kMaxComponentLength) {
    throw InvalidArgument("migrations", "a component name must have 1 to 64 characters");
  }
  std::error_code ec;
  if (!fs::is_directory(source.directory, ec)) {
    throw InvalidArgument("migrations", "directory " + source.directory + " of component " +
                                            source.component + " does not exist");
  }
  ComponentPlan plan{source.component, {}};
  for (const fs::directory_entry& entry : fs::directory_iterator(source.directory)) {
    const std::string file_name = entry.path().filename().string();
    // Only .sql files are migrations; a README or an editor's dot file is not.
    if (!entry.is_regular_file() || file_name.front() == '.' || !file_name.ends_with(".sql")) {
      continue;
    }
    plan.files.push_back(LoadFile(source.component, entry.path()));
  }
  std::sort(plan.files.begin(), plan.files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  for (size_t i = 1; i < plan.files.size(); ++i) {
    if (plan.files[i].version == plan.files[i - 1].version) {
      throw InvalidArgument("migrations", "component " + source.component + ": files " +
                                              plan.files[i - 1].name + " and " +
                                              plan.files[i].name + " have the same number");
    }
  }
  return plan;
}

std::vector<ComponentPlan> LoadAll(const std::vector<MigrationSource>& sources) {
  std::vector<ComponentPlan> plans;
  std::set<std::string> seen;
  for (const MigrationSource& source : sources) {
    if (!seen.insert(source.component).second) {
      throw InvalidArgument("migrations", "component " + source.component + " is listed twice");
    }
    plans.push_back(LoadComponent(source));
  }
  return plans;
}

// Replicas of one service share a database, so the lock is per database; two
// services on one server do not wait for each other.
std::string MigrationLockName(const std::string& database) {
  std::string name = "propdesk_migrations:" + database;
  if (name.size() <= kMaxLockNameLength) return name;
  return "propdesk_migrations:" + Sha256Hex(database).substr(0, 40);
}

// A dedicated single connection: the lock wait (60 s) and DDL must not be
// cut short by the pool's per-request statement timeout.
MysqlOptions MigrationConnectionOptions(const MysqlOptions& base) {
  MysqlOptions options = base;
  options.pool_size = 1;
  options.statement_timeout = std::chrono::milliseconds(0);
  return options;
}

void TakeLock(MysqlConnection& conn, const std::string& lock_name) {
  auto rs =
      conn.Query("SELECT GET_LOCK(?, ?)", {lock_name, static_cast<int64_t>(kLockWaitSeconds)});
  if (!rs->next() || rs->isNull(1) || rs->getInt(1) != 1) {
    throw Error(ErrorKind::kUnavailable, "MIGRATION_LOCK_TIMEOUT",
                "another process held the migration lock " + lock_name + " for " +
                    std::to_string(kLockWaitSeconds) + " s; retry the start-up",
                {{"dependency", "mysql"}});
  }
}

void ReleaseLockQuietly(MysqlConnection& conn, const std::string& lock_name) {
  if (conn.broken()) return;  // the server dropped the lock with the session
  try {
    conn.Query("SELECT RELEASE_LOCK(?)", {lock_name});
  } catch (const std::exception& e) {
    conn.MarkBroken();  // closing the session releases the lock
    DefaultLogger()->Warn("cannot release the migration lock",
                          {{"lock", lock_name}, {"error", e.what()}});
  }
}

void EnsureMigrationsTable(MysqlConnection& conn) {
  conn.ExecuteRaw(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " component  VARCHAR(64)  NOT NULL,"
      " version    BIGINT       NOT NULL,"
      " name       VARCHAR(255) NOT NULL,"
      " checksum   CHAR(64)     CHARACTER SET ascii NOT NULL,"
      " applied_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
      " PRIMARY KEY (component, version)"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
}

std::map<std::pair<std::string, int64_t>, AppliedRecord> LoadApplied(MysqlConnection& conn) {
  std::map<std::pair<std::string, int64_t>, AppliedRecord> applied;
  auto rs = conn.Query("SELECT component, version, name, checksum FROM schema_migrations");
  while (rs->next()) {
    applied[{rs->getString(1), rs->getInt64(2)}] = {rs->getString(3), rs->getString(4)};
  }
  return applied;
}

// Every applied file must be unchanged before anything new is applied: an
// edited migration means the schema differs from what the files say.
void VerifyChecksums(const std::vector<ComponentPlan>& plans,
                     const std::map<std::pair<std::string, int64_t>, AppliedRecord>& applied) {
  for (const ComponentPlan& plan : plans) {
    for (const MigrationFile& file : plan.files) {
      const auto it = applied.find({plan.component, file.version});
      if (it == applied.end() || it->second.checksum == file.checksum) continue;
      const std::string path = plan.component + "/" + file.name;
      throw FailedPrecondition("MIGRATION_CHECKSUM_MISMATCH",
                               "migration " + path + " was changed after it was applied (as " +
                                   it->second.name +
                                   "); restore the file and put the change in a new migration",
                               {{"component", plan.component}, {"file", file.name}});
    }
  }
}

void ApplyFile(MysqlConnection& conn, const std::string& component, const MigrationFile& file) {
  for (size_t i = 0; i < file.statements.size(); ++i) {
    try {
      conn.ExecuteRaw(file.statements[i]);
    } catch (const sql::SQLException& e) {
      if (IsConnectionSqlError(e.getErrorCode())) RethrowSqlError(e);
      // The SQL error goes to the log only; the message names the place.
      DefaultLogger()->Error("migration statement failed",
                             {{"component", component},
                              {"file", file.name},
                              {"statement", static_cast<int64_t>(i + 1)},
                              {"sql_error_code", e.getErrorCode()},
                              {"error", e.what()}});
      throw Error(ErrorKind::kInternal, "MIGRATION_FAILED",
                  "migration " + component + "/" + file.name + " failed at statement " +
                      std::to_string(i + 1) + " (MySQL error " + std::to_string(e.getErrorCode()) +
                      "); see the log, fix the database, " + "then restart",
                  {{"component", component}, {"file", file.name}});
    }
  }
  conn.Execute(
      "INSERT INTO schema_migrations (component, version, name, checksum) VALUES (?, ?, ?, ?)",
      {component, file.version, file.name, file.checksum});
  DefaultLogger()->Info("migration applied", {{"component", component}, {"file", file.name}});
}

void ApplyLocked(MysqlConnection& conn, const std::vector<ComponentPlan>& plans) {
  EnsureMigrationsTable(conn);
  const auto applied = LoadApplied(conn);
  VerifyChecksums(plans, applied);
  for (const ComponentPlan& plan : plans) {
    for (const MigrationFile& file : plan.files) {
      if (!applied.contains({plan.component, file.version})) ApplyFile(conn, plan.component, file);
    }
  }
}

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::vector<std::string> SplitMigrationStatements(const std::string& text) {
  std::vector<std::string> statements;
  std::string current;
  std::istringstream lines(text);
  std::string line;
  const auto finish = [&] {
    const std::string_view statement = Trim(current);
    if (!statement.empty()) statements.emplace_back(statement);
    current.clear();
  };
  while (std::getline(lines, line)) {
    const std::string_view trimmed = Trim(line);
    if (trimmed.starts_with("--")) continue;
    if (trimmed.ends_with(";")) {
      current += trimmed.substr(0, trimmed.size() - 1);
      finish();
    } else {
      current += line;
      current += '\n';
    }
  }
  finish();  // a last statement without ';'
  return statements;
}

void ApplyMigrations(MysqlPool& pool, const std::vector<MigrationSource>& sources) {
  // Read and check every file before touching the database.
  const std::vector<ComponentPlan> plans = LoadAll(sources);

  MysqlPool migration_pool(MigrationConnectionOptions(pool.options()));
  PooledConnection conn = migration_pool.Acquire();
  const std::string lock_name = MigrationLockName(pool.options().database);
  try {
    TakeLock(*conn, lock_name);
  } catch (const sql::SQLException& e) {
    RethrowSqlError(e);
  }
  try {
    ApplyLocked(*conn, plans);
  } catch (const Error&) {
    ReleaseLockQuietly(*conn, lock_name);
    throw;
  } catch (const std::exception& e) {
    ReleaseLockQuietly(*conn, lock_name);
    RethrowSqlError(e);
  }
  ReleaseLockQuietly(*conn, lock_name);
}

}  // namespace propdesk::common
