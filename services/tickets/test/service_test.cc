// TicketsService through an in-process gRPC server against the run's real
// MariaDB and Redis (tests/support/test_env.h).

#include "tickets/service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <ctime>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/call.h"
#include "common/errors.h"
#include "common/executor.h"
#include "common/jwt.h"
#include "common/migrations.h"
#include "common/mysql.h"
#include "common/redis.h"
#include "common/server.h"
#include "support/test_env.h"
#include "tickets/metrics.h"
#include "tickets/mysql_store.h"
#include "tickets/scanner.h"

namespace propdesk::tickets {
namespace {

using grpc::StatusCode;

constexpr char kSecret[] = "tickets-service-test-secret-0123456789abcdef";
constexpr char kSiteA[] = "SZ01";
constexpr char kSiteB[] = "SZ02";
constexpr char kOtherGroupSite[] = "BJ01";

class TicketsServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = new common::MysqlPool(testing::FreshDatabase("tickets_svc", 16));
    common::ApplyMigrations(*pool_,
                            {{"common", PROPDESK_SOURCE_DIR "/services/common/migrations"},
                             {"tickets", PROPDESK_SOURCE_DIR "/services/tickets/migrations"}});
    common::RedisOptions redis_options = testing::SharedRedis(8);
    redis_ = new common::RedisClient(redis_options);
    store_ = new MysqlTicketStore();
    pool_->WithTransaction([](common::MysqlConnection& tx) {
      store_->UpsertSite(tx, {kSiteA, "g1", "SZ01", "Site A"});
      store_->UpsertSite(tx, {kSiteB, "g1", "SZ02", "Site B"});
      store_->UpsertSite(tx, {kOtherGroupSite, "g2", "BJ01", "Other group"});
    });
    executor_ = new common::BlockingExecutor(8, 1024);
    common::JwtConfig jwt;
    jwt.hs256_secret = kSecret;
    jwt.audience = "propdesk";
    verifier_ = new common::JwtVerifier(jwt);
    registry_ = new prometheus::Registry();
    metrics_ = new TicketsMetrics(*registry_);
    service_ =
        new TicketsServiceImpl({executor_, verifier_, nullptr}, *pool_, redis_, *store_, metrics_);
    common::GrpcServerOptions options;
    options.start_not_serving = false;
    server_ = new common::GrpcServer(options, {service_}, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  static void TearDownTestSuite() {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    delete server_;
    delete service_;
    delete metrics_;
    delete registry_;
    delete executor_;
    delete verifier_;
    delete store_;
    delete redis_;
    delete pool_;
  }

  static std::string Token(std::vector<std::string> sites = {kSiteA, kSiteB},
                           std::vector<std::string> roles = {"front_desk"}) {
    const auto now = std::chrono::system_clock::now();
    common::JwtClaims claims;
    claims.subject = "staff-7";
    claims.group = "g1";
    claims.audience = "propdesk";
    claims.sites = std::move(sites);
    claims.roles = std::move(roles);
    claims.issued_at = now - std::chrono::minutes(1);
    claims.expires_at = now + std::chrono::hours(1);
    return common::SignJwtHs256(claims, kSecret);
  }

  // One call with a valid token: fn(stub, context).
  template <class Fn>
  static grpc::Status Call(Fn fn, const std::string& token = Token()) {
    auto stub = v1::TicketsService::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return fn(*stub, ctx);
  }

  static v1::CreateTicketRequest NewRequest(std::string unit, std::string site = kSiteA) {
    v1::CreateTicketRequest r;
    r.set_site_id(site);
    r.set_kind(v1::TICKET_KIND_COMPLAINT);
    r.set_channel(v1::TICKET_CHANNEL_PHONE);
    r.set_category(v1::TICKET_CATEGORY_SERVICE_QUALITY);
    r.set_unit(std::move(unit));
    r.mutable_contact()->set_name("Ms Li");
    r.mutable_contact()->set_phone("+86 138 0000 0000");
    r.set_description("Corridor lights off on floor 3");
    r.set_allow_duplicate(true);
    return r;
  }

  static v1::Ticket Create(const v1::CreateTicketRequest& request) {
    v1::CreateTicketResponse response;
    const grpc::Status status =
        Call([&](auto& stub, auto& ctx) { return stub.CreateTicket(&ctx, request, &response); });
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.ticket();
  }

  static int64_t CountRows(const std::string& sql) {
    return pool_->WithTransaction([&](common::MysqlConnection& tx) {
      auto rs = tx.Query(sql);
      rs->next();
      return static_cast<int64_t>(rs->getInt64(1));
    });
  }

  // The value of a counter with exactly these labels (0 when absent).
  static double CounterValue(const std::string& name,
                             const std::map<std::string, std::string>& labels) {
    for (const prometheus::MetricFamily& family : registry_->Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        std::map<std::string, std::string> got;
        for (const auto& label : metric.label) got[label.name] = label.value;
        if (got == labels) return metric.counter.value;
      }
    }
    return 0;
  }

