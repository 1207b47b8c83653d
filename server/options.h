// Gateway configuration from flags, with environment variables as fallbacks
// (flag > environment > default). Secrets come only from files or the
// environment, never from flags, so they do not show in `ps`.
//
//   FILESGW_LISTEN, FILES_BASE_URL, FILES_API_KEY / FILES_API_KEY_FILE,
//   FILESGW_OPEN_TIMEOUT, FILESGW_READ_TIMEOUT, FILESGW_MAX_RETRIES,
//   FILESGW_INITIAL_RETRY_DELAY, FILESGW_MAX_RETRY_DELAY, FILESGW_LOG_LEVEL,
//   FILESGW_METRICS_LISTEN, FILESGW_METRICS_ALLOW_REMOTE, ...
#ifndef FILESGW_SERVER_OPTIONS_H_
#define FILESGW_SERVER_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/log.h"

namespace filesgw::server {

// One set of Files.com credentials and the rate governor shared by every
// caller that uses it.
struct ProfileOptions {
  std::string name = "default";
  std::string base_url;  // empty and no credential: the embedded emulator
  std::string api_key;   // the value read now (from api_key_file or the environment)
  std::string api_key_file;  // re-read when it changes
  std::string username;
  std::string password;
  std::string password_file;  // re-read when it changes
  int max_concurrent_requests = 32;  // 0 = no cap
  double requests_per_second = 0;    // 0 = no cap
  // Callers may send their own Files.com credential per call (x-files-api-key
  // or x-files-session-id metadata) instead of this profile's.
  bool allow_caller_credentials = false;
  // This profile's own Redis (YAML `redis: {url, password_file}` in the
  // profile); empty: the top-level one (GatewayOptions::redis).
  std::string redis_url;
  std::string redis_password_file;
  std::string redis_password;  // read from redis_password_file
  int line = 0;  // where the config file defines it (0: flags/environment)

  bool has_credential() const { return !api_key.empty() || !username.empty(); }
};

// One caller's share of the gateway (see caller_quota.h). In a caller's entry
// a negative value means "the gateway-wide default" (GatewayOptions::
// caller_limits); 0 there means no cap.
struct CallerLimits {
  int max_calls = -1;              // RPCs of any kind in progress at once
  int max_streams = -1;            // TransferService Upload/Download streams at once
  int64_t upload_memory = -1;      // bytes of upload part buffers held at once
  int max_upstream_requests = -1;  // upstream HTTP requests in flight (API and storage)
};

// A service allowed to call, how it proves who it is, the profile its calls
// use and what it may call.
struct CallerOptions {
  std::string name;
  std::string token_sha256;  // 64 lowercase hex digits: SHA-256 of its bearer token
  std::string certificate;   // mTLS: its client certificate's CN or a DNS SAN
  std::string profile = "default";
  // "*", "files.v1.UserService/*" or "files.v1.UserService/FindUser".
  std::vector<std::string> allow;
  CallerLimits limits;  // unset fields take GatewayOptions::caller_limits
  int line = 0;
};

struct TlsOptions {
  std::string cert_file;       // PEM; with key_file: the gateway serves TLS
  std::string key_file;
  std::string client_ca_file;  // PEM; set: callers must present a certificate it signed
  absl::Duration reload_interval = absl::Seconds(10);  // files re-read this often

