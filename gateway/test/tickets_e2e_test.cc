// End to end: HTTP/JSON through the gateway to the real tickets service
// (tickets/testing/tickets_harness.h: wired as propdesk-tickets wires it, on
// the harness' MariaDB and Redis), with the gateway's routes built from the
// service's own descriptor set (PROPDESK_TICKETS_DESCRIPTOR).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/jwt.h"
#include "support/gateway_harness.h"
#include "support/http_client.h"
#include "support/json_at.h"
#include "support/test_env.h"
#include "tickets/testing/tickets_harness.h"

#ifndef PROPDESK_TICKETS_DESCRIPTOR
#error "PROPDESK_TICKETS_DESCRIPTOR must name the tickets service's descriptor set"
#endif

namespace propdesk::gateway::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using tickets::testing::kHarnessSecret;
using tickets::testing::TicketsHarness;
using namespace std::chrono_literals;

constexpr char kSiteA[] = "SA01";
constexpr char kSiteB[] = "SB01";
constexpr char kMissingSite[] = "SX99";  // no such site

std::string DeskToken(const std::string& site) {
  return TicketsHarness::Token(
      {.subject = "desk-" + site, .sites = {site}, .roles = {"front_desk"}});
}
const std::string& AdminToken() {  // every site of group g1
  static const std::string token = TicketsHarness::Token();
  return token;
}

std::string NewKey() { return "e2e-" + propdesk::testing::UniqueSuffix(); }

// A repair of `unit` (distinct units keep T-11 from linking tickets).
std::string CreateBody(const std::string& unit, const std::string& extra = "") {
  return R"({"kind":"TICKET_KIND_REPAIR","channel":"TICKET_CHANNEL_PHONE",)"
         R"("category":"TICKET_CATEGORY_FACILITIES_EQUIPMENT","unit":")" +
         unit + R"(","contact":{"name":"Resident","phone":"+86 138 0000 0000"},)" +
         R"("description":"Kitchen tap leaking")" + extra + "}";
}

