#include "client_core/governor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace filesgw::client_core {

struct Governor::Waiter {
  uint64_t id = 0;
  std::string caller;
  absl::Time deadline;
  absl::Time queued_at;
  GrantCallback done;
  uint64_t deadline_timer = 0;
};

class Governor::Ticket : public GovernorTicket {
 public:
  Ticket(std::weak_ptr<Governor> governor, uint64_t id) : governor_(std::move(governor)), id_(id) {}
  void Cancel() override {
    if (id_ == 0) return;
    if (auto g = governor_.lock()) g->CancelWaiter(id_);
  }

 private:
  std::weak_ptr<Governor> governor_;
  uint64_t id_;  // 0: granted or refused at once
};

Permit::~Permit() {
  if (auto g = governor_.lock()) g->Release();
}

std::shared_ptr<Governor> Governor::Create(GovernorOptions options,
                                           std::shared_ptr<Scheduler> scheduler) {
  return std::make_shared<Governor>(std::move(options), std::move(scheduler));
}

Governor::Governor(GovernorOptions options, std::shared_ptr<Scheduler> scheduler)
    : options_(std::move(options)),
      scheduler_(std::move(scheduler)),
      burst_(options_.burst > 0 ? options_.burst : std::max(1.0, options_.requests_per_second)) {
  absl::MutexLock lock(&mu_);
  tokens_ = burst_;
  refilled_at_ = scheduler_->Now();
}

void Governor::Refill(absl::Time now) {
  if (options_.requests_per_second <= 0) return;
  if (now > refilled_at_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - refilled_at_) *
                                             options_.requests_per_second);
    refilled_at_ = now;
  }
}

bool Governor::CanGo(absl::Time now) const {
  if (now < paused_until_) return false;
  if (options_.max_concurrent > 0 && in_flight_ >= options_.max_concurrent) return false;
  if (options_.requests_per_second > 0 && tokens_ < 1.0) return false;
  return true;
}

absl::Time Governor::EarliestStart(absl::Time now, int64_t n) const {
  absl::Time start = std::max(now, paused_until_);
  if (options_.requests_per_second > 0) {
    const double missing = static_cast<double>(n) - tokens_;
    if (missing > 0) {
      start = std::max(start, refilled_at_ + absl::Seconds(missing / options_.requests_per_second));
    }
  }
  return start;
}

std::shared_ptr<GovernorTicket> Governor::Acquire(const std::string& caller, absl::Time deadline,
                                                  GrantCallback done) {
  Grant now_grant;
  bool answer_now = false;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = scheduler_->Now();
    Refill(now);
    if (waiting_ == 0 && CanGo(now)) {
      ++in_flight_;
      if (options_.requests_per_second > 0) tokens_ -= 1.0;
      ++stats_.granted;
      now_grant.permit = std::make_shared<Permit>(weak_from_this());
      answer_now = true;
    } else {
      const absl::Time start = EarliestStart(now, waiting_ + 1);
      if (start > deadline) {
        ++stats_.rejected;
        now_grant.status = absl::ResourceExhaustedError(absl::StrCat(
            "the gateway's upstream rate limit cannot serve this call before its deadline "
            "(next slot in ", absl::FormatDuration(absl::Ceil(start - now, absl::Milliseconds(1))),
            ")"));
        now_grant.retry_after = start - now;
        answer_now = true;
      } else {
        auto w = std::make_shared<Waiter>();
        w->id = id = ++next_id_;
        w->caller = caller;
        w->deadline = deadline;
        w->queued_at = now;
        w->done = std::move(done);
        auto& queue = queues_[caller];
        if (queue.empty()) rotation_.push_back(caller);
        queue.push_back(w);
        ++waiting_;
        if (deadline != absl::InfiniteFuture()) {
          std::weak_ptr<Governor> weak = weak_from_this();
          w->deadline_timer = scheduler_->RunAt(deadline, [weak, id] {
            if (auto g = weak.lock()) g->Expire(id);
          });
        }
        ScheduleWake(now);
      }
    }
  }
  if (answer_now) done(std::move(now_grant));
  return std::make_shared<Ticket>(weak_from_this(), id);
}

void Governor::PauseUntil(absl::Time until) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = scheduler_->Now();
  until = std::min(until, now + options_.max_pause);
  if (until <= paused_until_) return;
  paused_until_ = until;
  ScheduleWake(now);
}

void Governor::Release() {
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants;
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    const absl::Time now = scheduler_->Now();
    Refill(now);
    grants = Dispatch(now);
  }
  Run(std::move(grants));
}

