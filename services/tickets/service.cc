#include "tickets/service.h"

#include <utility>

#include "common/errors.h"
#include "common/outbox.h"
#include "tickets/convert.h"
#include "tickets/domain/sla_metrics.h"
#include "tickets/domain/validation.h"
#include "tickets/domain/workflow.h"
#include "tickets/mysql_store.h"
#include "tickets/outbox_events.h"

namespace propdesk::tickets {

using common::Access;
using common::CallContext;
using common::Error;
using common::ErrorKind;
using common::MysqlConnection;
using domain::Actor;
using domain::Change;
using domain::Ticket;

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 200;

template <class E, size_t N>
E RequiredEnum(std::string_view field, int number, const std::array<E, N>& all) {
  std::optional<E> value = DomainValue<E>(number, static_cast<int>(N));
  if (!value) {
    throw common::InvalidArgument(std::string(field),
                                  std::string(field) + " is required: choose one of its values");
  }
  (void)all;
  return *value;
}

template <class E, size_t N>
std::optional<E> OptionalEnum(std::string_view field, int number, const std::array<E, N>& all) {
  if (number == 0) return std::nullopt;
  return RequiredEnum(field, number, all);
}

void RequireTicketId(const std::string& ticket_id) {
  if (ticket_id.empty()) throw common::InvalidArgument("ticket_id", "ticket_id is required");
}

Error TicketNotFound(const std::string& ticket_id) {
  return Error(ErrorKind::kNotFound, "TICKET_NOT_FOUND", "ticket " + ticket_id + " not found",
               {{"ticket_id", ticket_id}});
}

// Who may do what (DOMAIN.md has no table for tickets, so this is the
// service's rule): reads need read access to the site (C-1: auditors and
// group admins read every site of their group); every change to a ticket
// needs write access to the site, whatever the role, since any staff member
// may receive a request first and own it (C-6) and the departments handle
// what is dispatched to them; auditors are read-only (RequireSiteAccess
// refuses their writes with READ_ONLY_ROLE). A site's SLA settings (C-7,
// T-4 … T-11 numbers) are a manager's decision: UpdateSlaPolicy needs one of
// these roles as well.
constexpr std::array kSlaPolicyEditors = {common::Role::kCsAdmin, common::Role::kSiteManager,
                                          common::Role::kGroupAdmin};

// Error(kPermissionDenied, "ROLE_NOT_ALLOWED") naming the roles that may,
// unless the caller has one of `allowed`.
template <size_t N>
void RequireAnyRole(const common::Principal& caller, const std::array<common::Role, N>& allowed,
                    std::string_view action) {
  std::string names;
  for (const common::Role role : allowed) {
    if (caller.HasRole(role)) return;
    names += (names.empty() ? "" : ", ") + std::string(common::RoleName(role));
  }
  throw Error(ErrorKind::kPermissionDenied, "ROLE_NOT_ALLOWED",
              "only the roles " + names + " may " + std::string(action),
              {{"allowed_roles", names}});
}

template <class Response>
std::string SerializedTicketResponse(const Ticket& ticket) {
  Response response;
  ToProto(ticket, response.mutable_ticket());
  return response.SerializeAsString();
}

}  // namespace

TicketsServiceImpl::TicketsServiceImpl(common::CallEnv env, common::MysqlPool& pool,
                                       common::RedisClient* redis, TicketStore& store,
                                       TicketsMetrics* metrics)
    : env_(env),
      pool_(pool),
      store_(store),
      metrics_(metrics),
      idempotency_(pool, redis, {.service = "tickets"}),
      creator_(pool, idempotency_, store, metrics),
      default_settings_(std::make_shared<const domain::SlaSettings>(
          domain::SlaSettings::Create(domain::DefaultSlaPolicy()))) {}

SiteRecord TicketsServiceImpl::RequireSite(const CallContext& call, const std::string& site_id,
                                           Access access) {
  if (site_id.empty()) throw common::InvalidArgument("site_id", "site_id is required");
  std::optional<SiteRecord> site;
  {
    std::lock_guard lock(sites_mu_);
    if (auto it = sites_.find(site_id); it != sites_.end()) site = it->second;
  }
  if (!site) {
    site = pool_.WithTransaction([&](MysqlConnection& tx) { return store_.FindSite(tx, site_id); });
    if (!site) throw common::SiteNotFound(site_id);
    std::lock_guard lock(sites_mu_);
    sites_.emplace(site_id, *site);
  }
  common::RequireSiteAccess(call.caller(), {site->site_id, site->group_id}, access);
  return *site;
}