  static std::string Reason(const grpc::Status& status) {
    common::ErrorInfoView info;
    return common::ExtractErrorInfo(status, &info) ? info.reason : "";
  }
  static std::string Field(const grpc::Status& status) {
    common::ErrorInfoView info;
    if (!common::ExtractErrorInfo(status, &info)) return "";
    auto it = info.metadata.find("field");
    return it == info.metadata.end() ? "" : it->second;
  }

  static inline common::MysqlPool* pool_ = nullptr;
  static inline common::RedisClient* redis_ = nullptr;
  static inline MysqlTicketStore* store_ = nullptr;
  static inline common::BlockingExecutor* executor_ = nullptr;
  static inline common::JwtVerifier* verifier_ = nullptr;
  static inline TicketsServiceImpl* service_ = nullptr;
  static inline prometheus::Registry* registry_ = nullptr;
  static inline TicketsMetrics* metrics_ = nullptr;
  static inline common::GrpcServer* server_ = nullptr;
  static inline std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(TicketsServiceTest, C5_CreateGetAndListWithKeysetPages) {
  const std::string unit = "L-" + testing::UniqueSuffix().substr(0, 8);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Create(NewRequest(unit)).ticket_id());

  v1::GetTicketRequest get;
  get.set_site_id(kSiteA);
  get.set_ticket_id(ids[1]);
  v1::GetTicketResponse got;
  ASSERT_TRUE(Call([&](auto& stub, auto& ctx) { return stub.GetTicket(&ctx, get, &got); }).ok());
  EXPECT_EQ(got.ticket().ticket_id(), ids[1]);
  EXPECT_EQ(got.ticket().state(), v1::TICKET_STATE_OPEN);
  EXPECT_EQ(got.ticket().owner_id(), "staff-7");
  EXPECT_EQ(got.ticket().first_contact_owner_id(), "staff-7");
  EXPECT_TRUE(got.ticket().has_contact_by());  // T-4: complaints get a contact deadline
  EXPECT_TRUE(std::regex_match(got.ticket().record_number(), std::regex("TK-SZ01-\\d{9,}")))
      << got.ticket().record_number();

  // Newest first, two per page, across the unit filter.
  v1::ListTicketsRequest list;
  list.set_site_id(kSiteA);
  list.set_unit(unit);
  list.set_page_size(2);
  v1::ListTicketsResponse page1;
  ASSERT_TRUE(
      Call([&](auto& stub, auto& ctx) { return stub.ListTickets(&ctx, list, &page1); }).ok());
  ASSERT_EQ(page1.tickets_size(), 2);
  EXPECT_EQ(page1.tickets(0).ticket_id(), ids[2]);
  EXPECT_EQ(page1.tickets(1).ticket_id(), ids[1]);
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  v1::ListTicketsResponse page2;
  ASSERT_TRUE(
      Call([&](auto& stub, auto& ctx) { return stub.ListTickets(&ctx, list, &page2); }).ok());
  ASSERT_EQ(page2.tickets_size(), 1);
  EXPECT_EQ(page2.tickets(0).ticket_id(), ids[0]);
  EXPECT_TRUE(page2.next_page_token().empty());
}

TEST_F(TicketsServiceTest, BadInputIsInvalidArgumentAndWritesNothing) {
  const int64_t tickets_before = CountRows("SELECT COUNT(*) FROM tickets");
  const int64_t outbox_before = CountRows("SELECT COUNT(*) FROM outbox");

  struct Case {
    std::function<void(v1::CreateTicketRequest&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_kind(v1::TICKET_KIND_UNSPECIFIED); }, "kind"},
      {[](auto& r) { r.set_channel(static_cast<v1::TicketChannel>(99)); }, "channel"},
      {[](auto& r) { r.set_category(v1::TICKET_CATEGORY_UNSPECIFIED); }, "category"},
      {[](auto& r) { r.set_description(""); }, "description"},
      {[](auto& r) { r.set_description(std::string(4001, 'x')); }, "description"},
      {[](auto& r) { r.set_site_id(""); }, "site_id"},
  };
  for (const Case& c : cases) {
    v1::CreateTicketRequest request = NewRequest("B-1");
    c.spoil(request);
    v1::CreateTicketResponse response;
    const grpc::Status status =
        Call([&](auto& stub, auto& ctx) { return stub.CreateTicket(&ctx, request, &response); });
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr(c.field));
  }
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets"), tickets_before);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM outbox"), outbox_before);
}

