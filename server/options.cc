#include "server/options.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/config.h"
#include "server/redis_client.h"

namespace filesgw::server {
absl::Status ReadSecretFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read key file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  *out = std::string(absl::StripAsciiWhitespace(ss.str()));
  if (out->empty()) return absl::InvalidArgumentError(absl::StrCat("key file ", path, " is empty"));
  return absl::OkStatus();
}

bool ParseDurationFlag(const std::string& text, absl::Duration* out) {
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    if (seconds < 0) return false;
    *out = absl::Seconds(seconds);
    return true;
  }
  return absl::ParseDuration(text, out) && *out >= absl::ZeroDuration();
}

std::string UsageText() {
  return R"(files-gateway: the Files.com REST API over gRPC.

  --listen=ADDR               gRPC address (host:port or unix:/path) [127.0.0.1:50051; FILESGW_LISTEN]
  --base-url=URL              Files.com base URL, e.g. https://app.files.com [FILES_BASE_URL]
                              (empty and no API key: start the embedded emulator)
  --api-key-file=PATH         file holding the Files.com API key, re-read when it changes [FILES_API_KEY_FILE, or FILES_API_KEY]
  --username=NAME             log in as this Files.com user instead of an API key [FILES_USERNAME]
  --password-file=PATH        that user's password, re-read when it changes [FILES_PASSWORD_FILE, or FILES_PASSWORD]
  --open-timeout=DUR          connect timeout [30s; FILESGW_OPEN_TIMEOUT]
  --read-timeout=DUR          longest wait for response bytes [80s; FILESGW_READ_TIMEOUT]
  --max-retries=N             retries per call [3; FILESGW_MAX_RETRIES]
  --initial-retry-delay=DUR   first backoff [0.5s; FILESGW_INITIAL_RETRY_DELAY]
  --max-retry-delay=DUR       backoff cap [2s; FILESGW_MAX_RETRY_DELAY]
  --drain-timeout=DUR         SIGTERM grace for in-flight calls [20s; FILESGW_DRAIN_TIMEOUT]
  --source-ip=IP              local address for upstream connections [FILESGW_SOURCE_IP]
  --ca-file=PATH              PEM CA bundle trusted for upstream HTTPS, besides the system store [FILESGW_CA_FILE]
  --log-level=LEVEL           debug|info|warn|error [info; FILESGW_LOG_LEVEL]
  --max-concurrent-requests=N upstream API requests in flight, all callers together [32; FILESGW_MAX_CONCURRENT_REQUESTS]
  --requests-per-second=R     upstream API request rate cap, 0 = none [0; FILESGW_REQUESTS_PER_SECOND]
  --chunk-size=BYTES          data per Download message [524288; FILESGW_CHUNK_SIZE]
  --max-parallel-parts=N      part uploads in flight per Upload stream [3; FILESGW_MAX_PARALLEL_PARTS]
  --upload-memory=BYTES       part buffers shared by all uploads [100663296; FILESGW_UPLOAD_MEMORY]
  --resumable-ttl=DUR         how long an idle resumable upload is kept [24h; FILESGW_RESUMABLE_TTL]
  --stream-idle-timeout=DUR   a transfer stream that moves no byte this long ends [60s; FILESGW_STREAM_IDLE_TIMEOUT]
  --download-stall-release=DUR  a download whose reader stops gives its upstream connection back after this [5s; FILESGW_DOWNLOAD_STALL_RELEASE]

Sharing one gateway: each caller's share (configured callers; without callers, each connection),
overridable per caller with limits: in callers:, 0 = no cap:
  --caller-max-calls=N        RPCs in progress at once [128; FILESGW_CALLER_MAX_CALLS]
  --caller-max-streams=N      Upload/Download streams at once [16; FILESGW_CALLER_MAX_STREAMS]
  --caller-upload-memory=BYTES  upload buffers held at once [33554432; FILESGW_CALLER_UPLOAD_MEMORY]
  --caller-max-upstream-requests=N  upstream requests in flight [24; FILESGW_CALLER_MAX_UPSTREAM_REQUESTS]
and the server's own limits:
  --max-request-bytes=BYTES   largest unary request (RPCs with a binary param: 64 MiB) [4194304; FILESGW_MAX_REQUEST_BYTES]
  --max-upload-message-bytes=BYTES  largest Upload stream message [4194304; FILESGW_MAX_UPLOAD_MESSAGE_BYTES]
  --grpc-memory-quota=BYTES   gRPC's own memory for connections and calls [268435456; FILESGW_GRPC_MEMORY_QUOTA]
  --max-streams-per-connection=N  concurrent calls on one connection [128; FILESGW_MAX_STREAMS_PER_CONNECTION]
  --connection-idle-timeout=DUR  close a connection without calls after this, 0 = never [5m; FILESGW_CONNECTION_IDLE_TIMEOUT]
  --keepalive-time=DUR        ping a connection after this long without traffic, 0 = never [60s; FILESGW_KEEPALIVE_TIME]
  --keepalive-timeout=DUR     close it when the ping is not answered within this [20s; FILESGW_KEEPALIVE_TIMEOUT]
  --api-connections=N         upstream connections to the Files.com API [32; FILESGW_API_CONNECTIONS]
  --storage-connections=N     upstream connections to presigned storage URLs [64; FILESGW_STORAGE_CONNECTIONS]

  --metrics-listen=ADDR       Prometheus /metrics listener, HOST:PORT or "off" [127.0.0.1:9464; FILESGW_METRICS_LISTEN]
  --metrics-allow-remote      allow a metrics address other than loopback [false; FILESGW_METRICS_ALLOW_REMOTE]
  --health-listen=ADDR        extra listener serving only grpc.health.v1, for probes [FILESGW_HEALTH_LISTEN]
                              (service "" = ready to serve; service "liveness" = the process answers)
  --emulator-control-token-file=PATH  turn on the embedded emulator's /__emulator/* control
                              endpoints (off by default), for callers sending this token in
                              X-Emulator-Control-Token [FILESGW_EMULATOR_CONTROL_TOKEN_FILE]
  --emulator-upload-idle-ttl=DUR  the embedded emulator drops an upload session (and its parts)
                              idle this long [10m; FILESGW_EMULATOR_UPLOAD_IDLE_TTL]
  --max-connection-age=DUR    callers reconnect after this long, 0 = never [0; FILESGW_MAX_CONNECTION_AGE]
  --unix-socket-mode=OCTAL    permissions of a unix:/ socket, e.g. 0660 [FILESGW_UNIX_SOCKET_MODE]
  --tls-cert-file=PATH        serve TLS with this PEM certificate chain (re-read on change) [FILESGW_TLS_CERT_FILE]
  --tls-key-file=PATH         its private key [FILESGW_TLS_KEY_FILE]
  --tls-client-ca-file=PATH   require caller certificates signed by this CA (mTLS) [FILESGW_TLS_CLIENT_CA_FILE]
  --redis-url=URL             share rate budgets and resumable uploads between replicas through Redis:
                              redis://host:port[/db], rediss://host:port[/db] (TLS, trusts --ca-file), unix:/path
                              [FILESGW_REDIS_URL; none: each replica works alone]
  --redis-password-file=PATH  Redis AUTH password file [FILESGW_REDIS_PASSWORD_FILE, or FILESGW_REDIS_PASSWORD]
  --expected-replicas=N       while Redis is unavailable each replica uses the budget / N [1; FILESGW_EXPECTED_REPLICAS]
  --redis-lease-ttl=DUR       in-flight leases and upload locks of a dead replica free after this [10s; FILESGW_REDIS_LEASE_TTL]
  --config=FILE               YAML file: profiles, callers, tls and any flag above as a key
                              (dashes as underscores); flags and environment override it [FILESGW_CONFIG]
  --check-config              validate the configuration, list every problem with its line, exit
  --hash-token                print the SHA-256 of the bearer token read from stdin (for callers:)
  --probe=ADDR                check the gateway at ADDR (its health listener): exit 0 when SERVING
  --probe-service=NAME        the health service to ask with --probe ["" ; e.g. liveness]

Listening anywhere but loopback or a unix socket needs `callers:` in the config file
(bearer tokens and/or mTLS identities, each with a profile and an allow-list).
)";
}

