// TicketsService through an in-process gRPC server (TicketsHarness) against
// the run's real MariaDB and Redis: create, read, list and history; T-11
// duplicates; site SLA policy and SLA summary; roles; concurrency; the
// scanner. The lifecycle's transitions are in workflow_test.cc.

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tickets/domain/sla_policy.h"
#include "tickets/domain/workflow.h"
#include "tickets/scanner.h"
#include "tickets/test/rpc_test_support.h"

namespace propdesk::tickets {
namespace {

using std::chrono::system_clock;
using test_support::Describe;
using test_support::StatusCode;
using test_support::Stub;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr char kSiteA[] = "SZ01";
constexpr char kSiteB[] = "SZ02";
constexpr char kOtherGroupSite[] = "BJ01";
constexpr char kListSite[] = "LS01";     // ListTickets filters: only that test's tickets
constexpr char kPagingSite[] = "LS02";   // 205 tickets for the page-size cap
constexpr char kPolicySite[] = "PL01";   // UpdateSlaPolicy versions
constexpr char kRolesSite[] = "PL02";    // UpdateSlaPolicy roles
constexpr char kSummarySite[] = "SM01";  // GetSlaSummary figures

class TicketsServiceTest : public test_support::TicketsRpcTest {
 protected:
  static void SetUpTestSuite() {
    StartHarness("tickets_svc", {{kSiteA, "g1", "SZ01", "Site A"},
                                 {kSiteB, "g1", "SZ02", "Site B"},
                                 {kOtherGroupSite, "g2", "BJ01", "Other group"},
                                 {kListSite, "g1", "LS01", "List site"},
                                 {kPagingSite, "g1", "LS02", "Paging site"},
                                 {kPolicySite, "g1", "PL01", "Policy site"},
                                 {kRolesSite, "g1", "PL02", "Roles site"},
                                 {kSummarySite, "g1", "SM01", "Summary site"}});
  }
  static void TearDownTestSuite() { StopHarness(); }

  // The value of a counter with exactly these labels (0 when absent).
  static double CounterValue(const std::string& name,
                             const std::map<std::string, std::string>& labels) {
    for (const prometheus::MetricFamily& family : harness().registry().Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        std::map<std::string, std::string> got;
        for (const auto& label : metric.label) got[label.name] = label.value;
        if (got == labels) return metric.counter.value;
      }
    }
    return 0;
  }

  // Ticket ids of a ListTickets answer, in order.
  static std::vector<std::string> Ids(const v1::ListTicketsResponse& response) {
    std::vector<std::string> ids;
    for (const v1::Ticket& t : response.tickets()) ids.push_back(t.ticket_id());
    return ids;
  }

  static v1::SlaPolicy PolicyOf(const std::string& site, const std::string& token) {
    v1::GetSlaPolicyRequest get;
    get.set_site_id(site);
    return Ok(&Stub::GetSlaPolicy, get, token).sla_policy();
  }
};

// ---- create, read, list -------------------------------------------------------

TEST_F(TicketsServiceTest, C5_CreateGetAndListWithKeysetPages) {
  const std::string unit = UniqueUnit("L");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Create(NewTicket(kSiteA, unit)).ticket_id());

  v1::GetTicketRequest get;
  get.set_site_id(kSiteA);
  get.set_ticket_id(ids[1]);
  const v1::Ticket got = Ok(&Stub::GetTicket, get).ticket();
  EXPECT_EQ(got.ticket_id(), ids[1]);
  EXPECT_EQ(got.state(), v1::TICKET_STATE_OPEN);
  EXPECT_EQ(got.owner_id(), test_support::kStaff);
  EXPECT_EQ(got.first_contact_owner_id(), test_support::kStaff);
  EXPECT_TRUE(got.has_contact_by());  // T-4: complaints get a contact deadline
  EXPECT_TRUE(std::regex_match(got.record_number(), std::regex("TK-SZ01-\\d{9,}")))
      << got.record_number();

  // Newest first, two per page, across the unit filter.
  v1::ListTicketsRequest list;
  list.set_site_id(kSiteA);
  list.set_unit(unit);
  list.set_page_size(2);
  const v1::ListTicketsResponse page1 = Ok(&Stub::ListTickets, list);
  EXPECT_THAT(Ids(page1), ElementsAre(ids[2], ids[1]));
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  const v1::ListTicketsResponse page2 = Ok(&Stub::ListTickets, list);
  EXPECT_THAT(Ids(page2), ElementsAre(ids[0]));
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
    v1::CreateTicketRequest request = NewTicket(kSiteA, "B-1");
    c.spoil(request);
    v1::CreateTicketResponse response;
    const grpc::Status status = Rpc(&Stub::CreateTicket, request, &response);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets"), tickets_before);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM outbox"), outbox_before);
}

