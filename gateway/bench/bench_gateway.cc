// bench_gateway: the same operation called directly over gRPC and through the
// gateway (HTTP/JSON), at 1, 16 and 64 concurrent callers; prints one line per
// figure (`bench: <name> <value> <unit> [details]`, tests/bench/run.sh).
//
// Scenarios:
//   echo            EchoService.Echo of the in-process test upstream (it
//                   verifies the JWT on every call, like a real service): the
//                   gateway's own cost, against an upstream that does nothing.
//   tickets_create  TicketsService.CreateTicket and
//   tickets_get     GetTicket of the real tickets service, wired in-process
//                   on the harness' MariaDB and Redis
//                   (tickets/testing/tickets_harness.h); only under run.sh
//                   (PROPDESK_TEST_ENV), which starts those servers.
// Adding a scenario means adding its direct and gateway callers; the
// measuring code does not change.
//
// Everything runs in this process (load generator, gateway, upstream) on the
// same cores, as `make bench` runs on a 2-core machine: absolute numbers are
// what one box does; the gateway-vs-direct ratio is the figure to watch
// (targets: p50 overhead <= 1 ms, throughput >= 0.7 x direct).
//
// Environment: PROPDESK_BENCH_SECONDS (per measurement, default 4);
// PROPDESK_BENCH_CONCURRENCY (comma-separated, default 1,16,64);
// PROPDESK_BENCH_GATEWAY_THREADS (the gateway's I/O threads, default 2);
// PROPDESK_BENCH_SCENARIOS (comma-separated names, default all);
// PROPDESK_TEST_ENV (set by run.sh): the harness' servers — the gateway's
// rate limits use its Redis, as in production, and the tickets scenarios run.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/support/load.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "propdesk/testing/v1/echo.grpc.pb.h"
#include "propdesk/tickets/v1/tickets_service.grpc.pb.h"
#include "support/gateway_harness.h"
#include "support/http_client.h"
#include "support/json_at.h"
#include "support/test_env.h"
#include "support/test_upstream.h"
#include "tickets/testing/tickets_harness.h"

namespace propdesk::gateway {
namespace {

using Clock = std::chrono::steady_clock;
using bench::CallerFactory;
using bench::CallOnce;
using bench::LoadResult;
using test::HttpClient;
namespace tickets_v1 = ::propdesk::tickets::v1;

struct Scenario {
  std::string name;       // "echo"
  CallerFactory direct;   // gRPC straight to the service
  CallerFactory gateway;  // HTTP/JSON through the gateway
};

bool Wanted(const std::string& scenario) {
  const char* list = std::getenv("PROPDESK_BENCH_SCENARIOS");
  if (list == nullptr || *list == '\0') return true;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name == scenario) return true;
  }
  return false;
}

// Measures both paths at every concurrency and prints the comparison.
void Compare(const Scenario& scenario) {
  if (!Wanted(scenario.name)) return;
  for (const int concurrency : bench::BenchConcurrencies()) {
    const std::string prefix = "gateway_" + scenario.name + "_";
    const std::string suffix = "_c" + std::to_string(concurrency);
    const LoadResult direct =
        bench::MeasureLoad(scenario.direct, concurrency, bench::BenchDuration());
    bench::PrintLoad(prefix + "direct" + suffix, direct);
    const LoadResult via =
        bench::MeasureLoad(scenario.gateway, concurrency, bench::BenchDuration());
    bench::PrintLoad(prefix + "via_gateway" + suffix, via);
    std::printf("bench: gateway_%s_c%d_p50_overhead %.3f ms (target <= 1 ms)\n",
                scenario.name.c_str(), concurrency, via.p50_ms - direct.p50_ms);
    std::printf("bench: gateway_%s_c%d_throughput_ratio %.2f x_direct (target >= 0.7)\n",
                scenario.name.c_str(), concurrency,
                direct.throughput > 0 ? via.throughput / direct.throughput : 0.0);
    std::fflush(stdout);
  }
}

