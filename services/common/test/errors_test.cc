#include "common/errors.h"

#include <cppconn/exception.h>
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "common/log.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace propdesk::common {
namespace {

struct KindCase {
  ErrorKind kind;
  grpc::StatusCode code;
  const char* code_name;
};

// ARCHITECTURE.md §5: validation → INVALID_ARGUMENT, missing or other-site →
// NOT_FOUND, duplicate → ALREADY_EXISTS, illegal transition →
// FAILED_PRECONDITION, optimistic-lock conflict → ABORTED, dependency down →
// UNAVAILABLE, else INTERNAL.
const KindCase kKindCases[] = {
    {ErrorKind::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT"},
    {ErrorKind::kNotFound, grpc::StatusCode::NOT_FOUND, "NOT_FOUND"},
    {ErrorKind::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS"},
    {ErrorKind::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION"},
    {ErrorKind::kAborted, grpc::StatusCode::ABORTED, "ABORTED"},
    {ErrorKind::kUnavailable, grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE"},
    {ErrorKind::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"},
    {ErrorKind::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED"},
    {ErrorKind::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
    {ErrorKind::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"},
    {ErrorKind::kInternal, grpc::StatusCode::INTERNAL, "INTERNAL"},
};

TEST(Errors, EveryKindMapsToItsGrpcCode) {
  for (const KindCase& c : kKindCases) {
    EXPECT_EQ(ToGrpcCode(c.kind), c.code) << c.code_name;
    EXPECT_EQ(GrpcCodeName(c.code), c.code_name);
  }
}

TEST(Errors, GrpcCodeNamesCoverEveryCode) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "CANCELLED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OUT_OF_RANGE), "OUT_OF_RANGE");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNIMPLEMENTED), "UNIMPLEMENTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(Errors, ErrorInfoRoundTripsThroughTheStatusForEveryKind) {
  SetErrorDomain("tickets.propdesk");
  for (const KindCase& c : kKindCases) {
    const Error error(c.kind, "SOME_REASON", "what to change", {{"ticket_id", "T-1"}, {"a", "b"}});
    for (const grpc::Status& status :
         {ToGrpcStatus(error), StatusFromException(std::make_exception_ptr(error))}) {
      EXPECT_EQ(status.error_code(), c.code) << c.code_name;
      EXPECT_EQ(status.error_message(), "what to change");
      ErrorInfoView info;
      ASSERT_TRUE(ExtractErrorInfo(status, &info)) << c.code_name;
      EXPECT_EQ(info.reason, "SOME_REASON");
      EXPECT_EQ(info.domain, "tickets.propdesk");
      EXPECT_EQ(info.metadata,
                (std::map<std::string, std::string>{{"a", "b"}, {"ticket_id", "T-1"}}));
    }
  }
  SetErrorDomain("propdesk");
}

TEST(Errors, DetailsAreAGoogleRpcStatusWithTheSameCodeAndMessage) {
  const grpc::Status status = ToGrpcStatus(NotFound("ticket", "TK-SZ01-240214001"));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(details.message(), status.error_message());
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_TRUE(details.details(0).Is<google::rpc::ErrorInfo>());
  EXPECT_EQ(details.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
}

TEST(Errors, ShorthandsCarryReasonAndMetadata) {
  const Error invalid = InvalidArgument("site_id", "must not be empty");
  EXPECT_EQ(invalid.kind(), ErrorKind::kInvalidArgument);
  EXPECT_STREQ(invalid.what(), "site_id: must not be empty");
  EXPECT_EQ(invalid.metadata().at("field"), "site_id");

  // Rule C-1: missing and other-site look the same; the id is named.
  const Error missing = NotFound("ticket", "TK-1");
  EXPECT_EQ(missing.kind(), ErrorKind::kNotFound);
  EXPECT_STREQ(missing.what(), "ticket TK-1 not found");

  const Error down = Unavailable("redis", "redis does not answer");
  EXPECT_EQ(down.reason(), "DEPENDENCY_UNAVAILABLE");
  EXPECT_EQ(down.metadata().at("dependency"), "redis");

  const Error state = FailedPrecondition("TICKET_CLOSED", "reopen it first", {{"state", "closed"}});
  EXPECT_EQ(ToGrpcStatus(state).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(state.metadata().at("state"), "closed");

  EXPECT_EQ(Internal("impossible").kind(), ErrorKind::kInternal);
}

sql::SQLException SqlError(int code) {
  return sql::SQLException("SELECT secret_column FROM propdesk_tickets.tickets WHERE x=1: boom",
                           "HY000", code);
}

TEST(Errors, ConnectionLevelSqlErrorsAreUnavailableWithoutSqlText) {
  for (int code : {2002, 2003, 2006, 2013, 1969}) {
    std::string detail;
    const grpc::Status status =
        StatusFromException(std::make_exception_ptr(SqlError(code)), &detail);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << code;
    EXPECT_EQ(status.error_message().find("secret_column"), std::string::npos);
    EXPECT_EQ(status.error_details().find("secret_column"), std::string::npos);
    ErrorInfoView info;
    ASSERT_TRUE(ExtractErrorInfo(status, &info));
    EXPECT_EQ(info.reason, "DEPENDENCY_UNAVAILABLE");
    // The text is not lost: it goes to the caller's log line.
    EXPECT_NE(detail.find("secret_column"), std::string::npos);
    EXPECT_NE(detail.find(std::to_string(code)), std::string::npos);
  }
}

TEST(Errors, OtherSqlErrorsAreGenericInternal) {
  for (int code : {1062, 1064, 1146, 0}) {
    std::string detail;
    const grpc::Status status =
        StatusFromException(std::make_exception_ptr(SqlError(code)), &detail);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << code;
    EXPECT_EQ(status.error_message(), "internal error");
    EXPECT_EQ(status.error_details().find("secret_column"), std::string::npos);
    EXPECT_NE(detail.find("secret_column"), std::string::npos);
  }
}

TEST(Errors, UnknownExceptionsAreGenericInternalAndTheirTextIsOnlyLogged) {
  struct Captured {
    std::mutex mu;
    std::vector<std::string> lines;
  };
  auto captured = std::make_shared<Captured>();
  auto before = DefaultLogger();
  SetDefaultLogger(
      std::make_shared<const Logger>("test", LogLevel::kInfo, [captured](std::string_view line) {
        std::lock_guard<std::mutex> lock(captured->mu);
        captured->lines.emplace_back(line);
      }));

  const grpc::Status from_std =
      StatusFromException(std::make_exception_ptr(std::runtime_error("password=hunter2")));
  const grpc::Status from_int = StatusFromException(std::make_exception_ptr(42));
  const grpc::Status from_sql = StatusFromException(std::make_exception_ptr(SqlError(1064)));
  SetDefaultLogger(before);

  for (const grpc::Status& status : {from_std, from_int, from_sql}) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_EQ(status.error_message(), "internal error");
    ErrorInfoView info;
    ASSERT_TRUE(ExtractErrorInfo(status, &info));
    EXPECT_EQ(info.reason, "INTERNAL");
  }
  EXPECT_EQ(from_std.error_details().find("hunter2"), std::string::npos);
  ASSERT_EQ(captured->lines.size(), 3u);
  EXPECT_NE(captured->lines[0].find("hunter2"), std::string::npos);
  EXPECT_NE(captured->lines[2].find("secret_column"), std::string::npos);
}

TEST(Errors, ExpectedErrorsAreNotLoggedByTheMapping) {
  std::string detail = "stale";
  const grpc::Status status =
      StatusFromException(std::make_exception_ptr(NotFound("key", "K-1")), &detail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(detail.empty());
}

TEST(Errors, NoExceptionIsOk) { EXPECT_TRUE(StatusFromException(nullptr).ok()); }

TEST(Errors, ExtractErrorInfoRejectsStatusesWithoutIt) {
  ErrorInfoView info;
  EXPECT_FALSE(ExtractErrorInfo(grpc::Status::OK, &info));
  EXPECT_FALSE(ExtractErrorInfo(grpc::Status(grpc::StatusCode::INTERNAL, "plain"), &info));
  EXPECT_FALSE(
      ExtractErrorInfo(grpc::Status(grpc::StatusCode::INTERNAL, "x", "\xff\xff garbage"), &info));
  google::rpc::Status no_info;
  no_info.set_code(5);
  google::rpc::BadRequest other;
  no_info.add_details()->PackFrom(other);
  EXPECT_FALSE(ExtractErrorInfo(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "x", no_info.SerializeAsString()), &info));
}

}  // namespace
}  // namespace propdesk::common