TEST_F(TicketsServiceTest, C8_FiftyConcurrentIdenticalCreatesMakeOneTicket) {
  const std::map<std::string, std::string> labels{{"site", kSiteA}, {"kind", "complaint"}};
  const double created_before = CounterValue("propdesk_tickets_created_total", labels);
  v1::CreateTicketRequest request = NewRequest("C8-" + testing::UniqueSuffix().substr(0, 8));
  request.set_request_id("req-" + testing::UniqueSuffix());
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> ok{0}, in_progress{0}, other{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      v1::CreateTicketResponse response;
      const grpc::Status status =
          Call([&](auto& stub, auto& ctx) { return stub.CreateTicket(&ctx, request, &response); });
      if (status.ok()) {
        ++ok;
        std::lock_guard lock(mu);
        ids.insert(response.ticket().ticket_id());
      } else if (status.error_code() == StatusCode::ABORTED &&
                 Reason(status) == "REQUEST_IN_PROGRESS") {
        ++in_progress;  // C-8: a concurrent duplicate is told to retry
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(ids.size(), 1u);
  // Replays are not counted again.
  EXPECT_EQ(CounterValue("propdesk_tickets_created_total", labels), created_before + 1);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit = '" + request.unit() + "'"), 1);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM outbox WHERE event_type = 'ticket.created' AND "
                      "aggregate_id = '" +
                      *ids.begin() + "'"),
            1);
}

TEST_F(TicketsServiceTest, HundredConcurrentAssignsExactlyOneWins) {
  const v1::Ticket created = Create(NewRequest("AS-1"));
  v1::AcknowledgeTicketRequest ack;
  ack.set_site_id(kSiteA);
  ack.set_ticket_id(created.ticket_id());
  v1::AcknowledgeTicketResponse acked;
  ASSERT_TRUE(
      Call([&](auto& stub, auto& ctx) { return stub.AcknowledgeTicket(&ctx, ack, &acked); }).ok());
  const int64_t version = acked.ticket().version();

  std::atomic<int> ok{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&, i] {
      v1::AssignTicketRequest assign;
      assign.set_site_id(kSiteA);
      assign.set_ticket_id(created.ticket_id());
      assign.set_department("engineering");
      assign.set_assignee_id("eng-" + std::to_string(i));
      assign.set_expected_version(version);
      v1::AssignTicketResponse response;
      const grpc::Status status =
          Call([&](auto& stub, auto& ctx) { return stub.AssignTicket(&ctx, assign, &response); });
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() == StatusCode::ABORTED) {
        ++conflicts;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), 99);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(CountRows("SELECT version FROM tickets WHERE id = " + created.ticket_id()),
            version + 1);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM ticket_events WHERE type = 4 AND ticket_id = " +
                      created.ticket_id()),
            1);
}

