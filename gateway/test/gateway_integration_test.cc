// The running gateway (Beast server, transcoding, auth, limits) against an
// in-process upstream that verifies tokens and enforces site scope itself.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/jwt.h"
#include "gateway/gateway.h"
#include "support/gateway_harness.h"
#include "support/http_client.h"
#include "support/json_at.h"
#include "support/test_upstream.h"

namespace propdesk::gateway::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// ---------------------------------------------------------------- helpers

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
Headers Auth(TokenOptions options = {}) { return Bearer(MakeToken(options)); }

Headers With(Headers headers, const std::string& name, const std::string& value) {
  headers.emplace_back(name, value);
  return headers;
}

ClientResponse Call(int port, const std::string& method, const std::string& target,
                    const std::string& body = "", const Headers& headers = Auth()) {
  return HttpClient(port).Send(method, target, body, headers);
}

// A token with {"alg":"none"} and no signature, carrying valid claims.
std::string AlgNoneToken() {
  const std::string valid = MakeToken();
  const std::string payload =
      valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.') - 1);
  return common::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
}

// Polls until `condition` holds (a state change the test cannot be told
// about directly, e.g. the readiness prober's next round), at most `timeout`.
template <class F>
bool Eventually(F condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// One upstream and a default gateway shared by the tests that do not need
// a special configuration.
class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new TestUpstream();
    GatewayConfig config =
        TestGatewayConfig({{"testing", upstream_->address()}}, TestingDescriptors());
    config.cors_origins = {"https://desk.example"};
    gateway_ = new GatewayUnderTest(std::move(config));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
  }

  static int port() { return gateway_->port(); }
  static SeenCall LastCall() {
    const auto calls = upstream_->calls();
    return calls.empty() ? SeenCall{} : calls.back();
  }

  static TestUpstream* upstream_;
  static GatewayUnderTest* gateway_;
};

TestUpstream* GatewayTest::upstream_ = nullptr;
GatewayUnderTest* GatewayTest::gateway_ = nullptr;

// ------------------------------------------------------------ round trips

TEST_F(GatewayTest, EchoRoundTripPropagatesTokenRequestIdAndDeadline) {
  const std::string token = MakeToken();
  const auto sent = std::chrono::system_clock::now();
  const ClientResponse r =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hi"})", Bearer(token));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"message":"hi","principal":"staff-1"})");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("x-request-id").size(), 32u) << "generated";
  const SeenCall seen = LastCall();
  EXPECT_EQ(seen.rpc, "Echo");
  EXPECT_EQ(seen.authorization, "Bearer " + token);
  EXPECT_EQ(seen.request_id, r.Header("x-request-id"));
  EXPECT_GT(seen.deadline, sent + 4s) << "the default timeout is 5 s";
  EXPECT_LT(seen.deadline, sent + 6s);
}

TEST_F(GatewayTest, ClientRequestIdIsUsedEchoedAndLogged) {
  const ClientResponse r = Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"x"})",
                                With(Auth(), "X-Request-Id", "req-abc-123"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-request-id"), "req-abc-123");
  EXPECT_EQ(LastCall().request_id, "req-abc-123");
  bool logged = false;
  for (const std::string& line : gateway_->logs().lines()) {
    if (line.find(R"("request_id":"req-abc-123")") != std::string::npos &&
        line.find(R"("route":"POST /v1/sites/{site_id}/echoes")") != std::string::npos &&
        line.find(R"("status":200)") != std::string::npos) {
      logged = true;
    }
  }
  EXPECT_TRUE(logged) << "one log line per request with its id";
  // An id that could forge log lines is replaced.
  const ClientResponse forged = Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"x"})",
                                     With(Auth(), "X-Request-Id", "a\"b"));
  EXPECT_EQ(forged.Header("x-request-id").size(), 32u);
}

TEST_F(GatewayTest, GrpcTimeoutSetsTheUpstreamDeadline) {
  const auto sent = std::chrono::system_clock::now();
  ASSERT_EQ(Call(port(), "POST", "/v1/sites/s1/echoes", "{}", With(Auth(), "grpc-timeout", "1500m"))
                .status,
            200);
  EXPECT_GT(LastCall().deadline, sent + 1s);
  EXPECT_LT(LastCall().deadline, sent + 2s);
  const ClientResponse bad =
      Call(port(), "POST", "/v1/sites/s1/echoes", "{}", With(Auth(), "grpc-timeout", "soon"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Reason(bad), "INVALID_TIMEOUT");
}

TEST_F(GatewayTest, AnUpstreamMissingItsDeadlineIs504) {
  const ClientResponse r = Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hold"})",
                                With(Auth(), "grpc-timeout", "200m"));
  upstream_->ReleaseHeld();
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(JsonAt(r.body, "error.status"), "DEADLINE_EXCEEDED");
  EXPECT_EQ(Reason(r), "UPSTREAM_TIMEOUT");
}

