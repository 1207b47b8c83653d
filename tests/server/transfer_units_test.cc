// The transfer service's small units, without a gateway: the per-stream
// strand, the upload memory budget and its overdraft, the stream timer on a
// fake clock, and the resumable-upload registry's ownership rules.
#include <memory>
#include <string>
#include <vector>

#include "client_core/fake_scheduler.h"
#include "gtest/gtest.h"
#include "server/transfer_internal.h"
#include "server/transfer_resumable.h"
#include "server/transfer_shares.h"
#include "server/transfer_upload_session.h"

namespace filesgw::server::transfer {
namespace {

TEST(Strand, RunsPostsInOrderAndNeverInsideAnother) {
  Strand strand;
  std::vector<std::string> order;
  strand.Run([&] {
    order.push_back("a begins");
    strand.Run([&] { order.push_back("b"); });  // posted from inside: runs after a
    order.push_back("a ends");
  });
  strand.Run([&] { order.push_back("c"); });
  EXPECT_EQ(order, (std::vector<std::string>{"a begins", "a ends", "b", "c"}));
}

TEST(MemoryBudget, TakesWhatIsFreeAndGivesBack) {
  MemoryBudget budget(100);
  EXPECT_TRUE(budget.TryTake(60));
  EXPECT_FALSE(budget.TryTake(50));
  EXPECT_TRUE(budget.TryTake(40));
  budget.Give(60);
  EXPECT_EQ(budget.free(), 60);
  EXPECT_TRUE(budget.TryTake(50));
}

TEST(MemoryBudget, OversizedRequestPassesOnlyWhenNothingIsHeld) {
  MemoryBudget budget(100);
  EXPECT_TRUE(budget.TryTake(10));
  EXPECT_FALSE(budget.TryTake(150));
  budget.Give(10);
  EXPECT_TRUE(budget.TryTake(150));
}

TEST(MemoryBudget, OverdraftIsForOneStreamAndOnlyWhenNothingWillFree) {
  MemoryBudget budget(100);
  ASSERT_TRUE(budget.TryTake(100));
  int a = 0, b = 0;
  budget.parts_in_flight = 1;
  EXPECT_FALSE(budget.TryOverdraft(&a, 10)) << "a part in flight will give memory back";
  budget.parts_in_flight = 0;
  EXPECT_TRUE(budget.TryOverdraft(&a, 10));
  EXPECT_TRUE(budget.TryOverdraft(&a, 10)) << "the holder goes on until its part is out";
  EXPECT_FALSE(budget.TryOverdraft(&b, 10)) << "one stream at a time";
  budget.EndOverdraft(&b);  // not the holder: no effect
  EXPECT_FALSE(budget.TryOverdraft(&b, 10));
  budget.EndOverdraft(&a);
  EXPECT_TRUE(budget.TryOverdraft(&b, 10));
  budget.EndOverdraft(&b);
  budget.Give(130);
  EXPECT_EQ(budget.free(), 100);
}

TEST(StreamTimer, KeepsTheEarliestTimeAskedFor) {
  client_core::FakeScheduler scheduler;
  StreamTimer timer(scheduler);
  std::vector<int> fired;
  timer.Arm(absl::Seconds(10), [&] {
    timer.Fired();
    fired.push_back(10);
  });
  timer.Arm(absl::Seconds(20), [&] {
    timer.Fired();
    fired.push_back(20);
  });  // later: ignored
  timer.Arm(absl::Seconds(5), [&] {
    timer.Fired();
    fired.push_back(5);
  });  // earlier: replaces
  scheduler.Advance(absl::Seconds(30));
  EXPECT_EQ(fired, std::vector<int>{5});
  timer.Arm(absl::Seconds(1), [&] {
    timer.Fired();
    fired.push_back(1);
  });
  timer.Stop();
  scheduler.Advance(absl::Seconds(5));
  EXPECT_EQ(fired, std::vector<int>{5});
}

std::shared_ptr<UploadSession> SessionOf(const std::string& caller_name) {
  auto caller = std::make_shared<CallerIdentity>();
  caller->name = caller_name;
  files::v1::UploadSpec spec;
  spec.set_path("f.bin");
  return std::make_shared<UploadSession>(nullptr, spec, "f.bin", caller);
}

TEST(ResumableRegistry, OnlyItsCallerFindsAnUploadAndOneStreamWritesIt) {
  auto scheduler = std::make_shared<client_core::FakeScheduler>();
  ResumableRegistry registry(scheduler, absl::Hours(1));
  auto session = SessionOf("billing");
  const std::string id = registry.Add(session);
  EXPECT_EQ(registry.Find(id, "reports"), nullptr);
  EXPECT_EQ(registry.Find("up-unknown", "billing"), nullptr);
  ASSERT_EQ(registry.Find(id, "billing"), session);
  EXPECT_TRUE(registry.Attach(session));
  EXPECT_FALSE(registry.Attach(session)) << "a second stream while one writes";
  bool complete = true;
  files::v1::File file;
  registry.Status(session, &complete, &file);
  EXPECT_FALSE(complete);
  registry.Complete(session, file);
  registry.Status(session, &complete, &file);
  EXPECT_FALSE(complete) << "not while the stream is still attached";
  registry.Detach(session);
  registry.Status(session, &complete, &file);
  EXPECT_TRUE(complete);
  EXPECT_EQ(registry.Remove(id, "reports"), nullptr);
  EXPECT_EQ(registry.Remove(id, "billing"), session);
  EXPECT_EQ(registry.Find(id, "billing"), nullptr);
}

}  // namespace
}  // namespace filesgw::server::transfer
