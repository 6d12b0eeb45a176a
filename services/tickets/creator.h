#pragma once

// CreateTicket's work (T-1 … T-4, T-11, C-5, C-8), done for all the creates
// of a site that arrive together (common/batch_queue.h). A batch costs
//   1 Redis round trip   C-8 claims of every request id (SET NX GET);
//   1 MySQL round trip   the T-11 probe of every report;
//   1 MySQL round trip   C-5 numbers and ticket ids for every new ticket;
//   1 MySQL round trip   one transaction: every ticket with its deadlines,
//                        history, outbox events and idempotency key, COMMIT;
//   1 Redis round trip   C-8: every response remembered for repeats,
// whatever its size (at most max_batch), where one create alone costs the
// same. Each create stays all-or-nothing: the transaction holds them all,
// and if it fails, each is run again on its own transaction, so that one
// bad create (say, a request id MySQL already holds) costs the others
// nothing but time.
//
// Creates that need more than inserts run on their own, after the batch:
//  - a report of a fault with an open ticket (T-11) is linked to it;
//  - a report of the same fault as an earlier create of the same batch
//    waits for that one to commit, and is then linked to it;
//  - a request id that is already in the batch is answered as a concurrent
//    duplicate (ABORTED / REQUEST_IN_PROGRESS, C-8), as Redis would.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/batch_queue.h"
#include "common/call.h"
#include "common/executor.h"
#include "common/idempotency.h"
#include "common/mysql.h"
#include "common/record_number.h"
#include "propdesk/tickets/v1/tickets_service.pb.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/domain/workflow.h"
#include "tickets/metrics.h"
#include "tickets/store.h"

namespace propdesk::tickets {

// One CreateTicket call, checked (input, site access) and waiting to be run.
struct PendingCreate {
  SiteRecord site;
  std::shared_ptr<const domain::SlaSettings> settings;
  domain::NewTicket input;
  bool allow_duplicate = false;
  std::string actor_id;
  common::IdempotentRequest request;             // C-8 identity; request_id may be empty
  v1::CreateTicketResponse* response = nullptr;  // written before `done` finishes
  common::Completion done;
};

class TicketCreator {
 public:
  // `metrics` may be null. Every argument must outlive the creator.
  // `max_batch` is at most the INCREMENT of kTicketIdSequence (checked on
  // first use: a batch takes its ids from one NEXTVAL).
  TicketCreator(common::MysqlPool& pool, common::Idempotency& idempotency, TicketStore& store,
                TicketsMetrics* metrics, int max_batch = kMaxBatch);

  // Answers `create.done`, now or with a later batch of its site, possibly
  // on another thread. Never throws for the create's own failures.
  void Create(PendingCreate create);

  // 64: the INCREMENT of ticket_ids (migration 0006). At 64 callers batches
  // of ~30 form on 2 cores; a cap of 32 made some calls wait a second batch.
  static constexpr int kMaxBatch = 64;
  // One batch of a site at a time: a batch then sees every earlier batch's
  // tickets committed, so T-11 links reports of one fault exactly within a
  // replica. (Measured on 2 cores: two at a time gained no throughput.)
  static constexpr size_t kMaxRunning = 1;

 private:
  // A create whose claim was taken, and its place in the batch.
  struct Work {
    PendingCreate* create = nullptr;
    common::IdempotencyClaim claim;
    std::optional<common::RecordNumberAllocator::NumberAndId> allocated;
    std::optional<domain::Change> change;  // set once committed by the batch
    v1::CreateTicketResponse result;
    std::string serialized;
  };

  void ProcessBatch(std::vector<PendingCreate>& batch);
  // C-8 claims of `creates`; answers the replayed and refused ones and
  // returns the rest.
  std::vector<Work> Claim(const std::vector<PendingCreate*>& creates);
  // T-11: moves the reports that must be linked (to an open ticket, or to
  // an earlier create of the batch) from `work` to `alone`.
  void SeparateDuplicates(std::vector<Work>& work, std::vector<Work>& alone, domain::Timestamp now);
  // C-5 numbers and ids for `work`, one statement.
  void Allocate(std::vector<Work>& work, domain::Timestamp now);
  // Every create of `work` in one transaction.
  void CommitTogether(std::vector<Work>& work, domain::Timestamp now);
  // Answers the committed creates of a batch (and counts them) on the
  // answering thread.
  void AnswerCommitted(std::vector<Work>& work);
  // One create on its own transaction (the path a create took before
  // batching, and still takes when it is not a plain insert); answers it.
  void CreateAlone(Work& work);

  common::MysqlPool& pool_;
  common::Idempotency& idempotency_;
  TicketStore& store_;
  TicketsMetrics* const metrics_;  // may be null
  const common::RecordNumberAllocator numbers_{"TK"};
  const int max_batch_;
  std::once_flag stride_checked_;
  common::BatchQueue<PendingCreate> queue_;
  struct Answer {
    common::Completion done;
    domain::Change change;
  };
  // Last: stopped first, after it has sent every answer queued to it.
  common::BlockingExecutor answering_{1, 100000, "ticket-answers"};
};

}  // namespace propdesk::tickets
