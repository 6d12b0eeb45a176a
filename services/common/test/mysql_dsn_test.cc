// Unit tests of the MySQL pieces that need no server: DSN parsing, SQL error
// classification and translation, and splitting migration files.

#include <cppconn/exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/errors.h"
#include "common/migrations.h"
#include "common/mysql.h"

namespace propdesk::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// Runs ParseMysqlDsn, expecting kInvalidArgument; returns the message.
std::string DsnError(std::string_view dsn) {
  try {
    ParseMysqlDsn(dsn);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << dsn;
    return e.what();
  }
  ADD_FAILURE() << "no error for " << dsn;
  return "";
}

TEST(MysqlDsn, ParsesEveryPart) {
  const MysqlOptions o = ParseMysqlDsn(
      "mysql://svc:s3cret@db.internal:3307/propdesk_tickets?pool=16&statement_timeout_ms=2500"
      "&checkout_timeout_ms=750&connect_timeout_ms=1500");
  EXPECT_EQ(o.user, "svc");
  EXPECT_EQ(o.password, "s3cret");
  EXPECT_EQ(o.host, "db.internal");
  EXPECT_EQ(o.port, 3307);
  EXPECT_EQ(o.database, "propdesk_tickets");
  EXPECT_EQ(o.pool_size, 16);
  EXPECT_EQ(o.statement_timeout, 2500ms);
  EXPECT_EQ(o.checkout_timeout, 750ms);
  EXPECT_EQ(o.connect_timeout, 1500ms);
}

TEST(MysqlDsn, DefaultsWhenOptionalPartsAreLeftOut) {
  const MysqlOptions o = ParseMysqlDsn("mysql://svc@127.0.0.1/propdesk_keys");
  const MysqlOptions defaults;
  EXPECT_EQ(o.user, "svc");
  EXPECT_EQ(o.password, "");
  EXPECT_EQ(o.port, 3306);
  EXPECT_EQ(o.pool_size, defaults.pool_size);
  EXPECT_EQ(o.statement_timeout, defaults.statement_timeout);
  EXPECT_EQ(o.checkout_timeout, defaults.checkout_timeout);
}

TEST(MysqlDsn, PercentEscapesAndAtSignsInThePassword) {
  EXPECT_EQ(ParseMysqlDsn("mysql://svc:p%40ss%3Aw%2Frd@h:1/db").password, "p@ss:w/rd");
  // An unescaped '@' in the password: the host begins after the last '@'.
  const MysqlOptions o = ParseMysqlDsn("mysql://svc:a@b@h:1/db");
  EXPECT_EQ(o.password, "a@b");
  EXPECT_EQ(o.host, "h");
}

TEST(MysqlDsn, Ipv6HostInBrackets) {
  const MysqlOptions o = ParseMysqlDsn("mysql://u:p@[::1]:3310/db");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 3310);
}

TEST(MysqlDsn, ZeroStatementTimeoutMeansNone) {
  EXPECT_EQ(ParseMysqlDsn("mysql://u@h/db?statement_timeout_ms=0").statement_timeout, 0ms);
}

TEST(MysqlDsn, RejectsBadInputNamingTheProblem) {
  EXPECT_THAT(DsnError(""), HasSubstr("mysql://"));
  EXPECT_THAT(DsnError("postgres://u:p@h:1/db"), HasSubstr("mysql://"));
  EXPECT_THAT(DsnError("mysql://h:3306/db"), HasSubstr("user is missing"));
  EXPECT_THAT(DsnError("mysql://:p@h:3306/db"), HasSubstr("user is empty"));
  EXPECT_THAT(DsnError("mysql://u:p@h:3306"), HasSubstr("database is missing"));
  EXPECT_THAT(DsnError("mysql://u:p@h:3306/"), HasSubstr("database is empty"));
  EXPECT_THAT(DsnError("mysql://u:p@:3306/db"), HasSubstr("host is missing"));
  EXPECT_THAT(DsnError("mysql://u:p@h:/db"), HasSubstr("port is empty"));
  EXPECT_THAT(DsnError("mysql://u:p@h:abc/db"), HasSubstr("port must be an integer"));
  EXPECT_THAT(DsnError("mysql://u:p@h:70000/db"), HasSubstr("port must be between 1 and 65535"));
  EXPECT_THAT(DsnError("mysql://u:p@h/db?pool=0"), HasSubstr("pool must be between"));
  EXPECT_THAT(DsnError("mysql://u:p@h/db?pool=8x"), HasSubstr("pool must be an integer"));
  EXPECT_THAT(DsnError("mysql://u:p@h/db?checkout_timeout_ms=-5"),
              HasSubstr("checkout_timeout_ms must be between"));
  EXPECT_THAT(DsnError("mysql://u:p@h/db?poolsize=3"), HasSubstr("unknown parameter 'poolsize'"));
  EXPECT_THAT(DsnError("mysql://u:p@h/db?pool"), HasSubstr("'pool' has no value"));
  EXPECT_THAT(DsnError("mysql://u:p%zz@h/db"), HasSubstr("password has a bad %-escape"));
  EXPECT_THAT(DsnError("mysql://u:p@[::1/db"), HasSubstr("without ']'"));
  EXPECT_THAT(DsnError("mysql://u:p@h/d`b"), HasSubstr("database name contains"));
}

