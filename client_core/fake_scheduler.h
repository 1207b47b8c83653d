// A Scheduler for tests: a manual clock that only moves when the test calls
// Advance, which runs the timers that came due synchronously on the calling
// thread. It records every wait asked of it, so a test can assert on backoff
// and Retry-After delays without sleeping.
//
//   auto sched = std::make_shared<FakeScheduler>();
//   sched->Advance(absl::Seconds(1));  // runs every timer due by now + 1 s
#ifndef FILESGW_CLIENT_CORE_FAKE_SCHEDULER_H_
#define FILESGW_CLIENT_CORE_FAKE_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client_core/scheduler.h"

namespace filesgw::client_core {

class FakeScheduler : public Scheduler {
 public:
  explicit FakeScheduler(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  uint64_t RunAt(absl::Time when, std::function<void()> fn) override {
    absl::MutexLock lock(&mu_);
    uint64_t id = ++next_id_;
    waits_.push_back(when - now_);
    timers_.emplace(std::make_pair(when, id), std::move(fn));
    return id;
  }

  bool Cancel(uint64_t id) override {
    absl::MutexLock lock(&mu_);
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return true;
      }
    }
    return false;
  }

  // Moves the clock by `d`, running due timers in time order; timers they add
  // that are also due run too.
  void Advance(absl::Duration d) {
    absl::Time target;
    {
      absl::MutexLock lock(&mu_);
      target = now_ + d;
    }
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        auto it = timers_.begin();
        if (it == timers_.end() || it->first.first > target) {
          now_ = target;
          return;
        }
        if (it->first.first > now_) now_ = it->first.first;
        fn = std::move(it->second);
        timers_.erase(it);
      }
      fn();
    }
  }

  // Advances exactly to the earliest pending timer and runs it; false if none.
  bool RunNext() {
    absl::Duration d;
    {
      absl::MutexLock lock(&mu_);
      if (timers_.empty()) return false;
      d = timers_.begin()->first.first - now_;
    }
    Advance(d < absl::ZeroDuration() ? absl::ZeroDuration() : d);
    return true;
  }

  size_t pending() {
    absl::MutexLock lock(&mu_);
    return timers_.size();
  }

  // Every delay asked through RunAt (when - Now() at the time of the call).
  std::vector<absl::Duration> waits() {
    absl::MutexLock lock(&mu_);
    return waits_;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> timers_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> waits_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_FAKE_SCHEDULER_H_