TEST_F(TicketsServiceTest, ListTicketsFiltersByEveryField) {
  const std::string u1 = UniqueUnit("F1"), u2 = UniqueUnit("F2"), u3 = UniqueUnit("F3");
  // t1: an open complaint whose contact deadline has passed (overdue).
  const v1::Ticket t1 = Create(NewTicket(kListSite, u1));
  SetDeadlineDue(t1, v1::DEADLINE_KIND_CONTACT, system_clock::now() - std::chrono::hours(2));
  // t2: a facilities complaint dispatched to eng-ls (in progress).
  v1::Ticket t2 = Create(NewTicket(kListSite, u2, v1::TICKET_KIND_COMPLAINT,
                                   v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT));
  t2 = Assign(Acknowledge(t2), "eng-ls");
  const system_clock::time_point mid = system_clock::now();
  // t3: a repair of unit u1, acknowledged and transferred to staff-9.
  v1::Ticket t3 = Acknowledge(Create(
      NewTicket(kListSite, u1, v1::TICKET_KIND_REPAIR, v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT)));
  auto transfer = For<v1::TransferTicketRequest>(t3);
  transfer.set_new_owner_id("staff-9");
  transfer.set_reason("end of shift");
  t3 = Ok(&Stub::TransferTicket, transfer).ticket();
  // t4: an open inquiry.
  const v1::Ticket t4 =
      Create(NewTicket(kListSite, u3, v1::TICKET_KIND_INQUIRY, v1::TICKET_CATEGORY_OTHER));

  auto list = [](const std::function<void(v1::ListTicketsRequest&)>& filter) {
    v1::ListTicketsRequest r;
    r.set_site_id(kListSite);
    filter(r);
    return Ids(Ok(&Stub::ListTickets, r));
  };
  const std::string i1 = t1.ticket_id(), i2 = t2.ticket_id(), i3 = t3.ticket_id(),
                    i4 = t4.ticket_id();
  EXPECT_THAT(list([](auto&) {}), ElementsAre(i4, i3, i2, i1));
  EXPECT_THAT(list([](auto& r) { r.set_kind(v1::TICKET_KIND_REPAIR); }), ElementsAre(i3));
  EXPECT_THAT(list([](auto& r) { r.add_states(v1::TICKET_STATE_IN_PROGRESS); }), ElementsAre(i2));
  EXPECT_THAT(list([](auto& r) {
                r.add_states(v1::TICKET_STATE_OPEN);
                r.add_states(v1::TICKET_STATE_ACKNOWLEDGED);
              }),
              ElementsAre(i4, i3, i1));
  EXPECT_THAT(list([](auto& r) { r.set_category(v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT); }),
              ElementsAre(i3, i2));
  EXPECT_THAT(list([&](auto& r) { r.set_unit(u1); }), ElementsAre(i3, i1));
  EXPECT_THAT(list([](auto& r) { r.set_assignee_id("eng-ls"); }), ElementsAre(i2));
  EXPECT_THAT(list([](auto& r) { r.set_owner_id("staff-9"); }), ElementsAre(i3));
  EXPECT_THAT(list([](auto& r) { r.set_owner_id(test_support::kStaff); }), ElementsAre(i4, i2, i1));
  EXPECT_THAT(list([](auto& r) { r.set_overdue_only(true); }), ElementsAre(i1));
  EXPECT_THAT(list([&](auto& r) { *r.mutable_created_after() = ProtoTime(mid); }),
              ElementsAre(i4, i3));
  EXPECT_THAT(list([&](auto& r) { *r.mutable_created_before() = ProtoTime(mid); }),
              ElementsAre(i2, i1));
  EXPECT_THAT(list([&](auto& r) {
                r.set_kind(v1::TICKET_KIND_COMPLAINT);
                r.set_unit(u1);
              }),
              ElementsAre(i1));

  // Enum values that do not exist are rejected naming the field.
  v1::ListTicketsRequest bad;
  bad.set_site_id(kListSite);
  bad.add_states(static_cast<v1::TicketState>(99));
  v1::ListTicketsResponse out;
  grpc::Status status = Rpc(&Stub::ListTickets, bad, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "states");
  bad.clear_states();
  bad.set_kind(static_cast<v1::TicketKind>(42));
  status = Rpc(&Stub::ListTickets, bad, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "kind");
}

TEST_F(TicketsServiceTest, ListTicketsCapsThePageSizeAndRejectsBadTokens) {
  // 205 tickets written straight through the store: the cap is about the
  // answer's size, not about how the tickets came to be.
  const domain::SlaSettings settings = domain::SlaSettings::Create(domain::DefaultSlaPolicy());
  harness().pool().WithTransaction([&](common::MysqlConnection& tx) {
    for (int i = 0; i < 205; ++i) {
      domain::NewTicket input{.kind = domain::Kind::kInquiry,
                              .category = domain::Category::kOther,
                              .description = "paging " + std::to_string(i)};
      const domain::Change change =
          domain::OpenTicket(input, {"new", kPagingSite, "TK-LS02-P" + std::to_string(i)},
                             {test_support::kStaff, system_clock::now()}, settings);
      harness().store().Insert(tx, change);
    }
  });

  v1::ListTicketsRequest list;
  list.set_site_id(kPagingSite);
  list.set_page_size(1000);  // more than the cap
  const v1::ListTicketsResponse first = Ok(&Stub::ListTickets, list);
  EXPECT_EQ(first.tickets_size(), 200);
  ASSERT_FALSE(first.next_page_token().empty());
  list.set_page_token(first.next_page_token());
  const v1::ListTicketsResponse rest = Ok(&Stub::ListTickets, list);
  EXPECT_EQ(rest.tickets_size(), 5);
  EXPECT_TRUE(rest.next_page_token().empty());
  std::set<std::string> all;
  for (const auto* page : {&first, &rest}) {
    for (const v1::Ticket& t : page->tickets()) all.insert(t.ticket_id());
  }
  EXPECT_EQ(all.size(), 205u);

  list.clear_page_token();
  list.set_page_size(0);  // the default
  EXPECT_EQ(Ok(&Stub::ListTickets, list).tickets_size(), 50);

  v1::ListTicketsResponse out;
  list.set_page_size(-1);
  grpc::Status status = Rpc(&Stub::ListTickets, list, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "page_size");
  list.set_page_size(10);
  for (const char* token : {"not-a-token", "0", "-5", "12345678901234567890"}) {
    list.set_page_token(token);
    status = Rpc(&Stub::ListTickets, list, &out);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_EQ(Field(status), "page_token") << token;
  }
}