std::string RedactUrl(const std::string& url) {
  const size_t query = url.find_first_of("?#");
  std::string out = url.substr(0, query);
  const size_t scheme = out.find("://");
  const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t path = out.find('/', host);
  const size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
  if (at != std::string::npos && at >= host) out.replace(host, at - host, "***");
  if (query != std::string::npos) out += "?...";
  return out;
}

CallerLimits EffectiveLimits(const CallerLimits& defaults, const CallerLimits& own) {
  CallerLimits out = defaults;
  if (own.max_calls >= 0) out.max_calls = own.max_calls;
  if (own.max_streams >= 0) out.max_streams = own.max_streams;
  if (own.upload_memory >= 0) out.upload_memory = own.upload_memory;
  if (own.max_upstream_requests >= 0) out.max_upstream_requests = own.max_upstream_requests;
  return out;
}

namespace {

std::string Bytes(int64_t n) {
  if (n > 0 && n % (1 << 20) == 0) return absl::StrCat(n >> 20, " MiB");
  if (n > 0 && n % (1 << 10) == 0) return absl::StrCat(n >> 10, " KiB");
  return absl::StrCat(n, " bytes");
}

std::string Cap(int64_t n, const std::string& what) {
  return n == 0 ? absl::StrCat("no cap on ", what) : absl::StrCat(n, " ", what);
}

std::string Describe(const CallerLimits& l) {
  return absl::StrCat(Cap(l.max_calls, "calls"), ", ", Cap(l.max_streams, "streams"), ", ",
                      l.upload_memory == 0 ? "no cap on upload memory"
                                           : Bytes(l.upload_memory) + " upload memory",
                      ", ", Cap(l.max_upstream_requests, "upstream requests"));
}

std::string Seconds(absl::Duration d) {
  return d == absl::ZeroDuration() ? "never" : absl::FormatDuration(d);
}

}  // namespace