std::vector<std::pair<std::shared_ptr<Governor::Waiter>, Grant>> Governor::Dispatch(absl::Time now) {
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants;
  while (waiting_ > 0 && CanGo(now)) {
    // Round robin over callers: the next caller's oldest waiter goes.
    std::string caller = rotation_.front();
    rotation_.pop_front();
    auto& queue = queues_[caller];
    std::shared_ptr<Waiter> w = queue.front();
    queue.pop_front();
    if (queue.empty()) {
      queues_.erase(caller);
    } else {
      rotation_.push_back(caller);
    }
    --waiting_;
    ++in_flight_;
    if (options_.requests_per_second > 0) tokens_ -= 1.0;
    Grant g;
    g.permit = std::make_shared<Permit>(weak_from_this());
    g.waited = now - w->queued_at;
    ++stats_.granted;
    ++stats_.granted_after_wait;
    stats_.total_wait += g.waited;
    stats_.max_wait = std::max(stats_.max_wait, g.waited);
    if (w->deadline_timer != 0) scheduler_->Cancel(w->deadline_timer);
    grants.emplace_back(std::move(w), std::move(g));
  }
  if (waiting_ > 0) ScheduleWake(now);
  return grants;
}

void Governor::ScheduleWake(absl::Time now) {
  // Only time (a pause ending, a token arriving) can free a waiter besides a
  // Release; a cap on concurrency is woken by Release itself.
  absl::Time at = absl::InfiniteFuture();
  if (now < paused_until_) at = paused_until_;
  if (options_.requests_per_second > 0 && tokens_ < 1.0) {
    at = std::max(now < paused_until_ ? paused_until_ : now,
                  refilled_at_ + absl::Seconds((1.0 - tokens_) / options_.requests_per_second));
  }
  if (at == absl::InfiniteFuture() || (wake_timer_ != 0 && wake_at_ <= at)) return;
  if (wake_timer_ != 0) scheduler_->Cancel(wake_timer_);
  wake_at_ = at;
  std::weak_ptr<Governor> weak = weak_from_this();
  wake_timer_ = scheduler_->RunAt(at, [weak] {
    if (auto g = weak.lock()) g->OnWake();
  });
}

void Governor::OnWake() {
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants;
  {
    absl::MutexLock lock(&mu_);
    wake_timer_ = 0;
    wake_at_ = absl::InfiniteFuture();
    const absl::Time now = scheduler_->Now();
    Refill(now);
    grants = Dispatch(now);
    if (waiting_ > 0) ScheduleWake(now);
  }
  Run(std::move(grants));
}

bool Governor::RemoveWaiter(uint64_t id, std::shared_ptr<Waiter>* out) {
  for (auto it = queues_.begin(); it != queues_.end(); ++it) {
    auto& queue = it->second;
    for (auto w = queue.begin(); w != queue.end(); ++w) {
      if ((*w)->id != id) continue;
      *out = *w;
      queue.erase(w);
      if (queue.empty()) {
        rotation_.erase(std::find(rotation_.begin(), rotation_.end(), it->first));
        queues_.erase(it);
      }
      --waiting_;
      return true;
    }
  }
  return false;
}

void Governor::Expire(uint64_t id) {
  std::shared_ptr<Waiter> w;
  Grant g;
  {
    absl::MutexLock lock(&mu_);
    if (!RemoveWaiter(id, &w)) return;
    const absl::Time now = scheduler_->Now();
    ++stats_.rejected;
    const absl::Time start = EarliestStart(now, std::max<int64_t>(1, waiting_));
    g.retry_after = std::max(absl::Milliseconds(100), start - now);
    g.waited = now - w->queued_at;
    g.status = absl::ResourceExhaustedError(absl::StrCat(
        "waited ", absl::FormatDuration(absl::Trunc(g.waited, absl::Milliseconds(1))),
        " for an upstream slot under the gateway's rate limit; the deadline came first"));
  }
  w->done(std::move(g));
}

void Governor::CancelWaiter(uint64_t id) {
  std::shared_ptr<Waiter> w;
  {
    absl::MutexLock lock(&mu_);
    if (!RemoveWaiter(id, &w)) return;
    if (w->deadline_timer != 0) scheduler_->Cancel(w->deadline_timer);
  }
  Grant g;
  g.status = absl::CancelledError("cancelled while waiting for an upstream slot");
  w->done(std::move(g));
}

void Governor::Run(std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants) {
  for (auto& [w, g] : grants) w->done(std::move(g));
}

GovernorStats Governor::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

int Governor::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace filesgw::client_core