TEST_F(TicketsServiceTest, C1_OtherSiteTicketIsNotFound) {
  const v1::Ticket ticket = Create(NewRequest("X-1", kSiteA));

  v1::GetTicketRequest get;
  get.set_site_id(kSiteB);
  get.set_ticket_id(ticket.ticket_id());
  v1::GetTicketResponse got;
  const grpc::Status get_status =
      Call([&](auto& stub, auto& ctx) { return stub.GetTicket(&ctx, get, &got); });
  EXPECT_EQ(get_status.error_code(), StatusCode::NOT_FOUND);

  v1::AcknowledgeTicketRequest ack;
  ack.set_site_id(kSiteB);
  ack.set_ticket_id(ticket.ticket_id());
  v1::AcknowledgeTicketResponse acked;
  EXPECT_EQ(Call([&](auto& stub, auto& ctx) {
              return stub.AcknowledgeTicket(&ctx, ack, &acked);
            }).error_code(),
            StatusCode::NOT_FOUND);

  // A site of another group is indistinguishable from a missing one.
  get.set_site_id(kOtherGroupSite);
  const grpc::Status other_group =
      Call([&](auto& stub, auto& ctx) { return stub.GetTicket(&ctx, get, &got); });
  EXPECT_EQ(other_group.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Reason(other_group), "SITE_NOT_FOUND");
  get.set_site_id("NOPE");
  EXPECT_EQ(
      Call([&](auto& stub, auto& ctx) { return stub.GetTicket(&ctx, get, &got); }).error_code(),
      StatusCode::NOT_FOUND);

  // Every transition addressed through site B answers NOT_FOUND.
  const std::string id = ticket.ticket_id();
  auto expect_not_found = [&](const char* rpc, auto invoke) {
    EXPECT_EQ(Call(invoke).error_code(), StatusCode::NOT_FOUND) << rpc;
  };
#define PROPDESK_OTHER_SITE(Rpc, Setup)               \
  expect_not_found(#Rpc, [&](auto& stub, auto& ctx) { \
    v1::Rpc##Request r;                               \
    r.set_site_id(kSiteB);                            \
    r.set_ticket_id(id);                              \
    Setup;                                            \
    v1::Rpc##Response out;                            \
    return stub.Rpc(&ctx, r, &out);                   \
  })
  PROPDESK_OTHER_SITE(ListTicketEvents, );
  PROPDESK_OTHER_SITE(AssignTicket, r.set_department("eng"); r.set_assignee_id("e1"));
  PROPDESK_OTHER_SITE(TransferTicket, r.set_new_owner_id("s2"); r.set_reason("shift"));
  PROPDESK_OTHER_SITE(RecordCommitment,
                      r.mutable_commitment_at()->set_seconds(std::time(nullptr) + 3600));
  PROPDESK_OTHER_SITE(ScheduleAppointment,
                      r.mutable_appointment_at()->set_seconds(std::time(nullptr) + 3600));
  PROPDESK_OTHER_SITE(RescheduleAppointment,
                      r.mutable_appointment_at()->set_seconds(std::time(nullptr) + 7200);
                      r.set_reason("r"); r.set_resident_notice("n"));
  PROPDESK_OTHER_SITE(RecordArrival, );
  PROPDESK_OTHER_SITE(ResolveTicket, r.set_reply("done"); r.set_cause("c"); r.set_result("r"));
  PROPDESK_OTHER_SITE(RecordCallback, r.set_satisfaction(4));
  PROPDESK_OTHER_SITE(CloseTicket, );
  PROPDESK_OTHER_SITE(ReopenTicket, r.set_reason("again"));
  PROPDESK_OTHER_SITE(AddTicketNote, r.set_text("note"));
  PROPDESK_OTHER_SITE(RaiseIncidentReport, r.set_summary("s"); r.add_photo_refs("p1"));
  PROPDESK_OTHER_SITE(SubmitWrittenReport, r.set_written_report("w"));
#undef PROPDESK_OTHER_SITE

  // Nothing changed on the real ticket.
  EXPECT_EQ(CountRows("SELECT version FROM tickets WHERE id = " + ticket.ticket_id()),
            ticket.version());
}