std::string DescribeOptions(const GatewayOptions& o) {
  std::string out = absl::StrCat("configuration OK", o.config_file.empty() ? "" : ": ",
                                 o.config_file, "\n  listen ", o.listen);
  if (o.tls.enabled()) absl::StrAppend(&out, o.tls.client_ca_file.empty() ? " (TLS)" : " (mTLS)");
  if (!o.health_listen.empty()) absl::StrAppend(&out, ", health on ", o.health_listen);
  absl::StrAppend(&out, "\n");
  for (const auto& p : o.profiles) {
    absl::StrAppend(
        &out, "  profile ", p.name, ": ",
        p.base_url.empty() ? "embedded emulator" : RedactUrl(p.base_url), ", ",
        !p.api_key_file.empty() ? absl::StrCat("API key file ", p.api_key_file)
        : !p.api_key.empty()    ? std::string("API key from the environment")
        : !p.username.empty()   ? absl::StrCat("user ", p.username)
                                : std::string("no credential"),
        ", max ", p.max_concurrent_requests, " concurrent, ",
        p.requests_per_second > 0 ? absl::StrCat(p.requests_per_second, " req/s")
                                  : std::string("no rate cap"),
        "\n");
  }
  absl::StrAppend(
      &out, "  gateway limits: requests up to ", Bytes(o.max_request_bytes),
      " (RPCs with a binary param: 64 MiB), upload messages up to ",
      Bytes(o.max_upload_message_bytes), ", gRPC memory ", Bytes(o.grpc_memory_quota), ", ",
      o.max_streams_per_connection, " streams per connection, idle connections closed after ",
      Seconds(o.connection_idle_timeout), ", keepalive ", Seconds(o.keepalive_time), " / ",
      absl::FormatDuration(o.keepalive_timeout), ", idle transfer streams end after ",
      Seconds(o.stream_idle_timeout), ", upstream connections ", o.api_connections, " API + ",
      o.storage_connections, " storage\n");
  if (o.redis.url.empty()) {
    absl::StrAppend(&out, "  redis: none (rate budgets and resumable uploads are this replica's own)\n");
  } else {
    absl::StrAppend(&out, "  redis: ", o.redis.url, ", ",
                    !o.redis.password_file.empty()
                        ? absl::StrCat("password file ", o.redis.password_file)
                    : !o.redis.password.empty() ? std::string("password from the environment")
                                                : std::string("no password"),
                    ", expected replicas ", o.redis.expected_replicas,
                    " (fallback while Redis is unavailable: each profile's budget / ",
                    o.redis.expected_replicas, "), leases expire after ",
                    absl::FormatDuration(o.redis.lease_ttl),
                    " (settings checked; Redis itself is not contacted)\n");
  }
  for (const auto& p : o.profiles) {
    if (p.redis_url.empty()) continue;
    absl::StrAppend(&out, "  profile ", p.name, " uses its own redis: ", p.redis_url,
                    p.redis_password_file.empty() ? std::string()
                                                  : absl::StrCat(", password file ",
                                                                 p.redis_password_file),
                    "\n");
  }
  if (o.callers.empty()) {
    absl::StrAppend(&out, "  callers: anyone who reaches ", o.listen,
                    " (local listener); each connection: ", Describe(o.caller_limits), "\n");
  } else {
    absl::StrAppend(&out, "  caller defaults: ", Describe(o.caller_limits), "\n");
  }
  for (const auto& c : o.callers) {
    absl::StrAppend(&out, "  caller ", c.name, ": ",
                    c.token_sha256.empty() ? absl::StrCat("certificate ", c.certificate)
                                           : std::string("bearer token"),
                    ", profile ", c.profile, ", ", c.allow.size(), " allow pattern(s); ",
                    Describe(EffectiveLimits(o.caller_limits, c.limits)), "\n");
  }
  return out;
}