// A gateway as production runs it, but with limits that never refuse.
std::unique_ptr<Gateway> StartGateway(GatewayConfig config, const std::string& scenario) {
  config.per_principal = {1e6, 1e6};
  config.per_site = {1e6, 1e6};
  config.log_level = common::LogLevel::kWarn;
  if (const char* threads = std::getenv("PROPDESK_BENCH_GATEWAY_THREADS"))
    config.threads = std::atoi(threads);
  std::string limiter = "in-process";
  if (std::getenv("PROPDESK_TEST_ENV") != nullptr) {  // under run.sh: the harness's Redis
    config.redis = propdesk::testing::SharedRedis(/*pool_size=*/64);
    limiter = "redis";
  }
  auto logger = std::make_shared<const common::Logger>("gateway", common::LogLevel::kWarn);
  auto gateway =
      std::make_unique<Gateway>(config, logger, std::make_shared<prometheus::Registry>());
  gateway->Start();
  if (!gateway->WaitUntilReady(std::chrono::seconds(10))) {
    std::fprintf(stderr, "bench_gateway: the %s upstream did not become ready\n", scenario.c_str());
    return nullptr;
  }
  std::printf("bench: gateway_setup_%s 1 info rate_limiter=%s threads=%d seconds=%.1f\n",
              scenario.c_str(), limiter.c_str(), config.threads,
              bench::BenchDuration().count() / 1000.0);
  return gateway;
}

// The load generator's HTTP/1.1 client: one keep-alive connection, a
// blocking write of the request and blocking reads of the response, as wrk
// or ab do. test::HttpClient (Beast, a timer on every operation) cost the
// shared cores more than the gateway it measured.
class LeanHttpClient {
 public:
  explicit LeanHttpClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("bench_gateway: cannot connect to the gateway");
    }
  }
  ~LeanHttpClient() { ::close(fd_); }
  LeanHttpClient(const LeanHttpClient&) = delete;
  LeanHttpClient& operator=(const LeanHttpClient&) = delete;

  // The response's status code, or 0 when the connection failed.
  int Send(const std::string& method, const std::string& target, const std::string& body,
           const test::Headers& headers) {
    const std::string request = HttpClient::Format(method, target, body, headers);
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      sent += static_cast<size_t>(n);
    }
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Receive()) return 0;
    }
    const int status = std::atoi(buffer_.c_str() + buffer_.find(' ') + 1);
    const size_t total = header_end + 4 + ContentLength(header_end);
    while (buffer_.size() < total) {
      if (!Receive()) return 0;
    }
    buffer_.erase(0, total);
    return status;
  }

 private:
  bool Receive() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  size_t ContentLength(size_t header_end) const {
    std::string head = buffer_.substr(0, header_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = head.find("\r\ncontent-length:");
    return at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 17, nullptr, 10);
  }

  int fd_ = -1;
  std::string buffer_;
};

// A caller with its own HTTP connection; `send` makes one request on it.
CallerFactory HttpCaller(int port, std::function<bool(LeanHttpClient&)> send) {
  return [port, send] {
    auto client = std::make_shared<LeanHttpClient>(port);
    return CallOnce([client, send] { return send(*client); });
  };
}

// ------------------------------------------------------------------- echo

CallerFactory DirectEcho(std::shared_ptr<grpc::Channel> channel, std::string token) {
  return [channel, token] {
    auto stub = ::propdesk::testing::v1::EchoService::NewStub(channel);
    return CallOnce([stub = std::shared_ptr(std::move(stub)), token] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + token);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      ::propdesk::testing::v1::EchoRequest request;
      request.set_site_id("s1");
      request.set_message("bench");
      ::propdesk::testing::v1::EchoResponse response;
      return stub->Echo(&context, request, &response).ok();
    });
  };
}

bool BenchEcho() {
  if (!Wanted("echo")) return true;
  test::TestUpstream upstream;
  std::unique_ptr<Gateway> gateway = StartGateway(
      test::TestGatewayConfig({{"testing", upstream.address()}}, test::TestingDescriptors()),
      "echo");
  if (!gateway) return false;
  const std::string token = test::MakeToken({.lifetime = std::chrono::hours(1)});
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // its own connection, not the gateway's
  auto channel =
      grpc::CreateCustomChannel(upstream.address(), grpc::InsecureChannelCredentials(), args);
  const test::Headers headers = {{"Authorization", "Bearer " + token}};
  Compare({"echo", DirectEcho(channel, token),
           HttpCaller(gateway->port(), [headers](LeanHttpClient& client) {
             return client.Send("POST", "/v1/sites/s1/echoes", R"({"message":"bench"})", headers) ==
                    200;
           })});
  gateway->Shutdown(Clock::now() + std::chrono::seconds(5));
  return true;
}

