// The rate governor through the real gateway and emulator: a configured rate
// is held, a 429 pauses every caller, and calls whose deadline cannot be met
// get RESOURCE_EXHAUSTED with RetryInfo without anything sent upstream.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

TEST(GovernorIntegration, HoldsTheConfiguredRateWithinFivePercent) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->requests_per_second = 40;
    g->max_concurrent_requests = 8;
  };
  GatewayHarness harness(options);
  harness.ResetEmulator();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  // 16 eager callers; the first second fills the bucket's burst, so count the next 3.
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":1})", absl::Seconds(30));
        (r.status.ok() ? ok : failed).fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  const int before = harness.RequestCount("GET /api/rest/v1/users/1");
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(3));
  const int after = harness.RequestCount("GET /api/rest/v1/users/1");
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  stop = true;
  for (auto& t : callers) t.join();
  const double rate = (after - before) / seconds;
  EXPECT_NEAR(rate, 40.0, 2.0) << "upstream requests per second";
  EXPECT_EQ(failed.load(), 0);
}

TEST(GovernorIntegration, A429PausesOtherCallersUntilRetryAfter) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) { g->max_concurrent_requests = 8; };
  GatewayHarness harness(options);
  harness.ResetEmulator();
  harness.ControlPost("/__emulator/faults",
                      R"({"method":"GET","path":"/users/2","status":429,"retry_after":"1","times":1})");
  std::thread limited([&] {
    auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":2})");
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  });
  absl::SleepFor(absl::Milliseconds(200));  // the 429 has arrived by now
  const absl::Time start = absl::Now();
  auto other = harness.Call("files.v1.UserService/FindUser", R"({"id":1})");
  const absl::Duration waited = absl::Now() - start;
  limited.join();
  EXPECT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_GE(waited, absl::Milliseconds(600)) << "another caller was not held back by the 429";
  EXPECT_LT(waited, absl::Seconds(3));
}

TEST(GovernorIntegration, DeadlineThatCannotBeMetGetsResourceExhaustedWithRetryInfo) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) { g->requests_per_second = 1; };
  GatewayHarness harness(options);
  harness.ResetEmulator();
  ASSERT_TRUE(harness.Call("files.v1.UserService/FindUser", R"({"id":1})").status.ok());
  const int sent = harness.RequestCount("GET /api/rest/v1/users/1");
  auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":1})", absl::Milliseconds(300));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << r.status.error_message();
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(r.RetryInfo(&retry));
  EXPECT_GT(retry.retry_delay().nanos() + retry.retry_delay().seconds() * 1000000000LL, 0);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(r.ErrorInfo(&info));
  EXPECT_EQ(info.reason(), "GATEWAY_RATE_LIMITED");
  EXPECT_EQ(harness.RequestCount("GET /api/rest/v1/users/1"), sent) << "nothing was sent upstream";
}

}  // namespace
}  // namespace filesgw::testing
