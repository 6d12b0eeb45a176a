// bench_gateway: the same operation called directly over gRPC and through the
// gateway (HTTP/JSON), at 1, 16 and 64 concurrent callers; prints one line per
// figure (`bench: <name> <value> <unit> [details]`, tests/bench/run.sh).
//
// Scenarios:
//   echo            EchoService.Echo of the test upstream (it verifies the
//                   JWT on every call, like a real service): the gateway's
//                   own cost, against an upstream that does nothing.
//   tickets_create  TicketsService.CreateTicket and
//   tickets_get     GetTicket of the real tickets service (propdesk-tickets)
//                   on the harness' MariaDB and Redis; only under run.sh
//                   (PROPDESK_TEST_ENV), which starts those servers.
// Adding a scenario means adding its direct and gateway callers; the
// measuring code does not change.
//
// Topology: as deployed. The upstream and the gateway are processes of
// their own — the propdesk-tickets and propdesk-gateway binaries configured
// by their environment as `make run` configures them (the echo upstream is
// this binary run with --echo-upstream) — and this process only generates
// load. With the service in the load generator's process, gRPC shares its
// pollers between the direct path's client and the service, which no
// deployment does: GetTicket at 1 caller took 0.19 ms directly that way, and
// 0.31 ms from another process.
// Everything still shares the same cores, as `make bench` runs on a 2-core
// machine: absolute numbers are what one box does; the gateway-vs-direct
// ratio is the figure to watch (targets: p50 overhead <= 1 ms, throughput
// >= 0.7 x direct). Both paths are driven the same way, with no thread per
// caller (bench::MeasureAsyncLoad): gRPC's callback API, one channel per 8
// calls in flight, and an epoll HTTP client with one connection per call in
// flight (http_load_client.h).
//
// Environment: PROPDESK_BENCH_SECONDS (default 4: each path gets twice that per measurement);
// PROPDESK_BENCH_CONCURRENCY (comma-separated, default 1,16,64);
// PROPDESK_BENCH_GATEWAY_THREADS (the gateway's GATEWAY_THREADS, default its own: 2);
// PROPDESK_BENCH_SCENARIOS (comma-separated names, default all);
// PROPDESK_BENCH_PATHS (direct or via: measure one path alone, for a
// profiler; default both, compared);
// PROPDESK_TEST_ENV (set by run.sh): the harness' servers — the gateway's
// rate limits use its Redis, as in production, and the tickets scenarios run;
// PROPDESK_TEST_TMP: where the processes' logs go (default /tmp).

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/support/load.h"
#include "bench/support/process.h"
#include "common/log.h"
#include "common/mysql.h"
#include "gateway/descriptors.h"
#include "gateway/route_table.h"
#include "gateway/transcoder.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "http_load_client.h"
#include "propdesk/testing/v1/echo.grpc.pb.h"
#include "propdesk/tickets/v1/tickets_service.grpc.pb.h"
#include "support/http_client.h"
#include "support/json_at.h"
#include "support/test_descriptors.h"
#include "support/test_env.h"
#include "support/test_upstream.h"
#include "tickets/testing/tickets_harness.h"

namespace propdesk::gateway {
namespace {

using Clock = std::chrono::steady_clock;
using bench::Done;
using bench::LoadResult;
using bench::StartCall;
using test::HttpClient;
namespace tickets_v1 = ::propdesk::tickets::v1;

// Makes the calls of one measurement at `concurrency` calls in flight (its
// channels or connections live as long as the returned StartCall).
using LoadFactory = std::function<StartCall(int concurrency)>;

struct Scenario {
  std::string name;     // "echo"
  LoadFactory direct;   // gRPC straight to the service
  LoadFactory gateway;  // HTTP/JSON through the gateway
  // Whether the issue's targets apply (to the real service's calls; the
  // echo upstream's are nothing to compare the gateway's cost with).
  bool has_targets = true;
};

// Whether the comma-separated list in `variable` names `name`; an unset or
// empty list names everything.
bool Listed(const char* variable, const std::string& name) {
  const char* list = std::getenv(variable);
  if (list == nullptr || *list == '\0') return true;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == name) return true;
  }
  return false;
}