bool IsLocalAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  std::string host = address;
  if (auto colon = host.rfind(':'); colon != std::string::npos) host = host.substr(0, colon);
  host = std::string(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  if (host == "localhost" || host == "::1") return true;
  return absl::StartsWith(host, "127.") && std::count(host.begin(), host.end(), '.') == 3;
}

std::vector<ProfileOptions> EffectiveProfiles(const GatewayOptions& o) {
  if (!o.profiles.empty()) return o.profiles;
  ProfileOptions p;
  p.base_url = o.base_url;
  p.api_key = o.api_key;
  p.api_key_file = o.api_key_file;
  p.username = o.username;
  p.password = o.password;
  p.password_file = o.password_file;
  p.max_concurrent_requests = o.max_concurrent_requests;
  p.requests_per_second = o.requests_per_second;
  return {p};
}

namespace {

struct Flag {
  Flag(const char* n, const char* e) : name(n), env(e) {}
  const char* name;
  const char* env;
  std::string value;
  bool set = false;
  std::string origin;  // "--name", "ENV_VAR" or "FILE:LINE: key" (for errors)
};

std::string KeyOf(const char* flag_name) {
  std::string key = flag_name;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

}  // namespace

absl::StatusOr<GatewayOptions> ParseOptions(const std::vector<std::string>& args,
                                            const EnvLookup& env) {
  GatewayOptions o;
  Flag flags[] = {
      {"listen", "FILESGW_LISTEN"},
      {"base-url", "FILES_BASE_URL"},
      {"api-key-file", "FILES_API_KEY_FILE"},
      {"open-timeout", "FILESGW_OPEN_TIMEOUT"},
      {"read-timeout", "FILESGW_READ_TIMEOUT"},
      {"max-retries", "FILESGW_MAX_RETRIES"},
      {"initial-retry-delay", "FILESGW_INITIAL_RETRY_DELAY"},
      {"max-retry-delay", "FILESGW_MAX_RETRY_DELAY"},
      {"drain-timeout", "FILESGW_DRAIN_TIMEOUT"},
      {"source-ip", "FILESGW_SOURCE_IP"},
      {"ca-file", "FILESGW_CA_FILE"},
      {"log-level", "FILESGW_LOG_LEVEL"},
      {"chunk-size", "FILESGW_CHUNK_SIZE"},
      {"max-parallel-parts", "FILESGW_MAX_PARALLEL_PARTS"},
      {"upload-memory", "FILESGW_UPLOAD_MEMORY"},
      {"resumable-ttl", "FILESGW_RESUMABLE_TTL"},
      {"max-concurrent-requests", "FILESGW_MAX_CONCURRENT_REQUESTS"},
      {"requests-per-second", "FILESGW_REQUESTS_PER_SECOND"},
      {"metrics-listen", "FILESGW_METRICS_LISTEN"},
      {"metrics-allow-remote", "FILESGW_METRICS_ALLOW_REMOTE"},
      {"username", "FILES_USERNAME"},
      {"password-file", "FILES_PASSWORD_FILE"},
      {"health-listen", "FILESGW_HEALTH_LISTEN"},
      {"emulator-control-token-file", "FILESGW_EMULATOR_CONTROL_TOKEN_FILE"},
      {"emulator-upload-idle-ttl", "FILESGW_EMULATOR_UPLOAD_IDLE_TTL"},
      {"tls-cert-file", "FILESGW_TLS_CERT_FILE"},
      {"tls-key-file", "FILESGW_TLS_KEY_FILE"},
      {"tls-client-ca-file", "FILESGW_TLS_CLIENT_CA_FILE"},
      {"config", "FILESGW_CONFIG"},
      {"max-connection-age", "FILESGW_MAX_CONNECTION_AGE"},
      {"unix-socket-mode", "FILESGW_UNIX_SOCKET_MODE"},
      {"probe", "FILESGW_PROBE"},
      {"probe-service", "FILESGW_PROBE_SERVICE"},
      {"stream-idle-timeout", "FILESGW_STREAM_IDLE_TIMEOUT"},
      {"download-stall-release", "FILESGW_DOWNLOAD_STALL_RELEASE"},
      {"caller-max-calls", "FILESGW_CALLER_MAX_CALLS"},
      {"caller-max-streams", "FILESGW_CALLER_MAX_STREAMS"},
      {"caller-upload-memory", "FILESGW_CALLER_UPLOAD_MEMORY"},
      {"caller-max-upstream-requests", "FILESGW_CALLER_MAX_UPSTREAM_REQUESTS"},
      {"max-request-bytes", "FILESGW_MAX_REQUEST_BYTES"},
      {"max-upload-message-bytes", "FILESGW_MAX_UPLOAD_MESSAGE_BYTES"},
      {"grpc-memory-quota", "FILESGW_GRPC_MEMORY_QUOTA"},
      {"max-streams-per-connection", "FILESGW_MAX_STREAMS_PER_CONNECTION"},
      {"connection-idle-timeout", "FILESGW_CONNECTION_IDLE_TIMEOUT"},
      {"keepalive-time", "FILESGW_KEEPALIVE_TIME"},
      {"keepalive-timeout", "FILESGW_KEEPALIVE_TIMEOUT"},
      {"api-connections", "FILESGW_API_CONNECTIONS"},
      {"storage-connections", "FILESGW_STORAGE_CONNECTIONS"},
      {"redis-url", "FILESGW_REDIS_URL"},
      {"redis-password-file", "FILESGW_REDIS_PASSWORD_FILE"},
      {"expected-replicas", "FILESGW_EXPECTED_REPLICAS"},
      {"redis-lease-ttl", "FILESGW_REDIS_LEASE_TTL"},
  };
  auto lookup = [&flags](std::string_view name) -> Flag* {
    for (auto& f : flags) {
      if (name == f.name) return &f;
    }
    return nullptr;
  };
  auto find = [&lookup](std::string_view name) -> Flag& {
    Flag* f = lookup(name);
    if (f == nullptr) std::abort();  // a name missing from the table above
    return *f;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      continue;
    }
    if (arg == "--check-config") {
      o.check_config = true;
      continue;
    }
    if (arg == "--hash-token") {
      o.hash_token = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return absl::InvalidArgumentError(absl::StrCat("unexpected argument ", arg));
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "password") {
      return absl::InvalidArgumentError(
          "--password is not accepted: secrets on the command line show in ps; use "
          "--password-file or FILES_PASSWORD");
    }
    if (name == "redis-password") {
      return absl::InvalidArgumentError(
          "--redis-password is not accepted: secrets on the command line show in ps; use "
          "--redis-password-file or FILESGW_REDIS_PASSWORD");
    }
    if (name == "api-key") {
      return absl::InvalidArgumentError(
          "--api-key is not accepted: secrets on the command line show in ps; use "
          "--api-key-file or FILES_API_KEY");
    }
    Flag* flag = lookup(name);
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!has_value && name == "metrics-allow-remote") {  // a switch: no value needed
      value = "true";
      has_value = true;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = args[++i];
    }
    flag->value = value;
    flag->set = true;
    flag->origin = absl::StrCat("--", name);
  }
  for (auto& f : flags) {
    if (f.set || !env) continue;
    if (const char* v = env(f.env); v != nullptr && *v != '\0') {
      f.value = v;
      f.set = true;
      f.origin = f.env;
    }
  }

  // The config file: below flags and environment.
  ConfigFile config;
  if (const Flag* path = &find("config"); path->set) {
    o.config_file = path->value;
    std::set<std::string> scalar_keys;
    for (const auto& f : flags) {
      const std::string key = KeyOf(f.name);
      if (key != "config" && key != "probe" && key != "probe_service" && key != "base_url" && key != "api_key_file" && key != "username" &&
          key != "password_file" && key.rfind("tls_", 0) != 0 && key.rfind("redis_", 0) != 0 &&
          key != "expected_replicas") {
        scalar_keys.insert(key);
      }
    }
    auto loaded = LoadConfigFile(o.config_file, env, scalar_keys);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
    for (auto& f : flags) {
      auto it = config.scalars.find(KeyOf(f.name));
      if (f.set || it == config.scalars.end()) continue;
      f.value = it->second.value;
      f.set = true;
      f.origin = absl::StrCat(config.path, ":", it->second.line, ": ", KeyOf(f.name));
    }
  }
  auto bad = [](const Flag& f, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(f.origin, ": ", what, ", got '", f.value, "'"));
  };
  auto duration = [&bad](const Flag& f, absl::Duration* out) -> absl::Status {
    if (!f.set) return absl::OkStatus();
    if (!ParseDurationFlag(f.value, out)) return bad(f, "expected a duration such as 30s or 500ms");
    return absl::OkStatus();
  };
  auto count = [&bad](const Flag& f, int64_t min, int64_t max, int64_t* out) -> absl::Status {
    if (!f.set) return absl::OkStatus();
    if (!absl::SimpleAtoi(f.value, out) || *out < min || *out > max) {
      return bad(f, absl::StrCat("expected a number in [", min, ", ", max, "]"));
    }
    return absl::OkStatus();
  };
  auto boolean = [&bad](const Flag& f, bool* out) -> absl::Status {
    if (!f.set) return absl::OkStatus();
    const std::string v = absl::AsciiStrToLower(f.value);
    if (v == "true" || v == "1" || v == "yes") {
      *out = true;
    } else if (v == "false" || v == "0" || v == "no") {
      *out = false;
    } else {
      return bad(f, "expected true or false");
    }
    return absl::OkStatus();
  };
  auto text = [&find](std::string_view name, std::string* out) {
    if (const Flag* f = &find(name); f->set) *out = f->value;
  };

  text("listen", &o.listen);
  if (const Flag* f = &find("base-url"); f->set) {
    o.base_url = std::string(absl::StripSuffix(f->value, "/"));
  }
  if (const Flag* f = &find("api-key-file"); f->set) {
    if (auto s = ReadSecretFile(f->value, &o.api_key); !s.ok()) return s;
    o.api_key_file = f->value;
  } else if (env) {
    if (const char* k = env("FILES_API_KEY"); k != nullptr && *k != '\0') o.api_key = k;
  }
  if (auto s = duration(find("open-timeout"), &o.open_timeout); !s.ok()) return s;
  if (auto s = duration(find("read-timeout"), &o.read_timeout); !s.ok()) return s;
  int64_t retries = o.max_retries;
  if (auto s = count(find("max-retries"), 0, 100, &retries); !s.ok()) return s;
  o.max_retries = static_cast<int>(retries);
  if (auto s = duration(find("initial-retry-delay"), &o.initial_retry_delay); !s.ok()) return s;
  if (auto s = duration(find("max-retry-delay"), &o.max_retry_delay); !s.ok()) return s;
  if (auto s = duration(find("drain-timeout"), &o.drain_timeout); !s.ok()) return s;
  if (auto s = duration(find("emulator-upload-idle-ttl"), &o.emulator_upload_idle_ttl); !s.ok()) {
    return s;
  }
  if (o.emulator_upload_idle_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--emulator-upload-idle-ttl must be positive");
  }
  text("source-ip", &o.source_ip);
  if (const Flag* f = &find("ca-file"); f->set) {
    // Checked now: a typo would otherwise surface as every call failing TLS.
    if (f->value.empty() || access(f->value.c_str(), R_OK) != 0) {
      return bad(*f, "expected a readable PEM file");
    }
    o.ca_file = f->value;
  }
  if (const Flag* f = &find("emulator-control-token-file"); f->set) {
    if (auto s = ReadSecretFile(f->value, &o.emulator_control_token); !s.ok()) return s;
  }
  if (const Flag* f = &find("log-level"); f->set && !ParseLogLevel(f->value, &o.log_level)) {
    return bad(*f, "expected debug|info|warn|error");
  }
  if (auto s = count(find("chunk-size"), 16 << 10, 4 << 20, &o.chunk_size); !s.ok()) return s;
  int64_t parallel = o.max_parallel_parts;
  if (auto s = count(find("max-parallel-parts"), 1, 64, &parallel); !s.ok()) return s;
  o.max_parallel_parts = static_cast<int>(parallel);
  if (auto s = count(find("upload-memory"), 1 << 20, int64_t{1} << 40, &o.upload_memory); !s.ok()) {
    return s;
  }
  if (auto s = duration(find("resumable-ttl"), &o.resumable_ttl); !s.ok()) return s;
  const Flag& concurrent_flag = find("max-concurrent-requests");
  int64_t concurrent = o.max_concurrent_requests;
  if (auto s = count(concurrent_flag, 0, 100000, &concurrent); !s.ok()) return s;
  o.max_concurrent_requests = static_cast<int>(concurrent);
  const Flag& rate_flag = find("requests-per-second");
  if (rate_flag.set &&
      (!absl::SimpleAtod(rate_flag.value, &o.requests_per_second) || o.requests_per_second < 0)) {
    return bad(rate_flag, "expected a non-negative number");
  }
  o.metrics_listen = "127.0.0.1:9464";
  if (const Flag* f = &find("metrics-listen"); f->set) {
    o.metrics_required = true;
    o.metrics_listen = absl::AsciiStrToLower(f->value) == "off" ? "" : f->value;
  }
  if (auto s = boolean(find("metrics-allow-remote"), &o.metrics_allow_remote); !s.ok()) return s;
  text("username", &o.username);
  if (const Flag* f = &find("password-file"); f->set) {
    if (auto s = ReadSecretFile(f->value, &o.password); !s.ok()) return s;
    o.password_file = f->value;
  }
  if (o.password_file.empty() && env) {
    if (const char* p = env("FILES_PASSWORD"); p != nullptr && *p != '\0') o.password = p;
  }
  if (!o.username.empty() && o.api_key.empty() && o.password.empty()) {
    return absl::InvalidArgumentError(
        "--username needs a password: --password-file or FILES_PASSWORD");
  }
  if ((!o.api_key.empty() || !o.username.empty()) && o.base_url.empty()) {
    o.base_url = "https://app.files.com";
  }
  text("health-listen", &o.health_listen);
  if (auto s = duration(find("max-connection-age"), &o.max_connection_age); !s.ok()) return s;
  if (const Flag& f = find("unix-socket-mode"); f.set) {
    int mode = 0;
    bool digits = !f.value.empty() && f.value.size() <= 4;
    for (char c : f.value) {
      digits = digits && c >= '0' && c <= '7';
      mode = mode * 8 + (c - '0');
    }
    if (!digits) return bad(f, "expected octal permission bits such as 0660");
    o.unix_socket_mode = mode;
  }
  text("probe", &o.probe);
  text("probe-service", &o.probe_service);

  // Isolation limits (README "Sharing one gateway: limits").
  if (auto s = duration(find("stream-idle-timeout"), &o.stream_idle_timeout); !s.ok()) return s;
  if (auto s = duration(find("download-stall-release"), &o.download_stall_release); !s.ok()) {
    return s;
  }
  auto small = [&count, &find](std::string_view name, int64_t min, int64_t max,
                               int* out) -> absl::Status {
    int64_t value = *out;
    if (auto s = count(find(name), min, max, &value); !s.ok()) return s;
    *out = static_cast<int>(value);
    return absl::OkStatus();
  };
  constexpr int64_t kTiB = int64_t{1} << 40;
  if (auto s = small("caller-max-calls", 0, 1000000, &o.caller_limits.max_calls); !s.ok()) return s;
  if (auto s = small("caller-max-streams", 0, 1000000, &o.caller_limits.max_streams); !s.ok()) {
    return s;
  }
  if (auto s = count(find("caller-upload-memory"), 0, kTiB, &o.caller_limits.upload_memory);
      !s.ok()) {
    return s;
  }
  if (auto s = small("caller-max-upstream-requests", 0, 100000,
                     &o.caller_limits.max_upstream_requests);
      !s.ok()) {
    return s;
  }
  // gRPC's receive limit is an int: 1 GiB leaves room below it.
  if (auto s = count(find("max-request-bytes"), 1 << 10, 1 << 30, &o.max_request_bytes); !s.ok()) {
    return s;
  }
  if (auto s = count(find("max-upload-message-bytes"), 64 << 10, 1 << 30,
                     &o.max_upload_message_bytes);
      !s.ok()) {
    return s;
  }
  if (auto s = count(find("grpc-memory-quota"), 16 << 20, kTiB, &o.grpc_memory_quota); !s.ok()) {
    return s;
  }
  if (auto s = small("max-streams-per-connection", 1, 1000000, &o.max_streams_per_connection);
      !s.ok()) {
    return s;
  }
  if (auto s = duration(find("connection-idle-timeout"), &o.connection_idle_timeout); !s.ok()) {
    return s;
  }
  if (auto s = duration(find("keepalive-time"), &o.keepalive_time); !s.ok()) return s;
  if (auto s = duration(find("keepalive-timeout"), &o.keepalive_timeout); !s.ok()) return s;
  if (const Flag& f = find("keepalive-timeout");
      f.set && o.keepalive_timeout < absl::Milliseconds(100)) {
    return bad(f, "expected at least 100ms");
  }
  if (auto s = small("api-connections", 1, 10000, &o.api_connections); !s.ok()) return s;
  if (auto s = small("storage-connections", 1, 10000, &o.storage_connections); !s.ok()) return s;

  // TLS: flags/environment over the config file's tls: section.
  o.tls = config.tls;
  text("tls-cert-file", &o.tls.cert_file);
  text("tls-key-file", &o.tls.key_file);
  text("tls-client-ca-file", &o.tls.client_ca_file);
  const std::string tls_at =
      config.has_tls ? absl::StrCat(config.path, ":", config.tls_line, ": tls: ") : "tls: ";
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(tls_at, "a certificate needs its key and a key its certificate "
                             "(cert_file and key_file, or --tls-cert-file and --tls-key-file)"));
  }
  if (!o.tls.client_ca_file.empty() && !o.tls.enabled()) {
    return absl::InvalidArgumentError(absl::StrCat(
        tls_at, "client_ca_file (mTLS) needs the gateway's own cert_file and key_file"));
  }
  for (const std::string* file : {&o.tls.cert_file, &o.tls.key_file, &o.tls.client_ca_file}) {
    if (file->empty()) continue;
    std::ifstream probe(*file);
    if (!probe) return absl::InvalidArgumentError(absl::StrCat(tls_at, "cannot read ", *file));
  }

  // Redis: flags/environment over the config file's redis: section.
  o.redis = config.redis;
  const std::string redis_at =
      config.has_redis ? absl::StrCat(config.path, ":", config.redis_line, ": redis: ") : "";
  if (const Flag& f = find("redis-url"); f.set) {
    o.redis.url = f.value;
    if (auto e = ParseRedisUrl(f.value); !e.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(f.origin, ": ", e.status().message()));
    }
  }
  if (const Flag& f = find("redis-password-file"); f.set) {
    if (auto s = ReadSecretFile(f.value, &o.redis.password); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(f.origin, ": ", s.message()));
    }
    o.redis.password_file = f.value;
  }
  if (o.redis.password_file.empty() && env) {
    if (const char* p = env("FILESGW_REDIS_PASSWORD"); p != nullptr && *p != '\0') {
      o.redis.password = p;
    }
  }
  {
    int64_t replicas = o.redis.expected_replicas;
    if (auto s = count(find("expected-replicas"), 1, 10000, &replicas); !s.ok()) return s;
    o.redis.expected_replicas = static_cast<int>(replicas);
  }
  if (auto s = duration(find("redis-lease-ttl"), &o.redis.lease_ttl); !s.ok()) return s;
  if (o.redis.lease_ttl < absl::Seconds(1) || o.redis.lease_ttl > absl::Minutes(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat(redis_at, "redis lease ttl must be between 1s and 10m"));
  }
  if (o.redis.url.empty() && !o.redis.password_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        redis_at, "a Redis password file without a Redis URL (--redis-url or redis: url:)"));
  }

  // Profiles: the config file's, with the flag/environment credential and
  // limits folded into "default" (made when missing).
  o.profiles = config.profiles;
  auto def = std::find_if(o.profiles.begin(), o.profiles.end(),
                          [](const ProfileOptions& p) { return p.name == "default"; });
  if (def == o.profiles.end()) {
    ProfileOptions p;
    p.max_concurrent_requests = o.max_concurrent_requests;
    p.requests_per_second = o.requests_per_second;
    o.profiles.insert(o.profiles.begin(), p);
    def = o.profiles.begin();
  } else {
    if (concurrent_flag.set) def->max_concurrent_requests = o.max_concurrent_requests;
    if (rate_flag.set) def->requests_per_second = o.requests_per_second;
  }
  if (!o.base_url.empty()) def->base_url = o.base_url;
  if (!o.api_key.empty()) {
    def->api_key = o.api_key;
    def->api_key_file = o.api_key_file;
    def->username.clear();
    def->password.clear();
    def->password_file.clear();
  } else if (!o.username.empty()) {
    def->api_key.clear();
    def->api_key_file.clear();
    def->username = o.username;
    def->password = o.password;
    def->password_file = o.password_file;
  }
  o.base_url = def->base_url;

  // Callers: only from the config file (their token hashes and allow-lists do
  // not fit flags).
  o.callers = config.callers;
  std::set<std::string> profile_names;
  for (const auto& p : o.profiles) profile_names.insert(p.name);
  std::vector<std::string> problems;
  for (const auto& c : o.callers) {
    if (profile_names.count(c.profile) == 0) {
      problems.push_back(absl::StrCat(config.path, ":", c.line, ": caller '", c.name,
                                      "': no profile named '", c.profile, "' (profiles: ",
                                      absl::StrJoin(profile_names, ", "), ")"));
    }
    if (!c.certificate.empty() && o.tls.client_ca_file.empty()) {
      problems.push_back(absl::StrCat(
          config.path, ":", c.line, ": caller '", c.name,
          "': a certificate identity needs mTLS (tls: client_ca_file, or --tls-client-ca-file)"));
    }
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  if (!IsLocalAddress(o.listen) && o.callers.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on ", o.listen,
        " without caller authentication: anyone reaching it would act with the gateway's "
        "Files.com credentials. Add callers: (bearer token hashes and/or mTLS identities) to "
        "the --config file, or listen on loopback or a unix socket (sidecar mode)."));
  }
  return o;
}

}  // namespace filesgw::server