TEST_F(GatewayTest, TranscodesPathQueryAndResponsesEndToEnd) {
  const ClientResponse get = Call(port(), "GET", "/v1/sites/s1/things/t%201?readMask=title");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(JsonAt(get.body, "request.thingId"), "t 1");
  EXPECT_EQ(JsonAt(get.body, "request.readMask"), "title");
  EXPECT_EQ(JsonAt(get.body, "thing.sizeBytes"), "9007199254740993") << "int64 as a string, exact";
  EXPECT_EQ(JsonAt(get.body, "thing.dueTime"), "2024-02-14T08:30:00Z");
  EXPECT_EQ(JsonAt(get.body, "thing.state"), "THING_STATE_OPEN");
  EXPECT_EQ(JsonAt(get.body, "thing.blob"), "aGk=");

  const ClientResponse list =
      Call(port(), "GET",
           "/v1/sites/s1/things?tags=a&tags=b&filter.minDimensions.widthMm=4&pageSize=1000");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(
      LastCall().request_json,
      R"({"site_id":"s1","page_size":100,"tags":["a","b"],"filter":{"min_dimensions":{"width_mm":4}}})");
  EXPECT_EQ(JsonAt(list.body, "nextPageToken"), "next");

  const ClientResponse patch = Call(port(), "PATCH", "/v1/sites/s1/things/t1?updateMask=title",
                                    R"({"title":"New"})", With(Auth(), "Idempotency-Key", "p-1"));
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(
      LastCall().request_json,
      R"({"thing":{"site_id":"s1","thing_id":"t1","title":"New"},"update_mask":"title","request_id":"p-1"})");

  const ClientResponse history = Call(port(), "GET", "/v1/sites/s1/things/t1/history");
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_EQ(history.body,
            R"({"request":{"name":"sites/s1/things/t1"},"entries":["opened","resolved"]})")
      << "response_body: only the history";
}

// ------------------------------------------------------------------- auth

TEST_F(GatewayTest, EveryAuthFailureIs401WithAChallengeAndNeverReachesTheUpstream) {
  // A changed signature character (not the last one: its low bits are
  // padding, and a non-canonical encoding is a malformed token instead).
  std::string tampered = MakeToken();
  char& c = tampered[tampered.rfind('.') + 1];
  c = c == 'A' ? 'B' : 'A';
  const std::vector<std::tuple<std::string, Headers, std::string>> cases = {
      {"missing", {}, "MISSING_TOKEN"},
      {"basic scheme", {{"Authorization", "Basic dXNlcjpwdw=="}}, "UNSUPPORTED_AUTH_SCHEME"},
      {"expired", Auth({.lifetime = -2min}), "TOKEN_EXPIRED"},
      {"tampered", Bearer(tampered), "BAD_SIGNATURE"},
      {"other secret", Auth({.secret = "another-secret-of-at-least-32-bytes!!"}), "BAD_SIGNATURE"},
      {"alg none", Bearer(AlgNoneToken()), "ALG_NONE"},
      {"wrong audience", Auth({.audience = "billing-portal"}), "WRONG_AUDIENCE"},
      {"garbage", Bearer("not.a.jwt"), "MALFORMED_TOKEN"},
  };
  const int calls_before = upstream_->call_count();
  for (const auto& [name, headers, reason] : cases) {
    const ClientResponse r =
        Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"x"})", headers);
    EXPECT_EQ(r.status, 401) << name;
    EXPECT_EQ(JsonAt(r.body, "error.status"), "UNAUTHENTICATED") << name;
    EXPECT_EQ(Reason(r), reason) << name;
    EXPECT_THAT(r.Header("www-authenticate"), StartsWith(R"(Bearer realm="propdesk")")) << name;
    if (name == "missing") {
      EXPECT_EQ(r.Header("www-authenticate"), R"(Bearer realm="propdesk")");
    } else {
      EXPECT_THAT(r.Header("www-authenticate"), HasSubstr(R"(error="invalid_token")")) << name;
    }
  }
  EXPECT_EQ(upstream_->call_count(), calls_before);
}

