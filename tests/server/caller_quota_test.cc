// CallerQuotas: each caller's limits, isolation between callers, defaults
// against a caller's own entry, upload memory that grows and shrinks, slots
// that move, and waits for a caller's own slots (FIFO, deadline, cancel).
#include "server/caller_quota.h"

#include <optional>
#include <utility>
#include <vector>

#include "client_core/fake_scheduler.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/metrics.h"

namespace filesgw::server {
namespace {

CallerLimits Limits(int calls, int streams, int64_t memory, int upstream) {
  CallerLimits l;
  l.max_calls = calls;
  l.max_streams = streams;
  l.upload_memory = memory;
  l.max_upstream_requests = upstream;
  return l;
}

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return "";
  for (const auto& any : rich.details()) {
    google::rpc::ErrorInfo info;
    if (any.type_url() == "type.googleapis.com/google.rpc.ErrorInfo" &&
        info.ParseFromString(any.value())) {
      return info.reason();
    }
  }
  return "";
}

bool HasRetryInfo(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return false;
  for (const auto& any : rich.details()) {
    if (any.type_url() == "type.googleapis.com/google.rpc.RetryInfo") return true;
  }
  return false;
}

TEST(CallerQuotas, RefusesPastTheLimitWithCallerQuotaExceededAndRetryInfo) {
  Metrics metrics;
  auto quotas = CallerQuotas::Create(Limits(2, 1, 100, 1), {}, &metrics);
  CallerQuotas::Slot a, b, c;
  EXPECT_TRUE(quotas->Admit("k", "", CallerQuotas::kCall, &a).ok());
  EXPECT_TRUE(quotas->Admit("k", "", CallerQuotas::kCall, &b).ok());
  const grpc::Status refused = quotas->Admit("k", "", CallerQuotas::kCall, &c);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(refused), "CALLER_QUOTA_EXCEEDED");
  EXPECT_TRUE(HasRetryInfo(refused));
  EXPECT_EQ(c.amount(), 0);
  EXPECT_NE(metrics.Scrape().find(R"(filesgw_limit_rejections_total{limit="caller_calls"} 1)"),
            std::string::npos);
  a.Release();
  EXPECT_TRUE(quotas->Admit("k", "", CallerQuotas::kCall, &c).ok());
  EXPECT_EQ(quotas->InUse("k", CallerQuotas::kCall), 2);
}

TEST(CallerQuotas, CallersAndResourcesAreCountedApart) {
  auto quotas = CallerQuotas::Create(Limits(1, 1, 10, 1), {});
  CallerQuotas::Slot a_call, b_call, a_stream, a_more;
  EXPECT_TRUE(quotas->Admit("caller:a", "a", CallerQuotas::kCall, &a_call).ok());
  EXPECT_FALSE(quotas->Admit("caller:a", "a", CallerQuotas::kCall, &a_more).ok());
  EXPECT_TRUE(quotas->Admit("caller:b", "b", CallerQuotas::kCall, &b_call).ok());
  EXPECT_TRUE(quotas->Admit("caller:a", "a", CallerQuotas::kStream, &a_stream).ok());
  EXPECT_EQ(quotas->InUse("caller:a", CallerQuotas::kCall), 1);
  EXPECT_EQ(quotas->InUse("caller:b", CallerQuotas::kCall), 1);
}

