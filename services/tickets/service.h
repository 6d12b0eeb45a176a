#pragma once

// propdesk.tickets.v1.TicketsService (ARCHITECTURE.md §4): each RPC checks
// its input, the caller's site access (C-1), runs the domain operation
// (tickets/domain/workflow.h) and writes the change, its history and its
// outbox events in one transaction, deduplicated by request_id (C-8).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/call.h"
#include "common/idempotency.h"
#include "common/mysql.h"
#include "common/principal.h"
#include "common/redis.h"
#include "propdesk/tickets/v1/tickets_service.grpc.pb.h"
#include "tickets/creator.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/metrics.h"
#include "tickets/store.h"

namespace propdesk::tickets {

class TicketsServiceImpl final : public v1::TicketsService::CallbackService {
 public:
  // `redis` may be null (idempotency then relies on MySQL alone), `metrics`
  // too (no domain metrics). All arguments must outlive the service.
  TicketsServiceImpl(common::CallEnv env, common::MysqlPool& pool, common::RedisClient* redis,
                     TicketStore& store, TicketsMetrics* metrics = nullptr);

  grpc::ServerUnaryReactor* CreateTicket(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTicketRequest* request,
                                         v1::CreateTicketResponse* response) override;
  grpc::ServerUnaryReactor* GetTicket(grpc::CallbackServerContext* ctx,
                                      const v1::GetTicketRequest* request,
                                      v1::GetTicketResponse* response) override;
  grpc::ServerUnaryReactor* ListTickets(grpc::CallbackServerContext* ctx,
                                        const v1::ListTicketsRequest* request,
                                        v1::ListTicketsResponse* response) override;
  grpc::ServerUnaryReactor* ListTicketEvents(grpc::CallbackServerContext* ctx,
                                             const v1::ListTicketEventsRequest* request,
                                             v1::ListTicketEventsResponse* response) override;
  grpc::ServerUnaryReactor* AcknowledgeTicket(grpc::CallbackServerContext* ctx,
                                              const v1::AcknowledgeTicketRequest* request,
                                              v1::AcknowledgeTicketResponse* response) override;
  grpc::ServerUnaryReactor* AssignTicket(grpc::CallbackServerContext* ctx,
                                         const v1::AssignTicketRequest* request,
                                         v1::AssignTicketResponse* response) override;
  grpc::ServerUnaryReactor* TransferTicket(grpc::CallbackServerContext* ctx,
                                           const v1::TransferTicketRequest* request,
                                           v1::TransferTicketResponse* response) override;
  grpc::ServerUnaryReactor* RecordCommitment(grpc::CallbackServerContext* ctx,
                                             const v1::RecordCommitmentRequest* request,
                                             v1::RecordCommitmentResponse* response) override;
  grpc::ServerUnaryReactor* ScheduleAppointment(grpc::CallbackServerContext* ctx,
                                                const v1::ScheduleAppointmentRequest* request,
                                                v1::ScheduleAppointmentResponse* response) override;
  grpc::ServerUnaryReactor* RescheduleAppointment(
      grpc::CallbackServerContext* ctx, const v1::RescheduleAppointmentRequest* request,
      v1::RescheduleAppointmentResponse* response) override;
  grpc::ServerUnaryReactor* RecordArrival(grpc::CallbackServerContext* ctx,
                                          const v1::RecordArrivalRequest* request,
                                          v1::RecordArrivalResponse* response) override;
  grpc::ServerUnaryReactor* ResolveTicket(grpc::CallbackServerContext* ctx,
                                          const v1::ResolveTicketRequest* request,
                                          v1::ResolveTicketResponse* response) override;
  grpc::ServerUnaryReactor* RecordCallback(grpc::CallbackServerContext* ctx,
                                           const v1::RecordCallbackRequest* request,
                                           v1::RecordCallbackResponse* response) override;
  grpc::ServerUnaryReactor* CloseTicket(grpc::CallbackServerContext* ctx,
                                        const v1::CloseTicketRequest* request,
                                        v1::CloseTicketResponse* response) override;
  grpc::ServerUnaryReactor* ReopenTicket(grpc::CallbackServerContext* ctx,
                                         const v1::ReopenTicketRequest* request,
                                         v1::ReopenTicketResponse* response) override;
  grpc::ServerUnaryReactor* AddTicketNote(grpc::CallbackServerContext* ctx,
                                          const v1::AddTicketNoteRequest* request,
                                          v1::AddTicketNoteResponse* response) override;
  grpc::ServerUnaryReactor* RaiseIncidentReport(grpc::CallbackServerContext* ctx,
                                                const v1::RaiseIncidentReportRequest* request,
                                                v1::RaiseIncidentReportResponse* response) override;
  grpc::ServerUnaryReactor* SubmitWrittenReport(grpc::CallbackServerContext* ctx,
                                                const v1::SubmitWrittenReportRequest* request,
                                                v1::SubmitWrittenReportResponse* response) override;
  grpc::ServerUnaryReactor* GetSlaPolicy(grpc::CallbackServerContext* ctx,
                                         const v1::GetSlaPolicyRequest* request,
                                         v1::GetSlaPolicyResponse* response) override;
  grpc::ServerUnaryReactor* GetSlaSummary(grpc::CallbackServerContext* ctx,
                                          const v1::GetSlaSummaryRequest* request,
                                          v1::GetSlaSummaryResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSlaPolicy(grpc::CallbackServerContext* ctx,
                                            const v1::UpdateSlaPolicyRequest* request,
                                            v1::UpdateSlaPolicyResponse* response) override;

 private:
  using Operation = std::function<domain::Change(const domain::Ticket&, const domain::Actor&,
                                                 const domain::SlaSettings&)>;

  // Rule C-1: the site's record when the caller may use it with `access`;
  // SiteNotFound otherwise (unknown and forbidden look the same).
  SiteRecord RequireSite(const common::CallContext& call, const std::string& site_id,
                         common::Access access);
  // The site's settings deadlines are computed from (T-4 … T-9, C-7): its
  // stored policy, or the DOMAIN.md defaults when it has none.
  std::shared_ptr<const domain::SlaSettings> SettingsFor(const SiteRecord& site);
  // Drops the cached settings of a site (after its policy changed here).
  void ForgetSettings(const std::string& site_id);

  // The common shape of every transition on an existing ticket: checks,
  // idempotency, load with row lock, expected_version, `op`, write, outbox.
  // Returns the serialized Ticket after the change.
  template <class Request, class Response>
  void Transition(const common::CallContext& call, const Request& request, Response* response,
                  const Operation& op);

  // RunUnary around Transition.
  template <class Request, class Response>
  grpc::ServerUnaryReactor* RunTransition(grpc::CallbackServerContext* ctx, const char* rpc,
                                          const Request* request, Response* response, Operation op);

  domain::Timestamp Now() const { return std::chrono::system_clock::now(); }

  common::CallEnv env_;
  common::MysqlPool& pool_;
  TicketStore& store_;
  TicketsMetrics* const metrics_;  // may be null
  common::Idempotency idempotency_;
  // CreateTicket's work, batched per site (C-5 numbers, T-11, C-8).
  TicketCreator creator_;
  const std::shared_ptr<const domain::SlaSettings> default_settings_;

  // Sites never change group or code while the service runs; caching them
  // saves a query per call.
  std::mutex sites_mu_;
  std::map<std::string, SiteRecord, std::less<>> sites_;  // guarded by sites_mu_
  // Built settings by site, with the policy version they were built from
  // (0: no stored policy, the defaults): the calendar (time zone lookup) is
  // built once per version, and the version is read again only after
  // kPolicyRecheckInterval — a policy changed through another replica
  // applies here within that interval; through this one, at once.
  static constexpr std::chrono::seconds kPolicyRecheckInterval{5};
  struct CachedSettings {
    int64_t version = 0;
    std::shared_ptr<const domain::SlaSettings> settings;
    std::chrono::steady_clock::time_point checked_at;
  };
  std::mutex settings_mu_;
  std::map<std::string, CachedSettings> settings_;  // guarded by settings_mu_
};

}  // namespace propdesk::tickets