std::shared_ptr<const domain::SlaSettings> TicketsServiceImpl::SettingsFor(const SiteRecord& site) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(settings_mu_);
    auto it = settings_.find(site.site_id);
    if (it != settings_.end() && now - it->second.checked_at < kPolicyRecheckInterval) {
      return it->second.settings;
    }
  }
  std::optional<StoredPolicy> stored = pool_.WithTransaction(
      [&](MysqlConnection& tx) { return store_.FindPolicy(tx, site.site_id, false); });
  const int64_t version = stored ? stored->version : 0;
  std::shared_ptr<const domain::SlaSettings> settings;
  {
    std::lock_guard lock(settings_mu_);
    auto it = settings_.find(site.site_id);
    if (it != settings_.end() && it->second.version == version) {
      it->second.checked_at = now;
      return it->second.settings;
    }
  }
  if (!stored) {
    settings = default_settings_;
  } else {
    v1::SlaPolicy proto;
    if (!proto.ParseFromString(stored->policy)) {
      throw common::Internal("the stored SLA policy of site " + site.site_id + " is corrupt");
    }
    settings =
        std::make_shared<const domain::SlaSettings>(domain::SlaSettings::Create(FromProto(proto)));
  }
  std::lock_guard lock(settings_mu_);
  settings_[site.site_id] = {version, settings, now};
  return settings;
}

void TicketsServiceImpl::ForgetSettings(const std::string& site_id) {
  std::lock_guard lock(settings_mu_);
  settings_.erase(site_id);
}

template <class Request, class Response>
void TicketsServiceImpl::Transition(const CallContext& call, const Request& request,
                                    Response* response, const Operation& op) {
  RequireTicketId(request.ticket_id());
  if (request.expected_version() < 0) {
    throw common::InvalidArgument("expected_version", "expected_version must not be negative");
  }
  common::ValidateRequestId(request.request_id());
  const SiteRecord site = RequireSite(call, request.site_id(), Access::kWrite);
  const std::string actor_id = call.caller().staff_id;
  const std::shared_ptr<const domain::SlaSettings> settings = SettingsFor(site);
  std::optional<Change> committed;  // the last attempt's change (retries overwrite)
  common::IdempotentOutcome outcome =
      idempotency_.Run(site.site_id, request.request_id(), common::RequestFingerprint(request),
                       [&](MysqlConnection& tx) {
                         std::optional<Ticket> ticket = store_.Find(
                             tx, site.site_id, request.ticket_id(), /*for_update=*/true);
                         if (!ticket) throw TicketNotFound(request.ticket_id());
                         domain::CheckExpectedVersion(*ticket, request.expected_version());
                         const Change change = op(*ticket, Actor{actor_id, Now()}, *settings);
                         store_.Update(tx, change, ticket->version);
                         AppendOutboxEvents(tx, change);
                         committed = change;
                         return SerializedTicketResponse<Response>(change.ticket);
                       });
  if (metrics_ && committed && !outcome.replayed) metrics_->Observe(*committed);
  if (!response->ParseFromString(outcome.response)) {
    throw common::Internal("stored response of request " + request.request_id() + " is corrupt");
  }
}

// ---- create, read, list -------------------------------------------------------

