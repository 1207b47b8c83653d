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
  // Rate governor for the upstream credential (shared by every caller).
  int max_concurrent_requests = 32;   // upstream API requests in flight; 0 = no cap
  double requests_per_second = 0;     // 0 = no cap
  // Transfers (TransferService).
  int64_t chunk_size = 512 * 1024;            // bytes per Download message
  int max_parallel_parts = 4;                 // part PUTs in flight per upload
  int64_t upload_memory = 96LL << 20;         // part buffers over all uploads
  absl::Duration resumable_ttl = absl::Hours(24);
  // Prometheus /metrics listener. Empty: none (ParseOptions defaults it to
  // 127.0.0.1:9464; "off" turns it off). Only loopback unless allowed.
  std::string metrics_listen;
  bool metrics_allow_remote = false;
  // Set when the address was asked for (flag or environment): failing to bind
  // it stops start-up; the default address is best effort.
  bool metrics_required = false;
  bool help = false;
};

using EnvLookup = std::function<const char*(const char*)>;

// INVALID_ARGUMENT naming the flag for unknown flags, bad values or an
// unreadable key file.
absl::StatusOr<GatewayOptions> ParseOptions(const std::vector<std::string>& args,
                                            const EnvLookup& env);

std::string UsageText();

// "30s", "500ms", "2m", "1.5" (seconds).
bool ParseDurationFlag(const std::string& text, absl::Duration* out);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_OPTIONS_H_
