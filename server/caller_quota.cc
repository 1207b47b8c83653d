#include "server/caller_quota.h"

#include <atomic>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/metrics.h"
#include "server/status_builder.h"

namespace filesgw::server {
namespace {

// How long an over-quota caller should wait before trying again: its own
// calls end within about this long in the common case.
constexpr absl::Duration kRetryDelay = absl::Seconds(1);

// A wait for a slot ends this long before the call's deadline, so that the
// refusal (and its reason) reaches the caller before its own deadline does.
constexpr absl::Duration kAnswerMargin = absl::Milliseconds(50);

}  // namespace

struct CallerQuotas::Waiter {
  uint64_t id = 0;
  std::string name;
  int64_t amount = 0;
  SlotCallback done;
  std::atomic<uint64_t> timer{0};  // 0: none; set after queueing
};

class CallerQuotas::Ticket : public CallerQuotas::Waiting {
 public:
  Ticket(std::weak_ptr<CallerQuotas> owner, QueueKey queue, uint64_t id)
      : owner_(std::move(owner)), queue_(std::move(queue)), id_(id) {}
  void Cancel() override {
    if (auto owner = owner_.lock(); owner != nullptr && id_ != 0) {
      owner->EndWait(queue_, id_,
                     grpc::Status(grpc::StatusCode::CANCELLED,
                                  "the call ended while it waited for its caller's share"));
    }
  }

 private:
  std::weak_ptr<CallerQuotas> owner_;
  QueueKey queue_;
  uint64_t id_;  // 0: the slot was granted at once, nothing to cancel
};

CallerQuotas::Slot& CallerQuotas::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::move(other.owner_);
    key_ = std::move(other.key_);
    name_ = std::move(other.name_);
    resource_ = other.resource_;
    amount_ = other.amount_;
    other.amount_ = 0;
    other.owner_.reset();
  }
  return *this;
}

void CallerQuotas::Slot::Shrink(int64_t by) {
  if (by > amount_) by = amount_;
  if (by <= 0 || owner_ == nullptr) return;
  amount_ -= by;
  owner_->Give(key_, resource_, by);
}

void CallerQuotas::Slot::Release() {
  if (owner_ != nullptr && amount_ > 0) owner_->Give(key_, resource_, amount_);
  amount_ = 0;
  owner_.reset();
}

CallerQuotas::CallerQuotas(CallerLimits defaults,
                           std::map<std::string, CallerLimits> by_caller_name, Metrics* metrics,
                           std::shared_ptr<client_core::Scheduler> scheduler)
    : defaults_(defaults),
      by_name_(std::move(by_caller_name)),
      metrics_(metrics),
      scheduler_(std::move(scheduler)) {}

client_core::Scheduler* CallerQuotas::scheduler() {
  std::lock_guard<std::mutex> lock(scheduler_mu_);
  if (scheduler_ == nullptr) scheduler_ = client_core::MakeRealScheduler();
  return scheduler_.get();
}

CallerLimits CallerQuotas::LimitsFor(const std::string& name) const {
  auto it = name.empty() ? by_name_.end() : by_name_.find(name);
  return it == by_name_.end() ? defaults_ : EffectiveLimits(defaults_, it->second);
}

int64_t CallerQuotas::LimitOf(const CallerLimits& limits, Resource r) {
  switch (r) {
    case kCall: return limits.max_calls;
    case kStream: return limits.max_streams;
    case kUploadMemory: return limits.upload_memory;
    case kUpstream: return limits.max_upstream_requests;
  }
  return 0;
}

const char* CallerQuotas::ResourceName(Resource r) {
  switch (r) {
    case kCall: return "caller_calls";
    case kStream: return "caller_streams";
    case kUploadMemory: return "caller_upload_memory";
    case kUpstream: return "caller_upstream_requests";
  }
  return "caller_unknown";
}

grpc::Status CallerQuotas::Exceeded(Resource resource, const std::string& who, int64_t limit) {
  std::string what;
  switch (resource) {
    case kCall: what = absl::StrCat(limit, " calls in progress"); break;
    case kStream: what = absl::StrCat(limit, " transfer streams open"); break;
    case kUploadMemory: what = absl::StrCat(limit, " bytes of upload buffers"); break;
    case kUpstream: what = absl::StrCat(limit, " upstream requests in flight"); break;
  }
  return FromLocalStatus(
      absl::ResourceExhaustedError(absl::StrCat(
          who.empty() ? "this connection" : absl::StrCat("caller '", who, "'"),
          " already has its share of ", what,
          "; other callers are not affected. Retry when some of its calls have ended")),
      "CALLER_QUOTA_EXCEEDED", kRetryDelay);
}

grpc::Status CallerQuotas::Admit(const std::string& key, const std::string& name,
                                 Resource resource, Slot* slot, int64_t amount) {
  const int64_t limit = LimitOf(LimitsFor(name), resource);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Usage& usage = usage_[key];
    int64_t& used = usage.used[resource];
    if (limit > 0 && used + amount > limit) {
      bool empty = true;
      for (int64_t u : usage.used) empty = empty && u == 0;
      if (empty) usage_.erase(key);
      if (metrics_ != nullptr) metrics_->LimitRejection(ResourceName(resource));
      return Exceeded(resource, name, limit);
    }
    used += amount;
  }
  *slot = MakeSlot(key, name, resource, amount);
  return grpc::Status::OK;
}

CallerQuotas::Slot CallerQuotas::MakeSlot(const std::string& key, const std::string& name,
                                          Resource resource, int64_t amount) {
  Slot slot;
  slot.owner_ = shared_from_this();
  slot.key_ = key;
  slot.name_ = name;
  slot.resource_ = resource;
  slot.amount_ = amount;
  return slot;
}

