// The platform's gRPC layer end to end: an in-process EchoService written
// with RunUnary on a loopback port 0, its health, reflection and metrics,
// and the graceful stop. No MariaDB or Redis: readiness probes are flags.

#include <arpa/inet.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/call.h"
#include "common/errors.h"
#include "common/executor.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/readiness.h"
#include "common/server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "propdesk/testing/v1/echo.grpc.pb.h"

namespace propdesk::common {
namespace {

namespace echo = ::propdesk::testing::v1;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kSecret = "test-secret-of-at-least-32-bytes!!";
constexpr ErrorKind kAllKinds[] = {
    ErrorKind::kInvalidArgument,    ErrorKind::kNotFound,         ErrorKind::kAlreadyExists,
    ErrorKind::kFailedPrecondition, ErrorKind::kAborted,          ErrorKind::kUnavailable,
    ErrorKind::kUnauthenticated,    ErrorKind::kPermissionDenied, ErrorKind::kResourceExhausted,
    ErrorKind::kDeadlineExceeded,   ErrorKind::kInternal};

// ---------------------------------------------------------------------------
// Log lines, captured and awaitable.
class CapturedLog {
 public:
  LogSink Sink() {
    return [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
      cv_.notify_all();
    };
  }

  std::string Dump() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const std::string& line : lines_) all += line;
    return all;
  }

  static google::protobuf::Struct Parse(const std::string& line) {
    google::protobuf::Struct parsed;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
    return parsed;
  }

  // Waits up to 5 s for a line whose every `fields` entry matches (string
  // fields); returns it parsed.
  std::optional<google::protobuf::Struct> WaitFor(
      const std::map<std::string, std::string>& fields) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<google::protobuf::Struct> found;
    cv_.wait_for(lock, seconds(5), [&] {
      for (const std::string& line : lines_) {
        google::protobuf::Struct parsed = Parse(line);
        bool all = true;
        for (const auto& [key, value] : fields) {
          auto it = parsed.fields().find(key);
          if (it == parsed.fields().end() || it->second.string_value() != value) all = false;
        }
        if (all) {
          found = parsed;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;  // guarded by mu_
};

// ---------------------------------------------------------------------------
// A gate a handler can be held at until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;  // guarded by mu_
};

// ---------------------------------------------------------------------------
// The service under test: Echo written the one way handlers are written.
// message "hold" parks the handler at `hold_gate` (an in-flight call the
// test controls); fail_with picks the ErrorKind of that gRPC code, or
// throws a plain exception with a secret in it when no kind has that code.
class EchoServiceImpl final : public echo::EchoService::CallbackService {
 public:
  EchoServiceImpl(CallEnv& env, bool anonymous) : env_(env), anonymous_(anonymous) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const echo::EchoRequest* request,
                                 echo::EchoResponse* response) override {
    auto fn = [this, request, response](const CallContext& call) {
      Invoked();
      if (request->message() == "hold") hold_gate.Wait();
      if (request->sleep_ms() > 0) std::this_thread::sleep_for(milliseconds(request->sleep_ms()));
      if (request->fail_with() != 0) Fail(static_cast<grpc::StatusCode>(request->fail_with()));
      response->set_message(request->message());
      if (call.principal) response->set_principal(call.principal->staff_id);
      finished.fetch_add(1);
    };
    if (request->message().rfind("async", 0) == 0) return EchoAsync(ctx, request, response);
    if (anonymous_) return RunUnaryAnonymous(env_, ctx, {"Echo", request->site_id()}, fn);
    return RunUnary(env_, ctx, {"Echo", request->site_id()}, fn);
  }

  // RunUnaryAsync: "async-park" hands the Completion to the test (parked,
  // answered by Unpark), "async-drop" lets it go unanswered, any other
  // "async…" leaves it to RunUnaryAsync (answered when the handler returns
  // or throws; fail_with as above).
  grpc::ServerUnaryReactor* EchoAsync(grpc::CallbackServerContext* ctx,
                                      const echo::EchoRequest* request,
                                      echo::EchoResponse* response) {
    return RunUnaryAsync(env_, ctx, {"Echo", request->site_id()},
                         [this, request, response](const CallContext&, Completion& done) {
                           Invoked();
                           if (request->fail_with() != 0) {
                             Fail(static_cast<grpc::StatusCode>(request->fail_with()));
                           }
                           if (request->message() == "async-drop") {
                             Completion dropped = std::move(done);
                             return;
                           }
                           if (request->message() == "async-park") {
                             std::lock_guard<std::mutex> lock(mu_);
                             parked_.push_back({std::move(done), response});
                             cv_.notify_all();
                             return;
                           }
                           response->set_message(request->message());
                         });
  }

  // Waits for a parked call and answers it with `message`, from this thread.
  void Unpark(const std::string& message) {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, seconds(5), [&] { return !parked_.empty(); }));
    Parked parked = std::move(parked_.front());
    parked_.erase(parked_.begin());
    lock.unlock();
    EXPECT_TRUE(parked.done.pending());
    parked.response->set_message(message);
    parked.done.Finish();
    EXPECT_FALSE(parked.done.pending());
  }

