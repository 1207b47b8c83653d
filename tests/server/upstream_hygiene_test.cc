// What a caller notices of the gateway's upstream hygiene (issue 14), against
// the real emulator and gateway on loopback: requests too large or with unsafe
// paths are refused before anything is sent, an upstream "too large" answer is
// the caller's argument, and creates do not leave connections piling up.
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using ::testing::HasSubstr;

std::string ReasonOf(const CallResult& r) {
  google::rpc::ErrorInfo info;
  return r.ErrorInfo(&info) ? info.reason() : "<no ErrorInfo>";
}

// This process's open TCP connections to `port` (the gateway's upstream
// sockets: the emulator runs in-process). A closed one leaves ESTABLISHED at
// once, so no wait is needed.
int OpenConnectionsTo(int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  int open = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const size_t colon = remote.find(':');
    if (colon == std::string::npos || state != "01") continue;
    if (std::stoi(remote.substr(colon + 1), nullptr, 16) == port) ++open;
  }
  return open;
}

class UpstreamHygieneTest : public ::testing::Test {
 protected:
  GatewayHarness harness_;
};

// Was RESOURCE_EXHAUSTED / GATEWAY_RATE_LIMITED ("curl: Out of memory").
TEST_F(UpstreamHygieneTest, AHugeCursorIsRefusedAsRequestTooLarge) {
  const std::string cursor(1 << 20, 'c');
  CallResult r = harness_.Call("files.v1.UserService/ListUsers",
                               absl::StrCat(R"({"cursor":")", cursor, R"("})"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_EQ(ReasonOf(r), "REQUEST_TOO_LARGE");
  EXPECT_THAT(r.status.error_message(), HasSubstr("16384"));
  EXPECT_EQ(harness_.RequestCount("GET /api/rest/v1/users"), 0) << "nothing was sent";
  // The gateway is fine for the next call.
  EXPECT_TRUE(harness_.Call("files.v1.UserService/FindUser", R"({"id":1})").status.ok());
}

// Was UNKNOWN: a front end's 414 page carries no Files.com `type`.
TEST_F(UpstreamHygieneTest, AnUpstream414WithoutATypeIsInvalidArgument) {
  harness_.ControlPost("/__emulator/faults",
                       R"({"method":"GET","path":"/users/1","status":414,)"
                       R"("body":"<html>414 Request-URI Too Large</html>","times":1})");
  CallResult r = harness_.Call("files.v1.UserService/FindUser", R"({"id":1})");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_EQ(harness_.RequestCount("GET /api/rest/v1/users/1"), 1) << "not retried";
}

// Were silently dropped, so the call acted on another file than the one named.
TEST_F(UpstreamHygieneTest, DotSegmentsAndNulInPathsAreRefused) {
  for (const char* json : {R"({"path":"demo/../shared"})", R"({"path":"demo/./hello.txt"})",
                           R"({"path":"demo/hel\u0000lo.txt"})"}) {
    CallResult r = harness_.Call("files.v1.FileService/DeleteFile", json);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << json;
    EXPECT_THAT(r.status.error_message(), HasSubstr("`path`")) << json;
  }
  EXPECT_EQ(harness_.Call("files.v1.FileService/FindFile", R"({"path":"demo/hello.txt"})")
                .status.error_code(),
            grpc::StatusCode::OK)
      << "nothing was deleted";
}

// Each create went on a fresh connection that was then kept idle: 64 of them
// held the emulator's 64 workers and another client waited 30 s.
TEST_F(UpstreamHygieneTest, CreatesAndBurstsLeaveFewConnectionsOpen) {
  const int port = harness_.emulator().port();
  for (int i = 0; i < 40; ++i) {
    CallResult r = harness_.Call("files.v1.GroupService/CreateGroup",
                                 absl::StrCat(R"({"name":"hygiene-)", i, R"("})"));
    ASSERT_TRUE(r.status.ok()) << i << ": " << r.status.error_message();
  }
  EXPECT_LE(OpenConnectionsTo(port), 1) << "creates close their connections";
  std::vector<std::thread> callers;
  for (int i = 0; i < 32; ++i) {
    callers.emplace_back([this] {
      EXPECT_TRUE(harness_.Call("files.v1.UserService/FindUser", R"({"id":1})").status.ok());
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_LE(OpenConnectionsTo(port), 8) << "at most the idle bound stays open after a burst";
}

}  // namespace
}  // namespace filesgw::testing
