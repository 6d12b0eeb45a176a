#include "tickets/creator.h"

#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include "common/errors.h"
#include "tickets/convert.h"
#include "tickets/domain/duplicates.h"
#include "tickets/outbox_events.h"

namespace propdesk::tickets {

using common::IdempotencyClaim;
using common::MysqlConnection;
using domain::Change;

namespace {

// Whether T-11 looks for an open ticket of the same fault for this create.
bool Probes(const PendingCreate& create) {
  return !create.allow_duplicate && create.settings->policy().duplicate_window.count() > 0 &&
         !create.input.unit.empty();
}

// Reports of one fault: the same unit, category and kind (domain/duplicates.h).
std::tuple<std::string, domain::Category, domain::Kind> FaultOf(const domain::NewTicket& input) {
  return {input.unit, input.category, input.kind};
}

std::chrono::year_month_day LocalDate(const PendingCreate& create, domain::Timestamp now) {
  return create.settings->calendar().LocalDate(now);
}

}  // namespace

TicketCreator::TicketCreator(common::MysqlPool& pool, common::Idempotency& idempotency,
                             TicketStore& store, TicketsMetrics* metrics, int max_batch)
    : pool_(pool),
      idempotency_(idempotency),
      store_(store),
      metrics_(metrics),
      max_batch_(max_batch),
      queue_(
          static_cast<size_t>(max_batch), kMaxRunning,
          [this](const std::string&, std::vector<PendingCreate>& batch) { ProcessBatch(batch); }) {}

void TicketCreator::Create(PendingCreate create) {
  const std::string site_id = create.site.site_id;
  queue_.Add(site_id, std::move(create));
}

void TicketCreator::ProcessBatch(std::vector<PendingCreate>& batch) {
  try {
    std::call_once(stride_checked_,
                   [&] { numbers_.CheckIdStride(pool_, kTicketIdSequence, max_batch_); });
  } catch (...) {
    for (PendingCreate& create : batch) create.done.Fail(std::current_exception());
    return;
  }
  std::vector<PendingCreate*> live;
  for (PendingCreate& create : batch) {
    if (!create.done.FinishIfNoLongerWanted()) live.push_back(&create);
  }
  std::vector<Work> work = Claim(live);
  std::vector<Work> alone;  // run one by one once the batch has committed
  const domain::Timestamp now = std::chrono::system_clock::now();
  try {
    SeparateDuplicates(work, alone, now);
    if (!work.empty()) {
      Allocate(work, now);
      CommitTogether(work, now);
    }
  } catch (...) {
    // Whatever failed, each create now runs on its own and meets its own
    // outcome (the same failure, or success when another create caused it).
    for (Work& w : work) CreateAlone(w);
    work.clear();
  }
  if (!work.empty()) {
    std::vector<std::pair<const common::IdempotentRequest*, const std::string*>> done;
    for (Work& w : work) done.emplace_back(&w.create->request, &w.serialized);
    idempotency_.Remember(done);
    AnswerCommitted(work);
  }
  for (Work& w : alone) CreateAlone(w);
}

void TicketCreator::AnswerCommitted(std::vector<Work>& work) {
  // Sending the answers costs gRPC about a quarter of a batch's time; the
  // answering thread does it while this one goes on to the next batch.
  auto answers = std::make_shared<std::vector<Answer>>();
  answers->reserve(work.size());
  for (Work& w : work) {
    w.create->response->Swap(&w.result);
    answers->push_back({std::move(w.create->done), std::move(*w.change)});
  }
  auto send = [this, answers] {
    for (Answer& answer : *answers) {
      if (metrics_) metrics_->Observe(answer.change);
      answer.done.Finish();
    }
  };
  if (!answering_.Submit(send)) send();  // stopping or swamped: answer here
}

std::vector<TicketCreator::Work> TicketCreator::Claim(const std::vector<PendingCreate*>& creates) {
  std::vector<const common::IdempotentRequest*> requests;
  std::vector<PendingCreate*> claimed;
  std::set<std::string> ids;
  for (PendingCreate* create : creates) {
    const std::string& id = create->request.request_id;
    if (!id.empty() && !ids.insert(id).second) {
      // C-8: the same request twice in one batch is a concurrent duplicate.
      create->done.Fail(std::make_exception_ptr(common::RequestInProgress(id)));
      continue;
    }
    requests.push_back(&create->request);
    claimed.push_back(create);
  }
  std::vector<IdempotencyClaim> claims;
  try {
    claims = idempotency_.Claim(requests);
  } catch (...) {
    for (PendingCreate* create : claimed) create->done.Fail(std::current_exception());
    return {};
  }
  std::vector<Work> work;
  work.reserve(claimed.size());
  for (size_t i = 0; i < claimed.size(); ++i) {
    PendingCreate& create = *claimed[i];
    switch (claims[i].state) {
      case IdempotencyClaim::State::kReplay:
        if (!create.response->ParseFromString(claims[i].replay)) {
          create.done.Fail(std::make_exception_ptr(common::Internal(
              "stored response of request " + create.request.request_id + " is corrupt")));
        } else {
          create.done.Finish();
        }
        break;
      case IdempotencyClaim::State::kRefused:
        create.done.Fail(claims[i].refusal);
        break;
      case IdempotencyClaim::State::kOwned:
      case IdempotencyClaim::State::kUnknown:
        work.emplace_back();
        work.back().create = &create;
        work.back().claim = std::move(claims[i]);
        break;
    }
  }
  return work;
}

void TicketCreator::SeparateDuplicates(std::vector<Work>& work, std::vector<Work>& alone,
                                       domain::Timestamp now) {
  std::vector<domain::DuplicateProbe> probes;
  domain::Timestamp since = now;
  for (const Work& w : work) {
    if (!Probes(*w.create)) continue;
    probes.push_back(domain::ProbeFor(w.create->input, now));
    since = std::min(
        since, domain::DuplicateWindowStart(now, w.create->settings->policy().duplicate_window));
  }
  if (probes.empty()) return;
  std::vector<domain::DuplicateCandidate> candidates;
  {
    common::PooledConnection conn = pool_.Acquire();
    candidates =
        store_.DuplicateCandidates(*conn, work.front().create->site.site_id, probes, since);
  }
  // Decide first, move after: a Work is never left behind half-moved.
  std::set<std::tuple<std::string, domain::Category, domain::Kind>> new_faults;
  std::vector<bool> link(work.size(), false);
  for (size_t i = 0; i < work.size(); ++i) {
    const PendingCreate& create = *work[i].create;
    if (Probes(create)) {
      const domain::DuplicateProbe probe = domain::ProbeFor(create.input, now);
      link[i] =
          domain::FindDuplicateTarget(probe, create.settings->policy().duplicate_window, candidates)
              .has_value() ||
          new_faults.count(FaultOf(create.input)) > 0;
    }
    if (!link[i]) new_faults.insert(FaultOf(create.input));
  }
  std::vector<Work> together;
  together.reserve(work.size());
  for (size_t i = 0; i < work.size(); ++i) {
    (link[i] ? alone : together).push_back(std::move(work[i]));
  }
  work = std::move(together);
}

void TicketCreator::Allocate(std::vector<Work>& work, domain::Timestamp now) {
  // Rule C-5: by the site-local date. Numbers are committed before the
  // tickets' transaction: a create that then fails leaves a gap, never a
  // repeat.
  const PendingCreate& first = *work.front().create;
  const std::vector<common::RecordNumberAllocator::NumberAndId> allocated =
      numbers_.ReserveWithIds(pool_, first.site.code, LocalDate(first, now), kTicketIdSequence,
                              static_cast<int>(work.size()));
  for (size_t i = 0; i < work.size(); ++i) work[i].allocated = allocated[i];
}

void TicketCreator::CommitTogether(std::vector<Work>& work, domain::Timestamp now) {
  const std::chrono::year_month_day date = LocalDate(*work.front().create, now);
  std::vector<const Change*> changes;
  std::vector<std::pair<const common::IdempotentRequest*, const std::string*>> keys;
  for (Work& w : work) {
    const PendingCreate& create = *w.create;
    // A site policy changed between the creates of one batch may move the
    // local date of its numbers; then each create goes on its own.
    if (LocalDate(create, now) != date) throw common::Internal("site-local dates differ");
    w.change = domain::OpenTicket(
        create.input, {std::to_string(w.allocated->id), create.site.site_id, w.allocated->number},
        {create.actor_id, now}, *create.settings);
    w.result.Clear();
    ToProto(w.change->ticket, w.result.mutable_ticket());
    w.serialized = w.result.SerializeAsString();
    changes.push_back(&*w.change);
    keys.emplace_back(&create.request, &w.serialized);
  }
  // One round trip: START TRANSACTION, five multi-row INSERTs, COMMIT.
  pool_.WithTransaction([&](MysqlConnection& tx) {
    store_.InsertAll(tx, changes);
    AppendOutboxEvents(tx, changes);
    common::Idempotency::DeferKeys(tx, keys);
  });
}

void TicketCreator::CreateAlone(Work& work) {
  PendingCreate& create = *work.create;
  std::optional<Change> committed;  // the last attempt's change (retries overwrite)
  try {
    const domain::Timestamp received = std::chrono::system_clock::now();
    if (!work.allocated) {
      work.allocated = numbers_
                           .ReserveWithIds(pool_, create.site.code, LocalDate(create, received),
                                           kTicketIdSequence, 1)
                           .front();
    }
    const common::IdempotentOutcome outcome =
        idempotency_.RunClaimed(create.request, work.claim, [&](MysqlConnection& tx) {
          const domain::Actor actor{create.actor_id, std::chrono::system_clock::now()};
          v1::CreateTicketResponse result;
          // T-11: a report of a fault already open is linked, not reopened.
          if (Probes(create)) {
            const std::chrono::seconds window = create.settings->policy().duplicate_window;
            const domain::DuplicateProbe probe = domain::ProbeFor(create.input, actor.now);
            const auto candidates = store_.DuplicateCandidates(
                tx, create.site.site_id, {probe}, domain::DuplicateWindowStart(actor.now, window));
            if (auto target = domain::FindDuplicateTarget(probe, window, candidates)) {
              std::optional<domain::Ticket> existing =
                  store_.Find(tx, create.site.site_id, *target, true);
              if (!existing) throw common::Internal("duplicate target vanished");
              const Change change = domain::LinkDuplicate(*existing, create.input, actor);
              store_.Update(tx, change, existing->version);
              AppendOutboxEvents(tx, change);
              committed = change;
              ToProto(change.ticket, result.mutable_ticket());
              result.set_linked_to_existing(true);
              return result.SerializeAsString();
            }
          }
          Change change = domain::OpenTicket(
              create.input,
              {std::to_string(work.allocated->id), create.site.site_id, work.allocated->number},
              actor, *create.settings);
          store_.Insert(tx, change);
          AppendOutboxEvents(tx, change);
          committed = change;
          ToProto(change.ticket, result.mutable_ticket());
          return result.SerializeAsString();
        });
    if (metrics_ && committed && !outcome.replayed) metrics_->Observe(*committed);
    if (!create.response->ParseFromString(outcome.response)) {
      throw common::Internal("stored response of request " + create.request.request_id +
                             " is corrupt");
    }
    create.done.Finish();
  } catch (...) {
    create.done.Fail(std::current_exception());
  }
}

}  // namespace propdesk::tickets
