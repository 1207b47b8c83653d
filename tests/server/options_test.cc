#include "server/options.h"

#include <cctype>
#include <map>
#include <string>
#include <vector>

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

// A CA bundle to trust upstream (e.g. a TLS emulator's), by flag or env;
// an unreadable one is refused at start, not at the first call.
TEST(Options, CaFileByFlagOrEnvMustBeReadable) {
  std::string path = ::testing::TempDir() + "/ca.pem";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("-----BEGIN CERTIFICATE-----\n", f);
  std::fclose(f);
  auto flag = ParseOptions({"--ca-file", path}, Env({}));
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->ca_file, path);
  auto env = ParseOptions({}, Env({{"FILESGW_CA_FILE", path}}));
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->ca_file, path);
  EXPECT_TRUE(ParseOptions({}, Env({}))->ca_file.empty());
  auto missing = ParseOptions({"--ca-file=/does/not/exist.pem"}, Env({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("ca-file"), absl::string_view::npos)
      << missing.status();
}

// The embedded emulator's control endpoints are off unless a token is given.
TEST(Options, EmulatorUploadIdleTtl) {
  auto defaults = ParseOptions({}, Env({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->emulator_upload_idle_ttl, absl::Minutes(10));
  auto set = ParseOptions({"--emulator-upload-idle-ttl=5s"}, Env({}));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->emulator_upload_idle_ttl, absl::Seconds(5));
  EXPECT_FALSE(ParseOptions({"--emulator-upload-idle-ttl=0"}, Env({})).ok());
}

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

TEST(Options, IsolationLimitsHaveSaneDefaults) {
  auto o = ParseOptions({}, Env({}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->caller_limits.max_calls, 128);
  EXPECT_EQ(o->caller_limits.max_streams, 16);
  EXPECT_EQ(o->caller_limits.upload_memory, 32 << 20);
  EXPECT_EQ(o->caller_limits.max_upstream_requests, 24);
  EXPECT_EQ(o->max_request_bytes, 4 << 20);
  EXPECT_EQ(o->grpc_memory_quota, 256 << 20);
  EXPECT_EQ(o->max_streams_per_connection, 128);
  EXPECT_LE(o->max_streams_per_connection, o->caller_limits.max_calls)
      << "a full connection waits in its client instead of being refused";
  EXPECT_EQ(o->stream_idle_timeout, absl::Seconds(60));
}

TEST(Options, EveryIsolationFlagAndVariableIsParsed) {
  const std::vector<std::string> flags = {
      "--stream-idle-timeout=90s",       "--download-stall-release=2s",
      "--caller-max-calls=7",            "--caller-max-streams=3",
      "--caller-upload-memory=1048576",  "--caller-max-upstream-requests=5",
      "--max-request-bytes=65536",       "--max-upload-message-bytes=2097152",
      "--grpc-memory-quota=67108864",    "--max-streams-per-connection=50",
      "--connection-idle-timeout=2m",    "--keepalive-time=30s",
      "--keepalive-timeout=5s",          "--api-connections=8",
      "--storage-connections=16"};
  auto check = [](const GatewayOptions& o) {
    EXPECT_EQ(o.stream_idle_timeout, absl::Seconds(90));
    EXPECT_EQ(o.download_stall_release, absl::Seconds(2));
    EXPECT_EQ(o.caller_limits.max_calls, 7);
    EXPECT_EQ(o.caller_limits.max_streams, 3);
    EXPECT_EQ(o.caller_limits.upload_memory, 1 << 20);
    EXPECT_EQ(o.caller_limits.max_upstream_requests, 5);
    EXPECT_EQ(o.max_request_bytes, 64 << 10);
    EXPECT_EQ(o.max_upload_message_bytes, 2 << 20);
    EXPECT_EQ(o.grpc_memory_quota, 64 << 20);
    EXPECT_EQ(o.max_streams_per_connection, 50);
    EXPECT_EQ(o.connection_idle_timeout, absl::Minutes(2));
    EXPECT_EQ(o.keepalive_time, absl::Seconds(30));
    EXPECT_EQ(o.keepalive_timeout, absl::Seconds(5));
    EXPECT_EQ(o.api_connections, 8);
    EXPECT_EQ(o.storage_connections, 16);
  };
  auto from_flags = ParseOptions(flags, Env({}));
  ASSERT_TRUE(from_flags.ok()) << from_flags.status();
  check(*from_flags);
  // The same through FILESGW_<NAME>.
  std::map<std::string, std::string> env;
  for (const auto& flag : flags) {
    std::string name = flag.substr(2, flag.find('=') - 2);
    std::string var = "FILESGW_";
    for (char c : name) var.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
    env[var] = flag.substr(flag.find('=') + 1);
  }
  auto from_env = ParseOptions({}, Env(env));
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  check(*from_env);
  // 0 turns a caller cap or a timer off.
  auto off = ParseOptions({"--caller-max-calls=0", "--connection-idle-timeout=0"}, Env({}));
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->caller_limits.max_calls, 0);
  EXPECT_EQ(off->connection_idle_timeout, absl::ZeroDuration());
}

TEST(Options, BadIsolationValuesNameTheFlag) {
  for (const std::string arg :
       {"--caller-max-calls=-1", "--caller-max-streams=lots", "--caller-upload-memory=32MB",
        "--caller-max-upstream-requests=1000001", "--max-request-bytes=10",
        "--max-upload-message-bytes=2000000000", "--grpc-memory-quota=1024",
        "--max-streams-per-connection=0", "--connection-idle-timeout=later",
        "--keepalive-time=-5s", "--keepalive-timeout=1ms", "--api-connections=0",
        "--storage-connections=99999", "--stream-idle-timeout=x",
        "--download-stall-release=y"}) {
    auto o = ParseOptions({arg}, Env({}));
    ASSERT_FALSE(o.ok()) << arg;
    EXPECT_THAT(std::string(o.status().message()),
                ::testing::HasSubstr(arg.substr(0, arg.find('='))));
  }
}

TEST(Options, HelpListsEveryIsolationFlag) {
  for (const char* flag :
       {"--stream-idle-timeout", "--download-stall-release", "--caller-max-calls",
        "--caller-max-streams", "--caller-upload-memory", "--caller-max-upstream-requests",
        "--max-request-bytes", "--max-upload-message-bytes", "--grpc-memory-quota",
        "--max-streams-per-connection", "--connection-idle-timeout", "--keepalive-time",
        "--keepalive-timeout", "--api-connections", "--storage-connections"}) {
    EXPECT_THAT(UsageText(), ::testing::HasSubstr(flag));
  }
}

TEST(Options, UrlsAreShownWithoutCredentialsOrQueries) {
  EXPECT_EQ(RedactUrl("https://app.files.com"), "https://app.files.com");
  EXPECT_EQ(RedactUrl("https://user:pass@acme.files.com/api"), "https://***@acme.files.com/api");
  EXPECT_EQ(RedactUrl("http://token@host:8080"), "http://***@host:8080");
  EXPECT_EQ(RedactUrl("https://host/p?sig=secret#x"), "https://host/p?...");
  EXPECT_EQ(RedactUrl("https://host/a@b"), "https://host/a@b") << "an @ in the path is not userinfo";
}

TEST(Options, CheckConfigShowsLimitsAndNoSecrets) {
  GatewayOptions o;
  o.caller_limits.max_calls = 50;
  ProfileOptions p;
  p.base_url = "https://admin:hunter2@acme.files.com?key=also-secret";
  p.api_key = "the-api-key";
  o.profiles = {p};
  CallerOptions big;
  big.name = "big";
  big.token_sha256 = std::string(64, 'a');
  big.allow = {"*"};
  big.limits.max_streams = 64;
  big.limits.upload_memory = 0;
  o.callers = {big};
  const std::string text = DescribeOptions(o);
  EXPECT_THAT(text, ::testing::HasSubstr("https://***@acme.files.com?..."));
  for (const char* secret : {"hunter2", "admin", "also-secret", "the-api-key"}) {
    EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr(secret)));
  }
  EXPECT_THAT(text, ::testing::HasSubstr("caller defaults: 50 calls, 16 streams, 32 MiB upload "
                                         "memory, 24 upstream requests"));
  EXPECT_THAT(text, ::testing::HasSubstr("caller big: bearer token, profile default, 1 allow "
                                         "pattern(s); 50 calls, 64 streams, no cap on upload "
                                         "memory, 24 upstream requests"));
  EXPECT_THAT(text, ::testing::HasSubstr("gateway limits: requests up to 4 MiB"));
  EXPECT_THAT(text, ::testing::HasSubstr("gRPC memory 256 MiB, 128 streams per connection"));
}

}  // namespace
}  // namespace filesgw::server
