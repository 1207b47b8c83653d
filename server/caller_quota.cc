#include "server/caller_quota.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/metrics.h"
#include "server/status_builder.h"

namespace filesgw::server {
namespace {

// How long an over-quota caller should wait before trying again: its own
// calls end within about this long in the common case.
constexpr absl::Duration kRetryDelay = absl::Seconds(1);

}  // namespace

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
                           std::map<std::string, CallerLimits> by_caller_name, Metrics* metrics)
    : defaults_(defaults), by_name_(std::move(by_caller_name)), metrics_(metrics) {}

CallerLimits CallerQuotas::LimitsFor(const std::string& name) const {
  CallerLimits out = defaults_;
  auto it = name.empty() ? by_name_.end() : by_name_.find(name);
  if (it != by_name_.end()) {
    const CallerLimits& own = it->second;
    if (own.max_calls >= 0) out.max_calls = own.max_calls;
    if (own.max_streams >= 0) out.max_streams = own.max_streams;
    if (own.upload_memory >= 0) out.upload_memory = own.upload_memory;
    if (own.max_upstream_requests >= 0) out.max_upstream_requests = own.max_upstream_requests;
  }
  return out;
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
  *slot = Slot();
  slot->owner_ = shared_from_this();
  slot->key_ = key;
  slot->name_ = name;
  slot->resource_ = resource;
  slot->amount_ = amount;
  return grpc::Status::OK;
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
  std::lock_guard<std::mutex> lock(mu_);
  auto it = usage_.find(key);
  if (it == usage_.end()) return;
  it->second.used[resource] -= amount;
  if (it->second.used[resource] < 0) it->second.used[resource] = 0;
  bool empty = true;
  for (int64_t u : it->second.used) empty = empty && u == 0;
  if (empty) usage_.erase(it);
}

}  // namespace filesgw::server
