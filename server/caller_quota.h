// Per-caller shares of one gateway, so that no caller (buggy or hostile) can
// take what the others need: RPCs in progress, transfer streams, upload
// memory and upstream requests are counted per caller key and refused past
// the caller's limit with RESOURCE_EXHAUSTED, ErrorInfo reason
// CALLER_QUOTA_EXCEEDED and a RetryInfo delay. Admit refuses at once;
// AdmitWhenFree queues the caller behind its own earlier holders (never
// another caller's), without a thread, until its deadline. Every other caller
// is untouched either way.
//
// The key is the configured caller's name ("caller:<name>") or, without
// configured callers, the connection's peer (so each connection of a local
// app has its own share).
//
//   CallerQuotas quotas(options.caller_limits, per_caller, metrics);
//   auto slot = quotas.Admit(caller_key, caller_name, CallerQuotas::kStream);
//   if (!slot.ok()) return Finish(slot.status());   // a grpc::Status inside
//   ... the call runs; the slot is given back when `*slot` is destroyed.
//
//   auto wait = quotas.AdmitWhenFree(key, name, CallerQuotas::kUpstream, deadline,
//                                    [](grpc::Status s, CallerQuotas::Slot slot) { ... });
//   wait->Cancel();  // the call was cancelled: `done` runs with CANCELLED
#ifndef FILESGW_SERVER_CALLER_QUOTA_H_
#define FILESGW_SERVER_CALLER_QUOTA_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "client_core/scheduler.h"
#include "grpcpp/support/status.h"
#include "server/options.h"

namespace filesgw::server {

class Metrics;

class CallerQuotas : public std::enable_shared_from_this<CallerQuotas> {
 public:
  enum Resource { kCall = 0, kStream = 1, kUploadMemory = 2, kUpstream = 3 };
  static constexpr int kResources = 4;

  // Holds `amount` of one resource for one caller until destroyed (or
  // Shrink'ed to zero). Movable, not copyable.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    int64_t amount() const { return amount_; }
    // Gives back part of what the slot holds (upload memory that was sent).
    void Shrink(int64_t by);
    void Release();

   private:
    friend class CallerQuotas;
    std::shared_ptr<CallerQuotas> owner_;
    std::string key_;
    std::string name_;
    Resource resource_ = kCall;
    int64_t amount_ = 0;
  };

  // A place in a caller's queue (AdmitWhenFree).
  class Waiting {
   public:
    virtual ~Waiting() = default;
    // Ends the wait: `done` runs with CANCELLED unless it already ran.
    virtual void Cancel() = 0;
  };
  using SlotCallback = std::function<void(grpc::Status, Slot)>;

  // `defaults` fill what a caller's own entry leaves unset (negative). A
  // resulting 0 means no cap for that resource. `scheduler` times the waits
  // of AdmitWhenFree (null: a real one, made on first need).
  CallerQuotas(CallerLimits defaults, std::map<std::string, CallerLimits> by_caller_name,
               Metrics* metrics = nullptr,
               std::shared_ptr<client_core::Scheduler> scheduler = nullptr);

  static std::shared_ptr<CallerQuotas> Create(
      CallerLimits defaults, std::map<std::string, CallerLimits> by_caller_name,
      Metrics* metrics = nullptr, std::shared_ptr<client_core::Scheduler> scheduler = nullptr) {
    return std::make_shared<CallerQuotas>(std::move(defaults), std::move(by_caller_name), metrics,
                                          std::move(scheduler));
  }

  // Takes `amount` of `resource` for caller `key` (configured name `name`,
  // empty for anonymous callers). OK with the slot filled, or the
  // RESOURCE_EXHAUSTED status to answer with.
  grpc::Status Admit(const std::string& key, const std::string& name, Resource resource,
                     Slot* slot, int64_t amount = 1);
  // As Admit, but a caller at its limit waits for one of its own slots to be
  // given back, first come first served among its own waiters. `done` runs
  // exactly once: at once (on this thread) when there is room, later on the
  // releasing thread, or with the CALLER_QUOTA_EXCEEDED status when the slot
  // cannot come before `deadline` (the answer goes out shortly before it, so
  // the caller reads why rather than a bare DEADLINE_EXCEEDED). Never call it
  // under a lock `done` takes.
  std::shared_ptr<Waiting> AdmitWhenFree(const std::string& key, const std::string& name,
                                         Resource resource, absl::Time deadline,
                                         SlotCallback done, int64_t amount = 1);
  // Callers of `key` queued for `resource` now (tests).
  int64_t Waiters(const std::string& key, Resource resource) const;

  // Grows a held slot by `amount` (upload memory as data arrives); false,
  // and nothing taken, when that would pass the caller's limit.
  bool Grow(Slot* slot, int64_t amount);

  // The limits that apply to caller `name` ("" for anonymous callers).
  CallerLimits LimitsFor(const std::string& name) const;
  // What caller `key` holds now (tests, metrics).
  int64_t InUse(const std::string& key, Resource resource) const;

  static const char* ResourceName(Resource r);
  static grpc::Status Exceeded(Resource resource, const std::string& who, int64_t limit);

 private:
  struct Usage {
    std::array<int64_t, kResources> used{};
  };
  struct Waiter;
  class Ticket;
  using QueueKey = std::pair<std::string, int>;  // caller key, resource
  static int64_t LimitOf(const CallerLimits& limits, Resource r);
  void Give(const std::string& key, Resource resource, int64_t amount);
  Slot MakeSlot(const std::string& key, const std::string& name, Resource resource,
                int64_t amount);
  // Removes waiter `id` from its queue; false when it is no longer there.
  bool Unqueue(const QueueKey& queue, uint64_t id, std::shared_ptr<Waiter>* out);
  void EndWait(const QueueKey& queue, uint64_t id, grpc::Status status);
  client_core::Scheduler* scheduler();

  const CallerLimits defaults_;
  const std::map<std::string, CallerLimits> by_name_;
  Metrics* const metrics_;
  mutable std::mutex mu_;
  std::map<std::string, Usage> usage_;  // entries vanish when all zero
  std::map<QueueKey, std::deque<std::shared_ptr<Waiter>>> queues_;  // no empty queues
  uint64_t next_waiter_ = 0;
  std::mutex scheduler_mu_;
  std::shared_ptr<client_core::Scheduler> scheduler_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_CALLER_QUOTA_H_