// ---------------------------------------------------------------- tickets

constexpr char kBenchSite[] = "GW01";

// One stub per caller on its own channel; `call` fills and sends a request.
template <class Call>
CallerFactory TicketsCaller(tickets::testing::TicketsHarness& harness, std::string token,
                            Call call) {
  return [&harness, token, call] {
    auto stub = std::shared_ptr(tickets_v1::TicketsService::NewStub(harness.NewChannel()));
    const std::string authorization = "Bearer " + token;
    return CallOnce([stub, authorization, call] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", authorization);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      return call(*stub, context);
    });
  };
}

// The gateway's CPU per request for JSON ↔ protobuf of a CreateTicket
// request and a GetTicket response (a full Ticket), one thread, in µs.
void BenchTranscoding(const Gateway& gateway, tickets::testing::TicketsHarness& harness,
                      const std::string& token, const std::string& ticket_id) {
  const Route* create = nullptr;
  const Route* get = nullptr;
  for (const Route& route : gateway.routes().routes()) {
    if (route.method->name() == "CreateTicket") create = &route;
    if (route.method->name() == "GetTicket") get = &route;
  }
  auto stub = tickets_v1::TicketsService::NewStub(harness.NewChannel());
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  tickets_v1::GetTicketRequest request;
  request.set_site_id(kBenchSite);
  request.set_ticket_id(ticket_id);
  tickets_v1::GetTicketResponse response;
  if (create == nullptr || get == nullptr || !stub->GetTicket(&context, request, &response).ok()) {
    std::fprintf(stderr, "bench_gateway: no CreateTicket/GetTicket route or ticket\n");
    return;
  }
  const std::string binary = response.SerializeAsString();
  const std::string body = R"({"kind":"TICKET_KIND_REPAIR","channel":"TICKET_CHANNEL_PHONE",)"
                           R"("category":"TICKET_CATEGORY_FACILITIES_EQUIPMENT","unit":"U-1",)"
                           R"("contact":{"name":"Resident","phone":"+86 138 0000 0000"},)"
                           R"("description":"Kitchen tap leaking"})";
  const std::vector<PathBinding> bindings = {{"site_id", kBenchSite}};
  constexpr int kRounds = 20000;
  auto micros_per_call = [](const std::function<void()>& call) {
    const auto start = Clock::now();
    for (int i = 0; i < kRounds; ++i) call();
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kRounds;
  };
  bench::PrintFigure("gateway_transcode_create_ticket_request", micros_per_call([&] {
                       gateway.transcoder().ToUpstream(*create, bindings, "", body, "key-1");
                     }),
                     "us", "(JSON body → protobuf, one thread)");
  bench::PrintFigure("gateway_transcode_get_ticket_response",
                     micros_per_call([&] { gateway.transcoder().ToJson(*get, binary); }), "us",
                     "(protobuf → JSON, one thread)");
}

