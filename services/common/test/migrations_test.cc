// ApplyMigrations against a real MariaDB (ARCHITECTURE.md §3): numeric order,
// bookkeeping in schema_migrations, idempotent re-runs, replicas racing at
// start-up, edited files, and bad file names.

#include "common/migrations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/mysql.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

namespace fs = std::filesystem;
using propdesk::testing::FreshDatabase;
using propdesk::testing::UniqueSuffix;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kTestdata = PROPDESK_MIGRATION_TESTDATA;
const std::string kOkDir = kTestdata + "/migrations_ok";

template <typename F>
std::optional<Error> CatchError(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

// A scratch directory of this test, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    const char* root = std::getenv("PROPDESK_TEST_TMP");
    path_ = fs::path(root != nullptr ? root : "/tmp") / ("migrations-" + UniqueSuffix());
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = FreshDatabase("migrations", 4);
    pool_ = std::make_unique<MysqlPool>(options_);
  }

  std::vector<int64_t> Ints(const std::string& sql) {
    std::vector<int64_t> out;
    auto conn = pool_->Acquire();
    auto rs = conn->Query(sql);
    while (rs->next()) out.push_back(rs->getInt64(1));
    return out;
  }
  int64_t Count(const std::string& sql) { return Ints(sql).at(0); }
  bool TableExists(const std::string& table) {
    auto conn = pool_->Acquire();
    auto rs = conn->Query(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND "
        "TABLE_NAME = ?",
        {options_.database, table});
    rs->next();
    return rs->getInt64(1) == 1;
  }

  MysqlOptions options_;
  std::unique_ptr<MysqlPool> pool_;
};

TEST_F(MigrationsTest, AppliesFilesInNumericOrderAndRecordsEach) {
  ApplyMigrations(*pool_, {{"fixture", kOkDir}});
  // 0002 alters 0001's table and 0010 fills 0002's column: any other order fails.
  EXPECT_THAT(Ints("SELECT version FROM applied_order ORDER BY seq"), ElementsAre(1, 2, 10));
  EXPECT_EQ(Count("SELECT SUM(price_cents) FROM items"), 750);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM items WHERE name = 'key; spare'"), 1);

  auto conn = pool_->Acquire();
  auto rs = conn->Query(
      "SELECT component, version, name, checksum, applied_at IS NOT NULL FROM schema_migrations "
      "ORDER BY version");
  const std::vector<std::pair<int64_t, std::string>> expected = {
      {1, "0001_create_items.sql"}, {2, "0002_add_price.sql"}, {10, "0010_seed_items.sql"}};
  for (const auto& [version, name] : expected) {
    ASSERT_TRUE(rs->next());
    EXPECT_EQ(std::string(rs->getString(1)), "fixture");
    EXPECT_EQ(rs->getInt64(2), version);
    EXPECT_EQ(std::string(rs->getString(3)), name);
    EXPECT_EQ(std::string(rs->getString(4)), Sha256Hex(ReadFile(kOkDir + "/" + name)));
    EXPECT_TRUE(rs->getBoolean(5));
  }
  EXPECT_FALSE(rs->next()) << "README.md is not a migration";
}

TEST_F(MigrationsTest, SecondRunAppliesNothing) {
  ApplyMigrations(*pool_, {{"fixture", kOkDir}});
  MysqlPool restarted(options_);
  ApplyMigrations(restarted, {{"fixture", kOkDir}});
  // The inserts of each file ran once; a re-run would add rows or fail on
  // CREATE TABLE of an existing table.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM applied_order"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_migrations"), 3);
}

TEST_F(MigrationsTest, CommonMigrationsApplyAlongsideAServiceComponent) {
  ApplyMigrations(*pool_, {{"common", PROPDESK_COMMON_MIGRATIONS}, {"fixture", kOkDir}});
  size_t common_files = 0;
  for (const auto& entry : fs::directory_iterator(PROPDESK_COMMON_MIGRATIONS)) {
    if (entry.path().extension() == ".sql") ++common_files;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_migrations WHERE component = 'common'"),
            static_cast<int64_t>(common_files));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_migrations WHERE component = 'fixture'"), 3);
  EXPECT_TRUE(TableExists("idempotency_keys"));
}

