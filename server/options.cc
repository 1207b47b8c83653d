#include "server/options.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace filesgw::server {
namespace {

absl::Status ReadSecretFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read key file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  *out = std::string(absl::StripAsciiWhitespace(ss.str()));
  if (out->empty()) return absl::InvalidArgumentError(absl::StrCat("key file ", path, " is empty"));
  return absl::OkStatus();
}

}  // namespace

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
  --log-level=LEVEL           debug|info|warn|error [info; FILESGW_LOG_LEVEL]
  --max-concurrent-requests=N upstream API requests in flight, all callers together [32; FILESGW_MAX_CONCURRENT_REQUESTS]
  --requests-per-second=R     upstream API request rate cap, 0 = none [0; FILESGW_REQUESTS_PER_SECOND]
  --chunk-size=BYTES          data per Download message [524288; FILESGW_CHUNK_SIZE]
  --max-parallel-parts=N      part uploads in flight per Upload stream [4; FILESGW_MAX_PARALLEL_PARTS]
  --upload-memory=BYTES       part buffers shared by all uploads [100663296; FILESGW_UPLOAD_MEMORY]
  --resumable-ttl=DUR         how long an idle resumable upload is kept [24h; FILESGW_RESUMABLE_TTL]
  --metrics-listen=ADDR       Prometheus /metrics listener, HOST:PORT or "off" [127.0.0.1:9464; FILESGW_METRICS_LISTEN]
  --metrics-allow-remote      allow a metrics address other than loopback [false; FILESGW_METRICS_ALLOW_REMOTE]
)";
}