TEST_F(GatewayTest, C1_AnotherSitesRecordIs404OnEveryRoute) {
  // The token grants s1 only; s2 exists (group g1), s9 does not: the upstream
  // answers both alike, and the gateway passes that on.
  struct Case {
    std::string method;
    std::string target;  // with {site}
    std::string body;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/sites/{site}/echoes", R"({"message":"x"})"},
      {"GET", "/v1/sites/{site}/things/t1", ""},
      {"GET", "/v1/sites/{site}/things", ""},
      {"GET", "/v1/things?siteId={site}", ""},
      {"PATCH", "/v1/sites/{site}/things/t1", R"({"title":"x"})"},
      {"DELETE", "/v1/sites/{site}/things/t1", ""},
      {"POST", "/v1/sites/{site}/things/t1:resolve", "{}"},
      {"PUT", "/v1/sites/{site}/resolutions/t1", "{}"},
      {"GET", "/v1/sites/{site}/things/t1/history", ""},
      {"GET", "/v1/sites/{site}/files/a/b.txt", ""},
  };
  auto target_for = [](std::string target, const std::string& site) {
    return target.replace(target.find("{site}"), 6, site);
  };
  for (const Case& c : cases) {
    const ClientResponse own = Call(port(), c.method, target_for(c.target, "s1"), c.body);
    EXPECT_EQ(own.status, 200) << c.method << " " << c.target << ": " << own.body;
    for (const std::string site : {"s2", "s9"}) {
      const ClientResponse other = Call(port(), c.method, target_for(c.target, site), c.body);
      EXPECT_EQ(other.status, 404) << c.method << " " << c.target << " " << site;
      EXPECT_EQ(JsonAt(other.body, "error.status"), "NOT_FOUND");
      EXPECT_EQ(Reason(other), "SITE_NOT_FOUND") << other.body;
      EXPECT_EQ(JsonAt(other.body, "error.message"), "site " + site + " not found");
    }
  }
  // A group admin ("*") sees every site of the group.
  const ClientResponse admin = Call(port(), "GET", "/v1/sites/s2/things/t1", "",
                                    Auth({.sites = {"*"}, .roles = {"group_admin"}}));
  EXPECT_EQ(admin.status, 200) << admin.body;
}

// ------------------------------------------------------------ idempotency

TEST_F(GatewayTest, C8_RepeatedIdempotencyKeyReturnsTheStoredResponse) {
  const Headers headers = With(Auth(), "Idempotency-Key", "\"idem-repeat-1\"");
  const ClientResponse first =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"once"})", headers);
  const ClientResponse again =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"once"})", headers);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(upstream_->effects("idem-repeat-1"), 1) << "the effect happened once";
  EXPECT_THAT(LastCall().request_json, HasSubstr(R"("request_id":"idem-repeat-1")"));
}

TEST_F(GatewayTest, C8_SameKeyWithAnotherPayloadIs422) {
  const Headers headers = With(Auth(), "Idempotency-Key", "idem-reuse-1");
  ASSERT_EQ(Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"a"})", headers).status, 200);
  const ClientResponse reused =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"b"})", headers);
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(JsonAt(reused.body, "error.status"), "INVALID_ARGUMENT");
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");
  EXPECT_EQ(upstream_->effects("idem-reuse-1"), 1);
}

TEST_F(GatewayTest, C8_ConcurrentDuplicateIs409ThenTheRepeatGetsTheResult) {
  const Headers headers = With(Auth(), "Idempotency-Key", "idem-concurrent-1");
  auto first = std::async(std::launch::async, [&] {
    return Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hold"})", headers);
  });
  ASSERT_TRUE(upstream_->WaitForHeld(1, 5s));
  const ClientResponse duplicate =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hold"})", headers);
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(JsonAt(duplicate.body, "error.status"), "ABORTED");
  EXPECT_EQ(Reason(duplicate), "REQUEST_IN_PROGRESS");
  upstream_->ReleaseHeld();
  const ClientResponse original = first.get();
  EXPECT_EQ(original.status, 200) << original.body;
  const ClientResponse repeat =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hold"})", headers);
  EXPECT_EQ(repeat.status, 200) << "replayed, not held again";
  EXPECT_EQ(repeat.body, original.body);
  EXPECT_EQ(upstream_->effects("idem-concurrent-1"), 1);
}

TEST_F(GatewayTest, IdempotencyKeyIsRefusedWhereItCannotWork) {
  const ClientResponse get =
      Call(port(), "GET", "/v1/sites/s1/things/t1", "", With(Auth(), "Idempotency-Key", "k"));
  EXPECT_EQ(get.status, 400);
  EXPECT_EQ(Reason(get), "IDEMPOTENCY_KEY_NOT_SUPPORTED");
  const ClientResponse bad =
      Call(port(), "POST", "/v1/sites/s1/echoes", "{}", With(Auth(), "Idempotency-Key", ""));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Reason(bad), "INVALID_IDEMPOTENCY_KEY");
}

// ------------------------------------------------------------ bad requests

TEST_F(GatewayTest, UnknownJsonFieldIs400NamingTheField) {
  const ClientResponse r =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"x","colour":"red"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(JsonAt(r.body, "error.status"), "INVALID_ARGUMENT");
  EXPECT_THAT(JsonAt(r.body, "error.message"), HasSubstr("\"colour\""));
  EXPECT_EQ(Reason(r), "UNKNOWN_FIELD");
  EXPECT_EQ(JsonAt(r.body, "error.details.0.metadata.field"), "colour");
}