bool Wanted(const std::string& scenario) { return Listed("PROPDESK_BENCH_SCENARIOS", scenario); }

// Measures both paths at every concurrency and prints the comparison: each
// path gets twice the bench window, in kRounds alternating measurements
// (direct, via, via, direct, …) pooled per path. The shared machine's drift
// (the database flushing, the harness' state growing, the VM's neighbours:
// ±15 % from one minute to the next) then weighs on both paths alike, and
// 8 rounds of a quarter window each average it out better than 4: the same
// commit measured GetTicket's added p50 at 64 callers +0.81 to +0.96 ms and
// CreateTicket's +0.42 to +1.16 ms in three runs of 4 rounds.
constexpr int kRounds = 8;

void Compare(const Scenario& scenario) {
  if (!Wanted(scenario.name)) return;
  const auto round = bench::BenchDuration() / 4;
  for (const int concurrency : bench::BenchConcurrencies()) {
    std::vector<LoadResult> direct_rounds;
    std::vector<LoadResult> via_rounds;
    for (int r = 0; r < kRounds; ++r) {
      const bool direct_first = r % 2 == 0;
      for (const bool direct : {direct_first, !direct_first}) {
        if (!Listed("PROPDESK_BENCH_PATHS", direct ? "direct" : "via")) continue;
        const LoadFactory& factory = direct ? scenario.direct : scenario.gateway;
        (direct ? direct_rounds : via_rounds)
            .push_back(bench::MeasureAsyncLoad(factory(concurrency), concurrency, round));
      }
    }
    const std::string prefix = "gateway_" + scenario.name + "_";
    const std::string suffix = "_c" + std::to_string(concurrency);
    if (direct_rounds.empty() && via_rounds.empty()) continue;
    if (direct_rounds.empty() || via_rounds.empty()) {  // one path alone
      const bool direct = via_rounds.empty();
      bench::PrintLoad(prefix + (direct ? "direct" : "via_gateway") + suffix,
                       bench::Pool(direct ? direct_rounds : via_rounds));
      continue;
    }
    const LoadResult direct = bench::Pool(direct_rounds);
    bench::PrintLoad(prefix + "direct" + suffix, direct);
    const LoadResult via = bench::Pool(via_rounds);
    bench::PrintLoad(prefix + "via_gateway" + suffix, via);
    const char* no_target = "(no target: the gateway's own cost)";
    std::printf("bench: gateway_%s_c%d_p50_overhead %.3f ms %s\n", scenario.name.c_str(),
                concurrency, via.p50_ms - direct.p50_ms,
                scenario.has_targets ? "(target <= 1 ms)" : no_target);
    std::printf("bench: gateway_%s_c%d_throughput_ratio %.2f x_direct %s\n", scenario.name.c_str(),
                concurrency, direct.throughput > 0 ? via.throughput / direct.throughput : 0.0,
                scenario.has_targets ? "(target >= 0.7)" : no_target);
    std::fflush(stdout);
  }
}

// ---------------------------------------------------------- processes

// Where a started process's stdout and stderr go.
std::string LogPath(const std::string& name) {
  const char* tmp = std::getenv("PROPDESK_TEST_TMP");
  const std::filesystem::path dir = tmp != nullptr ? tmp : "/tmp";
  std::filesystem::create_directories(dir);
  return (dir / ("bench_gateway-" + name + ".log")).string();
}

std::string SelfPath() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("cannot find this binary (/proc/self/exe)");
  return std::string(path, static_cast<size_t>(n));
}

// Variables added to a started process's environment.
using EnvList = std::vector<std::pair<std::string, std::string>>;

// The harness' Redis (run.sh), as REDIS_ADDR; none outside run.sh.
std::optional<std::string> HarnessRedisAddress() {
  if (std::getenv("PROPDESK_TEST_ENV") == nullptr) return std::nullopt;
  const common::RedisOptions redis = propdesk::testing::SharedRedis();
  return redis.host + ":" + std::to_string(redis.port);
}

