#include "gateway/http_errors.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <gtest/gtest.h>

#include "gateway/http_headers.h"

namespace propdesk::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok()) << json;
  return out;
}

const google::protobuf::Struct& ErrorOf(const google::protobuf::Struct& body) {
  return body.fields().at("error").struct_value();
}

TEST(HttpErrors, GrpcCodesMapPerEnvoysTable) {
  using C = grpc::StatusCode;
  const std::vector<std::pair<C, int>> table = {{C::OK, 200},
                                                {C::CANCELLED, 499},
                                                {C::UNKNOWN, 500},
                                                {C::INVALID_ARGUMENT, 400},
                                                {C::DEADLINE_EXCEEDED, 504},
                                                {C::NOT_FOUND, 404},
                                                {C::ALREADY_EXISTS, 409},
                                                {C::PERMISSION_DENIED, 403},
                                                {C::RESOURCE_EXHAUSTED, 429},
                                                {C::FAILED_PRECONDITION, 400},
                                                {C::ABORTED, 409},
                                                {C::OUT_OF_RANGE, 400},
                                                {C::UNIMPLEMENTED, 501},
                                                {C::INTERNAL, 500},
                                                {C::UNAVAILABLE, 503},
                                                {C::DATA_LOSS, 500},
                                                {C::UNAUTHENTICATED, 401}};
  for (const auto& [code, status] : table) EXPECT_EQ(HttpStatusFor(code), status) << code;
}

TEST(HttpErrors, C8_RequestIdReusedIs422) {
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::INVALID_ARGUMENT, "REQUEST_ID_REUSED"), 422);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::INVALID_ARGUMENT, "OTHER"), 400);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::ABORTED, "REQUEST_IN_PROGRESS"), 409);
}

TEST(HttpErrors, BodyFollowsAip193) {
  const auto body = ParseJson(
      ErrorBody(404, grpc::StatusCode::NOT_FOUND, "ticket T-1 not found",
                {ErrorInfoJson("TICKET_NOT_FOUND", "tickets.propdesk", {{"id", "T-1"}})}));
  const auto& error = ErrorOf(body);
  EXPECT_EQ(error.fields().at("code").number_value(), 404);
  EXPECT_EQ(error.fields().at("status").string_value(), "NOT_FOUND");
  EXPECT_EQ(error.fields().at("message").string_value(), "ticket T-1 not found");
  const auto& detail = error.fields().at("details").list_value().values(0).struct_value();
  EXPECT_EQ(detail.fields().at("@type").string_value(), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(detail.fields().at("reason").string_value(), "TICKET_NOT_FOUND");
  EXPECT_EQ(detail.fields().at("metadata").struct_value().fields().at("id").string_value(), "T-1");
}

TEST(HttpErrors, GatewayErrorsCarryAReasonAndUnauthenticatedGetsAChallenge) {
  const HttpResponse expired = GatewayErrorResponse(
      common::Error(common::ErrorKind::kUnauthenticated, "TOKEN_EXPIRED", "token expired"));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.Header("WWW-Authenticate"),
            R"(Bearer realm="propdesk", error="invalid_token", error_description="token expired")");
  const auto body = ParseJson(expired.body);
  const auto& error = ErrorOf(body);
  EXPECT_EQ(error.fields().at("status").string_value(), "UNAUTHENTICATED");
  const auto& info = error.fields().at("details").list_value().values(0).struct_value();
  EXPECT_EQ(info.fields().at("reason").string_value(), "TOKEN_EXPIRED");
  EXPECT_EQ(info.fields().at("domain").string_value(), "gateway.propdesk");

  const HttpResponse missing = GatewayErrorResponse(
      common::Error(common::ErrorKind::kUnauthenticated, "MISSING_TOKEN", "no token"));
  EXPECT_EQ(missing.Header("WWW-Authenticate"), R"(Bearer realm="propdesk")");

  const HttpResponse too_large = GatewayErrorResponse(
      common::Error(common::ErrorKind::kInvalidArgument, "BODY_TOO_LARGE", "too big"), 413);
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(too_large.Header("WWW-Authenticate"), "");
  EXPECT_EQ(ErrorOf(ParseJson(too_large.body)).fields().at("code").number_value(), 413);
}