TEST_F(GatewayTest, OtherBadRequests) {
  EXPECT_EQ(Reason(Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":)")), "INVALID_JSON");
  const ClientResponse text = Call(port(), "POST", "/v1/sites/s1/echoes", "hello",
                                   With(Auth(), "Content-Type", "text/plain"));
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(Reason(text), "UNSUPPORTED_MEDIA_TYPE");
  const ClientResponse query = Call(port(), "GET", "/v1/sites/s1/things?colour=red");
  EXPECT_EQ(query.status, 400);
  EXPECT_EQ(Reason(query), "UNKNOWN_QUERY_PARAMETER");
  const ClientResponse unknown = Call(port(), "GET", "/v1/nowhere");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Reason(unknown), "ROUTE_NOT_FOUND");
  const ClientResponse method = Call(port(), "PUT", "/v1/sites/s1/things/t1", "{}");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Header("allow"), "GET, PATCH, DELETE");
}

TEST_F(GatewayTest, UpstreamStatusesMapToHttpWithTheirDetails) {
  const std::vector<std::pair<int, int>> cases = {{5, 404},  {6, 409},  {7, 403},  {8, 429},
                                                  {9, 400},  {10, 409}, {11, 400}, {12, 501},
                                                  {13, 500}, {14, 503}};
  for (const auto& [code, http] : cases) {
    const ClientResponse r = Call(port(), "POST", "/v1/sites/s1/echoes",
                                  R"({"message":"x","failWith":)" + std::to_string(code) + "}");
    EXPECT_EQ(r.status, http) << "gRPC code " << code;
    EXPECT_EQ(JsonAt(r.body, "error.code"), std::to_string(http));
    EXPECT_EQ(JsonAt(r.body, "error.message"), "failing as asked");
    EXPECT_EQ(JsonAt(r.body, "error.details.0.domain"), "testing.propdesk");
    EXPECT_EQ(JsonAt(r.body, "error.details.0.metadata.origin"), "test-upstream");
  }
  const ClientResponse unauthenticated =
      Call(port(), "POST", "/v1/sites/s1/echoes", R"({"message":"x","failWith":16})");
  EXPECT_EQ(unauthenticated.status, 401);
  EXPECT_THAT(unauthenticated.Header("www-authenticate"), StartsWith("Bearer"));
}

// ------------------------------------------------------------ operations

TEST_F(GatewayTest, HealthReadinessMetricsAndOpenApi) {
  const ClientResponse health = Call(port(), "GET", "/healthz", "", {});
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  const ClientResponse ready = Call(port(), "GET", "/readyz", "", {});
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"status":"ready","upstreams":{"testing":"SERVING"}})");
  EXPECT_EQ(Call(port(), "POST", "/healthz", "{}", {}).status, 405);

  ASSERT_EQ(Call(port(), "POST", "/v1/sites/s1/echoes", "{}").status, 200);
  const ClientResponse metrics = Call(port(), "GET", "/metrics", "", {});
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.Header("content-type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_THAT(
      metrics.body,
      AllOf(
          HasSubstr(
              R"(http_server_requests_total{code="200",method="POST",route="POST /v1/sites/{site_id}/echoes"})"),
          HasSubstr(
              R"(http_server_request_duration_seconds_count{route="POST /v1/sites/{site_id}/echoes"})"),
          HasSubstr(
              R"(grpc_client_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="propdesk.testing.v1.EchoService"})"),
          HasSubstr(
              R"(grpc_client_handling_seconds_count{grpc_method="Echo",grpc_service="propdesk.testing.v1.EchoService"})"),
          HasSubstr(R"(http_server_requests_total{code="200",method="GET",route="healthz"})"),
          HasSubstr("http_server_connections "),
          HasSubstr(R"(gateway_rate_limit_checks_total{backend="local"})")));
  EXPECT_THAT(metrics.body, Not(HasSubstr("route=\"/v1/"))) << "raw paths never become labels";

  const ClientResponse openapi = Call(port(), "GET", "/openapi.json", "", {});
  EXPECT_EQ(openapi.status, 200);
  EXPECT_EQ(JsonAt(openapi.body, "openapi"), "3.0.3");
  EXPECT_THAT(openapi.body, HasSubstr("\"/v1/sites/{site_id}/echoes\""));
}

