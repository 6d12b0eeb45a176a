#pragma once

// The one way a unary gRPC handler is written (ARCHITECTURE.md §4, §5, §9):
//
//   grpc::ServerUnaryReactor* TicketsService::GetTicket(
//       grpc::CallbackServerContext* ctx, const GetTicketRequest* request,
//       GetTicketResponse* response) {
//     return RunUnary(env_, ctx, {"GetTicket", request->site_id()},
//                     [=, this](const CallContext& call) {
//                       RequireSiteAccess(call.caller(), request->site_id(), …);
//                       *response->mutable_ticket() = store_.Get(…);
//                     });
//   }
//
// On the gRPC thread RunUnary only reads metadata: it verifies
// `authorization: Bearer <jwt>` (missing or bad → UNAUTHENTICATED), takes
// `x-request-id` (or makes one up, and echoes it in the initial metadata),
// and queues `fn` on the blocking executor (queue full → RESOURCE_EXHAUSTED
// "SERVER_BUSY"). On the executor it runs `fn` unless the client's deadline
// has already passed (→ DEADLINE_EXCEEDED, fn not run) or the call was
// cancelled, maps whatever `fn` throws with StatusFromException, writes one
// log line per call (rpc, code, ms, request id, principal, site) and
// finishes the reactor. `fn` returns void (OK) or a grpc::Status.
// `request` and `response` stay valid until the reactor is finished, so `fn`
// may capture the pointers.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/errors.h"
#include "common/executor.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/principal.h"

namespace propdesk::common {

// What every handler of a service shares; must outlive the server.
struct CallEnv {
  BlockingExecutor* executor = nullptr;
  const JwtVerifier* verifier = nullptr;  // may be null if no call needs auth
  const Logger* logger = nullptr;         // null → DefaultLogger()
};

// The RPC's name for logs and, when the request names one, its site.
struct CallInfo {
  CallInfo(const char* rpc_name) : rpc(rpc_name) {}  // NOLINT: implicit on purpose
  CallInfo(std::string_view rpc_name, std::string_view site_id = {})
      : rpc(rpc_name), site(site_id) {}
  std::string_view rpc;
  std::string_view site;
};

// What `fn` learns about its call.
struct CallContext {
  std::string rpc;
  std::string site;                    // as the request names it ("" when it names none)
  std::string request_id;              // x-request-id of the client, or generated
  std::optional<Principal> principal;  // always set under RunUnary
  std::chrono::system_clock::time_point deadline;  // the client's, or max()
  grpc::CallbackServerContext* server_context = nullptr;
  const Logger* logger = nullptr;

  // The verified caller; throws Error(kUnauthenticated) when anonymous.
  const Principal& caller() const;
  // For log lines written inside `fn`.
  LogContext log_context() const;
};

namespace call_internal {
struct CallState;
}  // namespace call_internal

// The answer of a call run by RunUnaryAsync, which may be given later and on
// another thread (a batch that commits many calls at once). Move-only; the
// first Finish or Fail answers the call, logs its line and finishes the
// reactor. A Completion destroyed unanswered answers INTERNAL, so a call is
// never left hanging. Write the response message before finishing: gRPC
// owns it again afterwards.
class Completion {
 public:
  Completion() = default;
  Completion(CallEnv* env, std::shared_ptr<call_internal::CallState> state);
  Completion(Completion&& other) noexcept = default;
  Completion& operator=(Completion&& other) noexcept;
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  ~Completion();

  void Finish(const grpc::Status& status = grpc::Status::OK);
  // Answers with the status `error` maps to (StatusFromException).
  void Fail(std::exception_ptr error);
  // When the client's deadline has passed or it cancelled, answers so and
  // returns true: the work need not be done.
  bool FinishIfNoLongerWanted();
  // True until answered (and false for a moved-from Completion).
  bool pending() const { return state_ != nullptr; }
  const CallContext& context() const;