// The gateway binary as production runs it (its own process, configured by
// its environment, its rate limits on the harness' Redis), but with limits
// that never refuse. Waits until /readyz says every upstream is SERVING.
struct GatewayProcess {
  std::unique_ptr<bench::ChildProcess> process;
  int port = 0;
};

GatewayProcess StartGateway(const std::string& upstreams,
                            const std::vector<std::string>& descriptors,
                            const std::string& jwt_secret, const std::string& scenario) {
  GatewayProcess gateway;
  gateway.port = bench::FreeLoopbackPort();
  std::string descriptor_list;
  for (const std::string& path : descriptors) {
    descriptor_list += (descriptor_list.empty() ? "" : ",") + path;
  }
  EnvList env = {{"HTTP_HOST", "127.0.0.1"},
                 {"HTTP_PORT", std::to_string(gateway.port)},
                 {"METRICS_PORT", std::to_string(bench::FreeLoopbackPort())},
                 {"GATEWAY_UPSTREAMS", upstreams},
                 {"GATEWAY_DESCRIPTORS", descriptor_list},
                 {"JWT_HS256_SECRET", jwt_secret},
                 {"GATEWAY_RATE_PRINCIPAL", "1000000"},
                 {"GATEWAY_RATE_SITE", "1000000"},
                 {"READINESS_INTERVAL_MS", "100"},
                 // A log line per call is not what is being measured.
                 {"LOG_LEVEL", "warn"}};
  const char* threads = std::getenv("PROPDESK_BENCH_GATEWAY_THREADS");
  if (threads != nullptr) env.emplace_back("GATEWAY_THREADS", threads);
  const std::optional<std::string> redis = HarnessRedisAddress();
  if (redis) env.emplace_back("REDIS_ADDR", *redis);
  gateway.process = std::make_unique<bench::ChildProcess>(
      bench::ChildProcess::Options{.binary = PROPDESK_GATEWAY_BINARY,
                                   .args = {},
                                   .env = env,
                                   .log_path = LogPath("gateway-" + scenario),
                                   .pipe_stdout = false});
  const int port = gateway.port;
  gateway.process->WaitUntil(
      [port] { return HttpClient(port).Send("GET", "/readyz").status == 200; },
      "the gateway for " + scenario + " becoming ready");
  std::printf("bench: gateway_setup_%s 1 info rate_limiter=%s threads=%s seconds=%.1f\n",
              scenario.c_str(), redis ? "redis" : "in-process", threads != nullptr ? threads : "2",
              bench::BenchDuration().count() / 1000.0);
  return gateway;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// gRPC 1.51 (Debian 12) freed its callback completion queue twice
// (AddressSanitizer: double-free in grpc_cq_internal_unref, on one of its
// own threads) between two rounds of this benchmark, when every channel that
// had made callback calls was gone and new ones started: each round makes
// and drops its own channels. One channel that has made a callback call (a
// health check) therefore lives as long as this process, as the gateway's
// upstream channels do in the gateway.
void KeepCallbackQueue(const std::string& address) {
  static std::shared_ptr<grpc::Channel> kept;
  if (kept) return;
  kept = NewChannel(address);
  grpc::GenericStub stub(kept);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty;  // HealthCheckRequest{service: ""}
  const grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<void> answered;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status) { answered.set_value(); });
  answered.get_future().wait();
}

// Calls through the gateway: `request(slot)` is the whole HTTP request.
LoadFactory HttpLoad(int port, std::function<std::string(int slot)> request) {
  return [port, request](int concurrency) -> StartCall {
    auto client = std::make_shared<bench::HttpLoadClient>(port, concurrency);
    return [client, request](int slot, Done done) {
      client->Send(slot, request(slot),
                   [done = std::move(done)](int status) { done(status == 200); });
    };
  };
}