TEST_F(GatewayTest, CorsForAllowedOriginsOnly) {
  const Headers preflight = {{"Origin", "https://desk.example"},
                             {"Access-Control-Request-Method", "POST"},
                             {"Access-Control-Request-Headers", "authorization, content-type"}};
  const ClientResponse allowed =
      HttpClient(port()).Send("OPTIONS", "/v1/sites/s1/echoes", "", preflight);
  EXPECT_EQ(allowed.status, 204);
  EXPECT_EQ(allowed.Header("access-control-allow-origin"), "https://desk.example");
  EXPECT_THAT(allowed.Header("access-control-allow-methods"), HasSubstr("POST"));
  EXPECT_THAT(allowed.Header("access-control-allow-headers"),
              AllOf(HasSubstr("Authorization"), HasSubstr("Idempotency-Key")));
  EXPECT_EQ(allowed.Header("vary"), "Origin");

  const ClientResponse refused = HttpClient(port()).Send(
      "OPTIONS", "/v1/sites/s1/echoes", "",
      {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.Header("access-control-allow-origin"), "");

  const ClientResponse actual = Call(port(), "POST", "/v1/sites/s1/echoes", "{}",
                                     With(Auth(), "Origin", "https://desk.example"));
  EXPECT_EQ(actual.status, 200);
  EXPECT_EQ(actual.Header("access-control-allow-origin"), "https://desk.example");
  EXPECT_THAT(actual.Header("access-control-expose-headers"), HasSubstr("X-Request-Id"));
  const ClientResponse foreign = Call(port(), "POST", "/v1/sites/s1/echoes", "{}",
                                      With(Auth(), "Origin", "https://evil.example"));
  EXPECT_EQ(foreign.Header("access-control-allow-origin"), "");
}

// ------------------------------------------------------------ HTTP/1.1

TEST_F(GatewayTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpClient client(port());
  for (int i = 0; i < 3; ++i) {
    const ClientResponse r = client.Send("POST", "/v1/sites/s1/echoes",
                                         R"({"message":"m)" + std::to_string(i) + "\"}", Auth());
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(JsonAt(r.body, "message"), "m" + std::to_string(i));
  }
}

TEST_F(GatewayTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpClient client(port());
  std::string batch;
  for (const std::string message : {"one", "two", "three"}) {
    batch += HttpClient::Format("POST", "/v1/sites/s1/echoes", R"({"message":")" + message + "\"}",
                                Auth());
  }
  // A bad request in the middle does not derail the ones after it.
  batch += HttpClient::Format("POST", "/v1/sites/s1/echoes", R"({"nope":1})", Auth());
  batch += HttpClient::Format("GET", "/healthz");
  client.WriteRaw(batch);
  for (const std::string message : {"one", "two", "three"}) {
    const ClientResponse r = client.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(JsonAt(r.body, "message"), message);
  }
  EXPECT_EQ(client.ReadResponse().status, 400);
  EXPECT_EQ(client.ReadResponse().body, R"({"status":"ok"})");
}

TEST_F(GatewayTest, ARequestArrivingInPiecesIsReadWhole) {
  HttpClient client(port());
  const std::string request =
      HttpClient::Format("POST", "/v1/sites/s1/echoes", R"({"message":"in pieces"})", Auth());
  // Cut inside the request line, a header and the body.
  size_t from = 0;
  for (const size_t to : {size_t{9}, size_t{60}, request.size() - 5, request.size()}) {
    client.WriteRaw(std::string_view(request).substr(from, to - from));
    from = to;
    std::this_thread::sleep_for(20ms);
  }
  const ClientResponse r = client.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(JsonAt(r.body, "message"), "in pieces");
}

TEST_F(GatewayTest, HeadIsAnsweredWithoutABody) {
  HttpClient client(port());
  client.WriteRaw("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const ClientResponse head = client.ReadResponse(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(std::string(R"({"status":"ok"})").size()))
      << "the length of the body a GET gets";
  // No body bytes were sent: the next response on the connection parses.
  EXPECT_EQ(client.Send("GET", "/healthz").body, R"({"status":"ok"})");
  // An API route has no HEAD: 405, and still no body.
  client.WriteRaw("HEAD /v1/sites/s1/echoes HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.ReadResponse(/*head_request=*/true).status, 405);
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
}

TEST_F(GatewayTest, OversizedBodyIs413) {
  const std::string big = R"({"message":")" + std::string(70 * 1024, 'x') + "\"}";
  HttpClient client(port());
  const ClientResponse r = client.Send("POST", "/v1/sites/s1/echoes", big, Auth());
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Reason(r), "BODY_TOO_LARGE");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(client.WaitForClose(3s));
  // A body just under the limit is fine.
  const std::string fits = R"({"message":")" + std::string(60 * 1024, 'x') + "\"}";
  EXPECT_EQ(Call(port(), "POST", "/v1/sites/s1/echoes", fits).status, 200);
}

