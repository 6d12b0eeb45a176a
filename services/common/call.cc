#include "common/call.h"

#include <cstdint>
#include <random>

namespace propdesk::common {
namespace {

constexpr std::string_view kAuthorizationHeader = "authorization";
constexpr std::string_view kRequestIdHeader = "x-request-id";
constexpr size_t kMaxRequestIdLength = 128;

// The first value of a client metadata key, if any.
std::optional<std::string> Metadata(const grpc::CallbackServerContext& ctx, std::string_view key) {
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

// A client's request id is kept only if it is short and plain, so it can go
// into log lines and metadata as it is.
bool IsUsableRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == ':';
    if (!plain) return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(32);
  for (int word = 0; word < 2; ++word) {
    uint64_t bits = random();
    for (int i = 0; i < 16; ++i, bits >>= 4) id.push_back(kHex[bits & 0xF]);
  }
  return id;
}

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char a = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (a != prefix[i]) return false;
  }
  return true;
}

// The token of "Bearer <token>"; nullopt when no authorization was sent.
std::optional<std::string> BearerToken(const grpc::CallbackServerContext& ctx) {
  std::optional<std::string> header = Metadata(ctx, kAuthorizationHeader);
  if (!header) return std::nullopt;
  std::string_view value = *header;
  if (!StartsWithIgnoringCase(value, "bearer ")) {
    throw Error(ErrorKind::kUnauthenticated, "BAD_CREDENTIALS",
                "the authorization metadata must be \"Bearer <token>\"");
  }
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return std::string(value);
}

LogLevel LevelFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      return LogLevel::kError;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return LogLevel::kWarn;
    default:
      return LogLevel::kInfo;
  }
}

}  // namespace

const Principal& CallContext::caller() const {
  if (!principal) {
    throw Error(ErrorKind::kUnauthenticated, "MISSING_CREDENTIALS",
                "this call needs \"authorization: Bearer <token>\" metadata");
  }
  return *principal;
}

LogContext CallContext::log_context() const {
  return LogContext{.request_id = request_id,
                    .site = site,
                    .principal = principal ? std::string_view(principal->staff_id) : "",
                    .rpc = rpc};
}

Completion::Completion(CallEnv* env, std::shared_ptr<call_internal::CallState> state)
    : env_(env), state_(std::move(state)) {}

Completion& Completion::operator=(Completion&& other) noexcept {
  if (this != &other) {
    if (pending()) Finish(grpc::Status(grpc::StatusCode::INTERNAL, "the call was dropped"));
    env_ = other.env_;
    state_ = std::move(other.state_);
  }
  return *this;
}

Completion::~Completion() {
  if (!pending()) return;
  // A programming error, never a client's: answer rather than hang the call.
  call_internal::Finish(*env_, *state_,
                        ToGrpcStatus(Internal("the call was dropped without an answer")),
                        "completion dropped without an answer");
}

void Completion::Finish(const grpc::Status& status) {
  if (!pending()) return;
  std::shared_ptr<call_internal::CallState> state = std::move(state_);
  call_internal::Finish(*env_, *state, status, "");
}

void Completion::Fail(std::exception_ptr error) {
  if (!pending()) return;
  std::string detail;
  const grpc::Status status = StatusFromException(error, &detail);
  std::shared_ptr<call_internal::CallState> state = std::move(state_);
  call_internal::Finish(*env_, *state, status, detail);
}

bool Completion::FinishIfNoLongerWanted() {
  if (!pending()) return true;
  std::optional<grpc::Status> refused = call_internal::CheckStillWanted(*state_);
  if (!refused) return false;
  Finish(*refused);
  return true;
}

const CallContext& Completion::context() const {
  if (!state_) throw Internal("context() of an answered Completion");
  return state_->context;
}

namespace call_internal {

void Begin(const CallEnv& env, grpc::CallbackServerContext* ctx, const CallInfo& info, Auth auth,
           CallState& state) {
  CallContext& call = state.context;
  call.rpc = std::string(info.rpc);
  call.site = std::string(info.site);
  call.server_context = ctx;
  call.logger = env.logger;
  call.deadline = ctx->deadline();
  std::optional<std::string> request_id = Metadata(*ctx, kRequestIdHeader);
  call.request_id = request_id && IsUsableRequestId(*request_id) ? *request_id : NewRequestId();
  ctx->AddInitialMetadata(std::string(kRequestIdHeader), call.request_id);

  std::optional<std::string> token = BearerToken(*ctx);
  if (!token || token->empty()) {
    if (auth == Auth::kOptional) return;
    throw Error(ErrorKind::kUnauthenticated, "MISSING_CREDENTIALS",
                "this call needs \"authorization: Bearer <token>\" metadata");
  }
  if (env.verifier == nullptr) {
    throw Internal("no JWT verifier is configured for this service");
  }
  call.principal = env.verifier->Verify(*token, std::chrono::system_clock::now());
}

std::shared_ptr<CallState> Start(const CallEnv& env, grpc::CallbackServerContext* ctx,
                                 const CallInfo& info, Auth auth) {
  auto state = std::make_shared<CallState>();
  state->started = std::chrono::steady_clock::now();
  state->reactor = ctx->DefaultReactor();
  try {
    Begin(env, ctx, info, auth, *state);
  } catch (...) {
    std::string detail;
    Finish(env, *state, StatusFromException(std::current_exception(), &detail), detail);
    state->finished_early = true;
  }
  return state;
}

std::optional<grpc::Status> CheckStillWanted(const CallState& state) {
  if (std::chrono::system_clock::now() >= state.context.deadline) {
    return ToGrpcStatus(Error(ErrorKind::kDeadlineExceeded, "DEADLINE_EXCEEDED",
                              "the call's deadline passed while it waited for a thread"));
  }
  if (state.context.server_context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled");
  }
  return std::nullopt;
}

grpc::Status ServerBusy() {
  return ToGrpcStatus(Error(ErrorKind::kResourceExhausted, "SERVER_BUSY",
                            "the server is busy; retry with backoff"));
}

void Finish(const CallEnv& env, CallState& state, const grpc::Status& status,
            std::string_view log_detail) {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - state.started)
          .count();
  std::shared_ptr<const Logger> fallback;
  const Logger* logger = env.logger;
  if (logger == nullptr) {
    fallback = DefaultLogger();
    logger = fallback.get();
  }
  const grpc::StatusCode code = status.error_code();
  const LogLevel level = LevelFor(code);
  if (logger->Enabled(level)) {
    // grpc::Status::error_message() returns a copy: keep it alive here.
    const std::string error = !log_detail.empty() ? std::string(log_detail)
                              : status.ok()       ? std::string()
                                                  : status.error_message();
    if (error.empty()) {
      logger->Log(level, "rpc", state.context.log_context(),
                  {{"code", GrpcCodeName(code)}, {"ms", ms}});
    } else {
      logger->Log(level, "rpc", state.context.log_context(),
                  {{"code", GrpcCodeName(code)}, {"ms", ms}, {"error", error}});
    }
  }
  state.reactor->Finish(status);
}

}  // namespace call_internal
}  // namespace propdesk::common
