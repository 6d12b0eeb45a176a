// Rule C-5: record sequences never repeat, also under concurrent writers;
// each (type, site, day) counts on its own. Runs against the harness MariaDB.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/migrations.h"
#include "common/mysql.h"
#include "common/record_number.h"
#include "support/test_env.h"

namespace propdesk::common {
namespace {

using propdesk::testing::FreshDatabase;

std::chrono::year_month_day Ymd(int y, unsigned m, unsigned d) {
  return {std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

class RecordSequenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<MysqlPool>(FreshDatabase("recseq", 16));
    ApplyMigrations(*pool_, {{"common", PROPDESK_COMMON_MIGRATIONS}});
  }

  std::string Allocate(const RecordNumberAllocator& allocator, std::string_view site,
                       std::chrono::year_month_day day) {
    return pool_->WithTransaction(
        [&](MysqlConnection& tx) { return allocator.Next(tx, site, day); });
  }

  std::unique_ptr<MysqlPool> pool_;
};

TEST_F(RecordSequenceTest, C5_FirstNumbersOfADayCountFromOne) {
  const RecordNumberAllocator tickets("TK");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2004, 2, 14)), "TK-SZ01-040214001");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2004, 2, 14)), "TK-SZ01-040214002");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2004, 2, 14)), "TK-SZ01-040214003");
}

TEST_F(RecordSequenceTest, C5_SitesDaysAndTypesCountIndependently) {
  const RecordNumberAllocator tickets("TK");
  const RecordNumberAllocator visitors("VIS");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214001");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214002");
  EXPECT_EQ(Allocate(tickets, "SZ02", Ymd(2024, 2, 14)), "TK-SZ02-240214001");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 15)), "TK-SZ01-240215001");
  EXPECT_EQ(Allocate(visitors, "SZ01", Ymd(2024, 2, 14)), "VIS-SZ01-240214001");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214003");
}

TEST_F(RecordSequenceTest, C5_RolledBackAllocationIsReused) {
  // The counter moves with the caller's transaction: a record that was never
  // committed leaves no gap.
  const RecordNumberAllocator tickets("TK");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214001");
  EXPECT_THROW(pool_->WithTransaction([&](MysqlConnection& tx) {
    EXPECT_EQ(tickets.Next(tx, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214002");
    throw Error(ErrorKind::kFailedPrecondition, "TEST_ROLLBACK", "roll back");
  }),
               Error);
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214002");
}

TEST_F(RecordSequenceTest, C5_BadInputCreatesNoCounter) {
  const RecordNumberAllocator tickets("TK");
  EXPECT_THROW(Allocate(tickets, "sz-01", Ymd(2024, 2, 14)), Error);
  EXPECT_THROW(Allocate(tickets, "SZ01", Ymd(2024, 2, 30)), Error);
  auto rows = pool_->Acquire()->Query("SELECT COUNT(*) FROM record_sequences");
  ASSERT_TRUE(rows->next());
  EXPECT_EQ(rows->getInt64(1), 0);
}

// 16 writers × 50 allocations on one site and day: 800 distinct numbers, and
// together exactly 001…800 — no repeats and no gaps. Meanwhile other sites
// and days keep their own counts.
TEST_F(RecordSequenceTest, C5_UniqueUnderConcurrentWriters) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  const RecordNumberAllocator tickets("TK");
  std::mutex mu;
  std::vector<std::string> busy_site;   // guarded by mu
  std::vector<std::string> other_site;  // guarded by mu
  std::vector<std::string> other_day;   // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string number = Allocate(tickets, "SZ01", Ymd(2024, 2, 14));
        {
          std::lock_guard<std::mutex> lock(mu);
          busy_site.push_back(std::move(number));
        }
        if (t % 4 == 0 && i % 5 == 0) {
          // Every 4th thread interleaves a few numbers elsewhere.
          std::string site = Allocate(tickets, "SZ02", Ymd(2024, 2, 14));
          std::string day = Allocate(tickets, "SZ01", Ymd(2024, 2, 15));
          std::lock_guard<std::mutex> lock(mu);
          other_site.push_back(std::move(site));
          other_day.push_back(std::move(day));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  ASSERT_EQ(busy_site.size(), static_cast<size_t>(kThreads * kPerThread));
  const std::set<std::string> distinct(busy_site.begin(), busy_site.end());
  EXPECT_EQ(distinct.size(), busy_site.size()) << "a record number was handed out twice";
  std::set<std::string> expected;
  for (int seq = 1; seq <= kThreads * kPerThread; ++seq) {
    expected.insert(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), seq));
  }
  EXPECT_EQ(distinct, expected);

  // 4 threads × 10 interleaved allocations each, numbered 1…40 on their own.
  std::sort(other_site.begin(), other_site.end());
  std::sort(other_day.begin(), other_day.end());
  ASSERT_EQ(other_site.size(), 40u);
  ASSERT_EQ(other_day.size(), 40u);
  for (int seq = 1; seq <= 40; ++seq) {
    EXPECT_EQ(other_site[seq - 1], FormatRecordNumber("TK", "SZ02", Ymd(2024, 2, 14), seq));
    EXPECT_EQ(other_day[seq - 1], FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 15), seq));
  }
}

