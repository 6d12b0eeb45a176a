#pragma once

// What the tickets service's gRPC tests share (service_test.cc,
// workflow_test.cc): one TicketsHarness per test binary — the service wired
// as propdesk-tickets wires it, on a fresh database of the run's MariaDB and
// on its Redis — tokens, a typed call helper, ticket builders and ErrorInfo
// readers.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "propdesk/tickets/v1/tickets_service.grpc.pb.h"
#include "support/test_env.h"
#include "tickets/convert.h"
#include "tickets/testing/tickets_harness.h"

namespace propdesk::tickets::test_support {

using grpc::StatusCode;
using Stub = v1::TicketsService::Stub;

template <class Request, class Response>
using StubMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// The staff id of DeskToken() and the default token.
inline constexpr char kStaff[] = "staff-7";
inline constexpr char kGroup[] = "g1";

class TicketsRpcTest : public ::testing::Test {
 protected:
  // Starts the harness with `sites` (group g1 unless given otherwise).
  static void StartHarness(const std::string& prefix, std::vector<SiteRecord> sites) {
    tickets::testing::HarnessOptions options;
    options.database_prefix = prefix;
    for (const SiteRecord& site : sites) site_ids_.push_back(site.site_id);
    options.sites = std::move(sites);
    harness_ = new tickets::testing::TicketsHarness(options);
    channel_ = harness_->NewChannel();
    desk_token_ = new std::string(Token({}, {"front_desk"}));
  }

  static void StopHarness() {
    channel_.reset();
    delete harness_;
    harness_ = nullptr;
    delete desk_token_;
    desk_token_ = nullptr;
    site_ids_.clear();
  }

  static tickets::testing::TicketsHarness& harness() { return *harness_; }

  // A token of `subject` granted `sites` (every site of the harness when
  // empty) with `roles`.
  static std::string Token(std::vector<std::string> sites, std::vector<std::string> roles,
                           std::string subject = kStaff) {
    tickets::testing::TicketsHarness::TokenSpec spec;
    spec.subject = std::move(subject);
    spec.group = kGroup;
    spec.sites = sites.empty() ? site_ids_ : std::move(sites);
    spec.roles = std::move(roles);
    return tickets::testing::TicketsHarness::Token(spec);
  }
  // Front desk (a plain write role) on every site of the harness.
  static const std::string& DeskToken() { return *desk_token_; }

  // One call with `token`.
  template <class Request, class Response>
  static grpc::Status Rpc(StubMethod<Request, Response> method, const Request& request,
                          Response* response, const std::string& token = DeskToken()) {
    Stub stub(channel_);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return (stub.*method)(&ctx, request, response);
  }

  // The response of a call that must succeed (a test failure otherwise).
  template <class Request, class Response>
  static Response Ok(StubMethod<Request, Response> method, const Request& request,
                     const std::string& token = DeskToken()) {
    Response response;
    const grpc::Status status = Rpc(method, request, &response, token);
    EXPECT_TRUE(status.ok()) << request.GetDescriptor()->name() << ": "
                             << common::GrpcCodeName(status.error_code()) << " "
                             << status.error_message();
    return response;
  }

  // A transition request addressed to `ticket`.
  template <class Request>
  static Request For(const v1::Ticket& ticket) {
    Request request;
    request.set_site_id(ticket.site_id());
    request.set_ticket_id(ticket.ticket_id());
    return request;
  }

  // ---- tickets ----------------------------------------------------------------

  // "<prefix>-<random>": a unit no other test uses.
  static std::string UniqueUnit(const std::string& prefix) {
    return prefix + "-" + propdesk::testing::UniqueSuffix().substr(0, 8);
  }

  static v1::CreateTicketRequest NewTicket(
      const std::string& site, const std::string& unit,
      v1::TicketKind kind = v1::TICKET_KIND_COMPLAINT,
      v1::TicketCategory category = v1::TICKET_CATEGORY_SERVICE_QUALITY) {
    v1::CreateTicketRequest r;
    r.set_site_id(site);
    r.set_kind(kind);
    r.set_channel(v1::TICKET_CHANNEL_PHONE);
    r.set_category(category);
    r.set_unit(unit);
    r.mutable_contact()->set_name("Ms Li");
    r.mutable_contact()->set_phone("+86 138 0000 0000");
    r.set_description("Corridor lights off on floor 3");
    r.set_allow_duplicate(true);
    return r;
  }

  static v1::Ticket Create(const v1::CreateTicketRequest& request,
                           const std::string& token = DeskToken()) {
    return Ok(&Stub::CreateTicket, request, token).ticket();
  }

  static v1::Ticket Get(const v1::Ticket& ticket) {
    return Ok(&Stub::GetTicket, For<v1::GetTicketRequest>(ticket)).ticket();
  }

  static v1::Ticket Acknowledge(const v1::Ticket& ticket) {
    return Ok(&Stub::AcknowledgeTicket, For<v1::AcknowledgeTicketRequest>(ticket)).ticket();
  }