TEST_F(TicketsServiceTest, T9_ResolveAndSatisfiedCallbackEmitOutboxEvents) {
  const v1::Ticket created = Create(NewRequest("W-1"));
  const std::string id = created.ticket_id();
  auto ack_status = Call([&](auto& stub, auto& ctx) {
    v1::AcknowledgeTicketRequest r;
    r.set_site_id(kSiteA);
    r.set_ticket_id(id);
    v1::AcknowledgeTicketResponse out;
    return stub.AcknowledgeTicket(&ctx, r, &out);
  });
  ASSERT_TRUE(ack_status.ok()) << ack_status.error_message();

  v1::ResolveTicketRequest resolve;
  resolve.set_site_id(kSiteA);
  resolve.set_ticket_id(id);
  resolve.set_cause("bulb failure");
  resolve.set_result("bulbs replaced");
  v1::ResolveTicketResponse resolved;
  // T-10: no reply to the resident → rejected, naming the field.
  const grpc::Status no_reply =
      Call([&](auto& stub, auto& ctx) { return stub.ResolveTicket(&ctx, resolve, &resolved); });
  EXPECT_EQ(no_reply.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(no_reply), "reply");
  resolve.set_reply("We replaced the bulbs this afternoon.");
  const grpc::Status resolve_status =
      Call([&](auto& stub, auto& ctx) { return stub.ResolveTicket(&ctx, resolve, &resolved); });
  ASSERT_TRUE(resolve_status.ok()) << resolve_status.error_message();
  EXPECT_EQ(resolved.ticket().state(), v1::TICKET_STATE_RESOLVED);

  v1::RecordCallbackRequest callback;
  callback.set_site_id(kSiteA);
  callback.set_ticket_id(id);
  callback.set_satisfaction(5);
  v1::RecordCallbackResponse called;
  const grpc::Status callback_status =
      Call([&](auto& stub, auto& ctx) { return stub.RecordCallback(&ctx, callback, &called); });
  ASSERT_TRUE(callback_status.ok()) << callback_status.error_message();
  EXPECT_EQ(called.ticket().state(), v1::TICKET_STATE_CALLBACK_DONE);
  EXPECT_EQ(called.ticket().callback().satisfaction(), 5);

  for (const char* type :
       {"ticket.created", "ticket.acknowledged", "ticket.resolved", "ticket.callback_recorded"}) {
    EXPECT_EQ(CountRows(std::string("SELECT COUNT(*) FROM outbox WHERE event_type = '") + type +
                        "' AND aggregate_id = '" + id + "'"),
              1)
        << type;
  }
  v1::ListTicketEventsRequest events;
  events.set_site_id(kSiteA);
  events.set_ticket_id(id);
  v1::ListTicketEventsResponse history;
  ASSERT_TRUE(Call([&](auto& stub, auto& ctx) {
                return stub.ListTicketEvents(&ctx, events, &history);
              }).ok());
  ASSERT_EQ(history.events_size(), 4);
  EXPECT_EQ(history.events(0).type(), v1::TICKET_EVENT_TYPE_CREATED);
  EXPECT_EQ(history.events(3).type(), v1::TICKET_EVENT_TYPE_CALLBACK_RECORDED);
}