TEST_F(MigrationsTest, ReplicasStartingTogetherApplyEachFileExactlyOnce) {
  for (int round = 0; round < 3; ++round) {
    const MysqlOptions options = FreshDatabase("migrations_race", 2);
    MysqlPool replica_a(options);
    MysqlPool replica_b(options);
    std::latch start(2);
    std::optional<Error> errors[2];
    auto run = [&](int index, MysqlPool& pool) {
      start.arrive_and_wait();
      errors[index] = CatchError([&] { ApplyMigrations(pool, {{"fixture", kOkDir}}); });
    };
    std::thread a(run, 0, std::ref(replica_a));
    std::thread b(run, 1, std::ref(replica_b));
    a.join();
    b.join();
    EXPECT_FALSE(errors[0].has_value()) << errors[0]->what();
    EXPECT_FALSE(errors[1].has_value()) << errors[1]->what();
    auto conn = replica_a.Acquire();
    auto rs = conn->Query(
        "SELECT (SELECT COUNT(*) FROM applied_order),"
        " (SELECT COUNT(*) FROM schema_migrations)");
    ASSERT_TRUE(rs->next());
    EXPECT_EQ(rs->getInt64(1), 3) << "round " << round;
    EXPECT_EQ(rs->getInt64(2), 3) << "round " << round;
  }
}

TEST_F(MigrationsTest, WaitsForTheLockHeldByAnotherReplica) {
  // Another replica is mid-run: it holds the migration lock of this database.
  MysqlOptions holder_options = options_;
  holder_options.statement_timeout = 0ms;
  MysqlPool holder_pool(holder_options);
  auto holder = holder_pool.Acquire();
  {
    auto rs = holder->Query("SELECT GET_LOCK(?, 5)", {"propdesk_migrations:" + options_.database});
    ASSERT_TRUE(rs->next());
    ASSERT_EQ(rs->getInt(1), 1);
  }
  std::optional<Error> error;
  std::thread runner([&] {
    error = CatchError([&] { ApplyMigrations(*pool_, {{"fixture", kOkDir}}); });
  });
  // Await the runner blocking in GET_LOCK, then check it did nothing yet.
  bool waiting = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !waiting && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
    waiting = Count("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '" +
                    options_.database + "' AND STATE = 'User lock'") == 1;
  }
  EXPECT_TRUE(waiting) << "the runner never waited for the lock";
  EXPECT_FALSE(TableExists("schema_migrations"));
  holder->Query("SELECT RELEASE_LOCK(?)", {"propdesk_migrations:" + options_.database});
  runner.join();
  EXPECT_FALSE(error.has_value()) << error->what();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM applied_order"), 3);
}

TEST_F(MigrationsTest, EditedAppliedFileStopsStartUpNamingTheFile) {
  ScratchDir dir;
  fs::copy(kOkDir, dir.path());
  ApplyMigrations(*pool_, {{"fixture", dir.str()}});

  const fs::path edited = dir.path() / "0002_add_price.sql";
  const std::string original = ReadFile(edited);
  WriteFile(edited, original + "-- a harmless looking edit\n");
  WriteFile(dir.path() / "0011_more.sql", "INSERT INTO applied_order (version) VALUES (11);\n");

  const auto error = CatchError([&] { ApplyMigrations(*pool_, {{"fixture", dir.str()}}); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), ErrorKind::kFailedPrecondition);
  EXPECT_EQ(error->reason(), "MIGRATION_CHECKSUM_MISMATCH");
  EXPECT_THAT(error->what(), HasSubstr("fixture/0002_add_price.sql"));
  EXPECT_EQ(error->metadata().at("file"), "0002_add_price.sql");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM applied_order"), 3) << "0011 must not run";

  // Restored, the run goes on (so the lock was released after the error).
  WriteFile(edited, original);
  MysqlPool other_replica(options_);
  ApplyMigrations(other_replica, {{"fixture", dir.str()}});
  EXPECT_THAT(Ints("SELECT version FROM applied_order ORDER BY seq"), ElementsAre(1, 2, 10, 11));
}