TEST(CallerQuotas, ACallersOwnEntryOverridesTheDefaultsFieldByField) {
  CallerLimits own;  // all unset ...
  own.max_calls = 5;  // ... but this one
  own.upload_memory = 0;  // and no cap on this
  auto quotas = CallerQuotas::Create(Limits(1, 2, 10, 3), {{"big", own}});
  const CallerLimits big = quotas->LimitsFor("big");
  EXPECT_EQ(big.max_calls, 5);
  EXPECT_EQ(big.max_streams, 2);
  EXPECT_EQ(big.upload_memory, 0);
  EXPECT_EQ(big.max_upstream_requests, 3);
  EXPECT_EQ(quotas->LimitsFor("").max_calls, 1);
  EXPECT_EQ(quotas->LimitsFor("someone-else").max_calls, 1);
  CallerQuotas::Slot memory;
  EXPECT_TRUE(quotas->Admit("caller:big", "big", CallerQuotas::kUploadMemory, &memory, 1 << 30)
                  .ok());
  std::vector<CallerQuotas::Slot> calls(5);
  for (auto& s : calls) EXPECT_TRUE(quotas->Admit("caller:big", "big", CallerQuotas::kCall, &s).ok());
  CallerQuotas::Slot sixth;
  EXPECT_FALSE(quotas->Admit("caller:big", "big", CallerQuotas::kCall, &sixth).ok());
}

TEST(CallerQuotas, UploadMemoryGrowsAndShrinksWithinTheShare) {
  auto quotas = CallerQuotas::Create(Limits(0, 0, 100, 0), {});
  CallerQuotas::Slot memory;
  ASSERT_TRUE(quotas->Admit("k", "", CallerQuotas::kUploadMemory, &memory, 40).ok());
  EXPECT_TRUE(quotas->Grow(&memory, 60));
  EXPECT_FALSE(quotas->Grow(&memory, 1));
  EXPECT_EQ(memory.amount(), 100);
  memory.Shrink(30);
  EXPECT_EQ(quotas->InUse("k", CallerQuotas::kUploadMemory), 70);
  EXPECT_TRUE(quotas->Grow(&memory, 30));
  memory.Shrink(1000);  // never below zero
  EXPECT_EQ(memory.amount(), 0);
  EXPECT_EQ(quotas->InUse("k", CallerQuotas::kUploadMemory), 0);
}

TEST(CallerQuotas, SlotsMoveAndGiveBackOnce) {
  auto quotas = CallerQuotas::Create(Limits(1, 0, 0, 0), {});
  CallerQuotas::Slot first;
  ASSERT_TRUE(quotas->Admit("k", "", CallerQuotas::kCall, &first).ok());
  CallerQuotas::Slot moved(std::move(first));
  EXPECT_EQ(first.amount(), 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
  first.Release();               // gives back nothing
  EXPECT_EQ(quotas->InUse("k", CallerQuotas::kCall), 1);
  CallerQuotas::Slot assigned;
  assigned = std::move(moved);
  EXPECT_EQ(quotas->InUse("k", CallerQuotas::kCall), 1);
  assigned = CallerQuotas::Slot();
  EXPECT_EQ(quotas->InUse("k", CallerQuotas::kCall), 0);
}

TEST(CallerQuotas, ZeroMeansNoCap) {
  auto quotas = CallerQuotas::Create(Limits(0, 0, 0, 0), {});
  std::vector<CallerQuotas::Slot> slots(1000);
  for (auto& s : slots) EXPECT_TRUE(quotas->Admit("k", "", CallerQuotas::kCall, &s).ok());
}

struct Outcome {
  std::optional<grpc::Status> status;
  CallerQuotas::Slot slot;
};

CallerQuotas::SlotCallback Into(Outcome* out) {
  return [out](grpc::Status s, CallerQuotas::Slot slot) {
    out->status = std::move(s);
    out->slot = std::move(slot);
  };
}

TEST(CallerQuotas, WaitersGetTheirCallersSlotsInOrder) {
  auto clock = std::make_shared<client_core::FakeScheduler>();
  auto quotas = CallerQuotas::Create(Limits(0, 0, 0, 1), {}, nullptr, clock);
  const absl::Time deadline = clock->Now() + absl::Seconds(10);
  Outcome first, second, third, other;
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, deadline, Into(&first));
  ASSERT_TRUE(first.status.has_value() && first.status->ok()) << "room: granted at once";
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, deadline, Into(&second));
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, deadline, Into(&third));
  EXPECT_FALSE(second.status.has_value());
  EXPECT_EQ(quotas->Waiters("a", CallerQuotas::kUpstream), 2);
  // Another caller never queues behind "a".
  quotas->AdmitWhenFree("b", "", CallerQuotas::kUpstream, deadline, Into(&other));
  EXPECT_TRUE(other.status.has_value() && other.status->ok());

  first.slot.Release();
  ASSERT_TRUE(second.status.has_value());
  EXPECT_TRUE(second.status->ok());
  EXPECT_FALSE(third.status.has_value());
  second.slot.Release();
  ASSERT_TRUE(third.status.has_value());
  EXPECT_TRUE(third.status->ok());
  EXPECT_EQ(quotas->Waiters("a", CallerQuotas::kUpstream), 0);
  EXPECT_EQ(quotas->InUse("a", CallerQuotas::kUpstream), 1);
}