  void WaitInvoked(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, seconds(5), [&] { return invoked_ >= n; }))
        << "handler ran " << invoked_ << " times, waited for " << n;
  }
  int invoked() {
    std::lock_guard<std::mutex> lock(mu_);
    return invoked_;
  }

  Gate hold_gate;
  std::atomic<int> finished{0};

 private:
  static void Fail(grpc::StatusCode code) {
    for (ErrorKind kind : kAllKinds) {
      if (ToGrpcCode(kind) == code) {
        throw Error(kind, "ECHO_FAILURE", "asked to fail", {{"asked", std::to_string(code)}});
      }
    }
    throw std::runtime_error("secret internals: password=hunter2");
  }

  void Invoked() {
    std::lock_guard<std::mutex> lock(mu_);
    ++invoked_;
    cv_.notify_all();
  }

  CallEnv& env_;
  const bool anonymous_;
  std::mutex mu_;
  std::condition_variable cv_;
  int invoked_ = 0;  // guarded by mu_
  struct Parked {
    Completion done;
    echo::EchoResponse* response;
  };
  std::vector<Parked> parked_;  // guarded by mu_
};

JwtVerifier MakeVerifier() {
  JwtConfig config;
  config.hs256_secret = kSecret;
  config.audience = "propdesk";
  return JwtVerifier(config);
}

std::string Token(std::string subject = "s-17",
                  seconds valid_for = std::chrono::duration_cast<seconds>(std::chrono::hours(1)),
                  const std::string& secret = kSecret) {
  const auto now = std::chrono::system_clock::now();
  JwtClaims claims;
  claims.subject = std::move(subject);
  claims.group = "g1";
  claims.audience = "propdesk";
  claims.sites = {"SZ01"};
  claims.roles = {"front_desk"};
  claims.issued_at = now - seconds(120);
  claims.expires_at = now + valid_for;
  return SignJwtHs256(claims, secret);
}