 private:
  CallEnv* env_ = nullptr;
  std::shared_ptr<call_internal::CallState> state_;
};

namespace call_internal {

struct CallState {
  CallContext context;
  std::chrono::steady_clock::time_point started;
  grpc::ServerUnaryReactor* reactor = nullptr;
  bool finished_early = false;
};

enum class Auth { kRequired, kOptional };

// Request id, deadline and, per `auth`, the principal. Throws on bad auth.
void Begin(const CallEnv& env, grpc::CallbackServerContext* ctx, const CallInfo& info, Auth auth,
           CallState& state);
// A new call's state after Begin; when Begin refused the call (bad
// credentials), the call is already answered and `finished_early` is set.
std::shared_ptr<CallState> Start(const CallEnv& env, grpc::CallbackServerContext* ctx,
                                 const CallInfo& info, Auth auth);
// Nullopt when `fn` may run; otherwise the status to finish with.
std::optional<grpc::Status> CheckStillWanted(const CallState& state);
// Logs the call's one line and finishes its reactor.
void Finish(const CallEnv& env, CallState& state, const grpc::Status& status,
            std::string_view log_detail);
grpc::Status ServerBusy();

template <class Fn>
grpc::Status Invoke(Fn& fn, const CallContext& context, std::string* log_detail) {
  try {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&, const CallContext&>, grpc::Status>) {
      return fn(context);
    } else {
      fn(context);
      return grpc::Status::OK;
    }
  } catch (...) {
    return StatusFromException(std::current_exception(), log_detail);
  }
}

template <class Fn>
grpc::ServerUnaryReactor* Run(CallEnv& env, grpc::CallbackServerContext* ctx, const CallInfo& info,
                              Auth auth, Fn fn) {
  std::shared_ptr<CallState> state = Start(env, ctx, info, auth);
  grpc::ServerUnaryReactor* reactor = state->reactor;
  if (state->finished_early) return reactor;
  const bool queued = env.executor->Submit([&env, state, fn = std::move(fn)]() mutable {
    if (std::optional<grpc::Status> refused = CheckStillWanted(*state)) {
      Finish(env, *state, *refused, "");
      return;
    }
    std::string detail;
    const grpc::Status status = Invoke(fn, state->context, &detail);
    Finish(env, *state, status, detail);
  });
  if (!queued) Finish(env, *state, ServerBusy(), "executor queue full");
  return reactor;
}

// Like Run, but `fn(const CallContext&, Completion&)` may move the
// Completion away to answer later; one it leaves in place is answered when
// it returns (OK, or what it threw).
template <class Fn>
grpc::ServerUnaryReactor* RunAsync(CallEnv& env, grpc::CallbackServerContext* ctx,
                                   const CallInfo& info, Fn fn) {
  std::shared_ptr<CallState> state = Start(env, ctx, info, Auth::kRequired);
  grpc::ServerUnaryReactor* reactor = state->reactor;
  if (state->finished_early) return reactor;
  const bool queued = env.executor->Submit([&env, state, fn = std::move(fn)]() mutable {
    Completion done(&env, state);
    if (done.FinishIfNoLongerWanted()) return;
    try {
      fn(state->context, done);
    } catch (...) {
      if (done.pending()) done.Fail(std::current_exception());
      return;
    }
    if (done.pending()) done.Finish();
  });
  if (!queued) Finish(env, *state, ServerBusy(), "executor queue full");
  return reactor;
}

}  // namespace call_internal

// Authenticated unary call whose answer may come later from another thread:
// `fn(const CallContext& call, Completion& done)` validates and hands `done`
// (moved) to whatever finishes the work, typically a BatchQueue, so that
// the executor thread is free at once instead of waiting for the batch.
// Everything else is as RunUnary.
template <class Fn>
grpc::ServerUnaryReactor* RunUnaryAsync(CallEnv& env, grpc::CallbackServerContext* ctx,
                                        const CallInfo& info, Fn fn) {
  return call_internal::RunAsync(env, ctx, info, std::move(fn));
}

// Authenticated unary call (the default for every business RPC).
template <class Fn>
grpc::ServerUnaryReactor* RunUnary(CallEnv& env, grpc::CallbackServerContext* ctx,
                                   const CallInfo& info, Fn fn) {
  return call_internal::Run(env, ctx, info, call_internal::Auth::kRequired, std::move(fn));
}

// For calls that anonymous callers may make (status pages, health-like
// checks): no token is needed, but a token that is sent must verify, and
// then `principal` is set.
template <class Fn>
grpc::ServerUnaryReactor* RunUnaryAnonymous(CallEnv& env, grpc::CallbackServerContext* ctx,
                                            const CallInfo& info, Fn fn) {
  return call_internal::Run(env, ctx, info, call_internal::Auth::kOptional, std::move(fn));
}

}  // namespace propdesk::common