grpc::ServerUnaryReactor* TicketsServiceImpl::CreateTicket(grpc::CallbackServerContext* ctx,
                                                           const v1::CreateTicketRequest* request,
                                                           v1::CreateTicketResponse* response) {
  return common::RunUnaryAsync(
      env_, ctx, {"CreateTicket", request->site_id()},
      [=, this](const CallContext& call, common::Completion& done) {
        PendingCreate create;
        domain::NewTicket& input = create.input;
        input.kind = RequiredEnum("kind", request->kind(), domain::kAllKinds);
        input.channel = RequiredEnum("channel", request->channel(), domain::kAllChannels);
        input.category = RequiredEnum("category", request->category(), domain::kAllCategories);
        input.priority = OptionalEnum("priority", request->priority(), domain::kAllPriorities)
                             .value_or(domain::Priority::kNormal);
        input.unit = request->unit();
        input.contact = {request->contact().name(), request->contact().phone()};
        input.description = request->description();
        domain::ValidateNewTicket(input);
        common::ValidateRequestId(request->request_id());
        create.site = RequireSite(call, request->site_id(), Access::kWrite);
        create.settings = SettingsFor(create.site);
        create.allow_duplicate = request->allow_duplicate();
        create.actor_id = call.caller().staff_id;
        create.request = {create.site.site_id, request->request_id(),
                          common::RequestFingerprint(*request)};
        create.response = response;
        create.done = std::move(done);
        // Answered with the next batch of the site's creates (tickets/creator.h).
        creator_.Create(std::move(create));
      });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::GetTicket(grpc::CallbackServerContext* ctx,
                                                        const v1::GetTicketRequest* request,
                                                        v1::GetTicketResponse* response) {
  return common::RunUnary(
      env_, ctx, {"GetTicket", request->site_id()}, [=, this](const CallContext& call) {
        RequireTicketId(request->ticket_id());
        const SiteRecord site = RequireSite(call, request->site_id(), Access::kRead);
        // One statement (store.h): one round trip, no transaction around it.
        std::optional<Ticket> ticket = pool_.WithAutocommit([&](MysqlConnection& conn) {
          return store_.Find(conn, site.site_id, request->ticket_id(), false);
        });
        if (!ticket) throw TicketNotFound(request->ticket_id());
        ToProto(*ticket, response->mutable_ticket());
      });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::ListTickets(grpc::CallbackServerContext* ctx,
                                                          const v1::ListTicketsRequest* request,
                                                          v1::ListTicketsResponse* response) {
  return common::RunUnary(
      env_, ctx, {"ListTickets", request->site_id()}, [=, this](const CallContext& call) {
        if (request->page_size() < 0) {
          throw common::InvalidArgument("page_size", "page_size must not be negative");
        }
        TicketQuery query;
        query.limit = request->page_size() == 0 ? kDefaultPageSize
                                                : std::min(request->page_size(), kMaxPageSize);
        if (!request->page_token().empty()) {
          std::optional<int64_t> after = ParseTicketId(request->page_token());
          if (!after) {
            throw common::InvalidArgument("page_token",
                                          "page_token is not one this service returned");
          }
          query.after_id = *after;
        }
        query.kind = OptionalEnum("kind", request->kind(), domain::kAllKinds);
        for (int state : request->states()) {
          query.states.push_back(RequiredEnum("states", state, domain::kAllStates));
        }
        query.category = OptionalEnum("category", request->category(), domain::kAllCategories);
        query.unit = request->unit();
        query.assignee_id = request->assignee_id();
        query.owner_id = request->owner_id();
        if (request->has_created_after()) query.created_after = FromProto(request->created_after());
        if (request->has_created_before())
          query.created_before = FromProto(request->created_before());
        if (request->overdue_only()) query.overdue_at = Now();
        const SiteRecord site = RequireSite(call, request->site_id(), Access::kRead);
        query.site_id = site.site_id;
        const int page = query.limit;
        query.limit = page + 1;  // one more tells whether there is a next page
        std::vector<Ticket> tickets =
            pool_.WithTransaction([&](MysqlConnection& tx) { return store_.List(tx, query); });
        const bool more = static_cast<int>(tickets.size()) > page;
        if (more) tickets.resize(page);
        for (const Ticket& t : tickets) ToProto(t, response->add_tickets());
        if (more) response->set_next_page_token(tickets.back().ticket_id);
      });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::ListTicketEvents(
    grpc::CallbackServerContext* ctx, const v1::ListTicketEventsRequest* request,
    v1::ListTicketEventsResponse* response) {
  return common::RunUnary(
      env_, ctx, {"ListTicketEvents", request->site_id()}, [=, this](const CallContext& call) {
        RequireTicketId(request->ticket_id());
        if (request->page_size() < 0) {
          throw common::InvalidArgument("page_size", "page_size must not be negative");
        }
        const int page = request->page_size() == 0 ? kDefaultPageSize
                                                   : std::min(request->page_size(), kMaxPageSize);
        int64_t after = 0;
        if (!request->page_token().empty()) {
          std::optional<int64_t> parsed = ParseTicketId(request->page_token());
          if (!parsed) {
            throw common::InvalidArgument("page_token",
                                          "page_token is not one this service returned");
          }
          after = *parsed;
        }
        const SiteRecord site = RequireSite(call, request->site_id(), Access::kRead);
        std::vector<StoredEvent> events = pool_.WithTransaction([&](MysqlConnection& tx) {
          if (!store_.Find(tx, site.site_id, request->ticket_id(), false)) {
            throw TicketNotFound(request->ticket_id());
          }
          return store_.ListEvents(tx, request->ticket_id(), after, page + 1);
        });
        const bool more = static_cast<int>(events.size()) > page;
        if (more) events.resize(page);
        for (const StoredEvent& e : events) ToProto(e.event, e.sequence, response->add_events());
        if (more) response->set_next_page_token(std::to_string(events.back().sequence));
      });
}

// ---- transitions --------------------------------------------------------------

template <class Request, class Response>
grpc::ServerUnaryReactor* TicketsServiceImpl::RunTransition(grpc::CallbackServerContext* ctx,
                                                            const char* rpc, const Request* request,
                                                            Response* response, Operation op) {
  return common::RunUnary(env_, ctx, {rpc, request->site_id()},
                          [=, this, op = std::move(op)](const CallContext& call) {
                            Transition(call, *request, response, op);
                          });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::AcknowledgeTicket(
    grpc::CallbackServerContext* ctx, const v1::AcknowledgeTicketRequest* request,
    v1::AcknowledgeTicketResponse* response) {
  return RunTransition(ctx, "AcknowledgeTicket", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::Acknowledge(ticket, actor, request->note());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::AssignTicket(grpc::CallbackServerContext* ctx,
                                                           const v1::AssignTicketRequest* request,
                                                           v1::AssignTicketResponse* response) {
  return RunTransition(ctx, "AssignTicket", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::Assign(
                             ticket, actor,
                             {request->department(), request->assignee_id(), request->note()});
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::TransferTicket(
    grpc::CallbackServerContext* ctx, const v1::TransferTicketRequest* request,
    v1::TransferTicketResponse* response) {
  return RunTransition(ctx, "TransferTicket", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::Transfer(ticket, actor, request->new_owner_id(),
                                                 request->reason());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::RecordCommitment(
    grpc::CallbackServerContext* ctx, const v1::RecordCommitmentRequest* request,
    v1::RecordCommitmentResponse* response) {
  return RunTransition(ctx, "RecordCommitment", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         if (!request->has_commitment_at()) {
                           throw common::InvalidArgument("commitment_at",
                                                         "commitment_at is required");
                         }
                         return domain::RecordCommitment(
                             ticket, actor, FromProto(request->commitment_at()), request->note());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::ScheduleAppointment(
    grpc::CallbackServerContext* ctx, const v1::ScheduleAppointmentRequest* request,
    v1::ScheduleAppointmentResponse* response) {
  return RunTransition(ctx, "ScheduleAppointment", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         if (!request->has_appointment_at()) {
                           throw common::InvalidArgument("appointment_at",
                                                         "appointment_at is required");
                         }
                         return domain::ScheduleAppointment(
                             ticket, actor, FromProto(request->appointment_at()), request->note());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::RescheduleAppointment(
    grpc::CallbackServerContext* ctx, const v1::RescheduleAppointmentRequest* request,
    v1::RescheduleAppointmentResponse* response) {
  return RunTransition(
      ctx, "RescheduleAppointment", request, response,
      [request](const Ticket& ticket, const Actor& actor,
                [[maybe_unused]] const domain::SlaSettings& settings) {
        if (!request->has_appointment_at()) {
          throw common::InvalidArgument("appointment_at", "appointment_at is required");
        }
        return domain::RescheduleAppointment(
            ticket, actor,
            {FromProto(request->appointment_at()), request->reason(), request->resident_notice()});
      });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::RecordArrival(grpc::CallbackServerContext* ctx,
                                                            const v1::RecordArrivalRequest* request,
                                                            v1::RecordArrivalResponse* response) {
  return RunTransition(ctx, "RecordArrival", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::RecordArrival(ticket, actor, request->note());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::ResolveTicket(grpc::CallbackServerContext* ctx,
                                                            const v1::ResolveTicketRequest* request,
                                                            v1::ResolveTicketResponse* response) {
  return RunTransition(ctx, "ResolveTicket", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         domain::ResolveInput input;
                         input.reply = request->reply();
                         input.cause = request->cause();
                         input.result = request->result();
                         input.handler_id = request->handler_id();
                         input.valid_complaint = request->valid_complaint();
                         if (request->has_referral()) {
                           input.referral = domain::Referral{request->referral().organization(),
                                                             request->referral().contact_name(),
                                                             request->referral().contact_phone()};
                         }
                         return domain::Resolve(ticket, actor, settings, input);
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::RecordCallback(
    grpc::CallbackServerContext* ctx, const v1::RecordCallbackRequest* request,
    v1::RecordCallbackResponse* response) {
  return RunTransition(ctx, "RecordCallback", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::RecordCallback(
                             ticket, actor, settings, request->satisfaction(), request->comments());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::CloseTicket(grpc::CallbackServerContext* ctx,
                                                          const v1::CloseTicketRequest* request,
                                                          v1::CloseTicketResponse* response) {
  return RunTransition(ctx, "CloseTicket", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::Close(ticket, actor, request->note());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::ReopenTicket(grpc::CallbackServerContext* ctx,
                                                           const v1::ReopenTicketRequest* request,
                                                           v1::ReopenTicketResponse* response) {
  return RunTransition(ctx, "ReopenTicket", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::Reopen(ticket, actor, settings, request->reason());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::AddTicketNote(grpc::CallbackServerContext* ctx,
                                                            const v1::AddTicketNoteRequest* request,
                                                            v1::AddTicketNoteResponse* response) {
  return RunTransition(ctx, "AddTicketNote", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::AddNote(ticket, actor, request->text());
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::RaiseIncidentReport(
    grpc::CallbackServerContext* ctx, const v1::RaiseIncidentReportRequest* request,
    v1::RaiseIncidentReportResponse* response) {
  return RunTransition(ctx, "RaiseIncidentReport", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         const std::vector<std::string> photos(request->photo_refs().begin(),
                                                               request->photo_refs().end());
                         return domain::RaiseIncidentReport(ticket, actor, settings,
                                                            request->summary(), photos);
                       });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::SubmitWrittenReport(
    grpc::CallbackServerContext* ctx, const v1::SubmitWrittenReportRequest* request,
    v1::SubmitWrittenReportResponse* response) {
  return RunTransition(ctx, "SubmitWrittenReport", request, response,
                       [request](const Ticket& ticket, const Actor& actor,
                                 [[maybe_unused]] const domain::SlaSettings& settings) {
                         return domain::SubmitWrittenReport(ticket, actor,
                                                            request->written_report());
                       });
}

// ---- site SLA policy ------------------------------------------------------------

grpc::ServerUnaryReactor* TicketsServiceImpl::GetSlaPolicy(grpc::CallbackServerContext* ctx,
                                                           const v1::GetSlaPolicyRequest* request,
                                                           v1::GetSlaPolicyResponse* response) {
  return common::RunUnary(
      env_, ctx, {"GetSlaPolicy", request->site_id()}, [=, this](const CallContext& call) {
        const SiteRecord site = RequireSite(call, request->site_id(), Access::kRead);
        std::optional<StoredPolicy> stored = pool_.WithTransaction(
            [&](MysqlConnection& tx) { return store_.FindPolicy(tx, site.site_id, false); });
        v1::SlaPolicy* out = response->mutable_sla_policy();
        if (stored) {
          out->ParseFromString(stored->policy);
          out->set_version(stored->version);
        } else {
          ToProto(domain::DefaultSlaPolicy(), out);  // version 0: defaults
        }
        out->set_site_id(site.site_id);
      });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::UpdateSlaPolicy(
    grpc::CallbackServerContext* ctx, const v1::UpdateSlaPolicyRequest* request,
    v1::UpdateSlaPolicyResponse* response) {
  return common::RunUnary(
      env_, ctx, {"UpdateSlaPolicy", request->site_id()}, [=, this](const CallContext& call) {
        if (!request->has_sla_policy()) {
          throw common::InvalidArgument("sla_policy", "sla_policy is required");
        }
        if (request->expected_version() < 0) {
          throw common::InvalidArgument("expected_version",
                                        "expected_version must not be negative");
        }
        // Validates every number and the calendar (C-7) before anything is written.
        const domain::SlaSettings checked =
            domain::SlaSettings::Create(FromProto(request->sla_policy()));
        common::ValidateRequestId(request->request_id());
        const SiteRecord site = RequireSite(call, request->site_id(), Access::kWrite);
        RequireAnyRole(call.caller(), kSlaPolicyEditors, "change the SLA policy");
        const std::string actor_id = call.caller().staff_id;
        common::IdempotentOutcome outcome = idempotency_.Run(
            site.site_id, request->request_id(), common::RequestFingerprint(*request),
            [&](MysqlConnection& tx) {
              std::optional<StoredPolicy> current = store_.FindPolicy(tx, site.site_id, true);
              const int64_t current_version = current ? current->version : 0;
              if (request->expected_version() != 0 &&
                  request->expected_version() != current_version) {
                throw Error(ErrorKind::kAborted, "VERSION_MISMATCH",
                            "the SLA policy was changed since it was read; reload it and retry",
                            {{"current_version", std::to_string(current_version)},
                             {"expected_version", std::to_string(request->expected_version())}});
              }
              v1::SlaPolicy stored;
              ToProto(checked.policy(), &stored);
              stored.set_site_id(site.site_id);
              stored.set_updated_by(actor_id);
              ToProto(Now(), stored.mutable_update_time());
              store_.SavePolicy(tx, site.site_id, stored.SerializeAsString());
              stored.set_version(current_version + 1);
              common::AppendEvent(
                  tx, {.type = "ticket.sla_policy_updated",
                       .site_id = site.site_id,
                       .aggregate_id = site.site_id,
                       .payload = "{\"version\":" + std::to_string(current_version + 1) + "}",
                       .actor = actor_id});
              v1::UpdateSlaPolicyResponse result;
              *result.mutable_sla_policy() = stored;
              return result.SerializeAsString();
            });
        ForgetSettings(site.site_id);  // this replica uses the new policy at once
        if (!response->ParseFromString(outcome.response)) {
          throw common::Internal("stored response of request " + request->request_id() +
                                 " is corrupt");
        }
      });
}

grpc::ServerUnaryReactor* TicketsServiceImpl::GetSlaSummary(grpc::CallbackServerContext* ctx,
                                                            const v1::GetSlaSummaryRequest* request,
                                                            v1::GetSlaSummaryResponse* response) {
  return common::RunUnary(
      env_, ctx, {"GetSlaSummary", request->site_id()}, [=, this](const CallContext& call) {
        if (!request->has_start_time()) {
          throw common::InvalidArgument("start_time", "start_time is required");
        }
        if (!request->has_end_time()) {
          throw common::InvalidArgument("end_time", "end_time is required");
        }
        const domain::Timestamp start = FromProto(request->start_time());
        const domain::Timestamp end = FromProto(request->end_time());
        if (end <= start)
          throw common::InvalidArgument("end_time", "end_time must be after start_time");
        const SiteRecord site = RequireSite(call, request->site_id(), Access::kRead);
        const std::shared_ptr<const domain::SlaSettings> settings = SettingsFor(site);
        const SlaCounts counts = pool_.WithTransaction([&](MysqlConnection& tx) {
          return store_.CountSla(tx, site.site_id, start, end, Now());
        });
        v1::SlaSummary* out = response->mutable_summary();
        out->set_site_id(site.site_id);
        *out->mutable_start_time() = request->start_time();
        *out->mutable_end_time() = request->end_time();
        for (const auto& [state, n] : counts.open_by_state) {
          v1::StateCount* c = out->add_open_by_state();
          c->set_state(static_cast<v1::TicketState>(ProtoNumber(state)));
          c->set_count(n);
        }
        for (const auto& [kind, n] : counts.open_by_kind) {
          v1::KindCount* c = out->add_open_by_kind();
          c->set_kind(static_cast<v1::TicketKind>(ProtoNumber(kind)));
          c->set_count(n);
        }
        out->set_breached_count(counts.breached);
        out->set_due_within_next_hour(counts.due_within_next_hour);
        // Rule T-9 figures.
        out->set_callbacks_due(counts.callbacks_due);
        out->set_callbacks_done(counts.callbacks_done);
        out->set_callback_rate_bp(
            domain::CallbackRateBp(counts.callbacks_done, counts.callbacks_due));
        out->set_complaints_received(counts.complaints_received);
        out->set_valid_complaints(counts.valid_complaints);
        out->set_valid_complaint_rate_bp(
            domain::ValidComplaintRateBp(counts.valid_complaints, settings->policy().unit_count));
        out->set_satisfaction_responses(counts.satisfaction_responses);
        out->set_mean_satisfaction_hundredths(domain::MeanSatisfactionHundredths(
            counts.satisfaction_sum, counts.satisfaction_responses));
      });
}

}  // namespace propdesk::tickets