// GET http://127.0.0.1:<port><path> with a bare socket; returns the body.
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.", 0), 0u) << response.substr(0, 200);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the sample `name{...}` whose labels include every one of
// `labels` (exact label="value" pairs), from Prometheus text format.
std::optional<double> Sample(const std::string& text, const std::string& name,
                             const std::vector<std::string>& labels) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    const size_t close = line.rfind('}');
    const std::string label_text = close == std::string::npos ? "" : line.substr(0, close);
    bool all = true;
    for (const std::string& label : labels) {
      if (label_text.find(label) == std::string::npos) all = false;
    }
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
class GrpcServerTest : public ::testing::Test {
 protected:
  void Start(int executor_threads = 2, int executor_queue = 16, bool anonymous = false) {
    executor_ = std::make_unique<BlockingExecutor>(executor_threads, executor_queue);
    env_ = CallEnv{executor_.get(), &verifier_, &logger_};
    service_ = std::make_unique<EchoServiceImpl>(env_, anonymous);
    metrics_ = std::make_unique<MetricsServer>("echo-test", 0, "127.0.0.1", "1.2.3");
    GrpcServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.health_names = {echo::EchoService::service_full_name()};
    server_ = std::make_unique<GrpcServer>(options, std::vector<grpc::Service*>{service_.get()},
                                           &metrics_->registry(), &logger_);
    prober_ = std::make_unique<ReadinessProber>(
        std::vector<ReadinessProbe>{{"mysql", [this] { return mysql_up_.load(); }}},
        milliseconds(5), [this](bool ready) { server_->SetServing(ready); }, &logger_);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = echo::EchoService::NewStub(channel_);
    health_ = Health::NewStub(channel_);
  }

  void TearDown() override {
    if (prober_) prober_->Stop();
    if (service_) service_->hold_gate.Open();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    if (executor_) executor_->Stop();
  }

  struct CallOptions {
    std::optional<std::string> authorization = {};  // the whole metadata value
    milliseconds deadline{5000};
    std::string request_id = {};
    std::multimap<std::string, std::string>* initial_metadata = nullptr;
  };

  grpc::Status Call(const echo::EchoRequest& request, echo::EchoResponse* response,
                    const CallOptions& options) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options.deadline);
    if (options.authorization) ctx.AddMetadata("authorization", *options.authorization);
    if (!options.request_id.empty()) ctx.AddMetadata("x-request-id", options.request_id);
    grpc::Status status = stub_->Echo(&ctx, request, response);
    if (options.initial_metadata != nullptr) {
      for (const auto& [key, value] : ctx.GetServerInitialMetadata()) {
        options.initial_metadata->emplace(std::string(key.data(), key.size()),
                                          std::string(value.data(), value.size()));
      }
    }
    return status;
  }

  // An authenticated call.
  grpc::Status Call(const echo::EchoRequest& request, echo::EchoResponse* response,
                    milliseconds deadline = milliseconds(5000)) {
    return Call(request, response, {.authorization = "Bearer " + Token(), .deadline = deadline});
  }

  static echo::EchoRequest Request(std::string message, int fail_with = 0, int sleep_ms = 0) {
    echo::EchoRequest request;
    request.set_site_id("SZ01");
    request.set_message(std::move(message));
    request.set_fail_with(fail_with);
    request.set_sleep_ms(sleep_ms);
    return request;
  }

  HealthCheckResponse::ServingStatus Health(const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status status = health_->Check(&ctx, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return HealthCheckResponse::UNKNOWN;
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  CapturedLog log_;
  Logger logger_{"echo-test", LogLevel::kDebug, log_.Sink()};
  JwtVerifier verifier_ = MakeVerifier();
  std::atomic<bool> mysql_up_{true};
  std::unique_ptr<BlockingExecutor> executor_;
  CallEnv env_;
  std::unique_ptr<EchoServiceImpl> service_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<ReadinessProber> prober_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<echo::EchoService::Stub> stub_;
  std::unique_ptr<Health::Stub> health_;
};

// --- authentication (ARCHITECTURE.md §9) ------------------------------------

TEST_F(GrpcServerTest, CallWithoutTokenIsUnauthenticatedAndNeverRuns) {
  Start();
  echo::EchoResponse response;
  const grpc::Status status = Call(Request("hi"), &response, CallOptions{});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ErrorInfoView info;
  ASSERT_TRUE(ExtractErrorInfo(status, &info));
  EXPECT_EQ(info.reason, "MISSING_CREDENTIALS");
  EXPECT_EQ(service_->invoked(), 0);
}

TEST_F(GrpcServerTest, BadCredentialsAreUnauthenticated) {
  Start();
  const std::pair<std::string, std::string> cases[] = {
      {"Basic dXNlcjpwdw==", "BAD_CREDENTIALS"},
      {"Bearer not.a.jwt", ""},
      {"Bearer " + Token("s-17", seconds(-600)), "TOKEN_EXPIRED"},
      {"Bearer " + Token("s-17", seconds(3600), "another-secret-of-at-least-32-bytes"),
       "BAD_SIGNATURE"},
  };
  for (const auto& [authorization, reason] : cases) {
    echo::EchoResponse response;
    const grpc::Status status = Call(Request("hi"), &response, {.authorization = authorization});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << authorization;
    ErrorInfoView info;
    ASSERT_TRUE(ExtractErrorInfo(status, &info));
    if (!reason.empty()) {
      EXPECT_EQ(info.reason, reason) << authorization;
    }
  }
  EXPECT_EQ(service_->invoked(), 0);
}

TEST_F(GrpcServerTest, ValidTokenRunsTheHandlerAsThatPrincipal) {
  Start();
  echo::EchoResponse response;
  const grpc::Status status =
      Call(Request("hello"), &response, {.authorization = "bearer " + Token("s-42")});
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.message(), "hello");
  EXPECT_EQ(response.principal(), "s-42");
}