bool BenchTickets() {
  if (!Wanted("tickets_create") && !Wanted("tickets_get")) return true;
  if (std::getenv("PROPDESK_TEST_ENV") == nullptr) {
    std::printf("bench: gateway_tickets 0 skipped (needs the harness' MariaDB: make bench)\n");
    return true;
  }
  tickets::testing::HarnessOptions options;
  options.database_prefix = "bench_gateway";
  options.sites = {{kBenchSite, "g1", kBenchSite, "Gateway bench"}};
  tickets::testing::TicketsHarness harness(options);
  GatewayConfig config = test::TestGatewayConfig({{"tickets", harness.address()}},
                                                 {test::DescriptorPath("propdesk_tickets.pb")});
  config.jwt = harness.jwt();
  std::unique_ptr<Gateway> gateway = StartGateway(config, "tickets");
  if (!gateway) return false;
  const int port = gateway->port();
  const std::string token = tickets::testing::TicketsHarness::Token(
      {.subject = "staff-7", .sites = {kBenchSite}, .roles = {"front_desk"}});
  const test::Headers auth = {{"Authorization", "Bearer " + token}};
  const std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                                         std::chrono::microseconds(1));
  // Distinct units keep T-11 from linking the tickets; distinct request ids
  // make every call a new ticket.
  auto sequence = std::make_shared<std::atomic<int64_t>>(0);
  const std::string tickets_path = std::string("/v1/sites/") + kBenchSite + "/tickets";

  const CallerFactory direct_create = TicketsCaller(
      harness, token,
      [sequence, run](tickets_v1::TicketsService::Stub& stub, grpc::ClientContext& context) {
        const int64_t n = sequence->fetch_add(1);
        tickets_v1::CreateTicketRequest request;
        request.set_site_id(kBenchSite);
        request.set_kind(tickets_v1::TICKET_KIND_REPAIR);
        request.set_channel(tickets_v1::TICKET_CHANNEL_PHONE);
        request.set_category(tickets_v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT);
        request.set_unit("U-" + std::to_string(n));
        request.mutable_contact()->set_name("Resident");
        request.mutable_contact()->set_phone("+86 138 0000 0000");
        request.set_description("Kitchen tap leaking");
        request.set_request_id("gwbench-" + run + "-" + std::to_string(n));
        tickets_v1::CreateTicketResponse response;
        return stub.CreateTicket(&context, request, &response).ok();
      });
  const CallerFactory gateway_create =
      HttpCaller(port, [sequence, run, auth, tickets_path](LeanHttpClient& client) {
        const int64_t n = sequence->fetch_add(1);
        test::Headers headers = auth;
        headers.emplace_back("Idempotency-Key", "gwbench-" + run + "-" + std::to_string(n));
        const std::string body = R"({"kind":"TICKET_KIND_REPAIR","channel":"TICKET_CHANNEL_PHONE",)"
                                 R"("category":"TICKET_CATEGORY_FACILITIES_EQUIPMENT","unit":"U-)" +
                                 std::to_string(n) +
                                 R"(","contact":{"name":"Resident","phone":"+86 138 0000 0000"},)"
                                 R"("description":"Kitchen tap leaking"})";
        return client.Send("POST", tickets_path, body, headers) == 200;
      });
  Compare({"tickets_create", direct_create, gateway_create});

  // Reads of one ticket (a full Ticket message each way).
  HttpClient setup(port);
  test::Headers create_headers = auth;
  create_headers.emplace_back("Idempotency-Key", "gwbench-" + run + "-get");
  const test::ClientResponse created =
      setup.Send("POST", tickets_path,
                 R"({"kind":"TICKET_KIND_COMPLAINT","channel":"TICKET_CHANNEL_WALK_IN",)"
                 R"("category":"TICKET_CATEGORY_SERVICE_QUALITY","unit":"G-1",)"
                 R"("contact":{"name":"Resident","phone":"+86 138 0000 0000"},)"
                 R"("description":"The lobby was not cleaned this morning"})",
                 create_headers);
  const std::string ticket_id = test::JsonAt(created.body, "ticket.ticketId");
  if (created.status != 200) {
    std::fprintf(stderr, "bench_gateway: could not create the ticket to get: %s\n",
                 created.body.c_str());
    return false;
  }
  const CallerFactory direct_get = TicketsCaller(
      harness, token,
      [ticket_id](tickets_v1::TicketsService::Stub& stub, grpc::ClientContext& context) {
        tickets_v1::GetTicketRequest request;
        request.set_site_id(kBenchSite);
        request.set_ticket_id(ticket_id);
        tickets_v1::GetTicketResponse response;
        return stub.GetTicket(&context, request, &response).ok();
      });
  BenchTranscoding(*gateway, harness, token, ticket_id);
  const std::string ticket_path = tickets_path + "/" + ticket_id;
  const CallerFactory gateway_get = HttpCaller(port, [auth, ticket_path](LeanHttpClient& client) {
    return client.Send("GET", ticket_path, "", auth) == 200;
  });
  Compare({"tickets_get", direct_get, gateway_get});
  gateway->Shutdown(Clock::now() + std::chrono::seconds(5));
  return true;
}

int Run() {
  // The services in this process log at warn, as the gateway does here:
  // a log line per call is not what is being measured.
  common::SetDefaultLogger(
      std::make_shared<const common::Logger>("bench_gateway", common::LogLevel::kWarn));
  const bool ok = BenchEcho() && BenchTickets();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace propdesk::gateway

int main() { return propdesk::gateway::Run(); }
