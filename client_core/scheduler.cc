#include "client_core/scheduler.h"

#include <queue>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace filesgw::client_core {
namespace {

// One thread sleeping on a condition variable until the earliest timer. Cancel
// only forgets the callback; its heap entry is skipped when it comes up, which
// keeps Cancel O(1) without an indexed heap. The state lives apart from the
// scheduler and the thread co-owns it, because a callback may drop the last
// reference to the scheduler while it runs on that thread.
struct TimerState {
  struct Entry {
    absl::Time when;
    uint64_t id;
    // std::priority_queue is a max-heap: invert to pop the earliest first.
    bool operator<(const Entry& other) const {
      return when != other.when ? when > other.when : id > other.id;
    }
  };

  void Loop() {
    absl::MutexLock lock(&mu);
    while (!stopping) {
      if (heap.empty()) {
        wake.Wait(&mu);
        continue;
      }
      Entry next = heap.top();
      if (absl::Now() < next.when) {
        wake.WaitWithDeadline(&mu, next.when);
        continue;
      }
      heap.pop();
      auto it = callbacks.find(next.id);
      if (it == callbacks.end()) continue;  // cancelled
      std::function<void()> fn = std::move(it->second);
      callbacks.erase(it);
      mu.Unlock();
      fn();
      fn = nullptr;  // captures are destroyed outside the lock too
      mu.Lock();
    }
  }

  absl::Mutex mu;
  absl::CondVar wake;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  uint64_t next_id ABSL_GUARDED_BY(mu) = 0;
  std::priority_queue<Entry> heap ABSL_GUARDED_BY(mu);
  std::unordered_map<uint64_t, std::function<void()>> callbacks ABSL_GUARDED_BY(mu);
};

class RealScheduler : public Scheduler {
 public:
  RealScheduler()
      : state_(std::make_shared<TimerState>()), thread_([state = state_] { state->Loop(); }) {}

  ~RealScheduler() override {
    {
      absl::MutexLock lock(&state_->mu);
      state_->stopping = true;
      state_->wake.Signal();
    }
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();  // never join our own thread; it holds the state
    } else {
      thread_.join();
    }
  }

  absl::Time Now() override { return absl::Now(); }

  uint64_t RunAt(absl::Time when, std::function<void()> fn) override {
    absl::MutexLock lock(&state_->mu);
    uint64_t id = ++state_->next_id;
    state_->callbacks.emplace(id, std::move(fn));
    state_->heap.push({when, id});
    if (state_->heap.top().id == id) state_->wake.Signal();
    return id;
  }

  bool Cancel(uint64_t id) override {
    absl::MutexLock lock(&state_->mu);
    return state_->callbacks.erase(id) > 0;
  }

 private:
  std::shared_ptr<TimerState> state_;
  std::thread thread_;
};

}  // namespace

std::shared_ptr<Scheduler> MakeRealScheduler() { return std::make_shared<RealScheduler>(); }

}  // namespace filesgw::client_core
