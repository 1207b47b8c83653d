// files-emulator: a stateful stand-in for the Files.com REST API v1 on
// loopback. Every (files.v1.rest) route answers; resources created through the
// API can be found, updated, listed (cursor paging, sort_by, filters) and
// deleted; files and folders form a real file system (files_api.h: multipart
// uploads through presigned part URLs, checksums, expiring download URLs with
// Range, copy/move/delete), in memory or under a storage directory; errors use
// Files.com's JSON error bodies and catalogue types; faults can be injected by
// route and rate. Used by every test here and as the gateway's embedded
// default when no Files.com credentials are configured.
//
//   EmulatorOptions options;
//   options.api_key = "test-key";
//   options.part_size = 1024;  // small parts for tests
//   Emulator emulator(options);
//   if (absl::Status s = emulator.Start(); !s.ok()) return s;
//   httplib::Client client("127.0.0.1", emulator.port());  // or emulator.base_url()
//   emulator.AddFault(R"({"method":"GET","path":"/users/*","status":503,"times":2})");
//   emulator.AddFault(R"({"method":"PUT","path":"/__emulator/upload/*","status":503,"times":2})");
//
// HTTPS: set tls_cert_pem / tls_key_pem (tls.h makes a throwaway pair); the
// same routes are served over TLS and every URL handed out is https://.
//
// Presigned URLs (no Files.com auth; an HMAC over method, path and expiry in
// the query string, and the expiry itself, are the auth):
//   PUT    /__emulator/upload/<ref>/<part>?X-Files-Date=..&X-Files-Expires=..&X-Files-Signature=..
//          no header needed (X-Emulator-Part-Token only with part_token_header)
//          -> 200 ETag: "<md5>"; 400 MissingSecurityHeader, 403 (expired,
//          SignatureDoesNotMatch), 404 NoSuchUpload: S3-style XML bodies
//   GET    /__emulator/download/<token>?X-Files-Date=..&X-Files-Expires=..&X-Files-Signature=..
//          -> 200, or 206 with Content-Range for `Range: bytes=a-b|a-|-n`;
//          416 InvalidRange; 403 AccessDenied "Request has expired"
//
// Control endpoint (reserved prefix /__emulator/; X-FilesAPI-Key or
// X-Emulator-Control-Token required, 401 otherwise; 404 when turned off):
//   POST   /__emulator/faults            add one rule or a list -> {"ids":[...]}
//                                        (fields: method, path, status, retry_after, body,
//                                        times, fraction, delay_ms, drop, drop_after_action, stall_ms,
//                                        cut_after_bytes, expire; see faults.h)
//   GET    /__emulator/faults            the rules, with their hit counts
//   DELETE /__emulator/faults            clear every rule
//   GET    /__emulator/requests          {"requests":{"GET /api/rest/v1/users/1":3,...},"total":3}
//   GET    /__emulator/rate_limit        {"per_second":..,"burst":..,"allowed":N,"limited":N}
//                                        (limited = API requests answered 429 by the per-key rate)
//   POST   /__emulator/reset             clear counts, faults, rate buckets and records; restore the demo site and files
//   POST   /__emulator/sessions/expire   end every session
//   POST   /__emulator/urls/expire       every upload/download URL issued so far expires
//   GET    /__emulator/uploads           {"sessions":N,"parts":N,"bytes":N}: open upload
//                                        sessions (idle ones dropped first)
#ifndef FILESGW_EMULATOR_EMULATOR_H_
#define FILESGW_EMULATOR_EMULATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "emulator/actions.h"
#include "emulator/faults.h"
#include "emulator/file_system.h"
#include "emulator/files_api.h"
#include "emulator/rate_limit.h"

