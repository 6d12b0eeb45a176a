// UpstreamCompletions: the queue and threads that complete upstream calls.
// Alarms stand in for calls: they complete on the same queue with a tag.

#include <grpcpp/alarm.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/upstreams.h"

namespace propdesk::gateway {
namespace {

using std::chrono::milliseconds;

std::chrono::system_clock::time_point In(milliseconds delay) {
  return std::chrono::system_clock::now() + delay;
}

std::string ThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

// Counts its own destruction, so a test sees the queue delete each tag.
struct Witness {
  explicit Witness(std::atomic<int>* deleted) : deleted_(deleted) {}
  Witness(Witness&& other) noexcept : deleted_(std::exchange(other.deleted_, nullptr)) {}
  ~Witness() {
    if (deleted_ != nullptr) ++*deleted_;
  }
  std::atomic<int>* deleted_;
};

TEST(UpstreamCompletions, RunsATagOnACompletionThreadAndDeletesIt) {
  UpstreamCompletions completions(1);
  std::atomic<int> deleted{0};
  std::promise<std::string> ran_on;
  grpc::Alarm alarm;
  alarm.Set(completions.queue(), In(milliseconds(1)),
            UpstreamCompletions::MakeTag(
                [&, witness = Witness(&deleted)] { ran_on.set_value(ThreadName()); }));
  auto future = ran_on.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get(), "gateway-grpc");
  completions.Shutdown();
  EXPECT_EQ(deleted.load(), 1);
}

TEST(UpstreamCompletions, ShutdownWaitsForEveryPendingTag) {
  UpstreamCompletions completions(2);
  std::atomic<int> completed{0};
  std::vector<std::unique_ptr<grpc::Alarm>> alarms;
  for (int i = 0; i < 20; ++i) {
    alarms.push_back(std::make_unique<grpc::Alarm>());
    alarms.back()->Set(completions.queue(), In(milliseconds(50 + i)),
                       UpstreamCompletions::MakeTag([&] { ++completed; }));
  }
  completions.Shutdown();  // the alarms are still 50 ms away
  EXPECT_EQ(completed.load(), 20);
}

TEST(UpstreamCompletions, ShutdownTwiceAndTheDestructorAreHarmless) {
  auto completions = std::make_unique<UpstreamCompletions>(1);
  completions->Shutdown();
  completions->Shutdown();
  completions.reset();
}

TEST(UpstreamCompletions, AskedForNoThreadsStillCompletes) {
  UpstreamCompletions completions(0);
  std::promise<void> ran;
  grpc::Alarm alarm;
  alarm.Set(completions.queue(), In(milliseconds(1)),
            UpstreamCompletions::MakeTag([&] { ran.set_value(); }));
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace propdesk::gateway