TEST_F(GrpcServerTest, AnonymousVariantNeedsNoTokenButRejectsABadOne) {
  Start(2, 16, /*anonymous=*/true);
  echo::EchoResponse response;
  ASSERT_TRUE(Call(Request("anon"), &response, CallOptions{}).ok());
  EXPECT_EQ(response.principal(), "");
  EXPECT_EQ(Call(Request("anon"), &response, {.authorization = "Bearer junk"}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Call(Request("anon"), &response, {.authorization = "Bearer " + Token("s-9")}).ok());
  EXPECT_EQ(response.principal(), "s-9");
}

// --- request id and the per-call log line -----------------------------------

TEST_F(GrpcServerTest, RequestIdIsKeptEchoedAndLoggedWithTheCall) {
  Start();
  echo::EchoResponse response;
  std::multimap<std::string, std::string> initial;
  ASSERT_TRUE(Call(Request("hi"), &response,
                   {.authorization = "Bearer " + Token(),
                    .request_id = "req-42",
                    .initial_metadata = &initial})
                  .ok());
  ASSERT_EQ(initial.count("x-request-id"), 1u);
  EXPECT_EQ(initial.find("x-request-id")->second, "req-42");

  const auto line = log_.WaitFor({{"msg", "rpc"}, {"request_id", "req-42"}});
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->fields().at("rpc").string_value(), "Echo");
  EXPECT_EQ(line->fields().at("code").string_value(), "OK");
  EXPECT_EQ(line->fields().at("principal").string_value(), "s-17");
  EXPECT_EQ(line->fields().at("site").string_value(), "SZ01");
  EXPECT_EQ(line->fields().at("level").string_value(), "info");
  EXPECT_GE(line->fields().at("ms").number_value(), 0.0);
}

TEST_F(GrpcServerTest, UnusableRequestIdIsReplacedByAGeneratedOne) {
  Start();
  echo::EchoResponse response;
  std::multimap<std::string, std::string> initial;
  ASSERT_TRUE(Call(Request("hi"), &response,
                   {.authorization = "Bearer " + Token(),
                    .request_id = "has spaces\"quote",
                    .initial_metadata = &initial})
                  .ok());
  ASSERT_EQ(initial.count("x-request-id"), 1u);
  const std::string id = initial.find("x-request-id")->second;
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
}

// --- error mapping over the wire (ARCHITECTURE.md §5) ------------------------