namespace filesgw::emulator {

inline constexpr char kControlTokenHeader[] = "X-Emulator-Control-Token";

struct EmulatorOptions {
  std::string listen_host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // The X-FilesAPI-Key accepted. Empty: any non-empty key is accepted.
  std::string api_key;
  // Seed demo records (id 1 of every resource, users, groups) and the demo
  // files: folders `demo`, `demo/reports`, `shared` and `demo/hello.txt`.
  bool demo_site = true;
  // Files live under this directory (created if needed; never anything
  // outside it). Empty: in memory.
  std::string storage_dir;
  // Worker threads; an idle keep-alive connection holds one, so allow for a
  // client's whole pool (32 parallel transfers plus API calls).
  int threads = 64;
  absl::Duration session_ttl = absl::Hours(6);
  int64_t part_size = int64_t{5} << 20;                 // `partsize` of upload descriptors
  absl::Duration upload_url_ttl = absl::Minutes(15);    // part upload URLs
  absl::Duration download_url_ttl = absl::Seconds(60);  // download_uri
  std::function<absl::Time()> clock;  // default absl::Now; tests inject their own
  // The control endpoints (/__emulator/faults, reset, ...). Off, they answer
  // 404 as if absent (the gateway's embedded emulator: its callers must not
  // reset it or inject faults). On, each call needs the API key
  // (X-FilesAPI-Key, as any API call) or, when set, this control token
  // (header X-Emulator-Control-Token): anyone who can reach the port could
  // otherwise wipe the site.
  bool control_endpoints = true;
  std::string control_token;
  // An upload session (begin_upload) with no begin or part activity for this
  // long is dropped with its parts: a client that gives up mid-upload never
  // sends `end`, and its parts would otherwise stay in memory for good.
  absl::Duration upload_idle_ttl = absl::Minutes(10);
  // Part descriptors list `X-Emulator-Part-Token` in `headers` and part PUTs
  // must send it (to test clients that apply `headers`). Off by default, as
  // on Files.com: a part URL's signature is all a PUT needs.
  bool part_token_header = false;
  // Both set: serve HTTPS with this certificate and private key (PEM text;
  // see tls.h for a throwaway pair) and hand out https:// URLs. Empty: plain
  // HTTP.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Per-key request rate like Files.com's (rate_limit.h): API requests over
  // it get 429 + Retry-After. 0: no limit (the default).
  double rate_limit_per_second = 0;
  double rate_limit_burst = 0;  // 0: max(1, rate_limit_per_second)
};

// What the emulator holds for uploads that have begun and not ended.
struct UploadStats {
  int64_t sessions = 0;
  int64_t parts = 0;
  int64_t bytes = 0;  // of the whole parts kept
};

class Emulator {
 public:
  explicit Emulator(EmulatorOptions options);
  ~Emulator();  // Stop()s
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Binds and serves on background threads. Connections are accepted as soon
  // as it returns.
  absl::Status Start();
  // Stops serving; waits for the server thread. Idempotent.
  void Stop();

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT" (https:// with TLS)

  // In-process equivalents of the control endpoint.
  absl::StatusOr<int64_t> AddFault(absl::string_view rule_json);
  int64_t AddFault(FaultRule rule);
  void ClearFaults();
  // Requests received for "METHOD /absolute/path" since the last reset.
  int64_t RequestCount(const std::string& method_and_path) const;
  std::string RequestCountsJson() const;
  void Reset();  // counts, faults and rate buckets; restores the demo files when demo_site
  // API requests allowed / answered 429 by the per-key rate since the last reset.
  KeyRateLimiter::Counts RateLimitCounts() const;
  void ExpireSessions();
  // Every upload and download URL issued so far answers 403 (expired).
  void ExpireUrls();
  // Open upload sessions and their parts, after dropping the idle ones.
  UploadStats Uploads();

  // Replaces the behaviour of one RPC, e.g. "files.v1.FileService.FindFile".
  void OverrideAction(std::string full_method_name, ActionHandler handler);
  Actions& actions();
  FileSystem& file_system();
  FilesApi& files_api();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_EMULATOR_H_
