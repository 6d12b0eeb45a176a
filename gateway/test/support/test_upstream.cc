#include "support/test_upstream.h"

#include <google/protobuf/util/json_util.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/health_check_service_interface.h>

#include <optional>
#include <stdexcept>

#include "common/errors.h"
#include "common/principal.h"
#include "propdesk/testing/v1/echo.grpc.pb.h"
#include "propdesk/testing/v1/transcode.grpc.pb.h"

namespace propdesk::gateway::test {
namespace {

namespace v1 = ::propdesk::testing::v1;
using common::Access;
using common::Error;
using common::ErrorKind;

bool KnownSite(std::string_view site) { return site == "s1" || site == "s2" || site == "s3"; }

std::string Metadata(const grpc::CallbackServerContext* ctx, const std::string& key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

grpc::Status StatusWithInfo(grpc::StatusCode code, const std::string& reason,
                            const std::string& message) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain("testing.propdesk");
  (*info.mutable_metadata())["origin"] = "test-upstream";
  status.add_details()->PackFrom(info);
  return grpc::Status(code, message, status.SerializeAsString());
}

}  // namespace

common::JwtConfig TestJwtConfig() {
  common::JwtConfig config;
  config.hs256_secret = kTestJwtSecret;
  config.audience = "propdesk";
  return config;
}

std::string MakeToken(const TokenOptions& options) {
  const auto now = std::chrono::system_clock::now();
  common::JwtClaims claims;
  claims.subject = options.subject;
  claims.group = options.group;
  claims.sites = options.sites;
  claims.roles = options.roles;
  claims.audience = options.audience;
  claims.issued_at = now - std::chrono::minutes(5);
  claims.expires_at = now + options.lifetime;
  return common::SignJwtHs256(claims, options.secret);
}

class TestUpstream::Impl {
 public:
  Impl() : verifier_(TestJwtConfig()) {}

  template <class Message>
  void Record(grpc::CallbackServerContext* ctx, const char* rpc, const Message& request) {
    SeenCall call;
    call.rpc = rpc;
    call.authorization = Metadata(ctx, "authorization");
    call.request_id = Metadata(ctx, "x-request-id");
    call.deadline = ctx->deadline();
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(request, &call.request_json, options);
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(call));
  }