TEST_F(TicketsServiceTest, C3_ListTicketEventsGivesTheFullHistoryInOrder) {
  v1::Ticket t = Assign(Acknowledge(Create(NewTicket(kSiteA, UniqueUnit("H")))), "eng-h");
  auto note = For<v1::AddTicketNoteRequest>(t);
  note.set_text("resident asked for a call before the visit");
  Ok(&Stub::AddTicketNote, note);
  auto commitment = For<v1::RecordCommitmentRequest>(t);
  *commitment.mutable_commitment_at() = ProtoTime(system_clock::now() + std::chrono::hours(3));
  Ok(&Stub::RecordCommitment, commitment);
  t = Close(Callback(Resolve(t), 4));

  // Pages of three: 3 + 3 + 2, the same as one page.
  const std::vector<v1::TicketEvent> events = History(t, 3);
  ASSERT_EQ(events.size(), 8u);
  const std::vector<v1::TicketEvent> one_page = History(t);
  ASSERT_EQ(one_page.size(), 8u);
  std::vector<v1::TicketEventType> types;
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::TicketEvent& e = events[i];
    types.push_back(e.type());
    EXPECT_EQ(e.sequence(), static_cast<int64_t>(i + 1));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(e, one_page[i])) << i;
    EXPECT_EQ(e.actor_id(), test_support::kStaff);  // C-3: who
    if (i > 0) {
      EXPECT_EQ(e.from_state(), events[i - 1].to_state()) << i;  // an unbroken chain
      EXPECT_GE(e.event_time().seconds(), events[i - 1].event_time().seconds()) << i;
    }
  }
  EXPECT_THAT(types,
              ElementsAre(v1::TICKET_EVENT_TYPE_CREATED, v1::TICKET_EVENT_TYPE_ACKNOWLEDGED,
                          v1::TICKET_EVENT_TYPE_ASSIGNED, v1::TICKET_EVENT_TYPE_NOTE_ADDED,
                          v1::TICKET_EVENT_TYPE_COMMITMENT_RECORDED, v1::TICKET_EVENT_TYPE_RESOLVED,
                          v1::TICKET_EVENT_TYPE_CALLBACK_RECORDED, v1::TICKET_EVENT_TYPE_CLOSED));
  EXPECT_EQ(events[0].to_state(), v1::TICKET_STATE_OPEN);
  EXPECT_EQ(events[7].to_state(), v1::TICKET_STATE_CLOSED);
  EXPECT_EQ(events[2].details().at("assignee_id"), "eng-h");
  EXPECT_EQ(events[3].details().at("text"), "resident asked for a call before the visit");
  EXPECT_EQ(events[5].details().at("reply"), "We replaced the bulbs this afternoon.");
  EXPECT_EQ(events[6].details().at("satisfaction"), "4");

  auto bad = For<v1::ListTicketEventsRequest>(t);
  bad.set_page_token("abc");
  v1::ListTicketEventsResponse out;
  const grpc::Status status = Rpc(&Stub::ListTicketEvents, bad, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "page_token");
}

// ---- T-3, T-11 ------------------------------------------------------------------

TEST_F(TicketsServiceTest, T3_IllegalTransitionIsFailedPreconditionNamingTheCurrentState) {
  const v1::Ticket open = Create(NewTicket(kSiteA, UniqueUnit("IT")));
  v1::CloseTicketResponse closed;
  grpc::Status status = Rpc(&Stub::CloseTicket, For<v1::CloseTicketRequest>(open), &closed);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(status);
  EXPECT_EQ(Reason(status), "ILLEGAL_TRANSITION");
  EXPECT_EQ(Metadata(status, "current_state"), "open");
  EXPECT_EQ(Metadata(status, "action"), "close");

  auto resolve = For<v1::ResolveTicketRequest>(open);
  resolve.set_reply("r");
  resolve.set_cause("c");
  resolve.set_result("r");
  v1::ResolveTicketResponse resolved;
  status = Rpc(&Stub::ResolveTicket, resolve, &resolved);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "open");

  const v1::Ticket acknowledged = Acknowledge(open);
  v1::AcknowledgeTicketResponse again;
  status = Rpc(&Stub::AcknowledgeTicket, For<v1::AcknowledgeTicketRequest>(acknowledged), &again);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "acknowledged");
  auto callback = For<v1::RecordCallbackRequest>(acknowledged);
  callback.set_satisfaction(5);
  v1::RecordCallbackResponse called;
  status = Rpc(&Stub::RecordCallback, callback, &called);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Metadata(status, "current_state"), "acknowledged");
  EXPECT_EQ(Metadata(status, "action"), "record_callback");

  // The refused calls changed nothing.
  EXPECT_EQ(Get(open).version(), acknowledged.version());
  EXPECT_THAT(HistoryTypes(open),
              ElementsAre(v1::TICKET_EVENT_TYPE_CREATED, v1::TICKET_EVENT_TYPE_ACKNOWLEDGED));
}

TEST_F(TicketsServiceTest, T11_SecondReportOfAnOpenFaultLinksToTheExistingTicket) {
  const std::string unit = UniqueUnit("D");
  v1::CreateTicketRequest report = NewTicket(kSiteA, unit);
  report.set_allow_duplicate(false);
  const v1::CreateTicketResponse first = Ok(&Stub::CreateTicket, report);
  EXPECT_FALSE(first.linked_to_existing());

  v1::CreateTicketRequest again = report;
  again.set_channel(v1::TICKET_CHANNEL_WALK_IN);
  again.mutable_contact()->set_name("Mr Wang");
  again.mutable_contact()->set_phone("+86 139 1111 2222");
  again.set_description("Still dark on floor 3");
  const v1::CreateTicketResponse second = Ok(&Stub::CreateTicket, again);
  EXPECT_TRUE(second.linked_to_existing());
  EXPECT_EQ(second.ticket().ticket_id(), first.ticket().ticket_id());
  EXPECT_EQ(second.ticket().duplicate_count(), 1);
  EXPECT_EQ(second.ticket().contact().name(), "Ms Li");  // the first reporter stays the contact
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit = '" + unit + "'"), 1);
  const std::vector<v1::TicketEvent> history = History(first.ticket());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].type(), v1::TICKET_EVENT_TYPE_DUPLICATE_LINKED);
  EXPECT_EQ(history[1].details().at("contact_name"), "Mr Wang");
  EXPECT_EQ(history[1].details().at("description"), "Still dark on floor 3");
  for (const auto& [key, value] : history[1].details()) {
    EXPECT_THAT(value, ::testing::Not(HasSubstr("1111"))) << key;  // C-2: never the phone
  }
  EXPECT_EQ(CountOutbox("ticket.duplicate_linked", first.ticket().ticket_id()), 1);

  // Another category or another kind: new tickets.
  v1::CreateTicketRequest other_category = report;
  other_category.set_category(v1::TICKET_CATEGORY_SERVICE_ATTITUDE);
  v1::CreateTicketRequest other_kind = report;
  other_kind.set_kind(v1::TICKET_KIND_REPAIR);
  std::set<std::string> ids{first.ticket().ticket_id()};
  for (const auto* request : {&other_category, &other_kind}) {
    const v1::CreateTicketResponse created = Ok(&Stub::CreateTicket, *request);
    EXPECT_FALSE(created.linked_to_existing());
    ids.insert(created.ticket().ticket_id());
  }
  EXPECT_EQ(ids.size(), 3u);

  // Once answered, a new report of the fault is news: a ticket of its own.
  Resolve(Acknowledge(first.ticket()));
  const v1::CreateTicketResponse after_reply = Ok(&Stub::CreateTicket, report);
  EXPECT_FALSE(after_reply.linked_to_existing());
  EXPECT_EQ(ids.count(after_reply.ticket().ticket_id()), 0u);
  // The desk may open one anyway (allow_duplicate) ...
  v1::CreateTicketRequest allowed = report;
  allowed.set_allow_duplicate(true);
  const v1::CreateTicketResponse forced = Ok(&Stub::CreateTicket, allowed);
  EXPECT_FALSE(forced.linked_to_existing());
  EXPECT_NE(forced.ticket().ticket_id(), after_reply.ticket().ticket_id());
  // ... and later reports gather on the oldest open ticket of the fault.
  const v1::CreateTicketResponse later = Ok(&Stub::CreateTicket, report);
  EXPECT_TRUE(later.linked_to_existing());
  EXPECT_EQ(later.ticket().ticket_id(), after_reply.ticket().ticket_id());
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit = '" + unit + "'"), 5);
}