absl::StatusOr<GatewayOptions> ParseOptions(const std::vector<std::string>& args,
                                            const EnvLookup& env) {
  GatewayOptions o;
  struct Flag {
    const char* name;
    const char* env;
    std::string value;
    bool set = false;
  };
  Flag flags[] = {
      {"listen", "FILESGW_LISTEN", "", false},
      {"base-url", "FILES_BASE_URL", "", false},
      {"api-key-file", "FILES_API_KEY_FILE", "", false},
      {"open-timeout", "FILESGW_OPEN_TIMEOUT", "", false},
      {"read-timeout", "FILESGW_READ_TIMEOUT", "", false},
      {"max-retries", "FILESGW_MAX_RETRIES", "", false},
      {"initial-retry-delay", "FILESGW_INITIAL_RETRY_DELAY", "", false},
      {"max-retry-delay", "FILESGW_MAX_RETRY_DELAY", "", false},
      {"drain-timeout", "FILESGW_DRAIN_TIMEOUT", "", false},
      {"source-ip", "FILESGW_SOURCE_IP", "", false},
      {"log-level", "FILESGW_LOG_LEVEL", "", false},
      {"chunk-size", "FILESGW_CHUNK_SIZE", "", false},
      {"max-parallel-parts", "FILESGW_MAX_PARALLEL_PARTS", "", false},
      {"upload-memory", "FILESGW_UPLOAD_MEMORY", "", false},
      {"resumable-ttl", "FILESGW_RESUMABLE_TTL", "", false},
      {"max-concurrent-requests", "FILESGW_MAX_CONCURRENT_REQUESTS", "", false},
      {"requests-per-second", "FILESGW_REQUESTS_PER_SECOND", "", false},
      {"metrics-listen", "FILESGW_METRICS_LISTEN", "", false},
      {"metrics-allow-remote", "FILESGW_METRICS_ALLOW_REMOTE", "", false},
      {"username", "FILES_USERNAME", "", false},
      {"password-file", "FILES_PASSWORD_FILE", "", false},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
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
    if (name == "api-key") {
      return absl::InvalidArgumentError(
          "--api-key is not accepted: secrets on the command line show in ps; use "
          "--api-key-file or FILES_API_KEY");
    }
    Flag* flag = nullptr;
    for (auto& f : flags) {
      if (name == f.name) flag = &f;
    }
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
  }
  for (auto& f : flags) {
    if (f.set || !env) continue;
    if (const char* v = env(f.env); v != nullptr && *v != '\0') {
      f.value = v;
      f.set = true;
    }
  }
  auto duration = [](const Flag& f, absl::Duration* out) -> absl::Status {
    if (!f.set) return absl::OkStatus();
    if (!ParseDurationFlag(f.value, out)) {
      return absl::InvalidArgumentError(absl::StrCat("--", f.name, ": not a duration: ", f.value));
    }
    return absl::OkStatus();
  };
  if (flags[0].set) o.listen = flags[0].value;
  if (flags[1].set) o.base_url = std::string(absl::StripSuffix(flags[1].value, "/"));
  if (flags[2].set) {
    if (auto s = ReadSecretFile(flags[2].value, &o.api_key); !s.ok()) return s;
    o.api_key_file = flags[2].value;
  } else if (env) {
    if (const char* k = env("FILES_API_KEY"); k != nullptr && *k != '\0') o.api_key = k;
  }
  if (auto s = duration(flags[3], &o.open_timeout); !s.ok()) return s;
  if (auto s = duration(flags[4], &o.read_timeout); !s.ok()) return s;
  if (flags[5].set && (!absl::SimpleAtoi(flags[5].value, &o.max_retries) || o.max_retries < 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--max-retries: not a count: ", flags[5].value));
  }
  if (auto s = duration(flags[6], &o.initial_retry_delay); !s.ok()) return s;
  if (auto s = duration(flags[7], &o.max_retry_delay); !s.ok()) return s;
  if (auto s = duration(flags[8], &o.drain_timeout); !s.ok()) return s;
  if (flags[9].set) o.source_ip = flags[9].value;
  if (flags[10].set && !ParseLogLevel(flags[10].value, &o.log_level)) {
    return absl::InvalidArgumentError(absl::StrCat("--log-level: expected debug|info|warn|error, got ", flags[10].value));
  }
  auto count = [](const Flag& f, int64_t min, int64_t max, int64_t* out) -> absl::Status {
    if (!f.set) return absl::OkStatus();
    if (!absl::SimpleAtoi(f.value, out) || *out < min || *out > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", f.name, ": expected a number in [", min, ", ", max, "], got ", f.value));
    }
    return absl::OkStatus();
  };
  if (auto s = count(flags[11], 16 << 10, 4 << 20, &o.chunk_size); !s.ok()) return s;
  int64_t parallel = o.max_parallel_parts;
  if (auto s = count(flags[12], 1, 64, &parallel); !s.ok()) return s;
  o.max_parallel_parts = static_cast<int>(parallel);
  if (auto s = count(flags[13], 1 << 20, int64_t{1} << 40, &o.upload_memory); !s.ok()) return s;
  if (auto s = duration(flags[14], &o.resumable_ttl); !s.ok()) return s;
  int64_t concurrent = o.max_concurrent_requests;
  if (auto s = count(flags[15], 0, 100000, &concurrent); !s.ok()) return s;
  o.max_concurrent_requests = static_cast<int>(concurrent);
  if (flags[16].set && (!absl::SimpleAtod(flags[16].value, &o.requests_per_second) ||
                        o.requests_per_second < 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--requests-per-second: not a non-negative number: ", flags[16].value));
  }
  const Flag& metrics_listen = flags[17];
  const Flag& allow_remote = flags[18];
  o.metrics_listen = "127.0.0.1:9464";
  if (metrics_listen.set) {
    o.metrics_required = true;
    o.metrics_listen = absl::AsciiStrToLower(metrics_listen.value) == "off" ? "" : metrics_listen.value;
  }
  if (allow_remote.set) {
    const std::string v = absl::AsciiStrToLower(allow_remote.value);
    if (v == "true" || v == "1" || v == "yes") {
      o.metrics_allow_remote = true;
    } else if (v != "false" && v != "0" && v != "no") {
      return absl::InvalidArgumentError(
          absl::StrCat("--metrics-allow-remote: expected true or false, got ", allow_remote.value));
    }
  }
  for (const auto& f : flags) {
    const std::string name = f.name;
    if (name == "username" && f.set) o.username = f.value;
    if (name == "password-file" && f.set) {
      if (auto s = ReadSecretFile(f.value, &o.password); !s.ok()) return s;
      o.password_file = f.value;
    }
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
  return o;
}

}  // namespace filesgw::server