// The direct path: gRPC's callback API, one channel per 8 calls in flight
// (as a gateway's upstream shares one among its calls). `start(stub,
// authorization, done)` fills and starts one call.
template <class Service, class Start>
LoadFactory DirectLoad(std::function<std::shared_ptr<grpc::Channel>()> new_channel,
                       const std::string& token, Start start) {
  return [new_channel, authorization = "Bearer " + token, start](int concurrency) -> StartCall {
    auto stubs = std::make_shared<std::vector<std::unique_ptr<typename Service::Stub>>>();
    for (int i = 0; i < (concurrency + 7) / 8; ++i) {
      stubs->push_back(Service::NewStub(new_channel()));
    }
    return [stubs, authorization, start](int slot, Done done) {
      start(*(*stubs)[static_cast<size_t>(slot / 8)], authorization, std::move(done));
    };
  };
}

// One unary call's state, alive until its callback has run.
template <class Request, class Response>
struct AsyncCall {
  explicit AsyncCall(const std::string& authorization) {
    context.AddMetadata("authorization", authorization);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  grpc::ClientContext context;
  Request request;
  Response response;
};

// ------------------------------------------------------------------- echo

// The echo upstream's process: this binary with --echo-upstream. It prints
// its port and serves until it is stopped.
int ServeEchoUpstream() {
  test::TestUpstream upstream;
  std::printf("%d\n", upstream.port());
  std::fflush(stdout);
  for (;;) ::pause();  // SIGTERM ends it
}

bool BenchEcho() {
  if (!Wanted("echo")) return true;
  bench::ChildProcess upstream({.binary = SelfPath(),
                                .args = {"--echo-upstream"},
                                .env = {},
                                .log_path = LogPath("echo-upstream"),
                                .pipe_stdout = true});
  const std::string address = "127.0.0.1:" + upstream.ReadLine(std::chrono::seconds(10));
  KeepCallbackQueue(address);
  const GatewayProcess gateway =
      StartGateway("testing=" + address, test::TestingDescriptors(), test::kTestJwtSecret, "echo");
  const std::string token = test::MakeToken({.lifetime = std::chrono::hours(1)});
  namespace echo_v1 = ::propdesk::testing::v1;
  const LoadFactory direct = DirectLoad<echo_v1::EchoService>(
      [address] { return NewChannel(address); }, token,
      [](echo_v1::EchoService::Stub& stub, const std::string& authorization, Done done) {
        auto call =
            std::make_shared<AsyncCall<echo_v1::EchoRequest, echo_v1::EchoResponse>>(authorization);
        call->request.set_site_id("s1");
        call->request.set_message("bench");
        stub.async()->Echo(&call->context, &call->request, &call->response,
                           [call, done = std::move(done)](grpc::Status s) { done(s.ok()); });
      });
  const std::string request =
      test::HttpClient::Format("POST", "/v1/sites/s1/echoes", R"({"message":"bench"})",
                               {{"Authorization", "Bearer " + token}});
  Compare({.name = "echo",
           .direct = direct,
           .gateway = HttpLoad(gateway.port, [request](int) { return request; }),
           .has_targets = false});
  return true;
}

// ---------------------------------------------------------------- tickets

constexpr char kBenchSite[] = "GW01";

// The gateway's CPU per request for JSON ↔ protobuf of a CreateTicket
// request and a GetTicket response (a full Ticket), one thread, in µs.
void BenchTranscoding(const std::string& tickets_address, const std::string& token,
                      const std::string& ticket_id) {
  // The gateway's route table and transcoder, as it builds them at start-up.
  const LoadedDescriptors descriptors =
      LoadDescriptorSets({test::DescriptorPath("propdesk_tickets.pb")});
  const RouteTable routes = RouteTable::Build(
      descriptors.services, [](const google::protobuf::ServiceDescriptor&) { return "tickets"; });
  const Transcoder transcoder(descriptors.pool.get());
  const Route* create = nullptr;
  const Route* get = nullptr;
  for (const Route& route : routes.routes()) {
    if (route.method->name() == "CreateTicket") create = &route;
    if (route.method->name() == "GetTicket") get = &route;
  }
  auto stub = tickets_v1::TicketsService::NewStub(NewChannel(tickets_address));
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
                       transcoder.ToUpstream(*create, bindings, "", body, "key-1");
                     }),
                     "us", "(JSON body → protobuf, one thread)");
  bench::PrintFigure("gateway_transcode_get_ticket_response",
                     micros_per_call([&] { transcoder.ToJson(*get, binary); }), "us",
                     "(protobuf → JSON, one thread)");
}