// ---- concurrency and idempotency ------------------------------------------------

TEST_F(TicketsServiceTest, C8_FiftyConcurrentIdenticalCreatesMakeOneTicket) {
  const std::map<std::string, std::string> labels{{"site", kSiteA}, {"kind", "complaint"}};
  const double created_before = CounterValue("propdesk_tickets_created_total", labels);
  v1::CreateTicketRequest request = NewTicket(kSiteA, UniqueUnit("C8"));
  request.set_request_id("req-" + propdesk::testing::UniqueSuffix());
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> ok{0}, in_progress{0}, other{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      v1::CreateTicketResponse response;
      const grpc::Status status = Rpc(&Stub::CreateTicket, request, &response);
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
  EXPECT_EQ(CountOutbox("ticket.created", *ids.begin()), 1);
}

// Creates that arrive together are committed together (tickets/creator.h);
// each still gets its own number and id, and its own history and event.
TEST_F(TicketsServiceTest, C5_SixtyFourConcurrentCreatesGetDistinctNumbersIdsAndEvents) {
  const std::string unit_prefix = UniqueUnit("N");
  std::vector<v1::Ticket> created(64);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateTicketRequest request = NewTicket(kSiteA, unit_prefix + "-" + std::to_string(i));
      request.set_request_id("n-" + propdesk::testing::UniqueSuffix());
      v1::CreateTicketResponse response;
      if (!Rpc(&Stub::CreateTicket, request, &response).ok()) ++failures;
      created[i] = response.ticket();
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  std::set<std::string> numbers, ids;
  const std::regex number_format("TK-SZ01-[0-9]{6}[0-9]{3,}");
  for (const v1::Ticket& ticket : created) {
    EXPECT_TRUE(std::regex_match(ticket.record_number(), number_format)) << ticket.record_number();
    numbers.insert(ticket.record_number());
    ids.insert(ticket.ticket_id());
    EXPECT_EQ(CountOutbox("ticket.created", ticket.ticket_id()), 1);
  }
  EXPECT_EQ(numbers.size(), 64u);
  EXPECT_EQ(ids.size(), 64u);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit LIKE '" + unit_prefix + "-%'"), 64);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                      "WHERE t.unit LIKE '" +
                      unit_prefix + "-%'"),
            64);
  EXPECT_EQ(Get(created[17]).record_number(), created[17].record_number());
}

