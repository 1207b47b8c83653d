#include "client_core/governor.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client_core/fake_scheduler.h"
#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

struct Recorder {
  std::vector<Grant> grants;
  std::vector<std::string> order;
  bool closing = false;
  // Permits still held are released here, while the governor may still live:
  // the grants that frees must not land in a half-destroyed recorder.
  ~Recorder() {
    closing = true;
    for (auto& g : grants) {
      std::shared_ptr<Permit> p = std::move(g.permit);
      p.reset();
    }
  }
  // Ends grant i's upstream call (moved out first: the release may append).
  void Release(size_t i) {
    std::shared_ptr<Permit> p = std::move(grants[i].permit);
    p.reset();
  }
  GrantCallback For(const std::string& who) {
    return [this, who](Grant g) {
      if (closing) return;
      order.push_back(who);
      grants.push_back(std::move(g));
    };
  }
};

TEST(Governor, ConcurrencyCapQueuesAndReleaseLetsTheNextGo) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.max_concurrent = 2}, sched);
  Recorder r;
  for (int i = 0; i < 3; ++i) gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  ASSERT_EQ(r.grants.size(), 2u);
  EXPECT_EQ(gov->in_flight(), 2);
  r.Release(0);  // the first upstream call answered
  ASSERT_EQ(r.grants.size(), 3u);
  EXPECT_TRUE(r.grants[2].status.ok());
  EXPECT_EQ(gov->in_flight(), 2);
}

TEST(Governor, RequestsPerSecondAreSpacedByTheTokenBucket) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.requests_per_second = 10, .burst = 1}, sched);
  Recorder r;
  for (int i = 0; i < 5; ++i) gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  EXPECT_EQ(r.grants.size(), 1u);
  sched->Advance(absl::Milliseconds(99));
  EXPECT_EQ(r.grants.size(), 1u);
  sched->Advance(absl::Milliseconds(1));
  EXPECT_EQ(r.grants.size(), 2u);
  sched->Advance(absl::Milliseconds(300));
  EXPECT_EQ(r.grants.size(), 5u);
  for (auto& g : r.grants) EXPECT_TRUE(g.status.ok());
  EXPECT_EQ(r.grants[4].waited, absl::Milliseconds(400));
}

TEST(Governor, DeadlineThatCannotBeMetIsRefusedAtOnceWithRetryDelay) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.requests_per_second = 1, .burst = 1}, sched);
  Recorder r;
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));  // queued: starts in 1 s
  gov->Acquire("b", sched->Now() + absl::Milliseconds(500), r.For("b"));  // would start in 2 s
  ASSERT_EQ(r.grants.size(), 2u);
  EXPECT_EQ(r.order[1], "b");
  EXPECT_TRUE(absl::IsResourceExhausted(r.grants[1].status));
  EXPECT_EQ(r.grants[1].retry_after, absl::Seconds(2));
  EXPECT_EQ(gov->stats().rejected, 1);
}

TEST(Governor, WaiterWhoseDeadlinePassesInTheQueueIsRefused) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.max_concurrent = 1}, sched);
  Recorder r;
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  gov->Acquire("b", sched->Now() + absl::Seconds(1), r.For("b"));
  EXPECT_EQ(r.grants.size(), 1u);
  sched->Advance(absl::Seconds(1));
  ASSERT_EQ(r.grants.size(), 2u);
  EXPECT_TRUE(absl::IsResourceExhausted(r.grants[1].status));
  EXPECT_GT(r.grants[1].retry_after, absl::ZeroDuration());
  r.Release(0);
  EXPECT_EQ(gov->in_flight(), 0) << "the expired waiter took no slot";
}