  bool enabled() const { return !cert_file.empty(); }
};

// Shared state for many replicas (README "Scaling out"): rate budgets and
// resumable uploads in Redis. Empty url: each replica works alone.
struct RedisOptions {
  std::string url;            // redis://host:port[/db], rediss://host:port[/db], unix:/path
  std::string password_file;  // --redis-password-file
  std::string password;       // read from password_file, or FILESGW_REDIS_PASSWORD
  // While Redis is unavailable each replica uses its profile's budget / this.
  int expected_replicas = 1;
  // In-flight leases and upload locks expire this long after their holder
  // stopped renewing them (a dead replica's slots and uploads come back).
  absl::Duration lease_ttl = absl::Seconds(10);
};

// True for unix sockets and loopback host:port addresses (sidecar mode).
bool IsLocalAddress(const std::string& address);

struct GatewayOptions {
  std::string listen = "127.0.0.1:50051";
  // Empty: start the embedded emulator and forward to it.
  std::string base_url;
  std::string api_key;  // from --api-key-file or FILES_API_KEY
  // When the key came from a file: re-read when the file changes (Secret
  // mounts are rotated by an atomic symlink swap), no restart needed.
  std::string api_key_file;
  // A username/password profile (used when there is no API key): the gateway
  // logs in for a session and renews it when Files.com ends it.
  std::string username;       // --username / FILES_USERNAME
  std::string password_file;  // --password-file / FILES_PASSWORD_FILE (re-read on change)
  std::string password;       // FILES_PASSWORD (never a flag)
  absl::Duration open_timeout = absl::Seconds(30);
  absl::Duration read_timeout = absl::Seconds(80);
  int max_retries = 3;
  absl::Duration initial_retry_delay = absl::Milliseconds(500);
  absl::Duration max_retry_delay = absl::Seconds(2);
  LogLevel log_level = LogLevel::kInfo;
  // How long SIGTERM waits for in-flight calls before cancelling them.
  absl::Duration drain_timeout = absl::Seconds(20);
  std::string source_ip;
  // PEM CA bundle for upstream HTTPS (the API and the presigned URLs), e.g. a
  // TLS emulator's throwaway CA. Empty: the system store only.
  std::string ca_file;
  // From --emulator-control-token-file: when set, the embedded emulator's
  // control endpoints (faults, reset, ...) are on and accept this token;
  // otherwise they are off.
  std::string emulator_control_token;
  // The embedded emulator frees an upload session idle this long (uploads a
  // caller abandoned hold their parts' memory until then).
  absl::Duration emulator_upload_idle_ttl = absl::Minutes(10);
  // Rate governor for the upstream credential (shared by every caller).
  int max_concurrent_requests = 32;   // upstream API requests in flight; 0 = no cap
  double requests_per_second = 0;     // 0 = no cap
  // Transfers (TransferService).
  int64_t chunk_size = 512 * 1024;            // bytes per Download message
  int max_parallel_parts = 3;                 // part PUTs in flight per upload
  int64_t upload_memory = 96LL << 20;         // part buffers over all uploads
  absl::Duration resumable_ttl = absl::Hours(24);  // counted from the last activity
  // A transfer stream that moves no byte for this long ends (DEADLINE_EXCEEDED,
  // reason STREAM_IDLE); a resumable upload stays resumable.
  absl::Duration stream_idle_timeout = absl::Seconds(60);
  // A download whose caller stops reading gives its upstream connection back
  // after this long and resumes with a Range request when the caller reads.
  absl::Duration download_stall_release = absl::Seconds(5);

