// bench_tickets: the tickets issue's figures, one line each
// (`bench: <name> <value> <unit> [details]`, tests/bench/run.sh):
//   - CreateTicket over gRPC at 1/16/64 concurrent callers: throughput, p50,
//     p99, and throughput as a multiple of the MariaDB yardstick (target
//     >= 0.12 x, p99 <= 15 ms at 64);
//   - ListTickets at 1M tickets in one site, first page and keyset pages
//     deep into the list, unfiltered and by state: p99 (target <= 10 ms, flat
//     with depth);
//   - one deadline-scanner tick with 1M open tickets each holding an unmet
//     deadline (target <= 5 ms DB time).
//
// The service runs in this process as propdesk-tickets wires it
// (tickets/testing/tickets_harness.h), on the harness's MariaDB and Redis,
// sharing the 2 cores with the load generator. The 1M tickets are written
// with INSERT … SELECT from MariaDB's sequence engine, not through the API.
//
// Environment: PROPDESK_BENCH_SECONDS, PROPDESK_BENCH_CONCURRENCY (see
// tests/bench/support/load.h); PROPDESK_BENCH_TICKETS (default 1000000).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/support/load.h"
#include "common/log.h"
#include "propdesk/tickets/v1/tickets_service.grpc.pb.h"
#include "tickets/gauges.h"
#include "tickets/scanner.h"
#include "tickets/testing/tickets_harness.h"

