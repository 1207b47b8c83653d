#include "client_core/scheduler.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "client_core/fake_scheduler.h"
#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

TEST(FakeScheduler, RunsDueTimersInTimeOrderOnAdvance) {
  FakeScheduler s;
  const absl::Time t0 = s.Now();
  std::vector<int> order;
  s.RunAt(t0 + absl::Seconds(2), [&] { order.push_back(2); });
  s.RunAt(t0 + absl::Seconds(1), [&] {
    order.push_back(1);
    // A timer added by a timer and due within the advance runs too.
    s.RunAt(s.Now() + absl::Milliseconds(500), [&] { order.push_back(15); });
  });
  uint64_t cancelled = s.RunAt(t0 + absl::Seconds(1), [&] { order.push_back(-1); });
  EXPECT_TRUE(s.Cancel(cancelled));
  EXPECT_FALSE(s.Cancel(cancelled));
  s.Advance(absl::Milliseconds(999));
  EXPECT_TRUE(order.empty());
  s.Advance(absl::Seconds(2));
  EXPECT_EQ(order, (std::vector<int>{1, 15, 2}));
  EXPECT_EQ(s.Now(), t0 + absl::Milliseconds(2999));
  EXPECT_EQ(s.waits(), (std::vector<absl::Duration>{absl::Seconds(2), absl::Seconds(1),
                                                    absl::Seconds(1), absl::Milliseconds(500)}));
}

TEST(RealScheduler, RunsTimersAndHonoursCancel) {
  auto s = MakeRealScheduler();
  absl::Notification ran;
  std::atomic<bool> cancelled_ran{false};
  // Far in the future: Cancel must win, and the test does not wait for it.
  uint64_t id = s->RunAt(s->Now() + absl::Hours(1), [&] { cancelled_ran = true; });
  s->RunAt(s->Now(), [&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(s->Cancel(id));
  EXPECT_FALSE(cancelled_ran.load());
}

TEST(RealScheduler, EarlierTimerAddedLaterRunsFirst) {
  auto s = MakeRealScheduler();
  absl::Notification early;
  std::atomic<bool> late_ran{false};
  s->RunAt(s->Now() + absl::Hours(1), [&] { late_ran = true; });
  s->RunAt(s->Now(), [&] { early.Notify(); });  // must wake the sleeping thread
  EXPECT_TRUE(early.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(late_ran.load());
}

TEST(RealScheduler, MayBeDestroyedFromItsOwnCallback) {
  auto s = MakeRealScheduler();
  absl::Notification released, done;
  std::shared_ptr<Scheduler> holder = s;
  s->RunAt(s->Now(), [&holder, &released, &done] {
    released.WaitForNotification();
    holder.reset();  // the last reference goes away on the timer thread
    done.Notify();
  });
  s.reset();
  released.Notify();
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(holder, nullptr);
}

}  // namespace
}  // namespace filesgw::client_core