TEST_F(GatewayTest, OversizedBodyAnnouncedWithExpectContinueIsRefusedBeforeItIsSent) {
  HttpClient client(port());
  client.WriteRaw(
      "POST /v1/sites/s1/echoes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 413);
}

TEST_F(GatewayTest, ExpectContinueGetsAnInterimResponse) {
  HttpClient client(port());
  const std::string body = R"({"message":"after 100"})";
  client.WriteRaw(
      "POST /v1/sites/s1/echoes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer " +
      MakeToken() + "\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().status, 100);
  client.WriteRaw(body);
  const ClientResponse r = client.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(JsonAt(r.body, "message"), "after 100");
}

TEST_F(GatewayTest, OversizedHeadersAre431) {
  const ClientResponse r =
      Call(port(), "GET", "/healthz", "", {{"X-Padding", std::string(20 * 1024, 'p')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(Reason(r), "HEADERS_TOO_LARGE");
}

TEST_F(GatewayTest, MalformedHttpIs400AndCloses) {
  HttpClient client(port());
  client.WriteRaw("BLAH\r\n\r\n");
  const ClientResponse r = client.ReadResponse();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Reason(r), "MALFORMED_REQUEST");
  EXPECT_TRUE(client.WaitForClose(3s));
}

// ------------------------------------------------- dedicated configurations

TEST(GatewayLimits, RateLimitPerPrincipalIs429WithRetryAfter) {
  TestUpstream upstream;
  GatewayConfig config = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
  config.per_principal = {0.5, 3};  // refills slower than the test runs
  GatewayUnderTest gw(std::move(config));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}").status, 200) << i;
  }
  const int calls = upstream.call_count();
  const ClientResponse limited = Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(JsonAt(limited.body, "error.status"), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(Reason(limited), "RATE_LIMITED");
  EXPECT_EQ(JsonAt(limited.body, "error.details.0.metadata.scope"), "principal");
  EXPECT_EQ(limited.Header("retry-after"), "2") << "one token at 0.5/s";
  EXPECT_EQ(upstream.call_count(), calls) << "a refused request never reaches the upstream";
  EXPECT_EQ(
      Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}", Auth({.subject = "staff-2"})).status,
      200)
      << "another principal has its own bucket";
}

TEST(GatewayLimits, RateLimitPerSiteCountsEveryoneOnTheSite) {
  TestUpstream upstream;
  GatewayConfig config = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
  config.per_site = {0.5, 2};
  GatewayUnderTest gw(std::move(config));
  EXPECT_EQ(Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}", Auth({.subject = "a"})).status,
            200);
  EXPECT_EQ(Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}", Auth({.subject = "b"})).status,
            200);
  const ClientResponse limited =
      Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}", Auth({.subject = "c"}));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(JsonAt(limited.body, "error.details.0.metadata.scope"), "site");
  // Requests naming a site the caller is not granted do not drain its budget:
  // s2 is still fresh for its own staff after a stranger's attempts.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Call(gw.port(), "POST", "/v1/sites/s2/echoes", "{}",
                   Auth({.subject = "x" + std::to_string(i)}))
                  .status,
              404);
  }
  EXPECT_EQ(
      Call(gw.port(), "POST", "/v1/sites/s2/echoes", "{}", Auth({.subject = "d", .sites = {"s2"}}))
          .status,
      200);
}