TEST(Governor, A429PausesEveryCallerUntilRetryAfter) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.max_concurrent = 8}, sched);
  Recorder r;
  gov->PauseUntil(sched->Now() + absl::Seconds(3));
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  gov->Acquire("b", absl::InfiniteFuture(), r.For("b"));
  gov->Acquire("c", sched->Now() + absl::Seconds(1), r.For("c"));  // cannot wait 3 s
  ASSERT_EQ(r.grants.size(), 1u);
  EXPECT_TRUE(absl::IsResourceExhausted(r.grants[0].status));
  EXPECT_EQ(r.grants[0].retry_after, absl::Seconds(3));
  sched->Advance(absl::Milliseconds(2999));
  EXPECT_EQ(r.grants.size(), 1u);
  sched->Advance(absl::Milliseconds(1));
  ASSERT_EQ(r.grants.size(), 3u);
  EXPECT_TRUE(r.grants[1].status.ok());
  EXPECT_TRUE(r.grants[2].status.ok());
}

TEST(Governor, PauseIsCappedByMaxPause) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.max_concurrent = 1, .max_pause = absl::Seconds(5)}, sched);
  Recorder r;
  gov->PauseUntil(sched->Now() + absl::Hours(2));
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  sched->Advance(absl::Seconds(5));
  ASSERT_EQ(r.grants.size(), 1u);
  EXPECT_TRUE(r.grants[0].status.ok());
}

TEST(Governor, BusyCallerCannotStarveOthers) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.max_concurrent = 1}, sched);
  Recorder r;
  gov->Acquire("busy", absl::InfiniteFuture(), r.For("busy"));
  for (int i = 0; i < 10; ++i) gov->Acquire("busy", absl::InfiniteFuture(), r.For("busy"));
  gov->Acquire("quiet", absl::InfiniteFuture(), r.For("quiet"));
  // Each answer lets the next waiter go: the quiet caller is second, not eleventh.
  for (int i = 0; i < 3; ++i) r.Release(i);
  ASSERT_GE(r.order.size(), 3u);
  EXPECT_EQ(r.order[1], "busy");
  EXPECT_EQ(r.order[2], "quiet");
}

TEST(Governor, CancelledWaiterAnswersCancelledAndFreesItsPlace) {
  auto sched = std::make_shared<FakeScheduler>();
  auto gov = Governor::Create({.max_concurrent = 1}, sched);
  Recorder r;
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  auto ticket = gov->Acquire("b", absl::InfiniteFuture(), r.For("b"));
  ticket->Cancel();
  ASSERT_EQ(r.grants.size(), 2u);
  EXPECT_TRUE(absl::IsCancelled(r.grants[1].status));
  r.Release(0);
  EXPECT_EQ(gov->in_flight(), 0);
}