TEST_F(MigrationsTest, BadFileNamesAreRejectedBeforeAnythingRuns) {
  const auto error = CatchError([&] {
    ApplyMigrations(*pool_, {{"fixture", kTestdata + "/migrations_bad_name"}});
  });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), ErrorKind::kInvalidArgument);
  EXPECT_THAT(error->what(), HasSubstr("2-Add-Things.sql"));
  EXPECT_FALSE(TableExists("fine_table"));
  EXPECT_FALSE(TableExists("schema_migrations"));

  for (const std::string name :
       {"1_short.sql", "0001_Upper.sql", "0001_.sql", "00a1_x.sql", "0001x.sql", "0000_zero.sql"}) {
    ScratchDir dir;
    WriteFile(dir.path() / name, "CREATE TABLE never_created (id INT);\n");
    const auto bad = CatchError([&] { ApplyMigrations(*pool_, {{"fixture", dir.str()}}); });
    ASSERT_TRUE(bad.has_value()) << name;
    EXPECT_EQ(bad->kind(), ErrorKind::kInvalidArgument) << name;
    EXPECT_THAT(bad->what(), HasSubstr(name));
  }
  EXPECT_FALSE(TableExists("never_created"));
}

TEST_F(MigrationsTest, DuplicateNumbersAreRejected) {
  const auto error = CatchError([&] {
    ApplyMigrations(*pool_, {{"fixture", kTestdata + "/migrations_duplicate"}});
  });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), ErrorKind::kInvalidArgument);
  EXPECT_THAT(error->what(), HasSubstr("0001_first.sql"));
  EXPECT_THAT(error->what(), HasSubstr("0001_second.sql"));
  EXPECT_FALSE(TableExists("first_table"));
}

TEST_F(MigrationsTest, BadSourcesAreRejected) {
  const auto missing = CatchError([&] {
    ApplyMigrations(*pool_, {{"fixture", kTestdata + "/no_such_dir"}});
  });
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->kind(), ErrorKind::kInvalidArgument);
  EXPECT_THAT(missing->what(), HasSubstr("no_such_dir"));

  const auto twice = CatchError([&] {
    ApplyMigrations(*pool_, {{"fixture", kOkDir}, {"fixture", kOkDir}});
  });
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(twice->kind(), ErrorKind::kInvalidArgument);

  const auto unnamed = CatchError([&] { ApplyMigrations(*pool_, {{"", kOkDir}}); });
  ASSERT_TRUE(unnamed.has_value());
  EXPECT_EQ(unnamed->kind(), ErrorKind::kInvalidArgument);

  ScratchDir empty_file_dir;
  WriteFile(empty_file_dir.path() / "0001_empty.sql", "-- nothing yet\n");
  const auto empty = CatchError([&] {
    ApplyMigrations(*pool_, {{"fixture", empty_file_dir.str()}});
  });
  ASSERT_TRUE(empty.has_value());
  EXPECT_THAT(empty->what(), HasSubstr("0001_empty.sql"));
}

TEST_F(MigrationsTest, FailingStatementIsNamedWithoutItsSql) {
  ScratchDir dir;
  WriteFile(dir.path() / "0001_ok.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");
  WriteFile(dir.path() / "0002_broken.sql",
            "CREATE TABLE b (id INT PRIMARY KEY);\nCREAT TABLE marker_bad_sql (id INT);\n");
  const auto error = CatchError([&] { ApplyMigrations(*pool_, {{"svc", dir.str()}}); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), ErrorKind::kInternal);
  EXPECT_EQ(error->reason(), "MIGRATION_FAILED");
  EXPECT_THAT(error->what(), HasSubstr("svc/0002_broken.sql"));
  EXPECT_THAT(error->what(), HasSubstr("statement 2"));
  EXPECT_THAT(error->what(), Not(HasSubstr("marker_bad_sql")));
  EXPECT_THAT(Ints("SELECT version FROM schema_migrations"), ElementsAre(1));

  // Fixed so that it can be re-run over its half-applied first attempt.
  WriteFile(dir.path() / "0002_broken.sql",
            "CREATE TABLE IF NOT EXISTS b (id INT PRIMARY KEY);\nCREATE TABLE c (id INT);\n");
  ApplyMigrations(*pool_, {{"svc", dir.str()}});
  EXPECT_THAT(Ints("SELECT version FROM schema_migrations ORDER BY version"), ElementsAre(1, 2));
  EXPECT_TRUE(TableExists("c"));
}

}  // namespace
}  // namespace propdesk::common
