// The YAML configuration file: what it sets, how flags and environment
// override it, every problem reported with its line, secrets kept out of it
// and out of messages, and the --check-config / --hash-token commands.
#include "server/config.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/options.h"

namespace filesgw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const std::string kTokenHash = Sha256Hex("billing-token");

TEST(Config, FileSetsProfilesCallersTlsAndFlagKeys) {
  const std::string key = Write("api-key", "  file-key\n");
  const std::string crt = Write("tls.crt", "pem");
  const std::string tls_key = Write("tls.key", "pem");
  const std::string ca = Write("ca.crt", "pem");
  const std::string path = Write("full.yaml", R"(
listen: "0.0.0.0:50051"
health_listen: "0.0.0.0:8086"
max_retries: 7
drain_timeout: 5s
metrics_listen: "0.0.0.0:9464"
metrics_allow_remote: true
tls:
  cert_file: )" + crt + R"(
  key_file: )" + tls_key + R"(
  client_ca_file: )" + ca + R"(
profiles:
  default:
    base_url: https://acme.files.com/
    api_key_file: )" + key + R"(
    max_concurrent_requests: 8
    requests_per_second: 20
  partner:
    base_url: https://partner.files.com
    api_key_env: PARTNER_KEY
    allow_caller_credentials: yes
callers:
  - name: billing
    token_sha256: )" + kTokenHash + R"(
    allow: ["files.v1.UserService/*", files.v1.TransferService/Download]
  - name: reports
    certificate: reports.apps.svc
    profile: partner
    allow: "*"
)");
  auto o = ParseOptions({"--config", path}, Env({{"PARTNER_KEY", "env-key"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->listen, "0.0.0.0:50051");
  EXPECT_EQ(o->health_listen, "0.0.0.0:8086");
  EXPECT_EQ(o->max_retries, 7);
  EXPECT_EQ(o->drain_timeout, absl::Seconds(5));
  EXPECT_TRUE(o->metrics_allow_remote);
  EXPECT_EQ(o->tls.client_ca_file, ca);
  ASSERT_EQ(o->profiles.size(), 2u);
  EXPECT_EQ(o->profiles[0].name, "default");
  EXPECT_EQ(o->profiles[0].base_url, "https://acme.files.com");
  EXPECT_EQ(o->profiles[0].api_key, "file-key");
  EXPECT_EQ(o->profiles[0].api_key_file, key);
  EXPECT_EQ(o->profiles[0].max_concurrent_requests, 8);
  EXPECT_EQ(o->profiles[0].requests_per_second, 20);
  EXPECT_EQ(o->profiles[1].api_key, "env-key");
  EXPECT_TRUE(o->profiles[1].allow_caller_credentials);
  ASSERT_EQ(o->callers.size(), 2u);
  EXPECT_EQ(o->callers[0].token_sha256, kTokenHash);
  EXPECT_THAT(o->callers[0].allow,
              ::testing::ElementsAre("files.v1.UserService/*", "files.v1.TransferService/Download"));
  EXPECT_EQ(o->callers[1].certificate, "reports.apps.svc");
  EXPECT_EQ(o->callers[1].profile, "partner");
}

TEST(Config, FlagsBeatEnvironmentBeatsTheFile) {
  const std::string path = Write("layers.yaml", "max_retries: 7\nread_timeout: 9s\nopen_timeout: 4s\n");
  auto o = ParseOptions({"--config", path, "--max-retries", "1"},
                        Env({{"FILESGW_MAX_RETRIES", "2"}, {"FILESGW_READ_TIMEOUT", "3s"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_retries, 1);
  EXPECT_EQ(o->read_timeout, absl::Seconds(3));
  EXPECT_EQ(o->open_timeout, absl::Seconds(4));
  // FILESGW_CONFIG names the file too.
  auto from_env = ParseOptions({}, Env({{"FILESGW_CONFIG", path}}));
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->max_retries, 7);
}

TEST(Config, FlagCredentialFoldsIntoTheDefaultProfile) {
  const std::string path = Write("limits.yaml", R"(profiles:
  default:
    max_concurrent_requests: 4
)");
  auto o = ParseOptions({"--config", path}, Env({{"FILES_API_KEY", "k"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->profiles.size(), 1u);
  EXPECT_EQ(o->profiles[0].api_key, "k");
  EXPECT_EQ(o->profiles[0].base_url, "https://app.files.com");
  EXPECT_EQ(o->profiles[0].max_concurrent_requests, 4);
  auto plain = ParseOptions({}, Env({}));
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->profiles.size(), 1u);
  EXPECT_FALSE(plain->profiles[0].has_credential()) << "no credential: the embedded emulator";
}

TEST(Config, EveryProblemIsListedWithItsLine) {
  const std::string path = Write("bad.yaml", R"(listne: "127.0.0.1:1"
profiles:
  default:
    api_key: SUPER-SECRET-VALUE
    base_url: ftp://example.com
callers:
  - name: billing
    token_sha256: abc
    allow: ["*"]
  - name: ghost
    token_sha256: )" + kTokenHash + R"(
    profile: nowhere
    allow: ["files.v1.UserService/Find*User"]
tls:
  cert_file: /nonexistent/tls.crt
)");
  auto o = ParseOptions({"--config", path}, Env({}));
  ASSERT_FALSE(o.ok());
  const std::string m(o.status().message());
  EXPECT_THAT(m, HasSubstr(path + ":1: unknown key 'listne' (did you mean 'listen'?)"));
  EXPECT_THAT(m, HasSubstr(path + ":4: profile 'default': api_key may not be written"));
  EXPECT_THAT(m, HasSubstr(path + ":5: profile 'default': base_url: expected an http:// or https:// URL"));
  EXPECT_THAT(m, HasSubstr(path + ":8: token_sha256: expected 64 hex digits"));
  EXPECT_THAT(m, HasSubstr(path + ":10: caller 'ghost': no profile named 'nowhere'"));
  EXPECT_THAT(m, HasSubstr(path + ":13: allow: 'files.v1.UserService/Find*User'"));
  EXPECT_THAT(m, HasSubstr(path + ":15: tls: cert_file: cannot read /nonexistent/tls.crt"));
  EXPECT_THAT(m, Not(HasSubstr("SUPER-SECRET-VALUE"))) << "a secret is never echoed";
}

TEST(Config, BadValuesNameTheirLine) {
  auto o = ParseOptions({"--config", Write("value.yaml", "log_level: info\nmax_retries: many\n")},
                        Env({}));
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()),
              HasSubstr("value.yaml:2: max_retries: expected a number in [0, 100], got 'many'"));
  auto syntax = ParseOptions({"--config", Write("syntax.yaml", "listen: [\n  oops: :\n")}, Env({}));
  ASSERT_FALSE(syntax.ok());
  EXPECT_THAT(std::string(syntax.status().message()), HasSubstr("syntax.yaml:"));
  EXPECT_THAT(std::string(syntax.status().message()), HasSubstr("not valid YAML"));
  auto secret_env = ParseOptions(
      {"--config", Write("env.yaml", "profiles:\n  default:\n    api_key_env: MISSING_KEY\n")},
      Env({}));
  ASSERT_FALSE(secret_env.ok());
  EXPECT_THAT(std::string(secret_env.status().message()),
              HasSubstr("env.yaml:3: profile 'default': api_key_env: environment variable "
                        "MISSING_KEY is not set"));
  auto token = ParseOptions(
      {"--config", Write("token.yaml", "callers:\n  - name: a\n    token: plain\n    allow: '*'\n")},
      Env({}));
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("only its hash: token_sha256"));
}

TEST(Config, RemoteListenerNeedsCallers) {
  auto open = ParseOptions({"--listen", "0.0.0.0:50051"}, Env({}));
  ASSERT_FALSE(open.ok());
  EXPECT_THAT(std::string(open.status().message()),
              HasSubstr("refusing to listen on 0.0.0.0:50051 without caller authentication"));
  for (const char* local : {"127.0.0.1:1", "localhost:1", "[::1]:1", "unix:/tmp/gw.sock"}) {
    EXPECT_TRUE(ParseOptions({"--listen", local}, Env({})).ok()) << local;
  }
  const std::string path = Write("callers.yaml", "callers:\n  - name: a\n    token_sha256: " +
                                                     kTokenHash + "\n    allow: '*'\n");
  EXPECT_TRUE(ParseOptions({"--config", path, "--listen", "0.0.0.0:50051"}, Env({})).ok());
  auto cert = ParseOptions(
      {"--config", Write("cert.yaml", "callers:\n  - name: a\n    certificate: a.svc\n    allow: '*'\n")},
      Env({}));
  ASSERT_FALSE(cert.ok());
  EXPECT_THAT(std::string(cert.status().message()), HasSubstr("needs mTLS"));
}

TEST(Config, LocalAddresses) {
  EXPECT_TRUE(IsLocalAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLocalAddress("127.1.2.3:1"));
  EXPECT_TRUE(IsLocalAddress("unix:/run/gw/grpc.sock"));
  EXPECT_TRUE(IsLocalAddress("unix-abstract:gw"));
  EXPECT_FALSE(IsLocalAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLocalAddress("[::]:50051"));
  EXPECT_FALSE(IsLocalAddress("10.0.0.5:50051"));
  EXPECT_FALSE(IsLocalAddress("127.example.com:1"));
}

TEST(Config, ClosestKeySuggestsOnlyNearMisses) {
  EXPECT_EQ(ClosestKey("max_retires", {"max_retries", "listen"}), "max_retries");
  EXPECT_EQ(ClosestKey("banana", {"max_retries", "listen"}), "");
}

// ---- the commands ----

struct CommandRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandRun Gateway(const std::string& args) {
  CommandRun r;
  const std::string command = std::string(FILESGW_GATEWAY_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, p)) > 0) r.output.append(buffer, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(Config, CheckConfigExplainsAndExits) {
  const std::string good = Write("good.yaml", "listen: 0.0.0.0:50051\ncallers:\n  - name: billing\n"
                                              "    token_sha256: " + kTokenHash +
                                              "\n    allow: ['*']\n");
  CommandRun ok = Gateway("--config " + good + " --check-config");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("configuration OK"));
  EXPECT_THAT(ok.output, HasSubstr("caller billing: bearer token, profile default"));
  const std::string bad = Write("bad2.yaml", "listen: 0.0.0.0:50051\nmax_retries: 3\nmetrics_lisen: x\n");
  CommandRun fail = Gateway("--config " + bad + " --check-config");
  EXPECT_EQ(fail.exit_code, 2);
  EXPECT_THAT(fail.output, HasSubstr("bad2.yaml:3: unknown key 'metrics_lisen' (did you mean "
                                     "'metrics_listen'?)"));
  EXPECT_THAT(fail.output, Not(HasSubstr("--listen=ADDR"))) << "no usage text for config errors";
}

TEST(Config, CallersCarryTheirOwnLimits) {
  const std::string path = Write("limits.yaml", R"(listen: 0.0.0.0:50051
caller_max_calls: 64
max_request_bytes: 1048576
grpc_memory_quota: 134217728
keepalive_time: 30s
callers:
  - name: batch
    token_sha256: )" + kTokenHash + R"(
    allow: ["*"]
    limits: {max_calls: 8, max_streams: 2, upload_memory: 8388608, max_upstream_requests: 0}
  - name: web
    token_sha256: )" + Sha256Hex("web-token") + R"(
    allow: ["*"]
    limits:
      max_streams: 1
)");
  auto o = ParseOptions({"--config", path}, Env({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->caller_limits.max_calls, 64);
  EXPECT_EQ(o->max_request_bytes, 1 << 20);
  EXPECT_EQ(o->grpc_memory_quota, 128 << 20);
  EXPECT_EQ(o->keepalive_time, absl::Seconds(30));
  ASSERT_EQ(o->callers.size(), 2u);
  EXPECT_EQ(o->callers[0].limits.max_calls, 8);
  EXPECT_EQ(o->callers[0].limits.max_streams, 2);
  EXPECT_EQ(o->callers[0].limits.upload_memory, 8 << 20);
  EXPECT_EQ(o->callers[0].limits.max_upstream_requests, 0);
  EXPECT_EQ(o->callers[1].limits.max_streams, 1);
  EXPECT_EQ(o->callers[1].limits.max_calls, -1) << "unset: the gateway-wide default";

  CommandRun check = Gateway("--config " + path + " --check-config");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_THAT(check.output, HasSubstr("caller batch: bearer token, profile default, 1 allow "
                                      "pattern(s); 8 calls, 2 streams, 8 MiB upload memory, no "
                                      "cap on upstream requests"));
  EXPECT_THAT(check.output, HasSubstr("caller web: bearer token, profile default, 1 allow "
                                      "pattern(s); 64 calls, 1 streams, 32 MiB upload memory, "
                                      "24 upstream requests"));
  EXPECT_THAT(check.output, HasSubstr("gateway limits: requests up to 1 MiB"));
}

TEST(Config, BadCallerLimitsNameTheirLine) {
  const std::string path = Write("badlimits.yaml", R"(callers:
  - name: a
    token_sha256: )" + kTokenHash + R"(
    allow: ["*"]
    limits:
      max_calls: -3
      max_stream: 2
      upload_memory: lots
  - name: b
    token_sha256: )" + Sha256Hex("b") + R"(
    allow: ["*"]
    limits: 5
)");
  auto o = ParseOptions({"--config", path}, Env({}));
  ASSERT_FALSE(o.ok());
  const std::string m(o.status().message());
  EXPECT_THAT(m, HasSubstr(path + ":6: limits: max_calls: expected a number in [0, 1000000]"));
  EXPECT_THAT(m, HasSubstr(path + ":7: unknown key 'max_stream' in limits (did you mean "
                                  "'max_streams'?)"));
  EXPECT_THAT(m, HasSubstr(path + ":8: limits: upload_memory: expected a number"));
  EXPECT_THAT(m, HasSubstr(path + ":12: limits: expected a map"));
}

TEST(Config, CheckConfigHidesUrlCredentials) {
  const std::string key = Write("url-key", "k\n");
  const std::string path = Write("url.yaml", R"(profiles:
  default:
    base_url: https://admin:hunter2@acme.files.com/?token=abc
    api_key_file: )" + key + R"(
)");
  CommandRun check = Gateway("--config " + path + " --check-config");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_THAT(check.output, HasSubstr("https://***@acme.files.com"));
  EXPECT_THAT(check.output, Not(HasSubstr("hunter2")));
  EXPECT_THAT(check.output, Not(HasSubstr("token=abc")));
}

TEST(Config, HashTokenPrintsTheSha256OfStdin) {
  const std::string token = Write("token", "billing-token\n");
  CommandRun r = Gateway("--hash-token < " + token);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, kTokenHash + "\n");
  // Known answer: SHA-256("abc").
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Config, RedisSectionTopLevelAndPerProfileWithFlagsOverTheFile) {
  const std::string secret = Write("redis-pass", "s3cret-redis\n");
  const std::string path = Write(
      "redis.yaml", "redis: {url: \"redis://redis.files-gateway.svc:6379/2\", password_file: " +
                        secret + ", expected_replicas: 4, lease_ttl: 5s}\n"
                        "profiles:\n  default: {}\n"
                        "  other: {redis: {url: \"unix:/run/redis.sock\"}}\n");
  auto o = ParseOptions({"--config", path}, Env({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->redis.url, "redis://redis.files-gateway.svc:6379/2");
  EXPECT_EQ(o->redis.password, "s3cret-redis");
  EXPECT_EQ(o->redis.expected_replicas, 4);
  EXPECT_EQ(o->redis.lease_ttl, absl::Seconds(5));
  ASSERT_EQ(o->profiles.size(), 2u);
  EXPECT_EQ(o->profiles[1].redis_url, "unix:/run/redis.sock");
  const std::string described = DescribeOptions(*o);
  EXPECT_THAT(described, HasSubstr("expected replicas 4"));
  EXPECT_THAT(described, HasSubstr("profile other uses its own redis: unix:/run/redis.sock"));
  EXPECT_THAT(described, Not(HasSubstr("s3cret-redis")));
  auto flags = ParseOptions({"--config", path, "--redis-url", "redis://127.0.0.1:7000",
                             "--expected-replicas", "2"},
                            Env({}));
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->redis.url, "redis://127.0.0.1:7000");
  EXPECT_EQ(flags->redis.expected_replicas, 2);
}

TEST(Config, RedisProblemsAreReportedWithTheirLine) {
  const std::string path = Write(
      "redis-bad.yaml", "redis:\n  url: \"redis://:pw@host:6379\"\n  password: x\n"
                        "  expected_replicas: 0\n  lease_tt: 3s\n");
  auto o = ParseOptions({"--config", path}, Env({}));
  ASSERT_FALSE(o.ok());
  const std::string m(o.status().message());
  EXPECT_THAT(m, HasSubstr("redis-bad.yaml:2: redis: redis url"));
  EXPECT_THAT(m, HasSubstr("credentials do not belong in the URL"));
  EXPECT_THAT(m, Not(HasSubstr("pw@")));
  EXPECT_THAT(m, HasSubstr(":3: redis: password may not be written"));
  EXPECT_THAT(m, HasSubstr(":4: redis: expected_replicas: expected a number in [1, 10000]"));
  EXPECT_THAT(m, HasSubstr(":5: unknown key 'lease_tt' in redis (did you mean 'lease_ttl'?)"));
}

TEST(Config, RedisFlagsAreCheckedAndNoPasswordFlagExists) {
  EXPECT_FALSE(ParseOptions({"--redis-url", "http://host"}, Env({})).ok());
  EXPECT_FALSE(ParseOptions({"--redis-url", "redis://host:99999"}, Env({})).ok());
  EXPECT_FALSE(ParseOptions({"--redis-password", "x"}, Env({})).ok());
  EXPECT_FALSE(ParseOptions({"--expected-replicas", "0"}, Env({})).ok());
  auto env = ParseOptions({}, Env({{"FILESGW_REDIS_URL", "unix:/tmp/r.sock?db=3"},
                                   {"FILESGW_REDIS_PASSWORD", "pw"}}));
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->redis.url, "unix:/tmp/r.sock?db=3");
  EXPECT_EQ(env->redis.password, "pw");
  EXPECT_EQ(env->redis.expected_replicas, 1);
  auto plain = ParseOptions({}, Env({}));
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->redis.url.empty()) << "no Redis unless asked";
}

}  // namespace
}  // namespace filesgw::server
