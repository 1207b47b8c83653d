// The one seam between the gateway and HTTP: start a request, get exactly one
// result. The libcurl implementation (curl_transport.h) is the only code that
// includes curl; tests use a fake that replays canned responses.
//
//   auto call = transport->Start(std::move(request), [](HttpResult r) { ... });
//   call->Cancel();  // aborts the transfer; the callback still runs once, CANCELLED
#ifndef FILESGW_CLIENT_CORE_HTTP_TRANSPORT_H_
#define FILESGW_CLIENT_CORE_HTTP_TRANSPORT_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace filesgw::client_core {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
struct HttpResponse;

// What a streaming body sink wants done with the bytes it was offered.
enum class BodyAction {
  kAccept,  // consumed; send more
  // Not consumed: the transfer pauses (the socket stops being read, so the
  // server is slowed by TCP flow control) and the same bytes are offered again
  // after HttpCall::Resume().
  kPause,
  kAbort,  // stop the transfer; the result is CANCELLED
};
// Called on the transport thread with the response head (status and headers
// are set, body empty) and the next bytes of a 2xx body; must not block.
using BodySink = std::function<BodyAction(const HttpResponse& head, std::string_view data)>;

struct HttpRequest {
  std::string method;  // "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"
  std::string url;     // absolute
  HeaderList headers;
  std::string body;
  // When set, sent instead of `body` without copying (e.g. an upload part
  // that is kept for retries): the pointer keeps the bytes alive (made with
  // shared_ptr's aliasing constructor from whatever owns them).
  std::shared_ptr<const std::string_view> shared_view;
  // When set, a 2xx body is handed to it as it arrives instead of being kept
  // in HttpResponse::body (which then stays empty). Other answers (errors) are
  // still collected, up to 1 MiB.
  BodySink body_sink;
  absl::Duration connect_timeout = absl::Seconds(30);  // SDK open timeout
  // Longest wait for the next bytes of the response (SDK read timeout).
  absl::Duration read_timeout = absl::Seconds(80);
  // The whole exchange ends by then (the caller's gRPC deadline).
  absl::Time deadline = absl::InfiniteFuture();
  // Send on a new connection. On a reused keep-alive connection that closes
  // before any answer, curl sends the request again by itself; a request that
  // may have taken effect (a POST) must not be repeated behind our back.
  bool fresh_connection = false;
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  std::string body;

  // The first value of a header (name compared case-insensitively), or nullptr.
  const std::string* Header(std::string_view name) const;
  // Every value of a header, in arrival order.
  std::vector<std::string_view> HeaderValues(std::string_view name) const;
};

struct HttpResult {
  // OK when an HTTP response arrived (whatever its status). Otherwise
  // UNAVAILABLE (connect failure, reset, ...), DEADLINE_EXCEEDED or CANCELLED.
  absl::Status transport;
  // False only when the request provably never reached the server (DNS or
  // connect failure): the one case where a non-idempotent call may be retried.
  bool request_sent = false;
  HttpResponse response;
};

class HttpCall {
 public:
  virtual ~HttpCall() = default;
  // Aborts the request if still running; idempotent and thread-safe.
  virtual void Cancel() = 0;
  // Offers the bytes a BodySink refused with kPause again; thread-safe, a
  // no-op when the transfer is not paused or has ended.
  virtual void Resume() {}
};

using HttpCallback = std::function<void(HttpResult)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Starts `request`; `done` runs exactly once, on a transport thread, and must
  // not block. Never returns null.
  virtual std::shared_ptr<HttpCall> Start(HttpRequest request, HttpCallback done) = 0;
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_HTTP_TRANSPORT_H_
