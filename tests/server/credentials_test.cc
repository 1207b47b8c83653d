// Credentials through the real gateway: an API key file rotated by an atomic
// symlink swap under load (no failed calls, the new key used afterwards), and
// a username/password profile whose session the emulator ends mid-run.
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

// Records the API key of every request the gateway sends.
class KeyRecorder : public client_core::HttpTransport {
 public:
  explicit KeyRecorder(std::shared_ptr<client_core::HttpTransport> inner) : inner_(std::move(inner)) {}
  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
    for (const auto& [name, value] : request.headers) {
      if (name == "X-FilesAPI-Key") {
        std::lock_guard<std::mutex> lock(mu);
        keys.push_back(value);
      }
    }
    return inner_->Start(std::move(request), std::move(done));
  }
  static std::mutex mu;
  static std::vector<std::string> keys;

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
};
std::mutex KeyRecorder::mu;
std::vector<std::string> KeyRecorder::keys;

void Swap(const std::string& dir, const std::string& data, const std::string& key) {
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/" + data).c_str()), 0);
  std::ofstream(dir + "/" + data + "/api-key") << key << "\n";
  ASSERT_EQ(symlink(data.c_str(), (dir + "/..tmp").c_str()), 0);
  ASSERT_EQ(rename((dir + "/..tmp").c_str(), (dir + "/..data").c_str()), 0);
}

TEST(Credentials, KeyFileRotationUnderLoadFailsNoCall) {
  char tmpl[] = "/tmp/gw-key-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Swap(dir, "..v1", "key-one");
  ASSERT_EQ(symlink("..data/api-key", (dir + "/api-key").c_str()), 0);
  HarnessOptions options;
  options.emulator_setup = [](emulator::EmulatorOptions* e) { e->api_key.clear(); };  // any key
  options.gateway_setup = [&dir](server::GatewayOptions* g) {
    g->api_key.clear();
    g->api_key_file = dir + "/api-key";
  };
  options.wrap_transport = [](std::shared_ptr<client_core::HttpTransport> inner) {
    return std::make_shared<KeyRecorder>(std::move(inner));
  };
  {
    GatewayHarness harness(options);
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 8; ++t) {
      callers.emplace_back([&] {
        while (!stop.load()) {
          auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":1})");
          (r.status.ok() ? ok : failed).fetch_add(1);
        }
      });
    }
    for (int i = 2; i <= 4; ++i) {
      absl::SleepFor(absl::Milliseconds(700));
      Swap(dir, "..v" + std::to_string(i), "key-" + std::to_string(i));
    }
    absl::SleepFor(absl::Milliseconds(1500));  // past the 1 s poll
    stop = true;
    for (auto& t : callers) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_GT(ok.load(), 100);
    std::lock_guard<std::mutex> lock(KeyRecorder::mu);
    ASSERT_FALSE(KeyRecorder::keys.empty());
    EXPECT_EQ(KeyRecorder::keys.front(), "key-one");
    EXPECT_EQ(KeyRecorder::keys.back(), "key-4") << "the rotated key is in use";
    for (const auto& k : KeyRecorder::keys) EXPECT_EQ(k.rfind("key-", 0), 0u) << "never a torn value";
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST(Credentials, UsernamePasswordProfileRenewsItsSession) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->api_key.clear();
    g->username = "admin";
    g->password = "password";
  };
  GatewayHarness harness(options);
  ASSERT_TRUE(harness.Call("files.v1.UserService/FindUser", R"({"id":1})").status.ok());
  harness.emulator().ExpireSessions();
  auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":1})");
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(harness.RequestCount("POST /api/rest/v1/sessions"), 2);
}

}  // namespace
}  // namespace filesgw::testing
