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
  if (auto g = governor_.lock()) g->Release(lease_);
}

namespace {
// Questions to the shared budget outstanding at once per governor: enough to
// keep grants flowing at thousands per second, few enough that a saturated
// budget is not asked in vain over and over.
constexpr int kMaxSharedPending = 8;
// After the shared budget failed to answer, local limits apply this long
// before it is asked again (it may still call itself available).
constexpr absl::Duration kSharedRetryAfterFailure = absl::Seconds(1);
}  // namespace

std::shared_ptr<Governor> Governor::Create(GovernorOptions options,
                                           std::shared_ptr<Scheduler> scheduler) {
  return std::make_shared<Governor>(std::move(options), std::move(scheduler));
}

Governor::Governor(GovernorOptions options, std::shared_ptr<Scheduler> scheduler)
    : options_(std::move(options)),
      scheduler_(std::move(scheduler)),
      burst_(options_.burst > 0 ? options_.burst : std::max(1.0, options_.requests_per_second)) {
  absl::MutexLock lock(&mu_);
  UpdateMode();
  tokens_ = burst();
  refilled_at_ = scheduler_->Now();
}

int Governor::cap() const {
  if (options_.shared == nullptr || shared_up_ || options_.max_concurrent <= 0) {
    return options_.max_concurrent;
  }
  const int n = std::max(1, options_.expected_replicas);
  return std::max(1, (options_.max_concurrent + n - 1) / n);
}

double Governor::rate() const {
  if (options_.shared == nullptr) return options_.requests_per_second;
  if (shared_up_) return 0;
  return options_.requests_per_second / std::max(1, options_.expected_replicas);
}

double Governor::burst() const {
  if (options_.shared == nullptr) return burst_;
  return std::max(1.0, burst_ / std::max(1, options_.expected_replicas));
}

void Governor::UpdateMode() {
  if (options_.shared == nullptr) return;
  const bool up = options_.shared->available() && scheduler_->Now() >= shared_failed_until_;
  if (up == shared_up_) return;
  shared_up_ = up;
  if (!up) {
    // Local limits from now on: start from a full local bucket.
    tokens_ = burst();
    refilled_at_ = scheduler_->Now();
  }
}

bool Governor::shared_active() const {
  absl::MutexLock lock(&mu_);
  return shared_up_;
}

void Governor::Refill(absl::Time now) {
  const double r = rate();
  if (r <= 0) return;
  if (now > refilled_at_) {
    tokens_ = std::min(burst(), tokens_ + absl::ToDoubleSeconds(now - refilled_at_) * r);
    refilled_at_ = now;
  }
}

bool Governor::CanGo(absl::Time now) const {
  if (now < paused_until_) return false;
  const int c = cap();
  if (c > 0 && in_flight_ >= c) return false;
  if (rate() > 0 && tokens_ < 1.0) return false;
  if (shared_up_ && (shared_pending_ >= kMaxSharedPending || now < shared_hold_until_)) {
    return false;
  }
  return true;
}

absl::Time Governor::EarliestStart(absl::Time now, int64_t n) const {
  absl::Time start = std::max(now, paused_until_);
  if (shared_up_) start = std::max(start, shared_hold_until_);
  const double r = rate();
  if (r > 0) {
    const double missing = static_cast<double>(n) - tokens_;
    if (missing > 0) start = std::max(start, refilled_at_ + absl::Seconds(missing / r));
  }
  return start;
}

std::shared_ptr<GovernorTicket> Governor::Acquire(const std::string& caller, absl::Time deadline,
                                                  GrantCallback done) {
  Grant now_grant;
  bool answer_now = false;
  uint64_t id = 0;
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants;
  std::vector<std::shared_ptr<Waiter>> asks;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = scheduler_->Now();
    UpdateMode();
    Refill(now);
    // With a shared budget every grant is the budget's: queue, then ask.
    if (waiting_ == 0 && !shared_up_ && CanGo(now)) {
      ++in_flight_;
      if (rate() > 0) tokens_ -= 1.0;
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
        if (shared_up_) grants = Dispatch(now, &asks);
      }
    }
  }
  if (answer_now) done(std::move(now_grant));
  Run(std::move(grants));
  Ask(std::move(asks));
  return std::make_shared<Ticket>(weak_from_this(), id);
}

void Governor::Ask(std::vector<std::shared_ptr<Waiter>> asks) {
  if (asks.empty()) return;
  std::weak_ptr<Governor> weak = weak_from_this();
  for (auto& w : asks) {
    options_.shared->Acquire([weak, w](SharedBudget::Answer answer) {
      if (auto g = weak.lock()) return g->OnShared(w, std::move(answer));
      Grant gone;
      gone.status = absl::CancelledError("the gateway is shutting down");
      w->done(std::move(gone));
    });
  }
}