TEST(MysqlDsn, ErrorNeverEchoesThePassword) {
  EXPECT_THAT(DsnError("mysql://u:TopSecret99@h:x/db"), Not(HasSubstr("TopSecret99")));
  EXPECT_THAT(DsnError("mysql://u:TopSecret99@h/db?bad=1"), Not(HasSubstr("TopSecret99")));
}

TEST(MysqlErrors, Classification) {
  EXPECT_TRUE(IsRetryableSqlError(1213));
  EXPECT_TRUE(IsRetryableSqlError(1205));
  EXPECT_FALSE(IsRetryableSqlError(1062));
  for (int code : {2002, 2003, 2006, 2013, 2055}) EXPECT_TRUE(IsConnectionSqlError(code)) << code;
  for (int code : {0, 1062, 1064, 1213, 1969}) EXPECT_FALSE(IsConnectionSqlError(code)) << code;
}

// Translates a SQLException carrying `code` and a message with SQL text in it.
Error Translate(int code) {
  try {
    RethrowSqlError(sql::SQLException(
        "You have an error near 'SELECT secret_column FROM tickets' at line 1", "42000", code));
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr("secret_column"))) << code;
    return e;
  }
  ADD_FAILURE() << "RethrowSqlError returned";
  return Internal("unreachable");
}

TEST(MysqlErrors, TranslatesWithoutSqlText) {
  EXPECT_EQ(Translate(1062).kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(Translate(1062).reason(), "DUPLICATE");
  EXPECT_EQ(Translate(2013).kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(Translate(2006).kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(Translate(1969).kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(Translate(1213).kind(), ErrorKind::kAborted);
  EXPECT_EQ(Translate(1213).reason(), "TRANSACTION_CONFLICT");
  EXPECT_EQ(Translate(1064).kind(), ErrorKind::kInternal);
  EXPECT_EQ(Translate(1146).kind(), ErrorKind::kInternal);
}

TEST(MysqlErrors, PropdeskErrorsPassThroughUnchanged) {
  try {
    RethrowSqlError(Error(ErrorKind::kNotFound, "TICKET_NOT_FOUND", "ticket T-1 not found"));
    FAIL() << "RethrowSqlError returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_EQ(e.reason(), "TICKET_NOT_FOUND");
    EXPECT_STREQ(e.what(), "ticket T-1 not found");
  }
}

TEST(MysqlErrors, OtherExceptionsBecomeGenericInternal) {
  try {
    RethrowSqlError(std::runtime_error("column secret_column is bad"));
    FAIL() << "RethrowSqlError returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_THAT(e.what(), Not(HasSubstr("secret_column")));
  }
}

TEST(MigrationSplit, SplitsAtSemicolonsEndingALineAndDropsCommentLines) {
  const std::string text =
      "-- creates the table\n"
      "CREATE TABLE a (\n"
      "  id INT,  -- trailing remark stays\n"
      "  -- a comment line inside is dropped;\n"
      "  v VARCHAR(8)\n"
      ");\n"
      "\n"
      "INSERT INTO a VALUES (1, 'x;y'); \r\n"
      "   -- done;\n"
      "INSERT INTO a VALUES (2, 'z')\n";
  EXPECT_THAT(SplitMigrationStatements(text),
              ElementsAre("CREATE TABLE a (\n  id INT,  -- trailing remark stays\n"
                          "  v VARCHAR(8)\n)",
                          "INSERT INTO a VALUES (1, 'x;y')", "INSERT INTO a VALUES (2, 'z')"));
}

TEST(MigrationSplit, EmptyAndCommentOnlyTextHasNoStatement) {
  EXPECT_TRUE(SplitMigrationStatements("").empty());
  EXPECT_TRUE(SplitMigrationStatements("-- nothing\n\n  -- here;\n;\n").empty());
}

}  // namespace
}  // namespace propdesk::common
