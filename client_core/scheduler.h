// Clock and timers as a seam, so retry backoff and waits are testable without
// sleeping. RealScheduler runs callbacks on one timer thread.
#ifndef FILESGW_CLIENT_CORE_SCHEDULER_H_
#define FILESGW_CLIENT_CORE_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"

namespace filesgw::client_core {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual absl::Time Now() = 0;
  // Runs `fn` once at or after `when`, on a scheduler thread. Returns an id for Cancel.
  virtual uint64_t RunAt(absl::Time when, std::function<void()> fn) = 0;
  // True when the timer was removed before it ran.
  virtual bool Cancel(uint64_t id) = 0;
};

std::shared_ptr<Scheduler> MakeRealScheduler();

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_SCHEDULER_H_