// T-11 for reports of one fault that arrive at once: one ticket per fault,
// and every other report linked to it — whether it landed in the batch that
// opened the ticket, in another batch running at the same time, or later.
TEST_F(TicketsServiceTest, T11_ConcurrentReportsOfOneFaultOpenOneTicketAndLinkTheRest) {
  constexpr int kFaults = 3;
  constexpr int kReports = 20;  // per fault
  std::vector<std::string> units;
  for (int f = 0; f < kFaults; ++f) units.push_back(UniqueUnit("F" + std::to_string(f)));
  std::vector<v1::CreateTicketResponse> responses(kFaults * kReports);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kFaults * kReports; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateTicketRequest report = NewTicket(kSiteA, units[i % kFaults]);
      report.set_allow_duplicate(false);
      report.set_request_id("f-" + propdesk::testing::UniqueSuffix());
      if (!Rpc(&Stub::CreateTicket, report, &responses[i]).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  for (int f = 0; f < kFaults; ++f) {
    int opened = 0;
    std::set<std::string> ticket_ids;
    for (int i = f; i < kFaults * kReports; i += kFaults) {
      if (!responses[i].linked_to_existing()) ++opened;
      ticket_ids.insert(responses[i].ticket().ticket_id());
    }
    EXPECT_EQ(opened, 1) << units[f];
    EXPECT_EQ(ticket_ids.size(), 1u) << units[f];
    EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit = '" + units[f] + "'"), 1);
    EXPECT_EQ(CountRows("SELECT duplicate_count FROM tickets WHERE unit = '" + units[f] + "'"),
              kReports - 1);
  }
}

// C-8 inside a batch: a repeat that only MySQL remembers (Redis lost the
// key) fails the batch's transaction; it is answered with its first
// response and every other create of the batch still goes through.
TEST_F(TicketsServiceTest, C8_RepeatOnlyMysqlRemembersIsReplayedWhileConcurrentCreatesGoThrough) {
  v1::CreateTicketRequest repeated = NewTicket(kSiteA, UniqueUnit("R"));
  repeated.set_request_id("r-" + propdesk::testing::UniqueSuffix());
  const v1::CreateTicketResponse first = Ok(&Stub::CreateTicket, repeated);
  harness().redis().Command(
      {"DEL", "propdesk:tickets:idem:" + std::string(kSiteA) + ":" + repeated.request_id()});

  const std::string unit_prefix = UniqueUnit("O");
  constexpr int kOthers = 24;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  v1::CreateTicketResponse replayed;
  grpc::Status replay_status;
  for (int i = 0; i <= kOthers; ++i) {
    threads.emplace_back([&, i] {
      if (i == kOthers / 2) {
        replay_status = Rpc(&Stub::CreateTicket, repeated, &replayed);
        return;
      }
      v1::CreateTicketRequest other = NewTicket(kSiteA, unit_prefix + "-" + std::to_string(i));
      other.set_request_id("o-" + propdesk::testing::UniqueSuffix());
      v1::CreateTicketResponse response;
      if (!Rpc(&Stub::CreateTicket, other, &response).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(replay_status.ok()) << replay_status.error_message();
  EXPECT_EQ(replayed.ticket().ticket_id(), first.ticket().ticket_id());
  EXPECT_EQ(replayed.ticket().record_number(), first.ticket().record_number());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit = '" + repeated.unit() + "'"), 1);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets WHERE unit LIKE '" + unit_prefix + "-%'"),
            kOthers);
}

TEST_F(TicketsServiceTest, HundredConcurrentAssignsExactlyOneWins) {
  const v1::Ticket acked = Acknowledge(Create(NewTicket(kSiteA, "AS-1")));
  const int64_t version = acked.version();

  std::atomic<int> ok{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&, i] {
      auto assign = For<v1::AssignTicketRequest>(acked);
      assign.set_department("engineering");
      assign.set_assignee_id("eng-" + std::to_string(i));
      assign.set_expected_version(version);
      v1::AssignTicketResponse response;
      const grpc::Status status = Rpc(&Stub::AssignTicket, assign, &response);
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
  EXPECT_EQ(CountRows("SELECT version FROM tickets WHERE id = " + acked.ticket_id()), version + 1);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM ticket_events WHERE type = 4 AND ticket_id = " +
                      acked.ticket_id()),
            1);
}

// ---- C-1 and roles -------------------------------------------------------------

TEST_F(TicketsServiceTest, C1_OtherSiteTicketIsNotFound) {
  const v1::Ticket ticket = Create(NewTicket(kSiteA, "X-1"));

  v1::GetTicketRequest get;
  get.set_site_id(kSiteB);
  get.set_ticket_id(ticket.ticket_id());
  v1::GetTicketResponse got;
  EXPECT_EQ(Rpc(&Stub::GetTicket, get, &got).error_code(), StatusCode::NOT_FOUND);

  // A site of another group is indistinguishable from a missing one.
  get.set_site_id(kOtherGroupSite);
  const grpc::Status other_group = Rpc(&Stub::GetTicket, get, &got);
  EXPECT_EQ(other_group.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Reason(other_group), "SITE_NOT_FOUND");
  get.set_site_id("NOPE");
  EXPECT_EQ(Rpc(&Stub::GetTicket, get, &got).error_code(), StatusCode::NOT_FOUND);
  // So is a site of the group the caller is not granted.
  get.set_site_id(kSiteA);
  const grpc::Status not_granted =
      Rpc(&Stub::GetTicket, get, &got, Token({kSiteB}, {"front_desk"}));
  EXPECT_EQ(not_granted.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Reason(not_granted), "SITE_NOT_FOUND");

  // Every transition addressed through site B answers NOT_FOUND.
  const std::string id = ticket.ticket_id();
  const std::time_t now = std::time(nullptr);
#define PROPDESK_OTHER_SITE(Method, Setup)                                                 \
  {                                                                                        \
    v1::Method##Request r;                                                                 \
    r.set_site_id(kSiteB);                                                                 \
    r.set_ticket_id(id);                                                                   \
    Setup;                                                                                 \
    v1::Method##Response out;                                                              \
    EXPECT_EQ(Rpc(&Stub::Method, r, &out).error_code(), StatusCode::NOT_FOUND) << #Method; \
  }
  PROPDESK_OTHER_SITE(ListTicketEvents, );
  PROPDESK_OTHER_SITE(AcknowledgeTicket, );
  PROPDESK_OTHER_SITE(AssignTicket, r.set_department("eng"); r.set_assignee_id("e1"));
  PROPDESK_OTHER_SITE(TransferTicket, r.set_new_owner_id("s2"); r.set_reason("shift"));
  PROPDESK_OTHER_SITE(RecordCommitment, r.mutable_commitment_at()->set_seconds(now + 3600));
  PROPDESK_OTHER_SITE(ScheduleAppointment, r.mutable_appointment_at()->set_seconds(now + 3600));
  PROPDESK_OTHER_SITE(RescheduleAppointment, r.mutable_appointment_at()->set_seconds(now + 7200);
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

TEST_F(TicketsServiceTest, Roles_AuditorsReadEverythingButChangeNothing) {
  const v1::Ticket ticket = Create(NewTicket(kSiteA, UniqueUnit("AU")));
  const std::string auditor = Token({"*"}, {"auditor"}, "auditor-1");

  // Reads of every kind pass, on every site of the group (C-1).
  EXPECT_EQ(Ok(&Stub::GetTicket, For<v1::GetTicketRequest>(ticket), auditor).ticket().ticket_id(),
            ticket.ticket_id());
  v1::ListTicketsRequest list;
  list.set_site_id(kSiteA);
  list.set_unit(ticket.unit());
  EXPECT_EQ(Ok(&Stub::ListTickets, list, auditor).tickets_size(), 1);
  EXPECT_EQ(
      Ok(&Stub::ListTicketEvents, For<v1::ListTicketEventsRequest>(ticket), auditor).events_size(),
      1);
  v1::GetSlaPolicyRequest policy;
  policy.set_site_id(kSiteB);
  Ok(&Stub::GetSlaPolicy, policy, auditor);
  v1::GetSlaSummaryRequest summary;
  summary.set_site_id(kSiteA);
  *summary.mutable_start_time() = ProtoTime(system_clock::now() - std::chrono::hours(1));
  *summary.mutable_end_time() = ProtoTime(system_clock::now());
  Ok(&Stub::GetSlaSummary, summary, auditor);

  // Writes are refused as read-only, and write nothing.
  const int64_t tickets_before = CountRows("SELECT COUNT(*) FROM tickets");
  v1::CreateTicketResponse created;
  grpc::Status status =
      Rpc(&Stub::CreateTicket, NewTicket(kSiteA, UniqueUnit("AU")), &created, auditor);
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED) << Describe(status);
  EXPECT_EQ(Reason(status), "READ_ONLY_ROLE");
  v1::AcknowledgeTicketResponse acked;
  status =
      Rpc(&Stub::AcknowledgeTicket, For<v1::AcknowledgeTicketRequest>(ticket), &acked, auditor);
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(status), "READ_ONLY_ROLE");
  auto note = For<v1::AddTicketNoteRequest>(ticket);
  note.set_text("audited");
  v1::AddTicketNoteResponse noted;
  status = Rpc(&Stub::AddTicketNote, note, &noted, auditor);
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM tickets"), tickets_before);
  EXPECT_EQ(Get(ticket).version(), ticket.version());

  // Any role with write access to the site works a ticket (C-6: whoever
  // receives it first); the history names who did what.
  const v1::Ticket by_engineer =
      Ok(&Stub::AcknowledgeTicket, For<v1::AcknowledgeTicketRequest>(ticket),
         Token({kSiteA}, {"engineer"}, "eng-3"))
          .ticket();
  EXPECT_EQ(by_engineer.state(), v1::TICKET_STATE_ACKNOWLEDGED);
  Ok(&Stub::AddTicketNote, note, Token({kSiteA}, {"security"}, "sec-1"));
  const std::vector<v1::TicketEvent> history = History(ticket);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].actor_id(), "eng-3");
  EXPECT_EQ(history[2].actor_id(), "sec-1");
}

