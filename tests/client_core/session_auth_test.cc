// Session profiles against the real emulator over loopback: login on first
// use, one login shared by concurrent calls, renewal after the emulator ends
// every session, wrong passwords reported as UNAUTHENTICATED.
#include "client_core/session_auth.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "client_core/curl_transport.h"
#include "client_core/files_client.h"
#include "emulator/emulator.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace filesgw::client_core {
namespace {

class SessionAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::EmulatorOptions options;
    options.api_key = "emulatorkey0001";
    emulator_ = std::make_unique<emulator::Emulator>(options);
    ASSERT_TRUE(emulator_->Start().ok());
  }
  // Close the client's keep-alive connections before the emulator stops (it
  // would otherwise wait for them to time out).
  void TearDown() override {
    auth_.reset();
    transport_.reset();
    emulator_.reset();
  }

  FilesClient Client(const std::string& password) {
    ClientOptions options;
    options.base_url = emulator_->base_url();
    options.session_auth = SessionAuth::Create(transport_, options.base_url, SecretSource::Fixed("admin"),
                                               SecretSource::Fixed(password), {});
    auth_ = options.session_auth;
    return FilesClient(transport_, MakeRealScheduler(), options);
  }

  ApiResult FindUser(FilesClient& client) {
    ApiRequest r;
    r.method = "GET";
    r.path_and_query = "/users/1";
    r.deadline = absl::Now() + absl::Seconds(20);
    absl::Notification done;
    ApiResult out;
    client.Call(std::move(r), [&](ApiResult res) {
      out = std::move(res);
      done.Notify();
    });
    done.WaitForNotification();
    return out;
  }

  std::shared_ptr<HttpTransport> transport_ = MakeCurlTransport();
  std::unique_ptr<emulator::Emulator> emulator_;
  std::shared_ptr<SessionAuth> auth_;
};

TEST_F(SessionAuthTest, LogsInOnceAndRenewsAfterTheSessionEnds) {
  FilesClient client = Client("password");
  ApiResult first = FindUser(client);
  ASSERT_TRUE(first.status.ok()) << first.status;
  ASSERT_TRUE(FindUser(client).status.ok());
  EXPECT_EQ(auth_->logins(), 1) << "the session is reused";
  emulator_->ExpireSessions();
  ApiResult after = FindUser(client);
  ASSERT_TRUE(after.status.ok()) << after.status;
  EXPECT_EQ(auth_->logins(), 2) << "one new login after Files.com refused the old session";
}

TEST_F(SessionAuthTest, ConcurrentCallsShareOneLogin) {
  FilesClient client = Client("password");
  // Shared with the callbacks: the last one may still be unlocking when the
  // test body returns.
  struct State {
    absl::Mutex mu;
    std::vector<std::optional<ApiResult>> results = std::vector<std::optional<ApiResult>>(20);
    int done = 0;
    absl::Notification all;
  };
  auto state = std::make_shared<State>();
  for (int i = 0; i < 20; ++i) {
    ApiRequest r;
    r.method = "GET";
    r.path_and_query = "/users/1";
    client.Call(std::move(r), [state, i](ApiResult res) {
      bool last;
      {
        absl::MutexLock lock(&state->mu);
        state->results[i] = std::move(res);
        last = ++state->done == 20;
      }
      if (last) state->all.Notify();
    });
  }
  ASSERT_TRUE(state->all.WaitForNotificationWithTimeout(absl::Seconds(20)));
  absl::MutexLock lock(&state->mu);
  for (auto& r : state->results) EXPECT_TRUE(r->status.ok()) << r->status;
  EXPECT_EQ(auth_->logins(), 1);
}

TEST_F(SessionAuthTest, WrongPasswordIsUnauthenticatedWithTheFilesComType) {
  FilesClient client = Client("not-the-password");
  ApiResult r = FindUser(client);
  EXPECT_TRUE(absl::IsUnauthenticated(r.status)) << r.status;
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->type, "not-authenticated/invalid-username-or-password");
  EXPECT_EQ(std::string(r.status.message()).find("not-the-password"), std::string::npos)
      << "the password never appears in errors";
}

}  // namespace
}  // namespace filesgw::client_core