namespace propdesk::tickets {
namespace {

using Clock = std::chrono::steady_clock;
using bench::CallerFactory;
using bench::CallOnce;

constexpr char kCreateSite[] = "BC01";  // CreateTicket's site
constexpr char kLargeSite[] = "BL01";   // the 1M tickets

// A front-desk clerk of both sites: the common caller.
std::string ClerkToken() {
  return testing::TicketsHarness::Token(
      {.subject = "staff-7", .sites = {kCreateSite, kLargeSite}, .roles = {"front_desk"}});
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The first failed call of a run, on stderr, so a failures= count has a cause.
void ReportFirstFailure(const char* rpc, const grpc::Status& status) {
  static std::atomic<bool> reported{false};
  if (reported.exchange(true)) return;
  std::fprintf(stderr, "bench_tickets: first failed %s: code %d: %s\n", rpc,
               static_cast<int>(status.error_code()), status.error_message().c_str());
}

// One stub per caller thread; `call` fills and sends one request.
template <class Call>
CallerFactory Caller(testing::TicketsHarness& harness, Call call) {
  return [&harness, call] {
    auto stub = std::shared_ptr(v1::TicketsService::NewStub(harness.NewChannel()));
    const std::string authorization = "Bearer " + ClerkToken();
    return CallOnce([stub, authorization, call] {
      grpc::ClientContext context;
      context.AddMetadata("authorization", authorization);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      return call(*stub, context);
    });
  };
}

// CreateTicket with the callback client (bench::MeasureAsyncLoad): the
// calls in flight share one channel per 8 of them, as a gateway's would.
void BenchCreate(testing::TicketsHarness& harness) {
  std::atomic<int64_t> sequence{0};
  const std::string run = std::to_string(NowMicros());
  const std::string authorization = "Bearer " + ClerkToken();
  const double yardstick = bench::BenchYardstick();
  for (const int concurrency : bench::BenchConcurrencies()) {
    std::vector<std::unique_ptr<v1::TicketsService::Stub>> stubs;
    for (int i = 0; i < (concurrency + 7) / 8; ++i) {
      stubs.push_back(v1::TicketsService::NewStub(harness.NewChannel()));
    }
    struct Call {
      grpc::ClientContext context;
      v1::CreateTicketRequest request;
      v1::CreateTicketResponse response;
    };
    const bench::StartCall create = [&](int slot, bench::Done done) {
      const int64_t n = sequence.fetch_add(1);
      auto call = std::make_shared<Call>();
      call->context.AddMetadata("authorization", authorization);
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::CreateTicketRequest& request = call->request;
      request.set_site_id(kCreateSite);
      request.set_kind(v1::TICKET_KIND_REPAIR);
      request.set_channel(v1::TICKET_CHANNEL_PHONE);
      request.set_category(v1::TICKET_CATEGORY_FACILITIES_EQUIPMENT);
      request.set_unit("U-" + std::to_string(n));  // distinct: no T-11 duplicate links
      request.mutable_contact()->set_name("Resident");
      request.mutable_contact()->set_phone("+86 138 0000 0000");
      request.set_description("Kitchen tap leaking");
      request.set_request_id("bench-" + run + "-" + std::to_string(n));
      stubs[slot / 8]->async()->CreateTicket(&call->context, &call->request, &call->response,
                                             [call, done = std::move(done)](grpc::Status status) {
                                               if (!status.ok())
                                                 ReportFirstFailure("CreateTicket", status);
                                               done(status.ok());
                                             });
    };
    const bench::LoadResult r =
        bench::MeasureAsyncLoad(create, concurrency, bench::BenchDuration());
    const std::string name = "tickets_create_c" + std::to_string(concurrency);
    bench::PrintLoad(name, r);
    if (yardstick > 0) {
      // The target is at 64 callers; fewer callers cannot keep
      // MariaDB's group commit busy, so their multiples are context.
      bench::PrintFigure(name + "_vs_yardstick", r.throughput / yardstick, "x_raw_insert",
                         concurrency == 64 ? "(target >= 0.12)" : "(the target is at 64 callers)");
    }
  }
}

// Tickets 1..n of kLargeSite, newest last, every one open with one unmet
// contact deadline; due times spread over the 30 days after `first_due_us`.
void SeedLargeSite(common::MysqlPool& pool, int64_t n, int64_t first_due_us) {
  const int64_t now_us = NowMicros();
  const int64_t chunk = 200000;
  for (int64_t from = 1; from <= n; from += chunk) {
    const int64_t to = std::min(n, from + chunk - 1);
    const std::string seq = "seq_" + std::to_string(from) + "_to_" + std::to_string(to);
    pool.WithTransaction([&](common::MysqlConnection& tx) {
      tx.Execute(
          "INSERT INTO tickets (id, site_id, number, kind, channel, category, priority, state, "
          "unit, "
          "contact_name, contact_phone, description, first_contact_owner_id, owner_id, "
          "assignee_id, escalation_level, resolution, callback, incident_report, version, "
          "created_at_us, updated_at_us) "
          "SELECT NEXT VALUE FOR ticket_ids, ?, CONCAT('TK-BL01-', seq), 1 + seq % 3, 1, 1 + seq % "
          "5, 1, "
          "1 + seq % 3, CONCAT('U-', seq % 5000), 'Resident', '+86 138 0000 0000', "
          "'Seeded for the benchmark', 'staff-1', CONCAT('staff-', seq % 50), "
          "CONCAT('staff-', seq % 50), 1, '', '', '', "
          "1, ? + seq, ? + seq FROM " +
              seq,
          {std::string(kLargeSite), now_us - n, now_us - n});
    });
  }
  pool.WithTransaction([&](common::MysqlConnection& tx) {
    // 30 days / n apart by the ticket's seed number (TK-BL01-<n>; ids are
    // spaced by the sequence's block size): 1M deadlines fall due one per 2.6 s.
    const int64_t spacing_us = 30LL * 86400 * 1000000 / n;
    tx.Execute(
        "INSERT INTO ticket_deadlines (ticket_id, kind, site_id, due_at_us, watched) "
        "SELECT id, 1, site_id, ? + (CAST(SUBSTRING(number, 9) AS INTEGER) - 1) * ?, 1 "
        "FROM tickets WHERE site_id = ?",
        {first_due_us, spacing_us, std::string(kLargeSite)});
  });
}

struct IdRange {
  int64_t min = 0;
  int64_t max = 0;
};

IdRange LargeSiteIds(common::MysqlPool& pool) {
  return pool.WithTransaction([](common::MysqlConnection& tx) {
    auto rs = tx.Query("SELECT MIN(id), MAX(id) FROM tickets WHERE site_id = ?",
                       {std::string(kLargeSite)});
    rs->next();
    return IdRange{rs->getInt64(1), rs->getInt64(2)};
  });
}

// How a list call narrows the tickets.
struct ListFilter {
  v1::TicketState state = v1::TICKET_STATE_UNSPECIFIED;
  v1::TicketKind kind = v1::TICKET_KIND_UNSPECIFIED;
  std::string assignee_id{};
  bool overdue = false;
};

// p99 of 500 ListTickets calls, one caller, each starting below `after_id`.
void BenchListAt(testing::TicketsHarness& harness, const std::string& name, int64_t after_id,
                 const ListFilter& filter) {
  auto stub = v1::TicketsService::NewStub(harness.NewChannel());
  const std::string authorization = "Bearer " + ClerkToken();
  std::vector<double> samples;
  int failures = 0;
  int returned = 0;
  for (int i = 0; i < 550; ++i) {
    v1::ListTicketsRequest request;
    request.set_site_id(kLargeSite);
    request.set_page_size(50);
    if (after_id > 0) request.set_page_token(std::to_string(after_id));
    if (filter.state != v1::TICKET_STATE_UNSPECIFIED) request.add_states(filter.state);
    request.set_kind(filter.kind);
    request.set_assignee_id(filter.assignee_id);
    request.set_overdue_only(filter.overdue);
    v1::ListTicketsResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", authorization);
    const auto start = Clock::now();
    const grpc::Status status = stub->ListTickets(&context, request, &response);
    const double ms = MillisSince(start);
    if (!status.ok()) {
      ++failures;
      continue;
    }
    returned = response.tickets_size();
    if (i >= 50) samples.push_back(ms);  // the first 50 warm caches and connections
  }
  const bench::Percentiles p = bench::PercentilesOf(samples);
  bench::PrintFigure(name + "_p99", p.p99_ms, "ms",
                     "p50=" + std::to_string(p.p50_ms) + "ms calls=" +
                         std::to_string(samples.size()) + " page=" + std::to_string(returned) +
                         " failures=" + std::to_string(failures) + " (target <= 10 ms)");
}

void BenchList(testing::TicketsHarness& harness, const IdRange& ids, int64_t n) {
  const std::string prefix = "tickets_list_" + std::to_string(n) + "_";
  auto deep = [&](int percent) { return ids.max - (ids.max - ids.min) * percent / 100; };
  BenchListAt(harness, prefix + "first_page", 0, {});
  for (const int percent : {10, 50, 90, 99}) {
    BenchListAt(harness, prefix + "keyset_at_" + std::to_string(percent) + "pct", deep(percent),
                {});
  }
  ListFilter open;
  open.state = v1::TICKET_STATE_OPEN;
  BenchListAt(harness, prefix + "state_open_first_page", 0, open);
  BenchListAt(harness, prefix + "state_open_keyset_at_90pct", deep(90), open);
  ListFilter repairs;
  repairs.kind = v1::TICKET_KIND_REPAIR;
  BenchListAt(harness, prefix + "kind_repair_keyset_at_90pct", deep(90), repairs);
  ListFilter assignee;
  assignee.assignee_id = "staff-7";
  BenchListAt(harness, prefix + "assignee_keyset_at_90pct", deep(90), assignee);
  ListFilter overdue;
  overdue.overdue = true;
  BenchListAt(harness, prefix + "overdue_first_page", 0, overdue);
}

// Ticks one second apart over simulated time starting at `first_due`: each
// window holds the deadlines (about one in 2.6 s at 1M) that fell due in it.
void BenchScanner(testing::TicketsHarness& harness, std::chrono::system_clock::time_point first_due,
                  int64_t n) {
  DeadlineScanner scanner(harness.pool(), harness.store());
  scanner.TickOnce(first_due - std::chrono::seconds(1));  // cursor row, leadership
  std::vector<double> samples;
  for (int i = 0; i < 120; ++i) {
    const auto start = Clock::now();
    scanner.TickOnce(first_due + std::chrono::seconds(i));
    samples.push_back(MillisSince(start));
  }
  const int64_t breached = harness.pool().WithTransaction([](common::MysqlConnection& tx) {
    auto rs = tx.Query("SELECT COUNT(*) FROM ticket_deadlines WHERE breached = 1");
    rs->next();
    return rs->getInt64(1);
  });
  const bench::Percentiles p = bench::PercentilesOf(samples);
  bench::PrintFigure("tickets_scanner_tick_" + std::to_string(n) + "_open_p99", p.p99_ms, "ms",
                     "p50=" + std::to_string(p.p50_ms) + "ms max=" + std::to_string(p.max_ms) +
                         "ms ticks=120 breaches_recorded=" + std::to_string(breached) +
                         " (target <= 5 ms)");
}

// One refresh of the leader's open-work gauges (every GAUGE_REFRESH_MS, 15 s
// by default) with n open tickets: informational, no target.
void BenchGauges(testing::TicketsHarness& harness, int64_t n) {
  prometheus::Registry registry;
  TicketGauges gauges(harness.pool(), harness.store(), registry);
  std::vector<double> samples;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    gauges.RefreshOnce(std::chrono::system_clock::now());
    samples.push_back(MillisSince(start));
  }
  const bench::Percentiles p = bench::PercentilesOf(samples);
  bench::PrintFigure(
      "tickets_gauge_refresh_" + std::to_string(n) + "_open_p50", p.p50_ms, "ms",
      "max=" + std::to_string(p.max_ms) + "ms refreshes=5 (leader only, every 15 s)");
}

int Run() {
  common::SetDefaultLogger(
      std::make_shared<const common::Logger>("tickets", common::LogLevel::kWarn));
  const char* tickets_env = std::getenv("PROPDESK_BENCH_TICKETS");
  const int64_t n = tickets_env != nullptr ? std::atoll(tickets_env) : 1000000;
  testing::HarnessOptions options;
  options.database_prefix = "bench_tickets";
  if (const char* t = std::getenv("PROPDESK_BENCH_EXECUTOR_THREADS")) {
    options.executor_threads = std::atoi(t);
    options.pool_size = options.executor_threads + 8;
  }
  options.sites = {{kCreateSite, "g1", "BC01", "Bench create"},
                   {kLargeSite, "g1", "BL01", "Bench large"}};
  testing::TicketsHarness harness(options);

  BenchCreate(harness);

  const auto first_due = std::chrono::system_clock::now() + std::chrono::hours(1);
  const auto seed_start = Clock::now();
  // Bulk statements of the seed run longer than the service's statement
  // timeout: a pool of their own without one.
  common::MysqlOptions seed_options = harness.pool().options();
  seed_options.pool_size = 1;
  seed_options.statement_timeout = std::chrono::milliseconds(0);
  common::MysqlPool seed_pool(seed_options);
  SeedLargeSite(
      seed_pool, n,
      std::chrono::duration_cast<std::chrono::microseconds>(first_due.time_since_epoch()).count());
  bench::PrintFigure("tickets_seed_" + std::to_string(n), MillisSince(seed_start) / 1000, "s",
                     "(INSERT ... SELECT, not a target)");
  const IdRange ids = LargeSiteIds(harness.pool());
  BenchList(harness, ids, n);
  BenchScanner(harness, first_due, n);
  BenchGauges(harness, n);
  return 0;
}

}  // namespace
}  // namespace propdesk::tickets

int main() { return propdesk::tickets::Run(); }