  // Isolation (see README "Sharing one gateway"). Every caller (each
  // configured caller; without callers: each connection) gets these shares
  // unless its entry says otherwise.
  CallerLimits caller_limits{/*max_calls=*/128, /*max_streams=*/16,
                             /*upload_memory=*/32LL << 20, /*max_upstream_requests=*/24};
  // Largest unary request message (the few RPCs with a binary param excepted);
  // upload chunk messages may be up to max_upload_message_bytes.
  int64_t max_request_bytes = 4LL << 20;
  int64_t max_upload_message_bytes = 4LL << 20;
  // gRPC's own memory for connections and calls (grpc::ResourceQuota).
  int64_t grpc_memory_quota = 256LL << 20;
  // HTTP/2 streams one connection may have open at once. Not above the
  // default caller_limits.max_calls: a client that fills its connection then
  // waits in its own HTTP/2 queue instead of being refused (without callers:
  // each connection is a caller).
  int max_streams_per_connection = 128;
  // A connection with no call for this long is closed; keepalive pings find
  // dead peers.
  absl::Duration connection_idle_timeout = absl::Minutes(5);
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Upstream connections: the API host and presigned storage URLs have pools
  // of their own, so transfers never starve API calls.
  int api_connections = 32;       // curl pool for the Files.com API
  int storage_connections = 64;   // curl pool for presigned part/download URLs
  // Prometheus /metrics listener. Empty: none (ParseOptions defaults it to
  // 127.0.0.1:9464; "off" turns it off). Only loopback unless allowed.
  std::string metrics_listen;
  bool metrics_allow_remote = false;
  // Set when the address was asked for (flag or environment): failing to bind
  // it stops start-up; the default address is best effort.
  bool metrics_required = false;
  // A second gRPC listener with only grpc.health.v1 (kubelet probes when
  // `listen` is a unix socket or loopback). Empty: none.
  std::string health_listen;
  // Clients reconnect after this long (spreads long-lived connections over
  // new replicas when scaling out); 0: never. In-flight calls get drain_timeout.
  absl::Duration max_connection_age = absl::ZeroDuration();
  // Permission bits of a unix:/ listener's socket (e.g. 0660 to let a group
  // in); -1: as created.
  int unix_socket_mode = -1;
  // --probe=ADDR: ask that gateway's grpc.health.v1 (service `probe_service`)
  // and exit 0 when SERVING (image health checks without a shell).
  std::string probe;
  std::string probe_service;
  // Credentials: ParseOptions folds the flag/environment credential above
  // (base_url, api_key*, username, password*, max_concurrent_requests,
  // requests_per_second) into the "default" entry. When empty (tests that
  // fill the fields above directly), Gateway::Start makes that entry itself.
  std::vector<ProfileOptions> profiles;
  // Who may call. Empty: anyone who can reach `listen`, which must then be
  // loopback or a unix socket.
  std::vector<CallerOptions> callers;
  TlsOptions tls;
  RedisOptions redis;
  std::string config_file;  // --config / FILESGW_CONFIG
  bool check_config = false;  // --check-config: validate, explain, exit
  bool hash_token = false;    // --hash-token: print SHA-256 of the token on stdin
  bool help = false;
};

// The profiles Gateway::Start serves: `options.profiles`, or one "default"
// profile made from the top-level credential fields.
std::vector<ProfileOptions> EffectiveProfiles(const GatewayOptions& options);

using EnvLookup = std::function<const char*(const char*)>;

// Flags > environment > config file (--config) > defaults. INVALID_ARGUMENT
// naming the flag, variable or "FILE:LINE" for unknown flags or keys, bad
// values, unreadable secret files and unsafe set-ups (a listener other than
// loopback without caller authentication); config problems are all listed,
// one per line.
absl::StatusOr<GatewayOptions> ParseOptions(const std::vector<std::string>& args,
                                            const EnvLookup& env);

std::string UsageText();

// What --check-config prints: listeners, profiles (URLs without credentials
// or query strings), the gateway-wide limits, and each caller with its
// effective limits. Never a secret.
std::string DescribeOptions(const GatewayOptions& options);

// `url` without its userinfo ("user:pass@" -> "***@") and without a query
// string or fragment, for logs and --check-config.
std::string RedactUrl(const std::string& url);

// A caller's limits: its own entry where set (>= 0), else `defaults`.
CallerLimits EffectiveLimits(const CallerLimits& defaults, const CallerLimits& own);

// Reads a secret from `path`, without surrounding whitespace; INVALID_ARGUMENT
// naming the path (never the content) when unreadable or empty.
absl::Status ReadSecretFile(const std::string& path, std::string* out);

// "30s", "500ms", "2m", "1.5" (seconds).
bool ParseDurationFlag(const std::string& text, absl::Duration* out);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_OPTIONS_H_