TEST_F(TicketsServiceTest, Roles_OnlyCsAdminsSiteManagersAndGroupAdminsChangeTheSlaPolicy) {
  v1::UpdateSlaPolicyRequest update;
  update.set_site_id(kRolesSite);
  *update.mutable_sla_policy() = PolicyOf(kRolesSite, DeskToken());
  update.mutable_sla_policy()->set_unit_count(120);
  v1::UpdateSlaPolicyResponse updated;

  for (const char* role : {"front_desk", "supervisor", "engineer", "duty_manager", "finance"}) {
    const grpc::Status status =
        Rpc(&Stub::UpdateSlaPolicy, update, &updated, Token({kRolesSite}, {role}));
    EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED) << role;
    EXPECT_EQ(Reason(status), "ROLE_NOT_ALLOWED") << role;
    EXPECT_EQ(Metadata(status, "allowed_roles"), "cs_admin, site_manager, group_admin") << role;
    EXPECT_THAT(status.error_message(), HasSubstr("site_manager")) << role;
  }
  const grpc::Status auditor =
      Rpc(&Stub::UpdateSlaPolicy, update, &updated, Token({"*"}, {"auditor"}));
  EXPECT_EQ(auditor.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(auditor), "READ_ONLY_ROLE");
  EXPECT_EQ(PolicyOf(kRolesSite, DeskToken()).version(), 0);  // nothing written
  EXPECT_EQ(CountOutbox("ticket.sla_policy_updated", kRolesSite), 0);

  int64_t version = 0;
  for (const auto& token : {Token({kRolesSite}, {"cs_admin"}),
                            Token({kRolesSite}, {"site_manager"}), Token({"*"}, {"group_admin"})}) {
    const v1::UpdateSlaPolicyResponse ok = Ok(&Stub::UpdateSlaPolicy, update, token);
    EXPECT_EQ(ok.sla_policy().version(), ++version);
  }
  EXPECT_EQ(CountOutbox("ticket.sla_policy_updated", kRolesSite), 3);
}

// ---- site SLA policy and summary --------------------------------------------------

TEST_F(TicketsServiceTest, C7_SitePolicyUpdateIsCheckedVersionedAndUsed) {
  const std::string manager = Token({kSiteB}, {"site_manager"});
  const v1::SlaPolicy defaults = PolicyOf(kSiteB, manager);
  EXPECT_EQ(defaults.version(), 0);
  EXPECT_GT(defaults.rules_size(), 0);

  // Complaints at site B: contact within 30 minutes instead of 2 hours.
  v1::UpdateSlaPolicyRequest update;
  update.set_site_id(kSiteB);
  *update.mutable_sla_policy() = defaults;
  for (v1::DeadlineRule& rule : *update.mutable_sla_policy()->mutable_rules()) {
    if (rule.kind() == v1::TICKET_KIND_COMPLAINT && rule.has_contact_within()) {
      rule.mutable_contact_within()->set_seconds(30 * 60);
    }
  }
  v1::UpdateSlaPolicyResponse updated;
  // The front desk may not change site settings.
  EXPECT_EQ(Rpc(&Stub::UpdateSlaPolicy, update, &updated).error_code(),
            StatusCode::PERMISSION_DENIED);
  // A rule without a kind is rejected naming its path.
  v1::UpdateSlaPolicyRequest bad = update;
  bad.mutable_sla_policy()->mutable_rules(0)->set_kind(v1::TICKET_KIND_UNSPECIFIED);
  const grpc::Status bad_status = Rpc(&Stub::UpdateSlaPolicy, bad, &updated, manager);
  EXPECT_EQ(bad_status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(bad_status), "sla_policy.rules[0].kind");

  EXPECT_EQ(Ok(&Stub::UpdateSlaPolicy, update, manager).sla_policy().version(), 1);
  // A stale expected_version loses.
  update.set_expected_version(5);
  EXPECT_EQ(Rpc(&Stub::UpdateSlaPolicy, update, &updated, manager).error_code(),
            StatusCode::ABORTED);

  const v1::Ticket ticket = Create(NewTicket(kSiteB, "P-1"));
  const auto contact_within = ticket.contact_by().seconds() - ticket.create_time().seconds();
  EXPECT_NEAR(static_cast<double>(contact_within), 30 * 60, 1);
}

