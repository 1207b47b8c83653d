// The rate governor: one per credential profile, shared by every caller of
// the gateway, so the whole fleet stays inside Files.com's limits. It caps
// upstream requests in flight and requests per second (token bucket), pauses
// all traffic after a 429 until its Retry-After, and serves waiting callers
// round-robin by caller key so one busy caller cannot starve the others. A
// caller whose deadline cannot be met is refused at once (RESOURCE_EXHAUSTED
// with the delay after which trying again makes sense) instead of waiting.
//
//   auto governor = Governor::Create({.max_concurrent = 16, .requests_per_second = 50}, scheduler);
//   auto ticket = governor->Acquire("service-a", deadline, [](Grant g) {
//     if (!g.status.ok()) return Fail(g.status, g.retry_after);
//     Send(...);  // keep g.permit alive until the upstream answer arrives
//   });
#ifndef FILESGW_CLIENT_CORE_GOVERNOR_H_
#define FILESGW_CLIENT_CORE_GOVERNOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client_core/scheduler.h"

namespace filesgw::client_core {

// A budget shared with the other replicas of the gateway (Redis, see
// server/redis_budget.h). While it is available the governor asks it for
// every grant after its own fairness queue has picked the caller: the shared
// budget holds the token bucket, the in-flight leases and the pause. While it
// is not, the governor falls back to local limits of budget / expected
// replicas.
class SharedBudget {
 public:
  struct Answer {
    enum class Kind { kGranted, kWait, kUnavailable } kind = Kind::kUnavailable;
    absl::Duration wait;  // kWait: ask again no sooner than this
    std::string lease;    // kGranted: give it back with Release
  };
  virtual ~SharedBudget() = default;
  virtual bool available() const = 0;
  // `done` runs once, on another thread (never under the caller's locks).
  virtual void Acquire(std::function<void(Answer)> done) = 0;
  virtual void Release(const std::string& lease) = 0;
  // Every replica stops granting for `length` (a 429's Retry-After).
  virtual void Pause(absl::Duration length) = 0;
};

struct GovernorOptions {
  int max_concurrent = 0;            // upstream requests in flight; 0 = no cap
  double requests_per_second = 0;    // 0 = no cap
  double burst = 0;                  // token bucket size; 0 = max(1, requests_per_second)
  // Longest pause a 429 may impose (a bogus Retry-After must not stop traffic for hours).
  absl::Duration max_pause = absl::Seconds(60);
  // Set: the limits above are the whole fleet's, held by `shared`; while it
  // is unavailable this replica uses them divided by expected_replicas.
  std::shared_ptr<SharedBudget> shared = nullptr;
  int expected_replicas = 1;
};

struct GovernorStats {
  int64_t granted = 0;
  int64_t granted_after_wait = 0;
  int64_t rejected = 0;  // deadline could not be met
  absl::Duration total_wait;
  absl::Duration max_wait;
};

class Governor;

// Holds one upstream slot; releasing (destroying) it lets the next caller go.
class Permit {
 public:
  explicit Permit(std::weak_ptr<Governor> governor, std::string lease = "")
      : governor_(std::move(governor)), lease_(std::move(lease)) {}
  ~Permit();
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;

 private:
  std::weak_ptr<Governor> governor_;
  std::string lease_;  // the shared budget's lease, if any
};

struct Grant {
  absl::Status status;                  // OK, RESOURCE_EXHAUSTED or CANCELLED
  std::shared_ptr<Permit> permit;       // set when OK
  absl::Duration retry_after;           // when RESOURCE_EXHAUSTED: try again after this
  absl::Duration waited;                // time spent queued
};
using GrantCallback = std::function<void(Grant)>;

// A place in the queue; Cancel ends the wait (the callback runs, CANCELLED).
class GovernorTicket {
 public:
  virtual ~GovernorTicket() = default;
  virtual void Cancel() = 0;
};

class Governor : public std::enable_shared_from_this<Governor> {
 public:
  static std::shared_ptr<Governor> Create(GovernorOptions options,
                                          std::shared_ptr<Scheduler> scheduler);

  // `done` runs exactly once: right away (possibly on this thread) when a slot
  // is free, later on a releasing or scheduler thread, or with
  // RESOURCE_EXHAUSTED when `deadline` cannot be met. Never call it under a
  // lock `done` takes.
  std::shared_ptr<GovernorTicket> Acquire(const std::string& caller, absl::Time deadline,
                                          GrantCallback done);

  // Stops granting until `until` (a 429's Retry-After); capped by max_pause.
  void PauseUntil(absl::Time until);

  GovernorStats stats() const;
  int in_flight() const;
  const GovernorOptions& options() const { return options_; }

  // Internal: Permit's destructor.
  void Release(const std::string& lease);
  // True while the shared budget (if any) is in use, false on local limits.
  bool shared_active() const;
  Governor(GovernorOptions options, std::shared_ptr<Scheduler> scheduler);

 private:
  struct Waiter;
  class Ticket;
  // The limits in force: the whole budget with a shared budget up (its
  // rate is Redis's to enforce), a 1/expected_replicas share without it.
  int cap() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double rate() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double burst() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateMode() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnShared(std::shared_ptr<Waiter> w, SharedBudget::Answer answer);
  void Requeue(std::shared_ptr<Waiter> w, absl::Time now,
               std::vector<std::pair<std::shared_ptr<Waiter>, Grant>>* refused)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Ask(std::vector<std::shared_ptr<Waiter>> asks);
  void Refill(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool CanGo(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When the queue's n-th waiter could start, ignoring the concurrency cap.
  absl::Time EarliestStart(absl::Time now, int64_t n) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Grants what can go now; returns the callbacks to run outside the lock.
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> Dispatch(
      absl::Time now, std::vector<std::shared_ptr<Waiter>>* asks = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleWake(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWake();
  void Expire(uint64_t id);
  void CancelWaiter(uint64_t id);
  bool RemoveWaiter(uint64_t id, std::shared_ptr<Waiter>* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Run(std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants);

  const GovernorOptions options_;
  const std::shared_ptr<Scheduler> scheduler_;
  const double burst_;

  mutable absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time refilled_at_ ABSL_GUARDED_BY(mu_);
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::deque<std::shared_ptr<Waiter>>> queues_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> rotation_ ABSL_GUARDED_BY(mu_);  // callers with waiters, next first
  uint64_t wake_timer_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  GovernorStats stats_ ABSL_GUARDED_BY(mu_);
  // Shared budget: whether it is in use, questions awaiting its answer, and
  // the time it said to ask again.
  bool shared_up_ ABSL_GUARDED_BY(mu_) = false;
  int shared_pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time shared_hold_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time shared_failed_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_GOVERNOR_H_