TEST(Governor, RealTimersHoldTheRateAcrossThreads) {
  auto gov = Governor::Create({.requests_per_second = 200, .burst = 1}, MakeRealScheduler());
  constexpr int kCalls = 100;
  // Shared with the grant callbacks, which run on the scheduler's thread and
  // may still be unwinding when the test has seen the last grant: owned by
  // them too, so nothing is destroyed under a callback.
  struct State {
    absl::Mutex mu;
    int granted = 0;
    absl::Notification all;
  };
  auto state = std::make_shared<State>();
  absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&gov, state, t] {
      for (int i = 0; i < kCalls / 4; ++i) {
        gov->Acquire(std::to_string(t), absl::InfiniteFuture(), [state](Grant g) {
          bool last = false;
          {
            absl::MutexLock lock(&state->mu);
            last = g.status.ok() && ++state->granted == kCalls;
          }
          if (last) state->all.Notify();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(state->all.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // 100 calls at 200/s with a burst of 1: about 0.5 s, never much faster.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(480));
}

// A shared budget whose answers the test gives by hand (Redis stands behind
// the real one).
class FakeBudget : public SharedBudget {
 public:
  bool available() const override { return up; }
  void Acquire(std::function<void(Answer)> done) override { asks.push_back(std::move(done)); }
  void Release(const std::string& lease) override { released.push_back(lease); }
  void Pause(absl::Duration length) override { pauses.push_back(length); }
  void Reply(size_t i, Answer::Kind kind, absl::Duration wait = absl::ZeroDuration()) {
    SharedBudget::Answer a;
    a.kind = kind;
    a.wait = wait;
    if (kind == Answer::Kind::kGranted) a.lease = "lease-" + std::to_string(i);
    auto done = std::move(asks[i]);
    done(std::move(a));
  }
  bool up = true;
  std::vector<std::function<void(SharedBudget::Answer)>> asks;
  std::vector<std::string> released;
  std::vector<absl::Duration> pauses;
};

TEST(Governor, WithASharedBudgetEveryGrantIsTheBudgetsAndWaitsWhenItSaysSo) {
  auto sched = std::make_shared<FakeScheduler>();
  auto budget = std::make_shared<FakeBudget>();
  GovernorOptions o;
  o.max_concurrent = 30;
  o.requests_per_second = 100;
  o.shared = budget;
  o.expected_replicas = 3;
  auto gov = Governor::Create(o, sched);
  Recorder r;
  gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  gov->Acquire("b", absl::InfiniteFuture(), r.For("b"));
  ASSERT_EQ(budget->asks.size(), 2u);  // asked, not granted locally
  EXPECT_TRUE(r.grants.empty());
  budget->Reply(0, SharedBudget::Answer::Kind::kGranted);
  ASSERT_EQ(r.grants.size(), 1u);
  // The budget is spent for 50 ms: b is asked again only then.
  budget->Reply(1, SharedBudget::Answer::Kind::kWait, absl::Milliseconds(50));
  EXPECT_EQ(budget->asks.size(), 2u);
  sched->Advance(absl::Milliseconds(49));
  EXPECT_EQ(budget->asks.size(), 2u);
  sched->Advance(absl::Milliseconds(1));
  ASSERT_EQ(budget->asks.size(), 3u);
  budget->Reply(2, SharedBudget::Answer::Kind::kGranted);
  ASSERT_EQ(r.grants.size(), 2u);
  EXPECT_EQ(r.order[1], "b");
  r.Release(0);
  ASSERT_EQ(budget->released.size(), 1u);  // the lease goes back
  EXPECT_EQ(budget->released[0], "lease-0");
  gov->PauseUntil(sched->Now() + absl::Seconds(2));  // a 429: every replica pauses
  ASSERT_EQ(budget->pauses.size(), 1u);
  EXPECT_EQ(budget->pauses[0], absl::Seconds(2));
}

TEST(Governor, SharedBudgetUnavailableFallsBackToItsShareOfTheLimits) {
  auto sched = std::make_shared<FakeScheduler>();
  auto budget = std::make_shared<FakeBudget>();
  budget->up = false;
  GovernorOptions o;
  o.max_concurrent = 6;
  o.shared = budget;
  o.expected_replicas = 3;
  auto gov = Governor::Create(o, sched);
  Recorder r;
  for (int i = 0; i < 3; ++i) gov->Acquire("a", absl::InfiniteFuture(), r.For("a"));
  EXPECT_EQ(r.grants.size(), 2u) << "6 in flight over 3 replicas: 2 here";
  EXPECT_TRUE(budget->asks.empty());
  EXPECT_FALSE(gov->shared_active());
  // An answer of "unavailable" (Redis died under the question) does the same.
  budget->up = true;
  r.Release(0);  // the queued one goes; the mode is looked at again
  EXPECT_TRUE(gov->shared_active());
  ASSERT_EQ(budget->asks.size(), 1u);
  budget->Reply(0, SharedBudget::Answer::Kind::kUnavailable);
  EXPECT_FALSE(gov->shared_active());
  EXPECT_EQ(r.grants.size(), 3u) << "granted under the local share instead";
  for (auto& g : r.grants) EXPECT_TRUE(g.status.ok());
}

}  // namespace
}  // namespace filesgw::client_core
