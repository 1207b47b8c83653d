// A Files.com REST v1 client over an HttpTransport: auth headers, timeouts,
// retries with backoff and Retry-After, cursors and Files.com error bodies.
// It knows nothing of protos; the server's codec builds ApiRequests.
//
//   FilesClient client(transport, scheduler, options);
//   client.Call({.method = "GET", .path_and_query = "/users/1",
//                .idempotency = Idempotency::kIdempotent},
//               [](ApiResult r) { if (r.error) ...; else use(r.body); });
#ifndef FILESGW_CLIENT_CORE_FILES_CLIENT_H_
#define FILESGW_CLIENT_CORE_FILES_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client_core/files_error.h"
#include "client_core/governor.h"
#include "client_core/secret_source.h"
#include "client_core/session_auth.h"
#include "client_core/http_transport.h"
#include "client_core/scheduler.h"

namespace filesgw::client_core {

// Mirrors the Files.com SDKs' configuration.
struct ClientOptions {
  std::string base_url = "https://app.files.com";  // scheme://host[:port], no path
  std::string api_key;     // X-FilesAPI-Key (wins when both are set)
  // When set, the API key is read from here at every attempt (a rotated key
  // file takes effect for the next attempt) and `api_key` is ignored.
  std::shared_ptr<SecretSource> api_key_source;
  // A username/password profile: sends X-FilesAPI-Auth with a session it
  // logs in for, and logs in again (once per call) when Files.com answers 401.
  std::shared_ptr<SessionAuth> session_auth;
  std::string session_id;  // X-FilesAPI-Auth
  absl::Duration open_timeout = absl::Seconds(30);
  absl::Duration read_timeout = absl::Seconds(80);
  absl::Duration initial_retry_delay = absl::Milliseconds(500);
  absl::Duration max_retry_delay = absl::Seconds(2);
  int max_retries = 3;
  // Retry-After values above this are ignored in favour of our own backoff.
  absl::Duration retry_after_cap = absl::Seconds(10);
  std::string user_agent = "files-gateway/0.1";
  // The profile's rate governor, shared by every caller; null: no limits.
  // Every attempt takes a slot (held until its answer); a 429 pauses it.
  std::shared_ptr<Governor> governor;
};

enum class Idempotency {
  // GET/HEAD/PUT/DELETE: retried on connection failures, 429 and 5xx (not 501).
  kIdempotent,
  // POST/PATCH: retried only when the request provably never reached the
  // server, or was refused with 429 or 503.
  kNonIdempotent,
};

struct ApiRequest {
  std::string method;
  std::string path_and_query;  // relative to /api/rest/v1, already encoded, e.g. "/users/1?x=y"
  std::string body;
  std::string content_type;  // empty when there is no body
  Idempotency idempotency = Idempotency::kIdempotent;
  absl::Time deadline = absl::InfiniteFuture();
  bool send_auth = true;  // false for POST /sessions
  HeaderList extra_headers;
  // Who is calling (for the governor's fairness); empty is one anonymous caller.
  std::string caller;
  // The caller's own Files.com credential (a per-call override the profile
  // allows): sent instead of the profile's key or session, never renewed.
  struct Credential {
    enum class Kind { kApiKey, kSessionId };
    Kind kind = Kind::kApiKey;
    std::string value;
  };
  std::optional<Credential> credential;
};

struct ApiResult {
  // OK for a 2xx answer. Otherwise the failure as a Status (transport failures
  // keep their transport code; HTTP failures carry `error`).
  absl::Status status;
  int http_status = 0;
  HeaderList headers;
  std::string body;  // the 2xx body (JSON), or the error body
  // From X-Files-Cursor (or X-Files-Cursor-Next); empty at the end.
  std::string next_cursor;
  // Set for every non-2xx answer (Files.com JSON or not).
  std::optional<FilesError> error;
  // The Retry-After of the last answer, when present and within the cap; or,
  // when the governor refused the call (RESOURCE_EXHAUSTED, nothing sent),
  // when trying again makes sense.
  std::optional<absl::Duration> retry_after;
  absl::Duration governor_wait;  // time spent waiting for the governor
  int attempts = 0;
};

class ApiCall {
 public:
  virtual ~ApiCall() = default;
  virtual void Cancel() = 0;  // aborts the request in flight and any retry
};

using ApiCallback = std::function<void(ApiResult)>;

class FilesClient {
 public:
  FilesClient(std::shared_ptr<HttpTransport> transport, std::shared_ptr<Scheduler> scheduler,
              ClientOptions options);
  // `done` runs exactly once, on a transport or scheduler thread.
  std::shared_ptr<ApiCall> Call(ApiRequest request, ApiCallback done);
  const ClientOptions& options() const { return options_; }

 private:
  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<Scheduler> scheduler_;
  ClientOptions options_;
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_FILES_CLIENT_H_