  // What a propdesk service does first: verify the token, check the site (C-1).
  std::optional<grpc::Status> Authorize(grpc::CallbackServerContext* ctx, std::string_view site,
                                        Access access, common::Principal* principal = nullptr) {
    try {
      const std::string header = Metadata(ctx, "authorization");
      if (header.rfind("Bearer ", 0) != 0) {
        throw Error(ErrorKind::kUnauthenticated, "MISSING_TOKEN", "no bearer token");
      }
      common::Principal caller =
          verifier_.Verify(std::string_view(header).substr(7), std::chrono::system_clock::now());
      common::RequireSiteAccess(caller, {site, KnownSite(site) ? kTestGroup : "other-group"},
                                access);
      if (principal != nullptr) *principal = std::move(caller);
      return std::nullopt;
    } catch (const Error& error) {
      return common::ToGrpcStatus(error);
    }
  }

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const v1::EchoRequest* request,
                                 v1::EchoResponse* response) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Record(ctx, "Echo", *request);
    common::Principal caller;
    if (auto denied = Authorize(ctx, request->site_id(), Access::kWrite, &caller)) {
      reactor->Finish(*denied);
      return reactor;
    }
    const std::string& rid = request->request_id();
    const std::string fingerprint = request->site_id() + "\n" + request->message() + "\n" +
                                    std::to_string(request->fail_with());
    std::unique_lock<std::mutex> lock(mu_);
    if (!rid.empty()) {
      auto it = idempotency_.find(rid);
      if (it != idempotency_.end()) {
        if (!it->second.done) {
          lock.unlock();
          reactor->Finish(
              common::ToGrpcStatus(Error(ErrorKind::kAborted, "REQUEST_IN_PROGRESS",
                                         "request " + rid + " is still being processed")));
        } else if (it->second.fingerprint != fingerprint) {
          lock.unlock();
          reactor->Finish(common::ToGrpcStatus(
              Error(ErrorKind::kInvalidArgument, "REQUEST_ID_REUSED",
                    "request id " + rid + " was used for a different request")));
        } else {
          *response = it->second.response;
          lock.unlock();
          reactor->Finish(grpc::Status::OK);
        }
        return reactor;
      }
    }
    if (request->fail_with() != 0) {
      lock.unlock();
      reactor->Finish(StatusWithInfo(static_cast<grpc::StatusCode>(request->fail_with()),
                                     "TEST_FAILURE", "failing as asked"));
      return reactor;
    }
    if (!rid.empty()) {
      idempotency_[rid] = {fingerprint, false, {}};
      ++effects_[rid];
    }
    response->set_message(request->message());
    response->set_principal(caller.staff_id);
    if (request->message() == "hold") {
      held_.push_back({reactor, response, rid});
      held_changed_.notify_all();
      return reactor;
    }
    if (!rid.empty()) idempotency_[rid] = {fingerprint, true, *response};
    lock.unlock();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  template <class Request, class Response>
  grpc::ServerUnaryReactor* Reflect(grpc::CallbackServerContext* ctx, const char* rpc,
                                    const Request* request, Response* response,
                                    std::string_view site, Access access) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Record(ctx, rpc, *request);
    if (auto denied = Authorize(ctx, site, access)) {
      reactor->Finish(*denied);
      return reactor;
    }
    *response->mutable_request() = *request;
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::vector<SeenCall> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  int effects(const std::string& rid) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = effects_.find(rid);
    return it == effects_.end() ? 0 : it->second;
  }

  bool WaitForHeld(int count, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return held_changed_.wait_for(lock, timeout,
                                  [&] { return static_cast<int>(held_.size()) >= count; });
  }

  void ReleaseHeld() {
    std::vector<Held> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
      for (const Held& h : held) {
        if (!h.request_id.empty()) {
          Entry& entry = idempotency_[h.request_id];
          entry.done = true;
          entry.response = *h.response;
        }
      }
    }
    for (const Held& h : held) h.reactor->Finish(grpc::Status::OK);
  }

 private:
  struct Entry {
    std::string fingerprint;
    bool done = false;
    v1::EchoResponse response;
  };
  struct Held {
    grpc::ServerUnaryReactor* reactor;
    v1::EchoResponse* response;
    std::string request_id;
  };

  const common::JwtVerifier verifier_;
  mutable std::mutex mu_;
  mutable std::condition_variable held_changed_;
  std::vector<SeenCall> calls_;               // guarded by mu_
  std::map<std::string, Entry> idempotency_;  // guarded by mu_
  std::map<std::string, int> effects_;        // guarded by mu_
  std::vector<Held> held_;                    // guarded by mu_
};

namespace {

class EchoImpl final : public v1::EchoService::CallbackService {
 public:
  explicit EchoImpl(TestUpstream::Impl* impl) : impl_(impl) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override {
    return impl_->Echo(ctx, request, response);
  }

 private:
  TestUpstream::Impl* impl_;
};

std::string_view SiteOfName(std::string_view name) {
  // "sites/<site>/things/<thing>"
  if (!name.starts_with("sites/")) return {};
  name.remove_prefix(6);
  return name.substr(0, name.find('/'));
}

class TranscodeImpl final : public v1::TranscodeService::CallbackService {
 public:
  explicit TranscodeImpl(TestUpstream::Impl* impl) : impl_(impl) {}

