#include "server/options.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace filesgw::server {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(Options, DefaultsMirrorTheSdk) {
  auto o = ParseOptions({}, Env({}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->listen, "127.0.0.1:50051");
  EXPECT_EQ(o->open_timeout, absl::Seconds(30));
  EXPECT_EQ(o->read_timeout, absl::Seconds(80));
  EXPECT_EQ(o->initial_retry_delay, absl::Milliseconds(500));
  EXPECT_EQ(o->max_retry_delay, absl::Seconds(2));
  EXPECT_EQ(o->max_retries, 3);
  EXPECT_TRUE(o->base_url.empty()) << "no key: the embedded emulator is used";
}

TEST(Options, FlagsBeatEnvironment) {
  auto o = ParseOptions({"--listen=127.0.0.1:9", "--max-retries", "5", "--read-timeout=1.5"},
                        Env({{"FILESGW_LISTEN", "1.2.3.4:5"}, {"FILESGW_MAX_RETRIES", "1"},
                             {"FILESGW_OPEN_TIMEOUT", "250ms"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->listen, "127.0.0.1:9");
  EXPECT_EQ(o->max_retries, 5);
  EXPECT_EQ(o->read_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(o->open_timeout, absl::Milliseconds(250));
}

TEST(Options, ApiKeyFromEnvironmentDefaultsBaseUrlToFilesCom) {
  auto o = ParseOptions({}, Env({{"FILES_API_KEY", "k"}}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->api_key, "k");
  EXPECT_EQ(o->base_url, "https://app.files.com");
}

TEST(Options, ApiKeyFileIsReadAndTrimmed) {
  std::string path = ::testing::TempDir() + "/key";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("  secret-key\n", f);
  std::fclose(f);
  auto o = ParseOptions({"--api-key-file", path, "--base-url", "http://127.0.0.1:1/"}, Env({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->api_key, "secret-key");
  EXPECT_EQ(o->base_url, "http://127.0.0.1:1");
}

// The embedded emulator's control endpoints are off unless a token is given.
TEST(Options, EmulatorControlTokenFileIsReadAndTrimmed) {
  auto off = ParseOptions({}, Env({}));
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->emulator_control_token.empty());
  std::string path = ::testing::TempDir() + "/control-token";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("control-secret\n", f);
  std::fclose(f);
  auto on = ParseOptions({"--emulator-control-token-file", path}, Env({}));
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->emulator_control_token, "control-secret");
  EXPECT_FALSE(ParseOptions({"--emulator-control-token-file=/does/not/exist"}, Env({})).ok());
}

TEST(Options, RejectsBadInputNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  } cases[] = {
      {{"--nope=1"}, "--nope"},
      {{"--max-retries=-1"}, "--max-retries"},
      {{"--open-timeout=soon"}, "--open-timeout"},
      {{"--log-level=loud"}, "--log-level"},
      {{"--api-key-file=/does/not/exist"}, "/does/not/exist"},
      {{"--api-key=visible-in-ps"}, "--api-key-file"},
      {{"--listen"}, "--listen"},
  };
  for (const auto& c : cases) {
    auto o = ParseOptions(c.args, Env({}));
    ASSERT_FALSE(o.ok()) << c.args[0];
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(o.status().message()), ::testing::HasSubstr(c.mentions));
    EXPECT_THAT(std::string(o.status().message()), ::testing::Not(::testing::HasSubstr("visible-in-ps")));
  }
}

}  // namespace
}  // namespace filesgw::server
