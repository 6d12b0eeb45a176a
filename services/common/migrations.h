#pragma once

// Schema migrations applied at start-up (ARCHITECTURE.md §3).
//
// Each component (e.g. "common", "tickets") keeps `NNNN_name.sql` files in one
// directory: NNNN is four or more digits, name is [a-z0-9_]. Files are applied
// in numeric order and recorded in `schema_migrations(component, version, name,
// checksum, applied_at)` with the SHA-256 of their bytes. A file may hold
// several statements, each ending with `;` at the end of a line; lines starting
// with `--` are comments. No procedures or DELIMITER.
//
// The whole run holds a MySQL advisory lock (GET_LOCK, waiting up to 60 s),
// scoped to the pool's database, so replicas starting together apply each file
// exactly once. It runs on a dedicated connection without the pool's statement
// timeout (DDL on a big table may take longer than a request may).
//
// DDL commits implicitly in MySQL, so each file is recorded right after its
// statements ran; a file that fails half-way must be repaired by hand (write
// migrations with IF NOT EXISTS / IF EXISTS so they can simply be re-run).

#include <string>
#include <vector>

#include "common/mysql.h"

namespace propdesk::common {

struct MigrationSource {
  std::string component;  // recorded in schema_migrations.component
  std::string directory;  // holds the NNNN_name.sql files
};

// Applies every pending migration of every source, in order, and returns when
// the schema is current. Throws Error:
//  - kInvalidArgument: a missing directory, a bad file name, two files with
//    the same number, an empty or duplicate component;
//  - kFailedPrecondition "MIGRATION_CHECKSUM_MISMATCH": an applied file was
//    edited afterwards (nothing is applied; the message names the file);
//  - kInternal "MIGRATION_FAILED": a statement failed (file and statement
//    number in the message, the MySQL error in the log);
//  - kUnavailable: MySQL is down, or the lock stayed taken for 60 s
//    ("MIGRATION_LOCK_TIMEOUT").
void ApplyMigrations(MysqlPool& pool, const std::vector<MigrationSource>& sources);

// Splits a migration file into statements (exposed for tests).
std::vector<std::string> SplitMigrationStatements(const std::string& text);

}  // namespace propdesk::common