  static v1::Ticket Assign(const v1::Ticket& ticket, const std::string& assignee,
                           const std::string& department = "engineering") {
    auto r = For<v1::AssignTicketRequest>(ticket);
    r.set_department(department);
    r.set_assignee_id(assignee);
    return Ok(&Stub::AssignTicket, r).ticket();
  }

  // Resolves with a full handling record (T-10, T-12).
  static v1::Ticket Resolve(const v1::Ticket& ticket, bool valid_complaint = false) {
    auto r = For<v1::ResolveTicketRequest>(ticket);
    r.set_reply("We replaced the bulbs this afternoon.");
    r.set_cause("bulb failure");
    r.set_result("bulbs replaced");
    r.set_valid_complaint(valid_complaint);
    return Ok(&Stub::ResolveTicket, r).ticket();
  }

  static v1::Ticket Callback(const v1::Ticket& ticket, int satisfaction) {
    auto r = For<v1::RecordCallbackRequest>(ticket);
    r.set_satisfaction(satisfaction);
    r.set_comments("called back");
    return Ok(&Stub::RecordCallback, r).ticket();
  }

  static v1::Ticket Close(const v1::Ticket& ticket) {
    return Ok(&Stub::CloseTicket, For<v1::CloseTicketRequest>(ticket)).ticket();
  }

  // The whole history, read in pages of `page_size`.
  static std::vector<v1::TicketEvent> History(const v1::Ticket& ticket, int page_size = 0) {
    auto r = For<v1::ListTicketEventsRequest>(ticket);
    r.set_page_size(page_size);
    std::vector<v1::TicketEvent> events;
    for (int pages = 0; pages < 100; ++pages) {
      const auto page = Ok(&Stub::ListTicketEvents, r);
      events.insert(events.end(), page.events().begin(), page.events().end());
      if (page.next_page_token().empty()) break;
      r.set_page_token(page.next_page_token());
    }
    return events;
  }

  static std::vector<v1::TicketEventType> HistoryTypes(const v1::Ticket& ticket) {
    std::vector<v1::TicketEventType> types;
    for (const v1::TicketEvent& e : History(ticket)) types.push_back(e.type());
    return types;
  }

  // ---- the database -------------------------------------------------------------

  static int64_t CountRows(const std::string& sql) {
    return harness_->pool().WithTransaction([&](common::MysqlConnection& tx) {
      auto rs = tx.Query(sql);
      rs->next();
      return static_cast<int64_t>(rs->getInt64(1));
    });
  }

  static int64_t CountOutbox(const std::string& type, const std::string& aggregate_id) {
    return CountRows("SELECT COUNT(*) FROM outbox WHERE event_type = '" + type +
                     "' AND aggregate_id = '" + aggregate_id + "'");
  }

  // Moves a deadline of the ticket to `due` (to make one pass without waiting).
  static void SetDeadlineDue(const v1::Ticket& ticket, v1::DeadlineKind kind,
                             std::chrono::system_clock::time_point due) {
    harness_->pool().WithTransaction([&](common::MysqlConnection& tx) {
      const uint64_t updated = tx.Execute(
          "UPDATE ticket_deadlines SET due_at_us = ?, watched = IF(met_at_us IS NULL AND "
          "breached = 0, 1, 0) WHERE ticket_id = ? AND kind = ?",
          {ToMicros(due), int64_t{std::stoll(ticket.ticket_id())}, int64_t{kind}});
      ASSERT_EQ(updated, 1u) << "no deadline " << kind << " on ticket " << ticket.ticket_id();
    });
  }

  // ---- errors ----------------------------------------------------------------------

  static common::ErrorInfoView Info(const grpc::Status& status) {
    common::ErrorInfoView info;
    common::ExtractErrorInfo(status, &info);
    return info;
  }
  static std::string Reason(const grpc::Status& status) { return Info(status).reason; }
  static std::string Metadata(const grpc::Status& status, const std::string& key) {
    const common::ErrorInfoView info = Info(status);
    auto it = info.metadata.find(key);
    return it == info.metadata.end() ? "" : it->second;
  }
  static std::string Field(const grpc::Status& status) { return Metadata(status, "field"); }

  static google::protobuf::Timestamp ProtoTime(std::chrono::system_clock::time_point t) {
    google::protobuf::Timestamp out;
    ToProto(t, &out);
    return out;
  }

  static inline tickets::testing::TicketsHarness* harness_ = nullptr;
  static inline std::shared_ptr<grpc::Channel> channel_;
  static inline std::vector<std::string> site_ids_;
  static inline std::string* desk_token_ = nullptr;
};

// Describes a status in assertion messages.
inline std::string Describe(const grpc::Status& status) {
  return std::string(common::GrpcCodeName(status.error_code())) + ": " + status.error_message();
}

}  // namespace propdesk::tickets::test_support