TEST_F(TicketsServiceTest, C7_SlaPolicyIsPerSiteVersionedAndBadPoliciesWriteNothing) {
  const std::string manager = Token({kPolicySite}, {"site_manager"}, "mgr-1");
  const v1::SlaPolicy defaults = PolicyOf(kPolicySite, manager);
  EXPECT_EQ(defaults.version(), 0);
  EXPECT_EQ(defaults.duplicate_window().seconds(), 72 * 3600);  // T-11 default

  v1::UpdateSlaPolicyRequest update;
  update.set_site_id(kPolicySite);
  *update.mutable_sla_policy() = defaults;
  update.mutable_sla_policy()->set_unit_count(300);
  update.mutable_sla_policy()->mutable_duplicate_window()->set_seconds(3600);
  const v1::SlaPolicy v1_policy = Ok(&Stub::UpdateSlaPolicy, update, manager).sla_policy();
  EXPECT_EQ(v1_policy.version(), 1);
  EXPECT_EQ(v1_policy.site_id(), kPolicySite);
  EXPECT_EQ(v1_policy.updated_by(), "mgr-1");

  const v1::SlaPolicy read = PolicyOf(kPolicySite, DeskToken());
  EXPECT_EQ(read.version(), 1);
  EXPECT_EQ(read.unit_count(), 300);
  EXPECT_EQ(read.duplicate_window().seconds(), 3600);
  EXPECT_EQ(read.updated_by(), "mgr-1");

  // Optimistic: the version read is the version replaced.
  update.set_expected_version(1);
  update.mutable_sla_policy()->set_unit_count(301);
  EXPECT_EQ(Ok(&Stub::UpdateSlaPolicy, update, manager).sla_policy().version(), 2);
  v1::UpdateSlaPolicyResponse out;
  const grpc::Status stale = Rpc(&Stub::UpdateSlaPolicy, update, &out, manager);
  EXPECT_EQ(stale.error_code(), StatusCode::ABORTED);
  EXPECT_EQ(Reason(stale), "VERSION_MISMATCH");
  EXPECT_EQ(Metadata(stale, "current_version"), "2");

  // Bad policies are refused naming the field, before anything is written.
  struct Case {
    std::function<void(v1::SlaPolicy&)> spoil;
    std::string field_suffix;
  };
  const std::vector<Case> cases = {
      {[](auto& p) { p.mutable_duplicate_window()->set_seconds(-5); }, "duplicate_window"},
      {[](auto& p) { p.set_unit_count(-1); }, "unit_count"},
      {[](auto& p) { p.mutable_calendar()->set_time_zone("Mars/Olympus_Mons"); }, "time_zone"},
      {[](auto& p) { p.mutable_rules(0)->mutable_contact_within()->set_seconds(-60); },
       "contact_within"},
  };
  for (const Case& c : cases) {
    v1::UpdateSlaPolicyRequest bad = update;
    bad.set_expected_version(0);
    c.spoil(*bad.mutable_sla_policy());
    const grpc::Status status = Rpc(&Stub::UpdateSlaPolicy, bad, &out, manager);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << c.field_suffix;
    EXPECT_THAT(Field(status), EndsWith(c.field_suffix));
  }
  const v1::SlaPolicy after = PolicyOf(kPolicySite, DeskToken());
  EXPECT_EQ(after.version(), 2);
  EXPECT_EQ(after.unit_count(), 301);
  EXPECT_EQ(CountOutbox("ticket.sla_policy_updated", kPolicySite), 2);

  // Per site: the others still have the defaults.
  const v1::SlaPolicy other = PolicyOf(kSiteA, DeskToken());
  EXPECT_EQ(other.version(), 0);
  EXPECT_EQ(other.unit_count(), 0);
}

TEST_F(TicketsServiceTest, T9_SlaSummaryFiguresMatchTheTicketsOfThePeriod) {
  const system_clock::time_point start = system_clock::now() - std::chrono::hours(1);
  // 200 units served: the valid-complaint rate's denominator.
  v1::UpdateSlaPolicyRequest update;
  update.set_site_id(kSummarySite);
  const std::string manager = Token({kSummarySite}, {"site_manager"});
  *update.mutable_sla_policy() = PolicyOf(kSummarySite, manager);
  update.mutable_sla_policy()->set_unit_count(200);
  Ok(&Stub::UpdateSlaPolicy, update, manager);

  auto complaint = [] { return Create(NewTicket(kSummarySite, UniqueUnit("S"))); };
  // A: valid complaint, called back satisfied (5) → callback_done.
  Callback(Resolve(Acknowledge(complaint()), /*valid_complaint=*/true), 5);
  // B: unsatisfied callback (2) → reopened, in progress (T-9).
  const v1::Ticket b = Callback(Resolve(Assign(Acknowledge(complaint()), "eng-s")), 2);
  ASSERT_EQ(b.state(), v1::TICKET_STATE_IN_PROGRESS);
  // C: resolved complaint, callback owed.
  Resolve(Acknowledge(complaint()));
  // D: resolved repair, callback owed.
  Resolve(Acknowledge(Create(NewTicket(kSummarySite, UniqueUnit("S"), v1::TICKET_KIND_REPAIR,
                                       v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT))));
  // E: contacted after its contact deadline: one breach (T-4, T-8).
  const v1::Ticket e = complaint();
  SetDeadlineDue(e, v1::DEADLINE_KIND_CONTACT, system_clock::now() - std::chrono::minutes(5));
  ASSERT_EQ(Acknowledge(e).breach_count(), 1);
  // F: an open inquiry with a reply committed within the hour (T-5).
  const v1::Ticket f = Create(
      NewTicket(kSummarySite, UniqueUnit("S"), v1::TICKET_KIND_INQUIRY, v1::TICKET_CATEGORY_OTHER));
  auto commitment = For<v1::RecordCommitmentRequest>(f);
  *commitment.mutable_commitment_at() = ProtoTime(system_clock::now() + std::chrono::minutes(30));
  Ok(&Stub::RecordCommitment, commitment);
  // G: called back (4) and closed: no longer open.
  Close(Callback(Resolve(Acknowledge(complaint())), 4));

  v1::GetSlaSummaryRequest request;
  request.set_site_id(kSummarySite);
  *request.mutable_start_time() = ProtoTime(start);
  *request.mutable_end_time() = ProtoTime(system_clock::now() + std::chrono::hours(24 * 30));
  const v1::SlaSummary s = Ok(&Stub::GetSlaSummary, request).summary();

  std::map<v1::TicketState, int64_t> by_state;
  for (const v1::StateCount& c : s.open_by_state()) by_state[c.state()] = c.count();
  EXPECT_EQ(by_state, (std::map<v1::TicketState, int64_t>{{v1::TICKET_STATE_OPEN, 1},
                                                          {v1::TICKET_STATE_ACKNOWLEDGED, 1},
                                                          {v1::TICKET_STATE_IN_PROGRESS, 1},
                                                          {v1::TICKET_STATE_RESOLVED, 2},
                                                          {v1::TICKET_STATE_CALLBACK_DONE, 1}}));
  std::map<v1::TicketKind, int64_t> by_kind;
  for (const v1::KindCount& c : s.open_by_kind()) by_kind[c.kind()] = c.count();
  EXPECT_EQ(by_kind, (std::map<v1::TicketKind, int64_t>{{v1::TICKET_KIND_COMPLAINT, 4},
                                                        {v1::TICKET_KIND_REPAIR, 1},
                                                        {v1::TICKET_KIND_INQUIRY, 1}}));
  EXPECT_EQ(s.breached_count(), 1);            // E
  EXPECT_EQ(s.due_within_next_hour(), 1);      // F's commitment
  EXPECT_EQ(s.callbacks_due(), 5);             // A, B, C, D, G
  EXPECT_EQ(s.callbacks_done(), 3);            // A, B, G
  EXPECT_EQ(s.callback_rate_bp(), 6000);       // 3 / 5
  EXPECT_EQ(s.complaints_received(), 5);       // A, B, C, E, G
  EXPECT_EQ(s.valid_complaints(), 1);          // A
  EXPECT_EQ(s.valid_complaint_rate_bp(), 50);  // 1 / 200 units
  EXPECT_EQ(s.satisfaction_responses(), 3);
  EXPECT_EQ(s.mean_satisfaction_hundredths(), 367);  // (5 + 2 + 4) / 3, half up

  // A period before all of it counts none of the period's figures.
  request.set_site_id(kSummarySite);
  *request.mutable_start_time() = ProtoTime(start - std::chrono::hours(48));
  *request.mutable_end_time() = ProtoTime(start - std::chrono::hours(24));
  const v1::SlaSummary before = Ok(&Stub::GetSlaSummary, request).summary();
  EXPECT_EQ(before.complaints_received(), 0);
  EXPECT_EQ(before.callbacks_due(), 0);
  EXPECT_EQ(before.satisfaction_responses(), 0);
  EXPECT_EQ(before.callback_rate_bp(), 10000);  // nothing due, nothing missed

  // The period must be given and be forwards.
  v1::GetSlaSummaryResponse out;
  request.clear_start_time();
  grpc::Status status = Rpc(&Stub::GetSlaSummary, request, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "start_time");
  *request.mutable_start_time() = request.end_time();
  status = Rpc(&Stub::GetSlaSummary, request, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(status), "end_time");
}