void Governor::Requeue(std::shared_ptr<Waiter> w, absl::Time now,
                       std::vector<std::pair<std::shared_ptr<Waiter>, Grant>>* refused) {
  if (now >= w->deadline) {
    ++stats_.rejected;
    Grant g;
    g.waited = now - w->queued_at;
    g.retry_after = std::max(absl::Milliseconds(100), EarliestStart(now, 1) - now);
    g.status = absl::ResourceExhaustedError(absl::StrCat(
        "waited ", absl::FormatDuration(absl::Trunc(g.waited, absl::Milliseconds(1))),
        " for an upstream slot under the shared rate limit; the deadline came first"));
    if (w->deadline_timer != 0) scheduler_->Cancel(w->deadline_timer);
    refused->emplace_back(std::move(w), std::move(g));
    return;
  }
  // Back to the head of its caller's queue: it keeps its place.
  auto& queue = queues_[w->caller];
  if (queue.empty()) rotation_.push_front(w->caller);
  queue.push_front(std::move(w));
  ++waiting_;
}

void Governor::OnShared(std::shared_ptr<Waiter> w, SharedBudget::Answer answer) {
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants;
  std::vector<std::shared_ptr<Waiter>> asks;
  std::string unused_lease;
  {
    absl::MutexLock lock(&mu_);
    --shared_pending_;
    const absl::Time now = scheduler_->Now();
    switch (answer.kind) {
      case SharedBudget::Answer::Kind::kGranted: {
        Grant g;
        g.permit = std::make_shared<Permit>(weak_from_this(), std::move(answer.lease));
        g.waited = now - w->queued_at;
        ++stats_.granted;
        if (g.waited > absl::ZeroDuration()) {
          ++stats_.granted_after_wait;
          stats_.total_wait += g.waited;
          stats_.max_wait = std::max(stats_.max_wait, g.waited);
        }
        if (w->deadline_timer != 0) scheduler_->Cancel(w->deadline_timer);
        grants.emplace_back(std::move(w), std::move(g));
        break;
      }
      case SharedBudget::Answer::Kind::kWait:
        --in_flight_;
        shared_hold_until_ =
            std::max(shared_hold_until_, now + std::max(answer.wait, absl::Milliseconds(1)));
        Requeue(std::move(w), now, &grants);
        break;
      case SharedBudget::Answer::Kind::kUnavailable:
        --in_flight_;
        shared_failed_until_ = now + kSharedRetryAfterFailure;
        Requeue(std::move(w), now, &grants);
        break;
    }
    UpdateMode();
    Refill(now);
    auto more = Dispatch(now, &asks);
    for (auto& m : more) grants.push_back(std::move(m));
    if (waiting_ > 0) ScheduleWake(now);
  }
  Run(std::move(grants));
  Ask(std::move(asks));
}

void Governor::PauseUntil(absl::Time until) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = scheduler_->Now();
  until = std::min(until, now + options_.max_pause);
  if (options_.shared != nullptr && until > now) {
    // Every replica pauses (when the shared budget is down this one still does).
    options_.shared->Pause(until - now);
  }
  if (until <= paused_until_) return;
  paused_until_ = until;
  ScheduleWake(now);
}

void Governor::Release(const std::string& lease) {
  std::vector<std::pair<std::shared_ptr<Waiter>, Grant>> grants;
  std::vector<std::shared_ptr<Waiter>> asks;
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    const absl::Time now = scheduler_->Now();
    UpdateMode();
    Refill(now);
    grants = Dispatch(now, &asks);
  }
  if (!lease.empty() && options_.shared != nullptr) options_.shared->Release(lease);
  Run(std::move(grants));
  Ask(std::move(asks));
}

std::vector<std::pair<std::shared_ptr<Governor::Waiter>, Grant>> Governor::Dispatch(
    absl::Time now, std::vector<std::shared_ptr<Waiter>>* asks) {
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
    if (shared_up_ && asks != nullptr) {
      // The shared budget decides; its answer comes to OnShared.
      ++shared_pending_;
      asks->push_back(std::move(w));
      continue;
    }
    if (rate() > 0) tokens_ -= 1.0;
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
  const double r = rate();
  if (r > 0 && tokens_ < 1.0) {
    at = std::max(now < paused_until_ ? paused_until_ : now,
                  refilled_at_ + absl::Seconds((1.0 - tokens_) / r));
  }
  if (shared_up_ && now < shared_hold_until_) {
    at = at == absl::InfiniteFuture() ? shared_hold_until_ : std::max(at, shared_hold_until_);
  }
  // Local limits after a failure of the shared budget: look again when it ends.
  if (options_.shared != nullptr && !shared_up_ && now < shared_failed_until_) {
    at = std::min(at, shared_failed_until_);
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
  std::vector<std::shared_ptr<Waiter>> asks;
  {
    absl::MutexLock lock(&mu_);
    wake_timer_ = 0;
    wake_at_ = absl::InfiniteFuture();
    const absl::Time now = scheduler_->Now();
    UpdateMode();
    Refill(now);
    grants = Dispatch(now, &asks);
    if (waiting_ > 0) ScheduleWake(now);
  }
  Run(std::move(grants));
  Ask(std::move(asks));
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