TEST_F(GrpcServerTest, ThrownErrorsReachTheClientWithTheirCodeAndErrorInfo) {
  SetErrorDomain("testing.propdesk");
  Start();
  for (ErrorKind kind : kAllKinds) {
    const grpc::StatusCode code = ToGrpcCode(kind);
    echo::EchoResponse response;
    const grpc::Status status = Call(Request("x", static_cast<int>(code)), &response);
    EXPECT_EQ(status.error_code(), code) << GrpcCodeName(code);
    EXPECT_EQ(status.error_message(), "asked to fail");
    ErrorInfoView info;
    ASSERT_TRUE(ExtractErrorInfo(status, &info)) << GrpcCodeName(code);
    EXPECT_EQ(info.reason, "ECHO_FAILURE");
    EXPECT_EQ(info.domain, "testing.propdesk");
    EXPECT_EQ(info.metadata.at("asked"), std::to_string(static_cast<int>(code)));
  }
  SetErrorDomain("propdesk");
}

TEST_F(GrpcServerTest, UnexpectedExceptionIsGenericInternalAndItsTextOnlyLogged) {
  Start();
  echo::EchoResponse response;
  const grpc::Status status =
      Call(Request("x", static_cast<int>(grpc::StatusCode::OUT_OF_RANGE)), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
  EXPECT_EQ(status.error_details().find("hunter2"), std::string::npos);
  const auto line = log_.WaitFor({{"msg", "rpc"}, {"code", "INTERNAL"}});
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->fields().at("level").string_value(), "error");
  EXPECT_NE(line->fields().at("error").string_value().find("hunter2"), std::string::npos);
}

// --- the executor: busy and deadlines (ARCHITECTURE.md §4) -------------------