// ---- outbox and scanner ------------------------------------------------------------

TEST_F(TicketsServiceTest, T9_ResolveAndSatisfiedCallbackEmitOutboxEvents) {
  const v1::Ticket acked = Acknowledge(Create(NewTicket(kSiteA, "W-1")));
  const std::string id = acked.ticket_id();

  auto resolve = For<v1::ResolveTicketRequest>(acked);
  resolve.set_cause("bulb failure");
  resolve.set_result("bulbs replaced");
  v1::ResolveTicketResponse resolved;
  // T-10: no reply to the resident → rejected, naming the field.
  const grpc::Status no_reply = Rpc(&Stub::ResolveTicket, resolve, &resolved);
  EXPECT_EQ(no_reply.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(no_reply), "reply");
  resolve.set_reply("We replaced the bulbs this afternoon.");
  EXPECT_EQ(Ok(&Stub::ResolveTicket, resolve).ticket().state(), v1::TICKET_STATE_RESOLVED);

  const v1::Ticket called = Callback(acked, 5);
  EXPECT_EQ(called.state(), v1::TICKET_STATE_CALLBACK_DONE);
  EXPECT_EQ(called.callback().satisfaction(), 5);

  for (const char* type :
       {"ticket.created", "ticket.acknowledged", "ticket.resolved", "ticket.callback_recorded"}) {
    EXPECT_EQ(CountOutbox(type, id), 1) << type;
  }
  EXPECT_THAT(HistoryTypes(acked),
              ElementsAre(v1::TICKET_EVENT_TYPE_CREATED, v1::TICKET_EVENT_TYPE_ACKNOWLEDGED,
                          v1::TICKET_EVENT_TYPE_RESOLVED, v1::TICKET_EVENT_TYPE_CALLBACK_RECORDED));
}

TEST_F(TicketsServiceTest, T8_ScannerRecordsBreachWithinFiveSecondsOnceWithTwoScanners) {
  const v1::Ticket ticket = Create(NewTicket(kSiteA, "SC-1"));
  // Bring the contact deadline (T-4, 2 h by default) to one second from now.
  const system_clock::time_point due = system_clock::now() + std::chrono::seconds(1);
  SetDeadlineDue(ticket, v1::DEADLINE_KIND_CONTACT, due);
  DeadlineScanner first(harness().pool(), harness().store(), std::chrono::milliseconds(200));
  DeadlineScanner second(harness().pool(), harness().store(), std::chrono::milliseconds(200));
  first.Start();
  second.Start();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (CountOutbox("ticket.breached", ticket.ticket_id()) == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
  }
  const auto detected = system_clock::now();
  first.Stop();
  second.Stop();
  // More ticks of both, past the deadline, record nothing new.
  first.TickOnce(system_clock::now());
  second.TickOnce(system_clock::now());

  ASSERT_EQ(CountOutbox("ticket.breached", ticket.ticket_id()), 1);
  EXPECT_LE(detected - due, std::chrono::seconds(5));
  EXPECT_EQ(CountOutbox("ticket.escalated", ticket.ticket_id()), 1);
  const v1::Ticket got = Get(ticket);
  EXPECT_EQ(got.breach_count(), 1);
  EXPECT_EQ(got.escalation_level(), v1::ESCALATION_LEVEL_SUPERVISOR);
  EXPECT_THAT(got.breached_deadlines(), ElementsAre(v1::DEADLINE_KIND_CONTACT));
}

}  // namespace
}  // namespace propdesk::tickets
