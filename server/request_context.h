// Per-call identity that follows one gRPC call through logs and upstream
// requests: the request id (the caller's `x-request-id` when sane, else a new
// one) and the caller's W3C trace context (`traceparent`/`tracestate`, kept
// only when well formed). Each upstream Files.com request carries the id as
// X-Request-Id and, when the caller sent a trace, a child span of it. The
// Files.com per-request options the SDKs take ride along too: metadata
// `x-files-workspace-id` -> X-Files-Workspace-Id and `x-files-language` ->
// Accept-Language (API requests only, never presigned storage URLs).
//
//   auto rc = RequestContext::FromMetadata(context->client_metadata(), route->full_method);
//   context->AddInitialMetadata("x-request-id", rc->request_id());
//   rc->AddUpstreamHeaders(&api_request.extra_headers);
//
// Stream handlers, which run on one thread each, make the context ambient so
// that helpers deep in the transfer code reach it without new parameters:
//   ScopedRequestContext scope(rc);  ...  RequestContext::Current()
#ifndef FILESGW_SERVER_REQUEST_CONTEXT_H_
#define FILESGW_SERVER_REQUEST_CONTEXT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "client_core/http_transport.h"
#include "grpcpp/support/string_ref.h"
#include "server/log.h"

namespace filesgw::server {

struct CallerIdentity;  // caller_auth.h

// A W3C traceparent: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
struct TraceParent {
  std::string trace_id;   // 32 lowercase hex digits, not all zero
  std::string parent_id;  // 16 lowercase hex digits, not all zero
  std::string flags;      // 2 lowercase hex digits
  std::string ToHeader() const;  // always version 00
};

// Parses a traceparent value per W3C Trace Context level 1 (future versions
// are read by their version-00 prefix). nullopt and a reason when malformed.
std::optional<TraceParent> ParseTraceParent(std::string_view value, std::string* why = nullptr);

// True for 1..128 printable ASCII characters without surrounding spaces.
bool IsSaneRequestId(std::string_view id);

// The call metadata keys of Files.com's per-request options.
inline constexpr char kWorkspaceIdMetadata[] = "x-files-workspace-id";
inline constexpr char kLanguageMetadata[] = "x-files-language";
inline constexpr size_t kMaxLanguageTag = 64;

// A fresh random request id (UUID version 4 text).
std::string NewRequestId();

// A fresh random span id: 16 lowercase hex digits, never all zero.
std::string NewSpanId();

class RequestContext {
 public:
  using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

  // `full_method` is the gRPC method ("/files.v1.UserService/FindUser");
  // `caller` who makes it (null before or without authentication).
  static std::shared_ptr<const RequestContext> FromMetadata(
      const Metadata& metadata, std::string_view full_method,
      std::shared_ptr<const CallerIdentity> caller = nullptr);
  // For code that has no caller metadata (tests, background work).
  static std::shared_ptr<const RequestContext> Make(std::string request_id,
                                                    std::optional<TraceParent> trace,
                                                    std::string tracestate,
                                                    std::string_view full_method);

  const std::string& request_id() const { return request_id_; }
  const std::string& full_method() const { return full_method_; }
  const std::optional<TraceParent>& trace() const { return trace_; }
  const std::string& tracestate() const { return tracestate_; }
  // Why the caller's trace context was dropped (empty when none was dropped).
  const std::string& dropped_trace() const { return dropped_trace_; }
  // Files.com's per-request options (empty when not given).
  const std::string& workspace_id() const { return workspace_id_; }
  const std::string& language() const { return language_; }
  // OK, or INVALID_ARGUMENT saying which per-request option metadata is
  // malformed (a workspace id that is not a decimal integer, a language that
  // is not 1-64 printable ASCII characters, either given twice). Calls with
  // such metadata must be refused before anything goes upstream.
  const absl::Status& metadata_status() const { return metadata_status_; }
  // Who makes the call and with which profile (null: not authenticated).
  const std::shared_ptr<const CallerIdentity>& caller() const { return caller_; }
  // The caller gave the request id (rather than the gateway making one up).
  bool request_id_from_caller() const { return request_id_from_caller_; }

  // X-Request-Id, and when the caller sent a valid trace: traceparent as a new
  // child span (same trace id and flags, fresh parent id) and tracestate;
  // X-Files-Workspace-Id and Accept-Language when the caller gave them. For
  // Files.com API requests only: never add these to presigned URLs.
  void AddUpstreamHeaders(client_core::HeaderList* headers) const;

  // Logs at debug level that the caller's trace context was dropped, if it was.
  void LogDroppedTrace(Logger* log) const;

  // The context of the call this thread serves (set by ScopedRequestContext),
  // or null.
  static const std::shared_ptr<const RequestContext>& Current();

 private:
  RequestContext() = default;
  std::string request_id_;
  bool request_id_from_caller_ = false;
  std::string full_method_;
  std::optional<TraceParent> trace_;
  std::string tracestate_;
  std::string dropped_trace_;
  std::string workspace_id_;
  std::string language_;
  absl::Status metadata_status_;
  std::shared_ptr<const CallerIdentity> caller_;
};

// Makes `context` this thread's current request context (and its request id
// and trace id fields of every log line on this thread) until destroyed.
class ScopedRequestContext {
 public:
  explicit ScopedRequestContext(std::shared_ptr<const RequestContext> context);
  ~ScopedRequestContext();
  ScopedRequestContext(const ScopedRequestContext&) = delete;
  ScopedRequestContext& operator=(const ScopedRequestContext&) = delete;

 private:
  std::shared_ptr<const RequestContext> previous_;
  ScopedLogFields log_fields_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_REQUEST_CONTEXT_H_