TEST(GatewayLimits, SlowClientsAndIdleConnectionsAreCutOff) {
  TestUpstream upstream;
  GatewayConfig config = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
  config.read_timeout = 300ms;
  config.idle_timeout = 300ms;
  GatewayUnderTest gw(std::move(config));
  HttpClient slow(gw.port());
  slow.WriteRaw("POST /v1/sites/s1/echoes HTTP/1.1\r\nHost: x\r\n");  // and then nothing
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(slow.WaitForClose(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms) << "not before the read timeout";
  // The stream's timer closes the socket before the read's own handler
  // counts the 408, so the count may trail the close by a moment.
  const std::string counted =
      R"(http_server_requests_total{code="408",method="",route="invalid_request"} 1)";
  std::string metrics;
  for (int attempt = 0; attempt < 50; ++attempt) {
    metrics = Call(gw.port(), "GET", "/metrics", "", {}).body;
    if (metrics.find(counted) != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_THAT(metrics, HasSubstr(counted));
  HttpClient idle(gw.port());
  EXPECT_TRUE(idle.WaitForClose(3s)) << "an idle keep-alive connection is closed";
}

TEST(GatewayLimits, ConnectionsBeyondTheLimitGet503) {
  TestUpstream upstream;
  GatewayConfig config = TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors());
  config.max_connections = 2;
  GatewayUnderTest gw(std::move(config));
  auto a = std::make_unique<HttpClient>(gw.port());
  HttpClient b(gw.port());
  ASSERT_EQ(a->Send("GET", "/healthz").status, 200);
  ASSERT_EQ(b.Send("GET", "/healthz").status, 200);
  HttpClient c(gw.port());
  const ClientResponse refused = c.ReadResponse();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(Reason(refused), "TOO_MANY_CONNECTIONS");
  a.reset();
  // The server notices the close asynchronously; then a slot is free.
  EXPECT_TRUE(Eventually([&] {
    try {
      return HttpClient(gw.port()).Send("GET", "/healthz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
}

// A route's usual outcome is counted through handles made at start-up, the
// others through the label cache: both must add up.
TEST(GatewayOperations, MetricsCountEveryOutcomeOfARoute) {
  TestUpstream upstream;
  GatewayUnderTest gw(TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors()));
  const std::string ok_requests =
      R"(http_server_requests_total{code="200",method="POST",route="POST /v1/sites/{site_id}/echoes"} )";
  const std::string ok_calls =
      R"(grpc_client_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="propdesk.testing.v1.EchoService"} )";
  const std::string durations =
      R"(http_server_request_duration_seconds_count{route="POST /v1/sites/{site_id}/echoes"} )";
  const std::string upstream_durations =
      R"(grpc_client_handling_seconds_count{grpc_method="Echo",grpc_service="propdesk.testing.v1.EchoService"} )";
  auto metrics = [&] { return Call(gw.port(), "GET", "/metrics", "", {}).body; };
  EXPECT_THAT(metrics(), AllOf(HasSubstr(ok_requests + "0"), HasSubstr(ok_calls + "0")))
      << "every route's series exist from the start";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}").status, 200);
  }
  ASSERT_EQ(Call(gw.port(), "POST", "/v1/sites/s1/echoes", R"({"failWith":5})").status, 404);
  ASSERT_EQ(Call(gw.port(), "POST", "/v1/sites/s1/echoes", R"({"nope":1})").status, 400);
  EXPECT_THAT(
      metrics(),
      AllOf(
          HasSubstr(ok_requests + "3"), HasSubstr(ok_calls + "3"),
          HasSubstr(
              R"(http_server_requests_total{code="404",method="POST",route="POST /v1/sites/{site_id}/echoes"} 1)"),
          HasSubstr(
              R"(http_server_requests_total{code="400",method="POST",route="POST /v1/sites/{site_id}/echoes"} 1)"),
          HasSubstr(
              R"(grpc_client_handled_total{grpc_code="NOT_FOUND",grpc_method="Echo",grpc_service="propdesk.testing.v1.EchoService"} 1)"),
          HasSubstr(durations + "5"), HasSubstr(upstream_durations + "4")));
}

TEST(GatewayOperations, ReadinessFollowsTheUpstreamsHealth) {
  TestUpstream upstream;
  GatewayUnderTest gw(TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors()));
  EXPECT_EQ(Call(gw.port(), "GET", "/readyz", "", {}).status, 200);
  upstream.SetServing(false);
  EXPECT_TRUE(Eventually([&] { return Call(gw.port(), "GET", "/readyz", "", {}).status == 503; }));
  EXPECT_EQ(JsonAt(Call(gw.port(), "GET", "/readyz", "", {}).body, "upstreams.testing"),
            "NOT_SERVING");
  EXPECT_EQ(Call(gw.port(), "GET", "/healthz", "", {}).status, 200) << "the process itself is fine";
  upstream.SetServing(true);
  EXPECT_TRUE(Eventually([&] { return Call(gw.port(), "GET", "/readyz", "", {}).status == 200; }));
}

TEST(GatewayOperations, AnUnreachableUpstreamIs503) {
  int dead_port;
  {
    TestUpstream gone;  // a port that was just free, now closed
    dead_port = gone.port();
  }
  GatewayUnderTest gw(TestGatewayConfig({{"testing", "127.0.0.1:" + std::to_string(dead_port)}},
                                        TestingDescriptors()),
                      /*wait_ready=*/false);
  const ClientResponse r =
      Call(gw.port(), "POST", "/v1/sites/s1/echoes", "{}", With(Auth(), "grpc-timeout", "2S"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Reason(r), "UPSTREAM_UNAVAILABLE");
  EXPECT_THAT(r.body, Not(HasSubstr("127.0.0.1"))) << "no addresses in client-facing errors";
  EXPECT_TRUE(Eventually([&] {
    return JsonAt(Call(gw.port(), "GET", "/readyz", "", {}).body, "upstreams.testing") ==
           "UNREACHABLE";
  }));
  EXPECT_EQ(Call(gw.port(), "GET", "/readyz", "", {}).status, 503);
}

TEST(GatewayOperations, ShutdownLetsInFlightRequestsFinish) {
  TestUpstream upstream;
  GatewayUnderTest gw(TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors()));
  auto held = std::async(std::launch::async, [&] {
    return Call(gw.port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hold"})");
  });
  ASSERT_TRUE(upstream.WaitForHeld(1, 5s));
  auto shutdown = std::async(
      std::launch::async, [&] { gw.gateway().Shutdown(std::chrono::steady_clock::now() + 10s); });
  EXPECT_TRUE(Eventually([&] { return !gw.gateway().ready(); })) << "/readyz turns 503 first";
  EXPECT_EQ(shutdown.wait_for(100ms), std::future_status::timeout) << "waits for the call";
  upstream.ReleaseHeld();
  const ClientResponse r = held.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.keep_alive) << "draining: the client is told to reconnect elsewhere";
  shutdown.get();
}

TEST(GatewayOperations, ShutdownCancelsCallsPastTheGrace) {
  TestUpstream upstream;
  GatewayUnderTest gw(TestGatewayConfig({{"testing", upstream.address()}}, TestingDescriptors()));
  auto held = std::async(std::launch::async, [&] {
    return Call(gw.port(), "POST", "/v1/sites/s1/echoes", R"({"message":"hold"})");
  });
  ASSERT_TRUE(upstream.WaitForHeld(1, 5s));
  gw.gateway().Shutdown(std::chrono::steady_clock::now() + 100ms);
  const ClientResponse r = held.get();
  EXPECT_EQ(r.status, 499);
  EXPECT_EQ(JsonAt(r.body, "error.status"), "CANCELLED");
  upstream.ReleaseHeld();
}

TEST(GatewayConfigTest, UpstreamsThatServeNothingAreAStartUpError) {
  GatewayConfig config = TestGatewayConfig({{"testing", "127.0.0.1:1"}, {"tikcets", "127.0.0.1:2"}},
                                           TestingDescriptors());
  try {
    Gateway gateway(config,
                    std::make_shared<const common::Logger>("gateway", common::LogLevel::kError),
                    std::make_shared<prometheus::Registry>());
    ADD_FAILURE() << "started";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.reason(), "BAD_CONFIG");
    EXPECT_THAT(e.what(), HasSubstr("GATEWAY_UPSTREAMS names tikcets"));
  }
}

TEST(GatewayConfigTest, ConfigComesFromTheEnvironment) {
  const common::Env env = common::Env::FromMap({
      {"HTTP_PORT", "8080"},
      {"GATEWAY_UPSTREAMS", "tickets=127.0.0.1:50051, visitors=127.0.0.1:50052"},
      {"GATEWAY_DESCRIPTORS", "/a.pb,/dir"},
      {"JWT_HS256_SECRET", kTestJwtSecret},
      {"REDIS_ADDR", "127.0.0.1:6379"},
      {"GATEWAY_RATE_PRINCIPAL", "10"},
      {"GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example"},
      {"GATEWAY_READ_TIMEOUT", "2s"},
  });
  const GatewayConfig c = LoadGatewayConfig(env);
  EXPECT_EQ(c.http_port, 8080);
  ASSERT_EQ(c.upstreams.size(), 2u);
  EXPECT_EQ(c.upstreams[1].name, "visitors");
  EXPECT_EQ(c.upstreams[1].address, "127.0.0.1:50052");
  EXPECT_EQ(c.descriptor_paths, (std::vector<std::string>{"/a.pb", "/dir"}));
  ASSERT_TRUE(c.redis.has_value());
  EXPECT_EQ(c.redis->port, 6379);
  EXPECT_EQ(c.per_principal.per_second, 10);
  EXPECT_EQ(c.per_principal.burst, 20);
  EXPECT_EQ(c.cors_origins.size(), 2u);
  EXPECT_EQ(c.read_timeout, 2s);
  EXPECT_EQ(c.max_body_bytes, 64u * 1024);

  auto error_of = [](std::map<std::string, std::string> values) -> std::string {
    values.emplace("HTTP_PORT", "0");
    values.emplace("GATEWAY_DESCRIPTORS", "/a.pb");
    values.emplace("JWT_HS256_SECRET", kTestJwtSecret);
    try {
      LoadGatewayConfig(common::Env::FromMap(values));
    } catch (const common::Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_THAT(error_of({}), HasSubstr("GATEWAY_UPSTREAMS"));
  EXPECT_THAT(error_of({{"GATEWAY_UPSTREAMS", "tickets"}}), HasSubstr("is not name=host:port"));
  EXPECT_THAT(error_of({{"GATEWAY_UPSTREAMS", "a=h:1,a=h:2"}}), HasSubstr("names a twice"));
  EXPECT_THAT(error_of({{"GATEWAY_UPSTREAMS", "a=h:1"}, {"REDIS_ADDR", "nohost"}}),
              HasSubstr("REDIS_ADDR"));
}

}  // namespace
}  // namespace propdesk::gateway::test