TEST_F(GrpcServerTest, FullExecutorQueueAnswersServerBusy) {
  Start(/*executor_threads=*/1, /*executor_queue=*/1);
  echo::EchoResponse held_response;
  echo::EchoResponse queued_response;
  auto held = std::async(std::launch::async, [&] { return Call(Request("hold"), &held_response); });
  service_->WaitInvoked(1);  // the only thread is busy
  auto queued =
      std::async(std::launch::async, [&] { return Call(Request("q"), &queued_response); });
  const auto until = std::chrono::steady_clock::now() + seconds(5);
  while (executor_->queued() < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_EQ(executor_->queued(), 1u);

  echo::EchoResponse response;
  const grpc::Status busy = Call(Request("one too many"), &response);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ErrorInfoView info;
  ASSERT_TRUE(ExtractErrorInfo(busy, &info));
  EXPECT_EQ(info.reason, "SERVER_BUSY");

  service_->hold_gate.Open();
  EXPECT_TRUE(held.get().ok());
  EXPECT_TRUE(queued.get().ok());
  EXPECT_EQ(queued_response.message(), "q");
  EXPECT_EQ(service_->invoked(), 2);
}

TEST_F(GrpcServerTest, CallWhoseDeadlinePassedInTheQueueIsNotRun) {
  Start(/*executor_threads=*/1, /*executor_queue=*/4);
  echo::EchoResponse held_response;
  auto held = std::async(std::launch::async, [&] { return Call(Request("hold"), &held_response); });
  service_->WaitInvoked(1);

  echo::EchoResponse response;
  const auto late_deadline = std::chrono::system_clock::now() + milliseconds(100);
  const grpc::Status late = Call(Request("late"), &response, milliseconds(100));
  EXPECT_EQ(late.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  // The server's copy of the deadline is the client's plus the loopback
  // transit time; the condition awaited here is the passing of time itself.
  std::this_thread::sleep_until(late_deadline + milliseconds(50));
  service_->hold_gate.Open();  // the queued call is dequeued after its deadline
  EXPECT_TRUE(held.get().ok());
  const auto line = log_.WaitFor({{"msg", "rpc"}, {"code", "DEADLINE_EXCEEDED"}});
  ASSERT_TRUE(line.has_value()) << log_.Dump();
  EXPECT_EQ(line->fields().at("level").string_value(), "warn");
  EXPECT_EQ(line->fields().at("error").string_value(),
            "the call's deadline passed while it waited for a thread");
  executor_->Stop();  // every queued task has run
  EXPECT_EQ(service_->invoked(), 1) << "the expired call's handler must not run";
}

// --- metrics (ARCHITECTURE.md §10) -------------------------------------------

// RunUnaryAsync (the shape of batched calls): the executor thread is free as
// soon as the handler has handed its Completion on, and the call is answered
// whenever, from whichever thread, the Completion is finished.
TEST_F(GrpcServerTest, AsyncCallIsAnsweredLaterFromAnotherThreadAndFreesItsExecutorThread) {
  Start(/*executor_threads=*/1);
  echo::EchoResponse parked_response;
  grpc::Status parked_status;
  std::thread parked_call([&] { parked_status = Call(Request("async-park"), &parked_response); });
  service_->WaitInvoked(1);
  // The one executor thread already serves the next call.
  echo::EchoResponse response;
  ASSERT_TRUE(Call(Request("next"), &response).ok());
  EXPECT_EQ(response.message(), "next");
  service_->Unpark("answered later");
  parked_call.join();
  ASSERT_TRUE(parked_status.ok()) << parked_status.error_message();
  EXPECT_EQ(parked_response.message(), "answered later");
}

TEST_F(GrpcServerTest, AsyncHandlerThatKeepsItsCompletionIsAnsweredWhenItReturnsOrThrows) {
  Start();
  echo::EchoResponse response;
  ASSERT_TRUE(Call(Request("async-inline"), &response).ok());
  EXPECT_EQ(response.message(), "async-inline");
  const grpc::Status failed = Call(Request("async-inline", grpc::StatusCode::NOT_FOUND), &response);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::NOT_FOUND);
  const grpc::Status anonymous = Call(Request("async-inline"), &response, CallOptions{});
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcServerTest, AsyncCompletionDroppedUnansweredAnswersInternalInsteadOfHanging) {
  Start();
  echo::EchoResponse response;
  const grpc::Status status = Call(Request("async-drop"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
}

TEST_F(GrpcServerTest, MetricsAreServedOverHttpAfterCalls) {
  Start();
  echo::EchoResponse response;
  ASSERT_TRUE(Call(Request("a"), &response).ok());
  ASSERT_TRUE(Call(Request("b"), &response).ok());
  ASSERT_EQ(
      Call(Request("c", static_cast<int>(grpc::StatusCode::NOT_FOUND)), &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
  ASSERT_GT(metrics_->port(), 0);

  const std::vector<std::string> echo_labels = {R"(grpc_service="propdesk.testing.v1.EchoService")",
                                                R"(grpc_method="Echo")", R"(grpc_type="unary")"};
  auto with = [&](const std::string& extra) {
    std::vector<std::string> labels = echo_labels;
    labels.push_back(extra);
    return labels;
  };
  // The status goes out just before the interceptor's hook returns; poll
  // until the third call is counted.
  std::string text;
  const auto until = std::chrono::steady_clock::now() + seconds(5);
  do {
    text = HttpGet(metrics_->port(), "/metrics");
  } while (Sample(text, "grpc_server_handling_seconds_count", echo_labels).value_or(0) < 3 &&
           std::chrono::steady_clock::now() < until);

  EXPECT_EQ(Sample(text, "grpc_server_started_total", echo_labels), 3.0) << text;
  EXPECT_EQ(Sample(text, "grpc_server_handled_total", with(R"(grpc_code="OK")")), 2.0);
  EXPECT_EQ(Sample(text, "grpc_server_handled_total", with(R"(grpc_code="NOT_FOUND")")), 1.0);
  EXPECT_EQ(Sample(text, "grpc_server_handled_total", with(R"(grpc_code="INTERNAL")")),
            std::nullopt);
  EXPECT_EQ(Sample(text, "grpc_server_handling_seconds_count", echo_labels), 3.0);
  EXPECT_EQ(Sample(text, "grpc_server_handling_seconds_bucket", with(R"(le="0.0005")")).has_value(),
            true);
  EXPECT_EQ(Sample(text, "grpc_server_handling_seconds_bucket", with(R"(le="+Inf")")), 3.0);
  EXPECT_EQ(Sample(text, "propdesk_build_info", {R"(service="echo-test")", R"(version="1.2.3")"}),
            1.0);
}

TEST_F(GrpcServerTest, UnauthenticatedCallsAreCountedToo) {
  Start();
  echo::EchoResponse response;
  ASSERT_EQ(Call(Request("x"), &response, CallOptions{}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string text;
  const auto until = std::chrono::steady_clock::now() + seconds(5);
  const std::vector<std::string> labels = {R"(grpc_method="Echo")",
                                           R"(grpc_code="UNAUTHENTICATED")"};
  do {
    text = HttpGet(metrics_->port(), "/metrics");
  } while (!Sample(text, "grpc_server_handled_total", labels) &&
           std::chrono::steady_clock::now() < until);
  EXPECT_EQ(Sample(text, "grpc_server_handled_total", labels), 1.0) << text;
}

// --- health and readiness (ARCHITECTURE.md §12) ------------------------------

TEST_F(GrpcServerTest, HealthFollowsTheReadinessProbe) {
  Start();
  ASSERT_TRUE(prober_->WaitFor(true, milliseconds(5000)));
  const std::string name = echo::EchoService::service_full_name();
  EXPECT_EQ(Health(name), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health("no.such.Service"), HealthCheckResponse::UNKNOWN) << "NOT_FOUND";

  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  HealthCheckRequest request;
  request.set_service(name);
  auto watch = health_->Watch(&watch_ctx, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  mysql_up_ = false;  // MySQL stops answering
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(""), HealthCheckResponse::NOT_SERVING);

  mysql_up_ = true;  // and comes back
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  watch_ctx.TryCancel();
  watch->Finish();
}

TEST_F(GrpcServerTest, NotServingUntilTheFirstProbePasses) {
  mysql_up_ = false;
  Start();
  ASSERT_TRUE(prober_->WaitFor(false, milliseconds(5000)));
  EXPECT_EQ(Health(echo::EchoService::service_full_name()), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(""), HealthCheckResponse::NOT_SERVING);
}

// --- reflection --------------------------------------------------------------

// Lists services through grpc.reflection.v1alpha with the message types the
// reflection library registered, driven by protobuf reflection.
std::vector<std::string> ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  const auto* request_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest");
  const auto* response_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse");
  if (request_type == nullptr || response_type == nullptr) {
    ADD_FAILURE() << "reflection protos are not linked in";
    return {};
  }
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  std::unique_ptr<google::protobuf::Message> request(factory->GetPrototype(request_type)->New());
  request->GetReflection()->SetString(request.get(), request_type->FindFieldByName("list_services"),
                                      "");
  const std::string bytes = request->SerializeAsString();

  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  auto await = [&cq](intptr_t want) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  EXPECT_TRUE(await(1));
  grpc::Slice slice(bytes);
  call->Write(grpc::ByteBuffer(&slice, 1), reinterpret_cast<void*>(2));
  EXPECT_TRUE(await(2));
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  const bool read_ok = await(3);
  call->WritesDone(reinterpret_cast<void*>(4));
  await(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  await(5);
  cq.Shutdown();
  EXPECT_TRUE(read_ok);
  EXPECT_TRUE(status.ok()) << status.error_message();

  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(reply.Dump(&slices).ok());
  std::string reply_bytes;
  for (const grpc::Slice& s : slices) {
    reply_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  std::unique_ptr<google::protobuf::Message> response(factory->GetPrototype(response_type)->New());
  EXPECT_TRUE(response->ParseFromString(reply_bytes));
  const auto* list_field = response_type->FindFieldByName("list_services_response");
  const google::protobuf::Message& list =
      response->GetReflection()->GetMessage(*response, list_field);
  const auto* service_field = list.GetDescriptor()->FindFieldByName("service");
  std::vector<std::string> names;
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field); ++i) {
    const google::protobuf::Message& service =
        list.GetReflection()->GetRepeatedMessage(list, service_field, i);
    names.push_back(service.GetReflection()->GetString(
        service, service.GetDescriptor()->FindFieldByName("name")));
  }
  return names;
}

TEST_F(GrpcServerTest, ReflectionListsTheServices) {
  Start();
  const std::vector<std::string> names = ListServicesByReflection(channel_);
  EXPECT_NE(std::find(names.begin(), names.end(), "propdesk.testing.v1.EchoService"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"), names.end());
}

// --- ports -------------------------------------------------------------------

TEST_F(GrpcServerTest, PortsInUseAreReportedNotStolen) {
  Start();
  GrpcServerOptions options;
  options.host = "127.0.0.1";
  options.port = server_->port();
  try {
    GrpcServer second(options, {}, nullptr);
    FAIL() << "a second server bound port " << options.port;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_EQ(e.reason(), "GRPC_PORT_UNAVAILABLE");
  }
  try {
    MetricsServer second("x", metrics_->port(), "127.0.0.1");
    FAIL() << "a second exposer bound port " << metrics_->port();
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "METRICS_PORT_UNAVAILABLE");
  }
}

// --- lifecycle (ARCHITECTURE.md §12) -----------------------------------------

TEST_F(GrpcServerTest, SigtermGoesNotServingThenFinishesTheInFlightCallThenStops) {
  Start();
  ASSERT_TRUE(prober_->WaitFor(true, milliseconds(5000)));
  ShutdownSignal signal_handlers_installed;  // before any SIGTERM is sent

  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  HealthCheckRequest health_request;
  health_request.set_service("");
  auto watch = health_->Watch(&watch_ctx, health_request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  ASSERT_EQ(update.status(), HealthCheckResponse::SERVING);

  echo::EchoResponse in_flight_response;
  auto in_flight =
      std::async(std::launch::async, [&] { return Call(Request("hold"), &in_flight_response); });
  service_->WaitInvoked(1);

  auto runner = std::async(std::launch::async, [&] {
    RunUntilSignal(*server_, *executor_, prober_.get(), seconds(10), logger_);
  });
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);

  // Health says NOT_SERVING while the call is still in flight.
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(service_->finished.load(), 0);
  watch_ctx.TryCancel();
  watch->Finish();
  EXPECT_EQ(runner.wait_for(milliseconds(0)), std::future_status::timeout)
      << "must wait for the in-flight call";

  service_->hold_gate.Open();
  ASSERT_EQ(runner.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(service_->finished.load(), 1) << "stopped only after the call finished";
  const grpc::Status in_flight_status = in_flight.get();
  EXPECT_TRUE(in_flight_status.ok()) << in_flight_status.error_message();
  EXPECT_EQ(in_flight_response.message(), "hold");

  EXPECT_FALSE(executor_->accepting()) << "executor drained and stopped";
  echo::EchoResponse response;
  EXPECT_NE(Call(Request("after"), &response, milliseconds(1000)).error_code(),
            grpc::StatusCode::OK);
  const auto requested = log_.WaitFor({{"msg", "shutdown requested"}});
  ASSERT_TRUE(requested.has_value());
  EXPECT_EQ(requested->fields().at("signal").number_value(), SIGTERM);
  EXPECT_TRUE(log_.WaitFor({{"msg", "stopped"}}).has_value());
}

TEST_F(GrpcServerTest, GraceExpiryCancelsACallThatWillNotFinish) {
  Start();
  echo::EchoResponse response;
  auto in_flight = std::async(std::launch::async, [&] { return Call(Request("hold"), &response); });
  service_->WaitInvoked(1);
  auto stopper = std::async(std::launch::async, [&] {
    GracefulStop(*server_, *executor_, prober_.get(), milliseconds(200), logger_);
  });
  // The client sees its call cancelled once the grace is over, while the
  // handler is still held.
  const grpc::Status status = in_flight.get();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(service_->finished.load(), 0);
  service_->hold_gate.Open();  // let the executor drain so the stop completes
  ASSERT_EQ(stopper.wait_for(seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace propdesk::common