TEST_F(TicketsServiceTest, C7_SitePolicyUpdateIsCheckedVersionedAndUsed) {
  const std::string manager = Token({kSiteB}, {"site_manager"});
  v1::GetSlaPolicyRequest get;
  get.set_site_id(kSiteB);
  v1::GetSlaPolicyResponse defaults;
  ASSERT_TRUE(
      Call([&](auto& stub, auto& ctx) { return stub.GetSlaPolicy(&ctx, get, &defaults); }, manager)
          .ok());
  EXPECT_EQ(defaults.sla_policy().version(), 0);
  EXPECT_GT(defaults.sla_policy().rules_size(), 0);

  // Complaints at site B: contact within 30 minutes instead of 2 hours.
  v1::UpdateSlaPolicyRequest update;
  update.set_site_id(kSiteB);
  *update.mutable_sla_policy() = defaults.sla_policy();
  for (v1::DeadlineRule& rule : *update.mutable_sla_policy()->mutable_rules()) {
    if (rule.kind() == v1::TICKET_KIND_COMPLAINT && rule.has_contact_within()) {
      rule.mutable_contact_within()->set_seconds(30 * 60);
    }
  }
  v1::UpdateSlaPolicyResponse updated;
  // The front desk may not change site settings.
  EXPECT_EQ(Call([&](auto& stub, auto& ctx) {
              return stub.UpdateSlaPolicy(&ctx, update, &updated);
            }).error_code(),
            StatusCode::PERMISSION_DENIED);
  // A rule without a kind is rejected naming its path.
  v1::UpdateSlaPolicyRequest bad = update;
  bad.mutable_sla_policy()->mutable_rules(0)->set_kind(v1::TICKET_KIND_UNSPECIFIED);
  const grpc::Status bad_status = Call(
      [&](auto& stub, auto& ctx) { return stub.UpdateSlaPolicy(&ctx, bad, &updated); }, manager);
  EXPECT_EQ(bad_status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(bad_status), "sla_policy.rules[0].kind");

  const grpc::Status ok = Call(
      [&](auto& stub, auto& ctx) { return stub.UpdateSlaPolicy(&ctx, update, &updated); }, manager);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(updated.sla_policy().version(), 1);
  // A stale expected_version loses.
  update.set_expected_version(0 + 5);
  EXPECT_EQ(
      Call([&](auto& stub, auto& ctx) { return stub.UpdateSlaPolicy(&ctx, update, &updated); },
           manager)
          .error_code(),
      StatusCode::ABORTED);

  const v1::Ticket ticket = Create(NewRequest("P-1", kSiteB));
  const auto contact_within = ticket.contact_by().seconds() - ticket.create_time().seconds();
  EXPECT_NEAR(static_cast<double>(contact_within), 30 * 60, 1);
}

TEST_F(TicketsServiceTest, T8_ScannerRecordsBreachWithinFiveSecondsOnceWithTwoScanners) {
  const v1::Ticket ticket = Create(NewRequest("SC-1"));
  // Bring the contact deadline (T-4, 2 h by default) to one second from now.
  const int64_t due_us =
      std::chrono::duration_cast<std::chrono::microseconds>(
          (std::chrono::system_clock::now() + std::chrono::seconds(1)).time_since_epoch())
          .count();
  pool_->WithTransaction([&](common::MysqlConnection& tx) {
    tx.Execute(
        "UPDATE ticket_deadlines SET due_at_us = ? WHERE ticket_id = ? AND kind = ?",
        {due_us, int64_t{std::stoll(ticket.ticket_id())}, int64_t{v1::DEADLINE_KIND_CONTACT}});
  });
  DeadlineScanner first(*pool_, *store_, std::chrono::milliseconds(200));
  DeadlineScanner second(*pool_, *store_, std::chrono::milliseconds(200));
  first.Start();
  second.Start();
  const std::string breached_sql =
      "SELECT COUNT(*) FROM outbox WHERE event_type = 'ticket.breached' AND aggregate_id = '" +
      ticket.ticket_id() + "'";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (CountRows(breached_sql) == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
  }
  const auto detected = std::chrono::system_clock::now();
  first.Stop();
  second.Stop();
  // More ticks of both, past the deadline, record nothing new.
  first.TickOnce(std::chrono::system_clock::now());
  second.TickOnce(std::chrono::system_clock::now());

  ASSERT_EQ(CountRows(breached_sql), 1);
  EXPECT_LE(detected - std::chrono::system_clock::time_point(std::chrono::microseconds(due_us)),
            std::chrono::seconds(5));
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM outbox WHERE event_type = 'ticket.escalated' AND "
                      "aggregate_id = '" +
                      ticket.ticket_id() + "'"),
            1);
  v1::GetTicketRequest get;
  get.set_site_id(kSiteA);
  get.set_ticket_id(ticket.ticket_id());
  v1::GetTicketResponse got;
  ASSERT_TRUE(Call([&](auto& stub, auto& ctx) { return stub.GetTicket(&ctx, get, &got); }).ok());
  EXPECT_EQ(got.ticket().breach_count(), 1);
  EXPECT_EQ(got.ticket().escalation_level(), v1::ESCALATION_LEVEL_SUPERVISOR);
  EXPECT_THAT(got.ticket().breached_deadlines(), ::testing::ElementsAre(v1::DEADLINE_KIND_CONTACT));
}

}  // namespace
}  // namespace propdesk::tickets