// Every AIP-193 error body: {"error":{"code","status","message","details"}},
// `code` the HTTP status, the first detail a google.rpc.ErrorInfo.
void ExpectAip193(const ClientResponse& r, int http_status, const std::string& grpc_status,
                  const std::string& reason) {
  SCOPED_TRACE(r.body);
  EXPECT_EQ(r.status, http_status);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(JsonAt(r.body, "error.code"), std::to_string(http_status));
  EXPECT_EQ(JsonAt(r.body, "error.status"), grpc_status);
  EXPECT_THAT(JsonAt(r.body, "error.message"), ::testing::Not(StartsWith("<missing")));
  EXPECT_FALSE(JsonAt(r.body, "error.message").empty());
  EXPECT_EQ(JsonAt(r.body, "error.details.0.@type"), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(Reason(r), reason);
  EXPECT_THAT(JsonAt(r.body, "error.details.0.domain"), ::testing::Not(StartsWith("<missing")));
}

// gRPC calls the tickets service has started (its grpc_server_started_total).
double ServiceCallsStarted(TicketsHarness& harness) {
  double total = 0;
  for (const prometheus::MetricFamily& family : harness.registry().Collect()) {
    if (family.name != "grpc_server_started_total") continue;
    for (const prometheus::ClientMetric& metric : family.metric) total += metric.counter.value;
  }
  return total;
}

// One tickets service (sites SA01 and SB01 of group g1) and one gateway in
// front of it, shared by the tests; tests that need other gateway limits
// start their own.
class TicketsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tickets::testing::HarnessOptions options;
    options.database_prefix = "gateway_e2e";
    options.sites = {{kSiteA, "g1", kSiteA, "Site A"}, {kSiteB, "g1", kSiteB, "Site B"}};
    harness_ = new TicketsHarness(options);
    gateway_ = new GatewayUnderTest(Config());
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete harness_;
  }

  // Production-like: the service's JWT settings, Redis rate limits.
  static GatewayConfig Config() {
    GatewayConfig config =
        TestGatewayConfig({{"tickets", harness_->address()}}, {PROPDESK_TICKETS_DESCRIPTOR});
    config.jwt = harness_->jwt();
    config.redis = propdesk::testing::SharedRedis();
    return config;
  }

  static ClientResponse Call(const std::string& method, const std::string& target,
                             const std::string& body, const std::string& token,
                             Headers headers = {}) {
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return HttpClient(gateway_->port()).Send(method, target, body, headers);
  }

  // Creates a ticket as the group admin; returns its id.
  static std::string CreateTicket(const std::string& site, const std::string& unit) {
    const ClientResponse r = Call("POST", "/v1/sites/" + site + "/tickets", CreateBody(unit),
                                  AdminToken(), {{"Idempotency-Key", NewKey()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return JsonAt(r.body, "ticket.ticketId");
  }

  // The tickets of `unit` at site A, as the admin sees them.
  static int CountTickets(const std::string& unit) {
    const ClientResponse r =
        Call("GET", std::string("/v1/sites/") + kSiteA + "/tickets?unit=" + unit, "", AdminToken());
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string tickets = JsonAt(r.body, "tickets");
    if (tickets.starts_with("<missing")) return 0;  // proto3 JSON omits an empty list
    int count = 0;
    while (!JsonAt(r.body, "tickets." + std::to_string(count) + ".ticketId").starts_with("<"))
      ++count;
    return count;
  }

  static TicketsHarness* harness_;
  static GatewayUnderTest* gateway_;
};

TicketsHarness* TicketsE2eTest::harness_ = nullptr;
GatewayUnderTest* TicketsE2eTest::gateway_ = nullptr;

// ------------------------------------------------------------ round trips

TEST_F(TicketsE2eTest, CreateGetListAndAcknowledgeOverHttpJson) {
  const std::string token = DeskToken(kSiteA);
  const std::string base = std::string("/v1/sites/") + kSiteA + "/tickets";
  const ClientResponse created =
      Call("POST", base, CreateBody("A-101"), token, {{"Idempotency-Key", NewKey()}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = JsonAt(created.body, "ticket.ticketId");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(JsonAt(created.body, "ticket.siteId"), kSiteA);
  EXPECT_EQ(JsonAt(created.body, "ticket.state"), "TICKET_STATE_OPEN");
  EXPECT_EQ(JsonAt(created.body, "ticket.kind"), "TICKET_KIND_REPAIR");
  EXPECT_EQ(JsonAt(created.body, "ticket.contact.phone"), "+86 138 0000 0000");
  EXPECT_THAT(JsonAt(created.body, "ticket.recordNumber"), StartsWith("TK-SA01-")) << "C-5";
  EXPECT_EQ(JsonAt(created.body, "ticket.firstContactOwnerId"), "desk-SA01")
      << "C-6: the caller, from the token the gateway passed on";
  EXPECT_EQ(JsonAt(created.body, "ticket.version"), "1") << "int64 as a JSON string";
  EXPECT_THAT(JsonAt(created.body, "ticket.createTime"), HasSubstr("T"));

  const ClientResponse got = Call("GET", base + "/" + id, "", token);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_TRUE(SameJson(JsonAt(got.body, "ticket"), JsonAt(created.body, "ticket")))
      << got.body << "\n"
      << created.body;

  const ClientResponse listed =
      Call("GET", base + "?unit=A-101&states=TICKET_STATE_OPEN&pageSize=10", "", token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(JsonAt(listed.body, "tickets.0.ticketId"), id);
  EXPECT_EQ(JsonAt(listed.body, "tickets.1"), "<missing tickets.1>");

  const ClientResponse acknowledged =
      Call("POST", base + "/" + id + ":acknowledge", R"({"note":"Called","expectedVersion":"1"})",
           token, {{"Idempotency-Key", NewKey()}});
  ASSERT_EQ(acknowledged.status, 200) << acknowledged.body;
  EXPECT_EQ(JsonAt(acknowledged.body, "ticket.state"), "TICKET_STATE_ACKNOWLEDGED");
  EXPECT_EQ(JsonAt(acknowledged.body, "ticket.version"), "2");

  // T-3: the same transition again is the service's FAILED_PRECONDITION.
  const ClientResponse again =
      Call("POST", base + "/" + id + ":acknowledge", "{}", token, {{"Idempotency-Key", NewKey()}});
  ExpectAip193(again, 400, "FAILED_PRECONDITION", "ILLEGAL_TRANSITION");
  EXPECT_EQ(JsonAt(again.body, "error.details.0.metadata.current_state"), "acknowledged");
  EXPECT_EQ(JsonAt(Call("GET", base + "/" + id, "", token).body, "ticket.version"), "2")
      << "nothing written";
}

// ------------------------------------------------------------------- auth

TEST_F(TicketsE2eTest, EveryAuthFailureIs401WithAChallengeAndNeverReachesTheService) {
  const auto now = std::chrono::system_clock::now();
  common::JwtClaims claims;
  claims.subject = "desk-SA01";
  claims.group = "g1";
  claims.audience = "propdesk";
  claims.sites = {kSiteA};
  claims.roles = {"front_desk"};
  claims.issued_at = now - 1min;
  claims.expires_at = now + 1h;
  common::JwtClaims expired = claims;
  expired.issued_at = now - 2h;
  expired.expires_at = now - 1h;
  common::JwtClaims other_audience = claims;
  other_audience.audience = "billing-portal";
  const std::string valid = common::SignJwtHs256(claims, kHarnessSecret);
  // A changed signature character (not the last: its low bits are padding).
  std::string tampered = valid;
  char& c = tampered[tampered.rfind('.') + 1];
  c = c == 'A' ? 'B' : 'A';
  const std::string payload =
      valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.') - 1);
  const std::string alg_none =
      common::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";

  struct Case {
    std::string name;
    Headers headers;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"missing", {}, "MISSING_TOKEN"},
      {"expired",
       {{"Authorization", "Bearer " + common::SignJwtHs256(expired, kHarnessSecret)}},
       "TOKEN_EXPIRED"},
      {"tampered signature", {{"Authorization", "Bearer " + tampered}}, "BAD_SIGNATURE"},
      {"alg none", {{"Authorization", "Bearer " + alg_none}}, "ALG_NONE"},
      {"wrong audience",
       {{"Authorization", "Bearer " + common::SignJwtHs256(other_audience, kHarnessSecret)}},
       "WRONG_AUDIENCE"},
      {"not Bearer", {{"Authorization", "Basic ZGVzazpwdw=="}}, "UNSUPPORTED_AUTH_SCHEME"},
  };
  const std::string target = std::string("/v1/sites/") + kSiteA + "/tickets";
  const double started = ServiceCallsStarted(*harness_);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ClientResponse r =
        HttpClient(gateway_->port()).Send("POST", target, CreateBody("A-401"), c.headers);
    ExpectAip193(r, 401, "UNAUTHENTICATED", c.reason);
    EXPECT_THAT(r.Header("www-authenticate"), StartsWith(R"(Bearer realm="propdesk")"));
    if (c.name == "missing") {
      EXPECT_EQ(r.Header("www-authenticate"), R"(Bearer realm="propdesk")");
    } else {
      EXPECT_THAT(r.Header("www-authenticate"), HasSubstr(R"(error="invalid_token")"));
    }
  }
  EXPECT_EQ(ServiceCallsStarted(*harness_), started) << "refused at the gateway";
  EXPECT_EQ(CountTickets("A-401"), 0);
  // The valid token works, so the refusals were about the tokens.
  EXPECT_EQ(Call("GET", target, "", valid).status, 200);
}

// --------------------------------------------------------------- site scope

// Rule C-1 on every route of the tickets service, from the route table: a
// new RPC is covered as soon as its descriptor has it (give it a sample
// request below if it validates its input before it checks the site). A
// token of site A gets 404 for site B's ticket, exactly as for a site that
// does not exist; the group admin's control call shows the route reaches
// site B's ticket.
TEST_F(TicketsE2eTest, C1_ATokenOfSiteAGets404ForSiteBsTicketOnEveryRoute) {
  const std::string ticket_b = CreateTicket(kSiteB, "B-1");
  const ClientResponse policy =
      Call("GET", std::string("/v1/sites/") + kSiteB + "/slaPolicy", "", AdminToken());
  ASSERT_EQ(policy.status, 200) << policy.body;
  struct Sample {
    std::string body;
    std::string query;
  };
  // Requests the service validates before it looks at the site.
  const std::map<std::string, Sample> samples = {
      {"CreateTicket", {CreateBody("B-2"), ""}},
      {"UpdateSlaPolicy", {R"({"slaPolicy":)" + JsonAt(policy.body, "slaPolicy") + "}", ""}},
      {"GetSlaSummary", {"", "startTime=2024-01-01T00:00:00Z&endTime=2024-02-01T00:00:00Z"}},
  };
  const std::string desk_a = DeskToken(kSiteA);
  std::set<std::string> covered;
  const google::protobuf::ServiceDescriptor* service = nullptr;
  for (const Route& route : gateway_->gateway().routes().routes()) {
    if (route.upstream != "tickets") continue;
    SCOPED_TRACE(route.label);
    service = route.method->service();
    covered.insert(route.method->name());
    auto target_for = [&](const std::string& site) {
      std::string path = route.path.OpenApiPath();
      for (const TemplateVariable& variable : route.path.variables()) {
        const std::string placeholder = "{" + variable.field_path + "}";
        std::string value;
        if (variable.field_path == "site_id") value = site;
        if (variable.field_path == "ticket_id") value = ticket_b;
        if (value.empty()) {
          ADD_FAILURE() << "no test value for path variable " << variable.field_path;
          return std::string();
        }
        path.replace(path.find(placeholder), placeholder.size(), value);
      }
      const auto sample = samples.find(route.method->name());
      if (sample != samples.end() && !sample->second.query.empty()) {
        path += "?" + sample->second.query;
      }
      return path;
    };
    auto call = [&](const std::string& site, const std::string& token) {
      const auto sample = samples.find(route.method->name());
      std::string body = sample != samples.end() ? sample->second.body : "";
      if (body.empty() && !route.body.empty()) body = "{}";
      Headers headers;
      if (route.request_id_field != nullptr) headers.emplace_back("Idempotency-Key", NewKey());
      return Call(route.http_method, target_for(site), body, token, headers);
    };
    const ClientResponse other_site = call(kSiteB, desk_a);
    ExpectAip193(other_site, 404, "NOT_FOUND", "SITE_NOT_FOUND");
    const ClientResponse no_site = call(kMissingSite, desk_a);
    EXPECT_EQ(no_site.status, 404);
    EXPECT_EQ(Reason(other_site), Reason(no_site)) << "indistinguishable from a missing site";
    std::string message = JsonAt(no_site.body, "error.message");
    if (const size_t at = message.find(kMissingSite); at != std::string::npos) {
      message.replace(at, std::string(kMissingSite).size(), kSiteB);
    }
    EXPECT_EQ(JsonAt(other_site.body, "error.message"), message);
    const ClientResponse control = call(kSiteB, AdminToken());
    EXPECT_NE(control.status, 404) << "the route reaches site B's ticket: " << control.body;
    EXPECT_NE(control.status, 401) << control.body;
  }
  ASSERT_NE(service, nullptr) << "the gateway has no tickets routes";
  EXPECT_EQ(static_cast<int>(covered.size()), service->method_count())
      << "every RPC of " << service->full_name() << " has a route and was tried";
}

// ------------------------------------------------------------ idempotency

TEST_F(TicketsE2eTest, C8_ARepeatedIdempotencyKeyReturnsTheStoredResponse) {
  const std::string target = std::string("/v1/sites/") + kSiteA + "/tickets";
  const Headers key = {{"Idempotency-Key", NewKey()}};
  const ClientResponse first = Call("POST", target, CreateBody("A-801"), AdminToken(), key);
  const ClientResponse again = Call("POST", target, CreateBody("A-801"), AdminToken(), key);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(CountTickets("A-801"), 1) << "one ticket, not two";
}

TEST_F(TicketsE2eTest, C8_TheSameKeyWithAnotherPayloadIs422AndWritesNothing) {
  const std::string target = std::string("/v1/sites/") + kSiteA + "/tickets";
  const Headers key = {{"Idempotency-Key", NewKey()}};
  ASSERT_EQ(Call("POST", target, CreateBody("A-802"), AdminToken(), key).status, 200);
  const ClientResponse reused = Call("POST", target, CreateBody("A-803"), AdminToken(), key);
  ExpectAip193(reused, 422, "INVALID_ARGUMENT", "REQUEST_ID_REUSED");
  EXPECT_EQ(CountTickets("A-803"), 0);
}

// The first request is held inside its transaction by a row lock the test
// takes on the ticket, so the duplicate arrives while it is in progress.
TEST_F(TicketsE2eTest, C8_AConcurrentDuplicateIs409ThenTheRepeatGetsTheFirstResult) {
  const std::string id = CreateTicket(kSiteA, "A-804");
  const std::string target = std::string("/v1/sites/") + kSiteA + "/tickets/" + id + ":acknowledge";
  const Headers key = {{"Idempotency-Key", NewKey()}};
  std::promise<void> locked;
  std::promise<void> release;
  std::atomic<bool> locked_once{false};
  auto holder = std::async(std::launch::async, [&] {
    harness_->pool().WithTransaction([&](common::MysqlConnection& tx) {
      tx.Query("SELECT id FROM tickets WHERE id = ? FOR UPDATE", {int64_t{std::stoll(id)}});
      if (!locked_once.exchange(true)) locked.set_value();
      release.get_future().wait();
      return 0;
    });
  });
  locked.get_future().wait();
  auto first =
      std::async(std::launch::async, [&] { return Call("POST", target, "{}", AdminToken(), key); });
  // Wait until the first request waits for the lock (a condition, polled).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool waiting = false;
  while (!waiting && std::chrono::steady_clock::now() < deadline) {
    waiting = harness_->pool().WithTransaction([](common::MysqlConnection& tx) {
      auto rs = tx.Query(
          "SELECT COUNT(*) FROM information_schema.INNODB_TRX t "
          "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
          "WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()");
      return rs->next() && rs->getInt64(1) > 0;
    });
    // InnoDB refreshes INNODB_TRX only when it was last read over 0.1 s ago.
    if (!waiting) std::this_thread::sleep_for(150ms);
  }
  ClientResponse duplicate;
  if (waiting) duplicate = Call("POST", target, "{}", AdminToken(), key);
  release.set_value();
  holder.get();
  const ClientResponse original = first.get();
  ASSERT_TRUE(waiting) << "the first request never waited for the row lock";
  ExpectAip193(duplicate, 409, "ABORTED", "REQUEST_IN_PROGRESS");
  ASSERT_EQ(original.status, 200) << original.body;
  EXPECT_EQ(JsonAt(original.body, "ticket.state"), "TICKET_STATE_ACKNOWLEDGED");
  const ClientResponse repeat = Call("POST", target, "{}", AdminToken(), key);
  EXPECT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(repeat.body, original.body) << "the stored response, not a second transition";
}

// ------------------------------------------------------------ limits, input

TEST_F(TicketsE2eTest, ThePrincipalsRateLimitIs429WithRetryAfter) {
  GatewayConfig config = Config();
  config.per_principal = {0.001, 2};  // two requests, then nothing for a long time
  GatewayUnderTest limited(std::move(config));
  const std::string token =
      TicketsHarness::Token({.subject = "hasty-" + propdesk::testing::UniqueSuffix(),
                             .sites = {kSiteA},
                             .roles = {"front_desk"}});
  const std::string target = std::string("/v1/sites/") + kSiteA + "/tickets";
  const Headers auth = {{"Authorization", "Bearer " + token}};
  HttpClient client(limited.port());
  EXPECT_EQ(client.Send("GET", target, "", auth).status, 200);
  EXPECT_EQ(client.Send("GET", target, "", auth).status, 200);
  const double started = ServiceCallsStarted(*harness_);
  const ClientResponse refused = client.Send("GET", target, "", auth);
  ExpectAip193(refused, 429, "RESOURCE_EXHAUSTED", "RATE_LIMITED");
  EXPECT_EQ(JsonAt(refused.body, "error.details.0.metadata.scope"), "principal");
  const int retry_after = std::stoi(refused.Header("retry-after"));
  EXPECT_GT(retry_after, 100) << "one token at 0.001/s";
  EXPECT_EQ(ServiceCallsStarted(*harness_), started);
}

TEST_F(TicketsE2eTest, ABodyOver64KiBIs413AndWritesNothing) {
  const std::string description(65 * 1024, 'x');
  std::string body = CreateBody("A-413");
  body.replace(body.find("Kitchen tap leaking"), 19, description);
  const ClientResponse r =
      Call("POST", std::string("/v1/sites/") + kSiteA + "/tickets", body, AdminToken());
  ExpectAip193(r, 413, "INVALID_ARGUMENT", "BODY_TOO_LARGE");
  EXPECT_EQ(JsonAt(r.body, "error.details.0.metadata.limit_bytes"), "65536");
  EXPECT_EQ(CountTickets("A-413"), 0);
}

TEST_F(TicketsE2eTest, AnUnknownJsonFieldIs400NamingItAndWritesNothing) {
  const std::string target = std::string("/v1/sites/") + kSiteA + "/tickets";
  const ClientResponse top =
      Call("POST", target, CreateBody("A-400", R"(,"colour":"red")"), AdminToken());
  ExpectAip193(top, 400, "INVALID_ARGUMENT", "UNKNOWN_FIELD");
  EXPECT_THAT(JsonAt(top.body, "error.message"), HasSubstr("\"colour\""));
  EXPECT_EQ(JsonAt(top.body, "error.details.0.metadata.field"), "colour");

  std::string nested_body = CreateBody("A-400");
  nested_body.replace(nested_body.find(R"("name":"Resident")"), 17,
                      R"("name":"Resident","nickname":"R")");
  const ClientResponse nested = Call("POST", target, nested_body, AdminToken());
  ExpectAip193(nested, 400, "INVALID_ARGUMENT", "UNKNOWN_FIELD");
  EXPECT_EQ(JsonAt(nested.body, "error.details.0.metadata.field"), "contact.nickname");
  EXPECT_EQ(CountTickets("A-400"), 0);
}

TEST_F(TicketsE2eTest, TheServicesOwnValidationErrorsNameTheField) {
  const ClientResponse r =
      Call("POST", std::string("/v1/sites/") + kSiteA + "/tickets",
           R"({"channel":"TICKET_CHANNEL_PHONE","category":"TICKET_CATEGORY_OTHER",)"
           R"("description":"x","unit":"A-402"})",
           AdminToken());
  ExpectAip193(r, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT");
  EXPECT_EQ(JsonAt(r.body, "error.details.0.metadata.field"), "kind");
  EXPECT_EQ(CountTickets("A-402"), 0);
}

}  // namespace
}  // namespace propdesk::gateway::test
