#include "gateway/gateway.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cctype>

#include "common/errors.h"
#include "common/metrics.h"
#include "common/server.h"
#include "gateway/http_errors.h"
#include "gateway/http_server.h"
#include "gateway/json_writer.h"
#include "gateway/openapi.h"

namespace propdesk::gateway {

namespace {

using common::Error;
using common::ErrorKind;
using SteadyTime = std::chrono::steady_clock::time_point;

// An error with its HTTP status and extra headers, where the status is not
// the one its gRPC code maps to (415, 405, 429 with Retry-After).
class HttpRefusal : public Error {
 public:
  HttpRefusal(Error error, int status,
              std::vector<std::pair<std::string, std::string>> headers = {})
      : Error(std::move(error)), status_(status), headers_(std::move(headers)) {}
  HttpResponse Response() const {
    HttpResponse response = GatewayErrorResponse(*this, status_);
    for (const auto& [name, value] : headers_) response.AddHeader(name, value);
    return response;
  }

 private:
  int status_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

constexpr std::string_view kCorsAllowMethods = "GET, POST, PUT, PATCH, DELETE";
constexpr std::string_view kCorsAllowHeaders =
    "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Grpc-Timeout";
constexpr std::string_view kCorsExposeHeaders = "X-Request-Id, Retry-After, WWW-Authenticate";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// "application/json" with optional parameters (charset=utf-8).
bool IsJson(std::string_view content_type) {
  return IEquals(Trim(content_type.substr(0, content_type.find(';'))), "application/json");
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace

struct Gateway::Call {
  HttpRequest request;
  Respond respond;
  SteadyTime started;
  std::string request_id;
  std::string origin;  // the caller's Origin when CORS allows it
  const Route* route = nullptr;
  std::string route_label = "unmatched";
  std::string principal;
  std::string site;
  // The upstream call (set when one is made).
  std::unique_ptr<grpc::ClientContext> context;
  grpc::ByteBuffer upstream_request;
  grpc::ByteBuffer upstream_response;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> upstream_reader;
  grpc::Status upstream_status;
  SteadyTime upstream_started;
};

Gateway::Gateway(GatewayConfig config, std::shared_ptr<const common::Logger> logger,
                 std::shared_ptr<prometheus::Registry> registry)
    : config_(std::move(config)),
      logger_(std::move(logger)),
      registry_(std::move(registry)),
      descriptors_(LoadDescriptorSets(config_.descriptor_paths)),
      routes_(RouteTable::Build(
          descriptors_.services,
          [this](const google::protobuf::ServiceDescriptor& s) { return UpstreamFor(s); })),
      transcoder_(std::make_unique<Transcoder>(descriptors_.pool.get(),
                                               TranscodeLimits{config_.max_page_size})),
      upstreams_(config_.upstreams),
      completions_(config_.upstream_threads),
      verifier_(config_.jwt),
      redis_(config_.redis ? std::make_unique<common::RedisClient>(*config_.redis) : nullptr),
      rate_limiter_(redis_.get(), config_.redis_retry_pause),
      metrics_(*registry_),
      openapi_json_(BuildOpenApi(routes_, {"propdesk API", std::string(common::BuildVersion())})) {
  common::DisableMutexDeadlockDetection();
  // An upstream that serves none of the routed services is a typo in
  // GATEWAY_UPSTREAMS: say so now rather than leave its service unrouted.
  std::set<std::string> used;
  for (const Route& route : routes_.routes()) used.insert(route.upstream);
  for (const UpstreamConfig& upstream : config_.upstreams) {
    if (used.count(upstream.name) == 0) {
      throw Error(ErrorKind::kInvalidArgument, "BAD_CONFIG",
                  "GATEWAY_UPSTREAMS names " + upstream.name +
                      ", but no service with google.api.http rules in GATEWAY_DESCRIPTORS "
                      "belongs to it (a name is the service's package component, e.g. tickets "
                      "for propdesk.tickets.v1, or a full service name)",
                  {{"variable", "GATEWAY_UPSTREAMS"}});
    }
  }
  for (const Route& route : routes_.routes()) {
    route_metrics_.emplace(
        &route, metrics_.HandlesFor(route.http_method, route.label,
                                    route.method->service()->full_name(), route.method->name()));
  }
  logger_->Info("routes built",
                {{"routes", static_cast<int64_t>(routes_.routes().size())},
                 {"descriptor_sets", static_cast<int64_t>(descriptors_.origins.size())}});
}

Gateway::~Gateway() { Shutdown(std::chrono::steady_clock::now()); }

std::string Gateway::UpstreamFor(const google::protobuf::ServiceDescriptor& service) const {
  auto configured = [&](const std::string& name) {
    return std::any_of(config_.upstreams.begin(), config_.upstreams.end(),
                       [&](const UpstreamConfig& u) { return u.name == name; });
  };
  if (configured(service.full_name())) return service.full_name();
  // propdesk.<service>.v1 → <service>
  const std::string& package = service.file()->package();
  constexpr std::string_view kPrefix = "propdesk.";
  if (package.starts_with(kPrefix)) {
    const std::string rest = package.substr(kPrefix.size());
    const std::string name = rest.substr(0, rest.find('.'));
    if (configured(name)) return name;
  }
  return {};
}

void Gateway::Start() {
  std::vector<common::ReadinessProbe> probes;
  for (Upstream* upstream : upstreams_.all()) {
    probes.push_back({upstream->name(), [upstream] {
                        return upstream->CheckHealth(std::chrono::milliseconds(500));
                      }});
  }
  readiness_ = std::make_unique<common::ReadinessProber>(
      std::move(probes), config_.readiness_interval,
      [this](bool ready) { logger_->Info(ready ? "upstreams ready" : "upstreams not ready"); },
      logger_.get());
  HttpServerOptions options;
  options.host = config_.http_host;
  options.port = config_.http_port;
  options.threads = config_.threads;
  options.max_connections = config_.max_connections;
  options.max_body_bytes = config_.max_body_bytes;
  options.max_header_bytes = config_.max_header_bytes;
  options.idle_timeout = config_.idle_timeout;
  options.read_timeout = config_.read_timeout;
  options.write_timeout = config_.write_timeout;
  server_ = std::make_unique<HttpServer>(
      options,
      [this](HttpRequest request, Respond respond) {
        Handle(std::move(request), std::move(respond));
      },
      &metrics_);
  server_->Start();
  logger_->Info("gateway serving", {{"port", server_->port()}});
}

int Gateway::port() const { return server_ ? server_->port() : 0; }

bool Gateway::ready() const { return readiness_ && readiness_->ready() && !draining_.load(); }

bool Gateway::WaitUntilReady(std::chrono::milliseconds timeout) const {
  return readiness_ && readiness_->WaitFor(true, timeout);
}

int Gateway::in_flight() const {
  std::lock_guard<std::mutex> lock(calls_mu_);
  return static_cast<int>(active_calls_.size());
}

void Gateway::Shutdown(SteadyTime deadline) {
  std::lock_guard<std::mutex> one_at_a_time(shutdown_mu_);
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    if (shut_down_) return;
  }
  draining_ = true;
  if (server_) server_->StopAccepting();
  {
    std::unique_lock<std::mutex> lock(calls_mu_);
    if (!calls_done_.wait_until(lock, deadline, [&] { return active_calls_.empty(); })) {
      logger_->Warn("cancelling upstream calls at shutdown",
                    {{"calls", static_cast<int64_t>(active_calls_.size())}});
      for (grpc::ClientContext* context : active_calls_) context->TryCancel();
    }
    // From here on no new upstream call starts; the cancelled ones finish
    // promptly (and their clients still get a response).
    shut_down_ = true;
    calls_done_.wait(lock, [&] { return active_calls_.empty(); });
  }
  // The last responses may still be going out to slow readers: let them.
  if (server_) {
    server_->WaitForResponses(std::chrono::steady_clock::now() + config_.write_timeout);
    server_->Stop();
  }
  if (readiness_) readiness_->Stop();
  completions_.Shutdown();  // every call has completed
}

void Gateway::Handle(HttpRequest request, Respond respond) {
  auto call = std::make_shared<Call>();
  call->started = std::chrono::steady_clock::now();
  call->request = std::move(request);
  call->respond = std::move(respond);
  const std::string_view client_id = call->request.Header("x-request-id");
  call->request_id = http_headers::AcceptableRequestId(client_id) ? std::string(client_id)
                                                                  : http_headers::NewRequestId();
  const std::string_view origin = call->request.Header("origin");
  if (!origin.empty() && OriginAllowed(origin)) call->origin = std::string(origin);
  try {
    const std::string_view path = call->request.Path();
    if (call->request.method == "OPTIONS" && !origin.empty() &&
        call->request.HasHeader("access-control-request-method")) {
      Preflight(call);
    } else if (path == "/healthz" || path == "/readyz" || path == "/metrics" ||
               path == "/openapi.json") {
      HandleBuiltIn(call, path);
    } else {
      HandleApi(call);
    }
  } catch (const HttpRefusal& refusal) {
    Finish(call, refusal.Response());
  } catch (const Error& error) {
    Finish(call, GatewayErrorResponse(error));
  } catch (const std::exception& e) {
    logger_->Log(common::LogLevel::kError, "request failed", {.request_id = call->request_id},
                 {{"error", e.what()}});
    Finish(call,
           GatewayErrorResponse(common::Internal("the gateway failed to handle the request")));
  }
}

void Gateway::Preflight(const std::shared_ptr<Call>& call) {
  call->route_label = "preflight";
  if (call->origin.empty()) {
    throw HttpRefusal(Error(ErrorKind::kPermissionDenied, "CORS_ORIGIN_NOT_ALLOWED",
                            "origin " + std::string(call->request.Header("origin")) +
                                " may not call this API (GATEWAY_CORS_ORIGINS)"),
                      403);
  }
  HttpResponse response;
  response.status = 204;
  response.content_type = "text/plain";
  response.AddHeader("Access-Control-Allow-Methods", std::string(kCorsAllowMethods));
  response.AddHeader("Access-Control-Allow-Headers", std::string(kCorsAllowHeaders));
  response.AddHeader("Access-Control-Max-Age", std::to_string(config_.cors_max_age.count()));
  Finish(call, std::move(response));
}

void Gateway::HandleBuiltIn(const std::shared_ptr<Call>& call, std::string_view path) {
  call->route_label = std::string(path.substr(1));
  // HEAD is GET without the body (the server leaves it out), as load
  // balancers' health checks send it.
  if (call->request.method != "GET" && call->request.method != "HEAD") {
    throw HttpRefusal(Error(ErrorKind::kInvalidArgument, "METHOD_NOT_ALLOWED",
                            std::string(path) + " only answers GET and HEAD"),
                      405, {{"Allow", "GET, HEAD"}});
  }
  HttpResponse response;
  if (path == "/healthz") {
    response.body = R"({"status":"ok"})";
  } else if (path == "/readyz") {
    const bool is_ready = ready();
    response.status = is_ready ? 200 : 503;
    response.body = ReadyzBody(is_ready);
  } else if (path == "/metrics") {
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = prometheus::TextSerializer().Serialize(registry_->Collect());
  } else {
    response.body = openapi_json_;
  }
  Finish(call, std::move(response));
}

std::string Gateway::ReadyzBody(bool is_ready) const {
  JsonWriter w;
  w.BeginObject().Field("status", draining_ ? "draining" : is_ready ? "ready" : "not ready");
  w.Key("upstreams").BeginObject();
  for (Upstream* upstream : upstreams_.all()) {
    w.Field(upstream->name(), upstream->last_state());
  }
  return w.EndObject().EndObject().Take();
}

void Gateway::HandleApi(const std::shared_ptr<Call>& call) {
  const HttpRequest& request = call->request;
  RouteTable::Match match = routes_.Find(request.method, request.Path());
  if (match.route == nullptr) {
    if (!match.allowed_methods.empty()) {
      throw HttpRefusal(Error(ErrorKind::kInvalidArgument, "METHOD_NOT_ALLOWED",
                              request.method + " is not allowed on " + std::string(request.Path()) +
                                  " (allowed: " + Join(match.allowed_methods, ", ") + ")"),
                        405, {{"Allow", Join(match.allowed_methods, ", ")}});
    }
    throw Error(ErrorKind::kNotFound, "ROUTE_NOT_FOUND",
                "no API route for " + request.method + " " + std::string(request.Path()) +
                    " (see /openapi.json)");
  }
  const Route& route = *match.route;
  call->route = &route;
  call->route_label = route.label;

  const common::Principal principal = Authenticate(request);
  call->principal = principal.staff_id;

  if (!IsBlank(request.body) && request.HasHeader("content-type") &&
      !IsJson(request.Header("content-type"))) {
    throw HttpRefusal(Error(ErrorKind::kInvalidArgument, "UNSUPPORTED_MEDIA_TYPE",
                            "the request body must be application/json, not " +
                                std::string(request.Header("content-type"))),
                      415);
  }
  std::string idempotency_key;
  if (request.HasHeader("idempotency-key")) {
    idempotency_key = http_headers::IdempotencyKey(request.Header("idempotency-key"));
  }
  std::chrono::milliseconds timeout = config_.default_timeout;
  if (request.HasHeader("grpc-timeout")) {
    const auto parsed = http_headers::ParseGrpcTimeout(request.Header("grpc-timeout"));
    if (!parsed || *parsed <= std::chrono::milliseconds(0)) {
      throw Error(ErrorKind::kInvalidArgument, "INVALID_TIMEOUT",
                  "grpc-timeout must be 1-8 digits and a unit (H, M, S, m, u, n), e.g. 500m",
                  {{"field", "grpc-timeout"}});
    }
    timeout = std::min(*parsed, config_.max_timeout);
  }

  UpstreamRequest upstream = transcoder_->ToUpstream(route, match.bindings, request.Query(),
                                                     request.body, idempotency_key);
  call->site = upstream.site_id;
  CheckRateLimits(principal, upstream.site_id);
  StartUpstreamCall(call, std::move(upstream.binary), timeout);
}

common::Principal Gateway::Authenticate(const HttpRequest& request) const {
  const std::string_view header = Trim(request.Header("authorization"));
  if (header.empty()) {
    throw Error(ErrorKind::kUnauthenticated, "MISSING_TOKEN",
                "this request needs an \"Authorization: Bearer <token>\" header");
  }
  if (header.size() < 7 || !IEquals(header.substr(0, 7), "bearer ")) {
    throw Error(ErrorKind::kUnauthenticated, "UNSUPPORTED_AUTH_SCHEME",
                "the Authorization header must be \"Bearer <token>\"");
  }
  return verifier_.Verify(Trim(header.substr(7)), std::chrono::system_clock::now());
}

void Gateway::CheckRateLimits(const common::Principal& principal, const std::string& site_id) {
  std::vector<BucketRequest> buckets;
  buckets.push_back(
      {"propdesk:gateway:ratelimit:principal:" + principal.group_id + ":" + principal.staff_id,
       config_.per_principal, "principal"});
  // A site's bucket counts only callers granted that site (or all of their
  // group's): otherwise anyone could exhaust another site's budget with
  // requests the service will refuse anyway (C-1).
  const bool granted = std::any_of(
      principal.sites.begin(), principal.sites.end(),
      [&](const std::string& s) { return s == site_id || s == common::kAllSitesOfGroup; });
  if (!site_id.empty() && granted) {
    buckets.push_back({"propdesk:gateway:ratelimit:site:" + site_id, config_.per_site, "site"});
  }
  RateLimiter::Backend backend = RateLimiter::Backend::kLocal;
  const RateDecision decision = rate_limiter_.Acquire(buckets, &backend);
  metrics_.RateLimitCheck(backend == RateLimiter::Backend::kRedis ? "redis" : "local");
  if (decision.allowed) return;
  metrics_.RateLimited(decision.scope);
  const int64_t retry_seconds = std::max<int64_t>(1, (decision.retry_after.count() + 999) / 1000);
  throw HttpRefusal(Error(ErrorKind::kResourceExhausted, "RATE_LIMITED",
                          "too many requests for this " + decision.scope + "; retry after " +
                              std::to_string(retry_seconds) + " s",
                          {{"scope", decision.scope},
                           {"retry_after_ms", std::to_string(decision.retry_after.count())}}),
                    429, {{"Retry-After", std::to_string(retry_seconds)}});
}

void Gateway::StartUpstreamCall(const std::shared_ptr<Call>& call, std::string binary,
                                std::chrono::milliseconds timeout) {
  const Route& route = *call->route;
  Upstream* upstream = upstreams_.Find(route.upstream);
  call->context = std::make_unique<grpc::ClientContext>();
  call->context->set_deadline(std::chrono::system_clock::now() + timeout);
  call->context->AddMetadata("authorization",
                             std::string(Trim(call->request.Header("authorization"))));
  call->context->AddMetadata("x-request-id", call->request_id);
  grpc::Slice slice(std::move(binary));
  call->upstream_request = grpc::ByteBuffer(&slice, 1);
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    if (shut_down_) {
      throw Error(ErrorKind::kUnavailable, "SHUTTING_DOWN", "the gateway is shutting down; retry");
    }
    active_calls_.insert(call->context.get());
  }
  call->upstream_started = std::chrono::steady_clock::now();
  call->upstream_reader = upstream->stub().PrepareUnaryCall(
      call->context.get(), route.grpc_path, call->upstream_request, completions_.queue());
  call->upstream_reader->StartCall();
  call->upstream_reader->Finish(
      &call->upstream_response, &call->upstream_status,
      UpstreamCompletions::MakeTag([this, call] { OnUpstreamDone(call, call->upstream_status); }));
}

void Gateway::OnUpstreamDone(const std::shared_ptr<Call>& call, const grpc::Status& status) {
  const Route& route = *call->route;
  metrics_.ObserveUpstream(route_metrics_.at(&route), route.method->service()->full_name(),
                           route.method->name(), common::GrpcCodeName(status.error_code()),
                           std::chrono::steady_clock::now() - call->upstream_started);
  HttpResponse response;
  if (status.ok()) {
    try {
      response.body = transcoder_->ToJson(route, ToString(call->upstream_response));
    } catch (const Error& error) {
      logger_->Log(common::LogLevel::kError, "bad upstream response",
                   {.request_id = call->request_id, .rpc = route.method->name()},
                   {{"error", error.what()}});
      response = GatewayErrorResponse(common::Internal("the " + route.upstream +
                                                       " service answered something the gateway "
                                                       "cannot read"));
    }
  } else {
    response = UpstreamErrorResponse(status, route.upstream);
  }
  Finish(call, std::move(response));
  std::lock_guard<std::mutex> lock(calls_mu_);
  active_calls_.erase(call->context.get());
  if (active_calls_.empty()) calls_done_.notify_all();
}

bool Gateway::OriginAllowed(std::string_view origin) const {
  return std::any_of(
      config_.cors_origins.begin(), config_.cors_origins.end(),
      [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

void Gateway::Finish(const std::shared_ptr<Call>& call, HttpResponse response) {
  response.AddHeader("X-Request-Id", call->request_id);
  if (!call->origin.empty()) {
    response.AddHeader("Access-Control-Allow-Origin", call->origin);
    response.AddHeader("Vary", "Origin");
    response.AddHeader("Access-Control-Expose-Headers", std::string(kCorsExposeHeaders));
  }
  if (response.content_type == "application/json") response.AddHeader("Cache-Control", "no-store");
  // While draining, clients are told to reconnect (to another replica).
  if (draining_) response.close_connection = true;
  const auto elapsed = std::chrono::steady_clock::now() - call->started;
  if (call->route != nullptr) {
    metrics_.ObserveRequest(route_metrics_.at(call->route), call->request.method, call->route_label,
                            response.status, elapsed);
  } else {
    metrics_.ObserveRequest(call->request.method, call->route_label, response.status, elapsed);
  }
  const common::LogLevel level =
      response.status >= 500 ? common::LogLevel::kWarn : common::LogLevel::kInfo;
  if (logger_->Enabled(level)) {
    logger_->Log(level, "http request",
                 {.request_id = call->request_id,
                  .site = call->site,
                  .principal = call->principal,
                  .rpc = call->route != nullptr ? std::string_view(call->route->method->name())
                                                : std::string_view()},
                 {{"method", call->request.method},
                  {"route", call->route_label},
                  {"status", response.status},
                  {"ms", std::chrono::duration<double, std::milli>(elapsed).count()}});
  }
  Respond respond = std::move(call->respond);
  respond(std::move(response));
}

}  // namespace propdesk::gateway
