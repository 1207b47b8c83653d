#include "client_core/secret_source.h"

#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client_core/fake_scheduler.h"
#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

class SecretSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/secret-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  // Kubernetes' update: write a new data dir, then rename a symlink over the old one.
  void SwapTo(const std::string& data_dir, const std::string& key) {
    ASSERT_EQ(std::system(("mkdir -p " + dir_ + "/" + data_dir).c_str()), 0);
    Write(data_dir + "/api-key", key);
    ASSERT_EQ(symlink(data_dir.c_str(), (dir_ + "/..data_tmp").c_str()), 0);
    ASSERT_EQ(rename((dir_ + "/..data_tmp").c_str(), (dir_ + "/..data").c_str()), 0);
  }

  std::string dir_;
};

TEST_F(SecretSourceTest, ReadsTrimmedValueAndRefusesMissingOrEmptyFiles) {
  auto sched = std::make_shared<FakeScheduler>();
  Write("key", "  secret-1\n");
  auto s = SecretSource::FromFile(dir_ + "/key", sched);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Get(), "secret-1");
  EXPECT_FALSE(SecretSource::FromFile(dir_ + "/missing", sched).ok());
  Write("empty", "\n");
  auto empty = SecretSource::FromFile(dir_ + "/empty", sched);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(std::string(empty.status().message()).find(dir_ + "/empty"), std::string::npos)
      << "the error names the file";
}

TEST_F(SecretSourceTest, FollowsAnAtomicSymlinkSwapAndKeepsTheOldValueOnBadUpdates) {
  auto sched = std::make_shared<FakeScheduler>();
  SwapTo("..2026_01", "key-one");
  ASSERT_EQ(symlink("..data/api-key", (dir_ + "/api-key").c_str()), 0);
  auto s = SecretSource::FromFile(dir_ + "/api-key", sched, absl::Seconds(1));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Get(), "key-one");
  SwapTo("..2026_02", "key-two");
  EXPECT_EQ((*s)->Get(), "key-one") << "not before the next poll";
  sched->Advance(absl::Seconds(1));
  EXPECT_EQ((*s)->Get(), "key-two");
  EXPECT_EQ((*s)->version(), 2u);
  SwapTo("..2026_03", "   ");  // a broken update
  sched->Advance(absl::Seconds(1));
  EXPECT_EQ((*s)->Get(), "key-two");
  EXPECT_FALSE((*s)->last_error().ok());
  SwapTo("..2026_04", "key-four");
  sched->Advance(absl::Seconds(1));
  EXPECT_EQ((*s)->Get(), "key-four");
  EXPECT_TRUE((*s)->last_error().ok());
}

TEST_F(SecretSourceTest, ReadersAlwaysSeeAWholeValueDuringRotation) {
  SwapTo("..v0", "key-0000");
  ASSERT_EQ(symlink("..data/api-key", (dir_ + "/api-key").c_str()), 0);
  auto s = SecretSource::FromFile(dir_ + "/api-key", MakeRealScheduler(), absl::Milliseconds(5));
  ASSERT_TRUE(s.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        std::string v = (*s)->Get();
        if (v.size() != 8 || v.rfind("key-", 0) != 0) bad.fetch_add(1);
      }
    });
  }
  for (int i = 1; i <= 20; ++i) {
    char name[16];
    snprintf(name, sizeof name, "%04d", i);
    SwapTo(std::string("..v") + name, std::string("key-") + name);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ((*s)->Get(), "key-0020");
}

}  // namespace
}  // namespace filesgw::client_core