TEST(HttpErrors, UpstreamDetailsPassThrough) {
  google::rpc::Status rpc;
  rpc.set_code(grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::ErrorInfo info;
  info.set_reason("REQUEST_ID_REUSED");
  info.set_domain("tickets.propdesk");
  rpc.add_details()->PackFrom(info);
  google::rpc::BadRequest bad;
  bad.add_field_violations()->set_field("title");
  rpc.add_details()->PackFrom(bad);
  const HttpResponse response =
      UpstreamErrorResponse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "request id reused",
                                         rpc.SerializeAsString()),
                            "tickets");
  EXPECT_EQ(response.status, 422);
  const auto body = ParseJson(response.body);
  const auto& error = ErrorOf(body);
  EXPECT_EQ(error.fields().at("message").string_value(), "request id reused");
  const auto& details = error.fields().at("details").list_value();
  ASSERT_EQ(details.values_size(), 2);
  EXPECT_EQ(details.values(0).struct_value().fields().at("domain").string_value(),
            "tickets.propdesk");
  EXPECT_EQ(details.values(1).struct_value().fields().at("@type").string_value(),
            "type.googleapis.com/google.rpc.BadRequest");
}

TEST(HttpErrors, TransportFailuresDoNotLeakChannelInternals) {
  const HttpResponse response =
      UpstreamErrorResponse(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                         "failed to connect to all addresses; last error: "
                                         "UNKNOWN: ipv4:10.0.0.7:50051: Connection refused"),
                            "tickets");
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, Not(HasSubstr("10.0.0.7")));
  EXPECT_THAT(response.body, HasSubstr("the tickets service is unavailable"));
  EXPECT_THAT(response.body, HasSubstr("UPSTREAM_UNAVAILABLE"));
  const HttpResponse timeout = UpstreamErrorResponse(
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"), "tickets");
  EXPECT_EQ(timeout.status, 504);
  EXPECT_THAT(timeout.body, HasSubstr("UPSTREAM_TIMEOUT"));
}

TEST(HttpHeaders, GrpcTimeoutFormat) {
  using std::chrono::milliseconds;
  EXPECT_EQ(http_headers::ParseGrpcTimeout("250m"), milliseconds(250));
  EXPECT_EQ(http_headers::ParseGrpcTimeout("5S"), milliseconds(5000));
  EXPECT_EQ(http_headers::ParseGrpcTimeout("2M"), milliseconds(120000));
  EXPECT_EQ(http_headers::ParseGrpcTimeout("1H"), milliseconds(3600000));
  EXPECT_EQ(http_headers::ParseGrpcTimeout("1500u"), milliseconds(2));
  EXPECT_EQ(http_headers::ParseGrpcTimeout("1n"), milliseconds(1));
  EXPECT_EQ(http_headers::ParseGrpcTimeout("5"), std::nullopt);
  EXPECT_EQ(http_headers::ParseGrpcTimeout("5s"), std::nullopt);
  EXPECT_EQ(http_headers::ParseGrpcTimeout("-5S"), std::nullopt);
  EXPECT_EQ(http_headers::ParseGrpcTimeout("123456789S"), std::nullopt) << "at most 8 digits";
}

TEST(HttpHeaders, IdempotencyKeyAcceptsSfStringsAndBareTokens) {
  EXPECT_EQ(http_headers::IdempotencyKey("\"8e03978e-40d5-43e8\""), "8e03978e-40d5-43e8");
  EXPECT_EQ(http_headers::IdempotencyKey(" abc "), "abc");
  const std::vector<std::string> bad_keys = {"", "\"\"", std::string(256, 'k'), "a\x01",
                                             "caf\xc3\xa9"};
  for (const std::string& bad : bad_keys) {
    try {
      http_headers::IdempotencyKey(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const common::Error& e) {
      EXPECT_EQ(e.reason(), "INVALID_IDEMPOTENCY_KEY");
    }
  }
}

TEST(HttpHeaders, RequestIdsAreAcceptedOnlyWhenHarmless) {
  EXPECT_TRUE(http_headers::AcceptableRequestId("4f1c-aa.b_c:9"));
  EXPECT_FALSE(http_headers::AcceptableRequestId(""));
  EXPECT_FALSE(http_headers::AcceptableRequestId("a b"));
  EXPECT_FALSE(http_headers::AcceptableRequestId("a\"}"));
  EXPECT_FALSE(http_headers::AcceptableRequestId(std::string(129, 'a')));
  const std::string generated = http_headers::NewRequestId();
  EXPECT_EQ(generated.size(), 32u);
  EXPECT_TRUE(http_headers::AcceptableRequestId(generated));
  EXPECT_NE(generated, http_headers::NewRequestId());
}

}  // namespace
}  // namespace propdesk::gateway