// Waits until the server at `address` answers its health check SERVING.
void WaitUntilServing(bench::ChildProcess& process, const std::string& address) {
  auto health = grpc::health::v1::Health::NewStub(NewChannel(address));
  process.WaitUntil(
      [&] {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
        grpc::health::v1::HealthCheckResponse response;
        return health->Check(&context, {}, &response).ok() &&
               response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      address + " serving");
}

// The tickets service as production runs it: the propdesk-tickets binary on
// a fresh database of the harness' MariaDB (migrated, with the bench's
// site) and on its Redis. Returns once its health check says SERVING.
struct TicketsProcess {
  std::unique_ptr<bench::ChildProcess> process;
  std::string address;
};

TicketsProcess StartTickets() {
  constexpr int kPoolSize = 16;  // README's MYSQL_DSN example
  const common::MysqlOptions database =
      propdesk::testing::FreshDatabase("bench_gateway", kPoolSize);
  {
    common::MysqlPool pool(database);
    tickets::testing::PrepareDatabase(pool, {{kBenchSite, "g1", kBenchSite, "Gateway bench"}});
  }
  TicketsProcess tickets;
  const int port = bench::FreeLoopbackPort();
  tickets.address = "127.0.0.1:" + std::to_string(port);
  const std::string dsn = "mysql://" + database.user + ":" + database.password + "@" +
                          database.host + ":" + std::to_string(database.port) + "/" +
                          database.database + "?pool=" + std::to_string(kPoolSize);
  tickets.process = std::make_unique<bench::ChildProcess>(bench::ChildProcess::Options{
      .binary = PROPDESK_TICKETS_BINARY,
      .args = {},
      .env = {{"GRPC_PORT", std::to_string(port)},
              {"METRICS_PORT", std::to_string(bench::FreeLoopbackPort())},
              {"MYSQL_DSN", dsn},
              {"REDIS_ADDR", *HarnessRedisAddress()},
              {"JWT_HS256_SECRET", tickets::testing::kHarnessSecret},
              {"MIGRATIONS_DIR", PROPDESK_SOURCE_DIR "/services/tickets/migrations"},
              {"COMMON_MIGRATIONS_DIR", PROPDESK_SOURCE_DIR "/services/common/migrations"},
              {"LOG_LEVEL", "warn"}},
      .log_path = LogPath("tickets"),
      .pipe_stdout = false});
  WaitUntilServing(*tickets.process, tickets.address);
  return tickets;
}

bool BenchTickets() {
  if (!Wanted("tickets_create") && !Wanted("tickets_get")) return true;
  if (std::getenv("PROPDESK_TEST_ENV") == nullptr) {
    std::printf("bench: gateway_tickets 0 skipped (needs the harness' MariaDB: make bench)\n");
    return true;
  }
  const TicketsProcess tickets = StartTickets();
  const GatewayProcess gateway =
      StartGateway("tickets=" + tickets.address, {test::DescriptorPath("propdesk_tickets.pb")},
                   tickets::testing::kHarnessSecret, "tickets");
  KeepCallbackQueue(tickets.address);
  const int port = gateway.port;
  const std::string token = tickets::testing::TicketsHarness::Token(
      {.subject = "staff-7", .sites = {kBenchSite}, .roles = {"front_desk"}});
  const test::Headers auth = {{"Authorization", "Bearer " + token}};
  const std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch() /
                                         std::chrono::microseconds(1));
  // Distinct units keep T-11 from linking the tickets; distinct request ids
  // make every call a new ticket.
  auto sequence = std::make_shared<std::atomic<int64_t>>(0);
  const std::string tickets_path = std::string("/v1/sites/") + kBenchSite + "/tickets";

  const std::string address = tickets.address;
  auto new_channel = [address] { return NewChannel(address); };
  using CreateCall = AsyncCall<tickets_v1::CreateTicketRequest, tickets_v1::CreateTicketResponse>;
  const LoadFactory direct_create = DirectLoad<tickets_v1::TicketsService>(
      new_channel, token,
      [sequence, run](tickets_v1::TicketsService::Stub& stub, const std::string& authorization,
                      Done done) {
        const int64_t n = sequence->fetch_add(1);
        auto call = std::make_shared<CreateCall>(authorization);
        tickets_v1::CreateTicketRequest& request = call->request;
        request.set_site_id(kBenchSite);
        request.set_kind(tickets_v1::TICKET_KIND_REPAIR);
        request.set_channel(tickets_v1::TICKET_CHANNEL_PHONE);
        request.set_category(tickets_v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT);
        request.set_unit("U-" + std::to_string(n));
        request.mutable_contact()->set_name("Resident");
        request.mutable_contact()->set_phone("+86 138 0000 0000");
        request.set_description("Kitchen tap leaking");
        request.set_request_id("gwbench-" + run + "-" + std::to_string(n));
        stub.async()->CreateTicket(
            &call->context, &call->request, &call->response,
            [call, done = std::move(done)](grpc::Status s) { done(s.ok()); });
      });
  const LoadFactory gateway_create = HttpLoad(port, [sequence, run, auth, tickets_path](int) {
    const int64_t n = sequence->fetch_add(1);
    test::Headers headers = auth;
    headers.emplace_back("Idempotency-Key", "gwbench-" + run + "-" + std::to_string(n));
    const std::string body = R"({"kind":"TICKET_KIND_REPAIR","channel":"TICKET_CHANNEL_PHONE",)"
                             R"("category":"TICKET_CATEGORY_FACILITIES_EQUIPMENT","unit":"U-)" +
                             std::to_string(n) +
                             R"(","contact":{"name":"Resident","phone":"+86 138 0000 0000"},)"
                             R"("description":"Kitchen tap leaking"})";
    return HttpClient::Format("POST", tickets_path, body, headers);
  });

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
  using GetCall = AsyncCall<tickets_v1::GetTicketRequest, tickets_v1::GetTicketResponse>;
  const LoadFactory direct_get = DirectLoad<tickets_v1::TicketsService>(
      new_channel, token,
      [ticket_id](tickets_v1::TicketsService::Stub& stub, const std::string& authorization,
                  Done done) {
        auto call = std::make_shared<GetCall>(authorization);
        call->request.set_site_id(kBenchSite);
        call->request.set_ticket_id(ticket_id);
        stub.async()->GetTicket(&call->context, &call->request, &call->response,
                                [call, done = std::move(done)](grpc::Status s) { done(s.ok()); });
      });
  BenchTranscoding(tickets.address, token, ticket_id);
  const std::string ticket_path = tickets_path + "/" + ticket_id;
  const std::string get_request = HttpClient::Format("GET", ticket_path, "", auth);
  const LoadFactory gateway_get = HttpLoad(port, [get_request](int) { return get_request; });
  Compare({"tickets_get", direct_get, gateway_get});
  // Creates last: after tens of thousands of them InnoDB goes on flushing
  // dirty pages for a minute (about 10,000 pages at the end of the create
  // rounds), CPU the reads' rounds would otherwise share.
  Compare({"tickets_create", direct_create, gateway_create});
  return true;
}

int Run() {
  common::SetDefaultLogger(
      std::make_shared<const common::Logger>("bench_gateway", common::LogLevel::kWarn));
  try {
    return BenchEcho() && BenchTickets() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gateway: %s\n", e.what());
    return 1;
  }
}

}  // namespace
}  // namespace propdesk::gateway

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--echo-upstream") {
    return propdesk::gateway::ServeEchoUpstream();
  }
  return propdesk::gateway::Run();
}