  grpc::ServerUnaryReactor* GetThing(grpc::CallbackServerContext* ctx,
                                     const v1::GetThingRequest* request,
                                     v1::GetThingResponse* response) override {
    // A thing with every field kind set, for response transcoding.
    v1::Thing* thing = response->mutable_thing();
    thing->set_site_id(request->site_id());
    thing->set_thing_id(request->thing_id());
    thing->set_title("Leaking tap");
    thing->set_size_bytes(9007199254740993);  // 2^53 + 1: exact only as a string
    thing->add_tags("plumbing");
    thing->add_tags("urgent");
    thing->set_state(v1::THING_STATE_OPEN);
    thing->mutable_due_time()->set_seconds(1707899400);  // 2024-02-14T08:30:00Z
    thing->mutable_dimensions()->set_width_mm(120);
    (*thing->mutable_labels())["floor"] = "3";
    thing->set_urgent(true);
    thing->set_weight_kg(1.5);
    thing->set_blob("hi");
    return impl_->Reflect(ctx, "GetThing", request, response, request->site_id(), Access::kRead);
  }
  grpc::ServerUnaryReactor* ListThings(grpc::CallbackServerContext* ctx,
                                       const v1::ListThingsRequest* request,
                                       v1::ListThingsResponse* response) override {
    response->set_next_page_token("next");
    return impl_->Reflect(ctx, "ListThings", request, response, request->site_id(), Access::kRead);
  }
  grpc::ServerUnaryReactor* UpdateThing(grpc::CallbackServerContext* ctx,
                                        const v1::UpdateThingRequest* request,
                                        v1::UpdateThingResponse* response) override {
    return impl_->Reflect(ctx, "UpdateThing", request, response, request->thing().site_id(),
                          Access::kWrite);
  }
  grpc::ServerUnaryReactor* DeleteThing(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteThingRequest* request,
                                        v1::DeleteThingResponse* response) override {
    return impl_->Reflect(ctx, "DeleteThing", request, response, request->site_id(),
                          Access::kWrite);
  }
  grpc::ServerUnaryReactor* ResolveThing(grpc::CallbackServerContext* ctx,
                                         const v1::ResolveThingRequest* request,
                                         v1::ResolveThingResponse* response) override {
    return impl_->Reflect(ctx, "ResolveThing", request, response, request->site_id(),
                          Access::kWrite);
  }
  grpc::ServerUnaryReactor* GetThingHistory(grpc::CallbackServerContext* ctx,
                                            const v1::GetThingHistoryRequest* request,
                                            v1::GetThingHistoryResponse* response) override {
    response->mutable_history()->add_entries("opened");
    response->mutable_history()->add_entries("resolved");
    response->set_hidden("not in the HTTP body");
    impl_->Record(ctx, "GetThingHistory", *request);
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (auto denied = impl_->Authorize(ctx, SiteOfName(request->name()), Access::kRead)) {
      reactor->Finish(*denied);
      return reactor;
    }
    *response->mutable_history()->mutable_request() = *request;
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* GetFile(grpc::CallbackServerContext* ctx,
                                    const v1::GetFileRequest* request,
                                    v1::GetFileResponse* response) override {
    return impl_->Reflect(ctx, "GetFile", request, response, request->site_id(), Access::kRead);
  }

 private:
  TestUpstream::Impl* impl_;
};

}  // namespace

struct TestUpstream::Services {
  explicit Services(Impl* impl) : echo(impl), transcode(impl) {}
  EchoImpl echo;
  TranscodeImpl transcode;
};

TestUpstream::TestUpstream()
    : impl_(std::make_unique<Impl>()), services_(std::make_unique<Services>(impl_.get())) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&services_->echo);
  builder.RegisterService(&services_->transcode);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) throw std::runtime_error("test upstream did not start");
  SetServing(true);
}

TestUpstream::~TestUpstream() {
  impl_->ReleaseHeld();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
}

void TestUpstream::SetServing(bool serving) {
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

std::vector<SeenCall> TestUpstream::calls() const { return impl_->calls(); }
int TestUpstream::call_count() const { return static_cast<int>(impl_->calls().size()); }
int TestUpstream::effects(const std::string& request_id) const {
  return impl_->effects(request_id);
}
bool TestUpstream::WaitForHeld(int count, std::chrono::milliseconds timeout) const {
  return impl_->WaitForHeld(count, timeout);
}
void TestUpstream::ReleaseHeld() { impl_->ReleaseHeld(); }

}  // namespace propdesk::gateway::test
