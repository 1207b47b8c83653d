// What one transfer stream holds of its caller's shares (CallerQuotas:
// upload memory, upstream requests) and of the gateway-wide upload memory
// budget, and how long it has been waiting for more. Never blocks: a stream
// that cannot take what it needs is told to wait (and to ask again after
// poll_delay()) or, past a limit, the status to end with.
//
// Used from the owning stream's strand only.
#ifndef FILESGW_SERVER_TRANSFER_SHARES_H_
#define FILESGW_SERVER_TRANSFER_SHARES_H_

#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "server/transfer_internal.h"

namespace filesgw::server::transfer {

// A wait for a caller-side resource: the first poll delay, doubled up to a
// cap while nothing frees, so waiting streams cost little CPU.
constexpr absl::Duration kResourcePoll = absl::Milliseconds(20);
constexpr absl::Duration kResourcePollMax = absl::Milliseconds(200);

// How long a stream over its caller's upload-memory share waits for memory
// when none of its own parts is in flight to free some.
constexpr absl::Duration kCallerMemoryWait = absl::Seconds(3);

class StreamShares {
 public:
  enum class Outcome { kTaken, kWait, kRefused };

  StreamShares(TransferService::Impl& impl, const CallInfo& info);
  ~StreamShares() {
    GiveAll();
    PartDispatched();
  }

  // Upload memory for `bytes` that arrived: the caller's share first, then
  // the gateway budget. kWait: ask again after poll_delay() (the stream's
  // own parts in flight, `own_work`, will free some, so waiting then never
  // counts towards the limits). kRefused: `*why` is the status to end with
  // (CALLER_QUOTA_EXCEEDED after kCallerMemoryWait; the gateway budget after
  // the idle timeout).
  // `partial_part`: the stream holds part of a part; it may then take the
  // gateway's overdraft (see MemoryBudget) to finish it.
  Outcome ChargeMemory(int64_t bytes, bool own_work, bool partial_part, grpc::Status* why);
  // A part was dispatched: any overdraft this stream held ends.
  void PartDispatched() { impl_.budget.EndOverdraft(this); }
  // Gives back upload memory this stream charged (at most what it holds).
  void GiveMemory(int64_t bytes);
  void GiveAll() { GiveMemory(charged_); }
  int64_t charged() const { return charged_; }

  // One of the caller's upstream-request slots for a storage request; false
  // (wait, ask again after poll_delay()) when the caller has none free.
  bool TakeUpstream(CallerQuotas::Slot* slot);

  bool waiting() const { return wait_ != Wait::kNone; }
  // The next retry delay of a wait: short at first, longer while it lasts.
  absl::Duration poll_delay();

 private:
  enum class Wait { kNone, kCallerMemory, kGatewayMemory, kUpstream };
  // Notes a wait for `what`; false once it has lasted `limit` without the
  // stream's own work in flight.
  bool Waiting(Wait what, bool own_work, absl::Duration limit);

  TransferService::Impl& impl_;
  const CallInfo& info_;
  CallerQuotas::Slot memory_slot_;
  bool memory_slot_held_ = false;
  int64_t charged_ = 0;  // held of both the caller's share and the budget
  Wait wait_ = Wait::kNone;
  absl::Time wait_since_;
  absl::Duration poll_ = kResourcePoll;
};

// One re-armable timer per stream on the gateway's scheduler, set to the
// earliest time asked for. `fire` runs on the scheduler thread (post to the
// stream's strand from it) and must call Fired() first.
class StreamTimer {
 public:
  explicit StreamTimer(client_core::Scheduler& scheduler) : scheduler_(scheduler) {}
  void Arm(absl::Duration after, std::function<void()> fire);
  void Fired() { id_ = 0; }
  void Stop();

 private:
  client_core::Scheduler& scheduler_;
  uint64_t id_ = 0;
  absl::Time at_;
};

}  // namespace filesgw::server::transfer

#endif  // FILESGW_SERVER_TRANSFER_SHARES_H_