TEST(CallerQuotas, AWaitEndsBeforeTheDeadlineWithCallerQuotaExceeded) {
  auto clock = std::make_shared<client_core::FakeScheduler>();
  auto quotas = CallerQuotas::Create(Limits(0, 0, 0, 1), {}, nullptr, clock);
  Outcome holder, waiter;
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, absl::InfiniteFuture(), Into(&holder));
  const absl::Time deadline = clock->Now() + absl::Seconds(2);
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, deadline, Into(&waiter));
  clock->Advance(absl::Milliseconds(1900));
  EXPECT_FALSE(waiter.status.has_value());
  clock->Advance(absl::Milliseconds(60));  // the answer goes out before the deadline itself
  ASSERT_TRUE(waiter.status.has_value());
  EXPECT_EQ(waiter.status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(*waiter.status), "CALLER_QUOTA_EXCEEDED");
  EXPECT_TRUE(HasRetryInfo(*waiter.status));
  EXPECT_EQ(waiter.slot.amount(), 0);
  // A deadline already too close is refused at once.
  Outcome late;
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, clock->Now(), Into(&late));
  ASSERT_TRUE(late.status.has_value());
  EXPECT_EQ(late.status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  holder.slot.Release();
  EXPECT_EQ(quotas->InUse("a", CallerQuotas::kUpstream), 0);
}

TEST(CallerQuotas, ACancelledWaitRunsItsCallbackOnceAndTakesNothing) {
  auto clock = std::make_shared<client_core::FakeScheduler>();
  auto quotas = CallerQuotas::Create(Limits(0, 0, 0, 1), {}, nullptr, clock);
  Outcome holder, waiter;
  int calls = 0;
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream, absl::InfiniteFuture(), Into(&holder));
  auto wait = quotas->AdmitWhenFree("a", "", CallerQuotas::kUpstream,
                                    clock->Now() + absl::Seconds(5),
                                    [&](grpc::Status s, CallerQuotas::Slot slot) {
                                      ++calls;
                                      waiter.status = std::move(s);
                                      waiter.slot = std::move(slot);
                                    });
  wait->Cancel();
  wait->Cancel();
  ASSERT_TRUE(waiter.status.has_value());
  EXPECT_EQ(waiter.status->error_code(), grpc::StatusCode::CANCELLED);
  clock->Advance(absl::Seconds(10));  // its timer is gone too
  holder.slot.Release();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(quotas->InUse("a", CallerQuotas::kUpstream), 0);
}

TEST(CallerQuotas, AnAmountLargerThanTheWholeShareIsRefusedAtOnce) {
  auto quotas = CallerQuotas::Create(Limits(0, 0, 10, 0), {});
  Outcome out;
  quotas->AdmitWhenFree("a", "", CallerQuotas::kUploadMemory, absl::InfiniteFuture(), Into(&out),
                        11);
  ASSERT_TRUE(out.status.has_value());
  EXPECT_EQ(ReasonOf(*out.status), "CALLER_QUOTA_EXCEEDED");
}

}  // namespace
}  // namespace filesgw::server
