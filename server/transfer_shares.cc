#include "server/transfer_shares.h"

#include <algorithm>
#include <utility>

#include "server/metrics.h"
#include "server/status_builder.h"

namespace filesgw::server::transfer {

StreamShares::StreamShares(TransferService::Impl& impl, const CallInfo& info)
    : impl_(impl), info_(info) {}

StreamShares::Outcome StreamShares::ChargeMemory(int64_t bytes, bool own_work,
                                                 bool partial_part, grpc::Status* why) {
  const auto& quotas = impl_.deps.quotas;
  if (quotas != nullptr && !memory_slot_held_) {
    // An empty slot to grow; the caller's usage entry goes with its streams.
    memory_slot_held_ = quotas
                            ->Admit(info_.quota_key, info_.caller_name(),
                                    CallerQuotas::kUploadMemory, &memory_slot_, 0)
                            .ok();
  }
  if (memory_slot_held_ && !quotas->Grow(&memory_slot_, bytes)) {
    if (Waiting(Wait::kCallerMemory, own_work, kCallerMemoryWait)) return Outcome::kWait;
    if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
      m->LimitRejection(CallerQuotas::ResourceName(CallerQuotas::kUploadMemory));
    }
    *why = CallerQuotas::Exceeded(CallerQuotas::kUploadMemory, info_.caller_name(),
                                  quotas->LimitsFor(info_.caller_name()).upload_memory);
    return Outcome::kRefused;
  }
  if (!impl_.budget.TryTake(bytes) &&
      !(partial_part && impl_.budget.TryOverdraft(this, bytes))) {
    memory_slot_.Shrink(bytes);
    if (Waiting(Wait::kGatewayMemory, own_work, impl_.deps.options.stream_idle_timeout)) {
      return Outcome::kWait;
    }
    if (Metrics* m = impl_.deps.telemetry.metrics.get()) m->LimitRejection("upload_memory");
    *why = FromLocalStatus(absl::ResourceExhaustedError(
                               "the gateway's upload memory (--upload-memory) stayed full; "
                               "nothing was committed"),
                           "GATEWAY_UPLOAD_MEMORY_FULL", absl::Seconds(1));
    return Outcome::kRefused;
  }
  charged_ += bytes;
  wait_ = Wait::kNone;
  return Outcome::kTaken;
}

void StreamShares::GiveMemory(int64_t bytes) {
  bytes = std::min(bytes, charged_);
  if (bytes <= 0) return;
  charged_ -= bytes;
  impl_.budget.Give(bytes);
  memory_slot_.Shrink(bytes);
}

bool StreamShares::TakeUpstream(CallerQuotas::Slot* slot) {
  const auto& quotas = impl_.deps.quotas;
  if (quotas == nullptr) return true;
  // Look before Admit, so that a waiting stream does not count as refused.
  const int64_t limit = quotas->LimitsFor(info_.caller_name()).max_upstream_requests;
  if ((limit <= 0 || quotas->InUse(info_.quota_key, CallerQuotas::kUpstream) < limit) &&
      quotas->Admit(info_.quota_key, info_.caller_name(), CallerQuotas::kUpstream, slot).ok()) {
    if (wait_ == Wait::kUpstream) wait_ = Wait::kNone;
    return true;
  }
  // Queue: never fail for this, the caller's own requests end.
  Waiting(Wait::kUpstream, /*own_work=*/true, absl::InfiniteDuration());
  return false;
}

bool StreamShares::Waiting(Wait what, bool own_work, absl::Duration limit) {
  const absl::Time now = absl::Now();
  if (wait_ != what) {
    wait_ = what;
    wait_since_ = now;
    poll_ = kResourcePoll;
  }
  if (own_work) wait_since_ = now;
  return now - wait_since_ < limit;
}

absl::Duration StreamShares::poll_delay() {
  const absl::Duration delay = poll_;
  poll_ = std::min(poll_ * 2, kResourcePollMax);
  return delay;
}

void StreamTimer::Arm(absl::Duration after, std::function<void()> fire) {
  const absl::Time at = scheduler_.Now() + after;
  if (id_ != 0) {
    if (at_ <= at) return;
    if (!scheduler_.Cancel(id_)) return;  // firing now; it re-arms
  }
  at_ = at;
  id_ = scheduler_.RunAt(at, std::move(fire));
}

void StreamTimer::Stop() {
  if (id_ != 0) scheduler_.Cancel(id_);
  id_ = 0;
}

}  // namespace filesgw::server::transfer