std::shared_ptr<CallerQuotas::Waiting> CallerQuotas::AdmitWhenFree(
    const std::string& key, const std::string& name, Resource resource, absl::Time deadline,
    SlotCallback done, int64_t amount) {
  const int64_t limit = LimitOf(LimitsFor(name), resource);
  const QueueKey queue{key, resource};
  if (limit > 0 && amount > limit) {  // would never fit: no point waiting
    if (metrics_ != nullptr) metrics_->LimitRejection(ResourceName(resource));
    done(Exceeded(resource, name, limit), Slot());
    return std::make_shared<Ticket>(weak_from_this(), queue, 0);
  }
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t& used = usage_[key].used[resource];
    // Behind the caller's own earlier waiters, even when this one would fit.
    if (queues_.count(queue) == 0 && (limit <= 0 || used + amount <= limit)) {
      used += amount;
    } else {
      auto waiter = std::make_shared<Waiter>();
      waiter->id = id = ++next_waiter_;
      waiter->name = name;
      waiter->amount = amount;
      waiter->done = std::move(done);
      queues_[queue].push_back(std::move(waiter));
    }
  }
  if (id == 0) {
    done(grpc::Status::OK, MakeSlot(key, name, resource, amount));
    return std::make_shared<Ticket>(weak_from_this(), queue, 0);
  }
  if (deadline != absl::InfiniteFuture()) {
    client_core::Scheduler* timers = scheduler();
    const absl::Time give_up = deadline - kAnswerMargin;
    const grpc::Status refusal = Exceeded(resource, name, limit);
    if (give_up <= timers->Now()) {
      if (metrics_ != nullptr) metrics_->LimitRejection(ResourceName(resource));
      EndWait(queue, id, refusal);
    } else {
      std::weak_ptr<CallerQuotas> weak = weak_from_this();
      const uint64_t timer = timers->RunAt(give_up, [weak, queue, id, refusal, resource] {
        auto self = weak.lock();
        if (self == nullptr) return;
        std::shared_ptr<Waiter> waiter;
        if (!self->Unqueue(queue, id, &waiter)) return;  // granted or cancelled meanwhile
        if (self->metrics_ != nullptr) self->metrics_->LimitRejection(ResourceName(resource));
        waiter->done(refusal, Slot());
      });
      std::lock_guard<std::mutex> lock(mu_);
      auto q = queues_.find(queue);
      if (q != queues_.end()) {
        for (auto& w : q->second) {
          if (w->id == id) w->timer = timer;
        }
      }
    }
  }
  return std::make_shared<Ticket>(weak_from_this(), queue, id);
}

bool CallerQuotas::Unqueue(const QueueKey& queue, uint64_t id, std::shared_ptr<Waiter>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto q = queues_.find(queue);
  if (q == queues_.end()) return false;
  for (auto it = q->second.begin(); it != q->second.end(); ++it) {
    if ((*it)->id != id) continue;
    *out = std::move(*it);
    q->second.erase(it);
    if (q->second.empty()) queues_.erase(q);
    auto usage = usage_.find(queue.first);
    if (usage != usage_.end()) {
      bool empty = true;
      for (int64_t u : usage->second.used) empty = empty && u == 0;
      if (empty) usage_.erase(usage);
    }
    return true;
  }
  return false;
}

void CallerQuotas::EndWait(const QueueKey& queue, uint64_t id, grpc::Status status) {
  std::shared_ptr<Waiter> waiter;
  if (!Unqueue(queue, id, &waiter)) return;
  if (waiter->timer != 0) scheduler()->Cancel(waiter->timer);
  waiter->done(std::move(status), Slot());
}

int64_t CallerQuotas::Waiters(const std::string& key, Resource resource) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto q = queues_.find(QueueKey{key, resource});
  return q == queues_.end() ? 0 : static_cast<int64_t>(q->second.size());
}

bool CallerQuotas::Grow(Slot* slot, int64_t amount) {
  if (slot->owner_.get() != this || amount <= 0) return amount <= 0;
  const int64_t limit = LimitOf(LimitsFor(slot->name_), slot->resource_);
  std::lock_guard<std::mutex> lock(mu_);
  Usage& usage = usage_[slot->key_];
  int64_t& used = usage.used[slot->resource_];
  if (limit > 0 && used + amount > limit) return false;
  used += amount;
  slot->amount_ += amount;
  return true;
}

int64_t CallerQuotas::InUse(const std::string& key, Resource resource) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = usage_.find(key);
  return it == usage_.end() ? 0 : it->second.used[resource];
}

void CallerQuotas::Give(const std::string& key, Resource resource, int64_t amount) {
  std::vector<std::shared_ptr<Waiter>> granted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = usage_.find(key);
    if (it == usage_.end()) return;
    int64_t& used = it->second.used[resource];
    used -= amount;
    if (used < 0) used = 0;
    // What was given back goes to the caller's own waiters, oldest first.
    auto q = queues_.find(QueueKey{key, resource});
    while (q != queues_.end() && !q->second.empty()) {
      const std::shared_ptr<Waiter>& next = q->second.front();
      const int64_t limit = LimitOf(LimitsFor(next->name), resource);
      if (limit > 0 && used + next->amount > limit) break;
      used += next->amount;
      granted.push_back(next);
      q->second.pop_front();
    }
    if (q != queues_.end() && q->second.empty()) queues_.erase(q);
    bool empty = true;
    for (int64_t u : it->second.used) empty = empty && u == 0;
    if (empty) usage_.erase(it);
  }
  for (auto& waiter : granted) {
    if (waiter->timer != 0) scheduler()->Cancel(waiter->timer);
    waiter->done(grpc::Status::OK, MakeSlot(key, waiter->name, resource, waiter->amount));
  }
}

}  // namespace filesgw::server