// ReserveWithIds: the number is committed on its own, so it survives the
// caller's rollback (a gap, never a repeat), and concurrent writers still
// never share one.
class CommittedRecordSequenceTest : public RecordSequenceTest {
 protected:
  void SetUp() override {
    RecordSequenceTest::SetUp();
    pool_->Acquire()->ExecuteRaw("CREATE SEQUENCE row_ids START WITH 100");
  }
  std::string Reserve(const RecordNumberAllocator& allocator, std::string_view site,
                      std::chrono::year_month_day day) {
    return allocator.ReserveWithIds(*pool_, site, day, "row_ids", 1).front().number;
  }
};

TEST_F(CommittedRecordSequenceTest, C5_CommittedAllocationSurvivesTheCallersRollback) {
  const RecordNumberAllocator tickets("TK");
  EXPECT_EQ(Reserve(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214001");
  EXPECT_THROW(pool_->WithTransaction([&](MysqlConnection&) {
    throw Error(ErrorKind::kFailedPrecondition, "TEST_ROLLBACK", "roll back");
  }),
               Error);
  EXPECT_EQ(Reserve(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214002");
  EXPECT_EQ(Allocate(tickets, "SZ01", Ymd(2024, 2, 14)), "TK-SZ01-240214003");
  EXPECT_THROW(Reserve(tickets, "sz 01", Ymd(2024, 2, 14)), Error);
}

TEST_F(CommittedRecordSequenceTest, C5_CommittedAllocationUniqueUnderConcurrentWriters) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  const RecordNumberAllocator tickets("TK");
  std::mutex mu;
  std::set<std::string> numbers;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string number = Reserve(tickets, "SZ01", Ymd(2024, 2, 14));
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(numbers.insert(std::move(number)).second) << "a number was handed out twice";
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*numbers.rbegin(), FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 800));
}

TEST_F(CommittedRecordSequenceTest, C5_NumberAndRowIdComeTogether) {
  const RecordNumberAllocator tickets("TK");
  const auto first = tickets.ReserveWithIds(*pool_, "SZ01", Ymd(2024, 2, 14), "row_ids", 1);
  const auto second = tickets.ReserveWithIds(*pool_, "SZ01", Ymd(2024, 2, 14), "row_ids", 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].number, "TK-SZ01-240214001");
  EXPECT_EQ(first[0].id, 100);
  EXPECT_EQ(second[0].number, "TK-SZ01-240214002");
  EXPECT_EQ(second[0].id, 101);
  EXPECT_THROW(tickets.ReserveWithIds(*pool_, "SZ01", Ymd(2024, 2, 14), "ids; DROP", 1), Error);
  EXPECT_THROW(tickets.ReserveWithIds(*pool_, "SZ01", Ymd(2024, 2, 14), "row_ids", 0), Error);
}

// Batches of numbers and ids reserved concurrently never overlap and leave
// no number out (a batch of creates takes its numbers this way).
TEST_F(RecordSequenceTest, C5_ConcurrentBatchesOfNumbersAndIdsNeverOverlap) {
  pool_->Acquire()->ExecuteRaw("CREATE SEQUENCE row_ids START WITH 1 INCREMENT BY 8");
  const RecordNumberAllocator tickets("TK");
  constexpr int kThreads = 16;
  constexpr int kPerThread = 20;
  std::mutex mu;
  std::set<std::string> numbers;  // guarded by mu
  std::set<int64_t> ids;          // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int count = 1 + (t + i) % 8;
        const auto batch =
            tickets.ReserveWithIds(*pool_, "SZ01", Ymd(2024, 2, 15), "row_ids", count);
        EXPECT_EQ(batch.size(), static_cast<size_t>(count));
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& reserved : batch) {
          EXPECT_TRUE(numbers.insert(reserved.number).second) << "number handed out twice";
          EXPECT_TRUE(ids.insert(reserved.id).second) << "id handed out twice";
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> expected;
  for (int seq = 1; seq <= static_cast<int>(numbers.size()); ++seq) {
    expected.insert(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 15), seq));
  }
  EXPECT_EQ(numbers, expected);
}

TEST_F(RecordSequenceTest, C5_IdStrideCheckRefusesASequenceThatWouldRepeatIds) {
  pool_->Acquire()->ExecuteRaw("CREATE SEQUENCE row_ids START WITH 1 INCREMENT BY 8");
  const RecordNumberAllocator tickets("TK");
  EXPECT_NO_THROW(tickets.CheckIdStride(*pool_, "row_ids", 8));
  try {
    tickets.CheckIdStride(*pool_, "row_ids", 9);
    FAIL() << "accepted a sequence that would hand out one id twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.reason(), "ID_SEQUENCE_STRIDE");
  }
  EXPECT_THROW(tickets.CheckIdStride(*pool_, "ids; DROP", 8), Error);
}

}  // namespace
}  // namespace propdesk::common
