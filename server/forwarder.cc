#include "server/forwarder.h"

#include <chrono>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/request_context.h"
#include "server/status_builder.h"

namespace filesgw::server {
namespace {

// Hands the encoded bytes to gRPC without copying them.
grpc::ByteBuffer ToByteBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(owned->data(), owned->size(),
                    [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext* context) {
  auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

}  // namespace

class Forwarder::Call : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Call(Forwarder* owner, const Route* route, int64_t max_request_bytes,
       grpc::CallbackServerContext* context)
      : owner_(owner), route_(route), max_request_bytes_(max_request_bytes), context_(context),
        caller_(std::make_shared<CallerIdentity>()),
        auth_(owner->auth_->Authenticate(*context, route->full_method, caller_.get())),
        rc_(RequestContext::FromMetadata(context->client_metadata(), route->full_method,
                                         auth_.ok() ? caller_ : nullptr)),
        started_(absl::Now()) {
    owner_->in_flight_.fetch_add(1);
    if (owner_->telemetry_.metrics != nullptr) owner_->telemetry_.metrics->UnaryStarted();
    context_->AddInitialMetadata("x-request-id", rc_->request_id());
    rc_->LogDroppedTrace(owner_->log_);
  }

  // Admission, from the metadata alone: nothing of the request is read yet.
  void Start() {
    if (!auth_.ok()) return Done(auth_, 0, 0, kRefused);  // nothing goes upstream
    if (!rc_->metadata_status().ok()) {
      return Done(FromLocalStatus(rc_->metadata_status(), "INVALID_METADATA"), 0, 0, kRefused);
    }
    if (owner_->quotas_ != nullptr) {
      grpc::Status admitted = owner_->quotas_->Admit(caller_->fairness_key, caller_->name,
                                                     CallerQuotas::kCall, &call_slot_);
      if (!admitted.ok()) return Done(admitted, 0, 0, kRefused);
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!have_request_) {
      if (!ok) return Done(NoMessage("no request message came"), 0);
      have_request_ = true;
      // gRPC 1.51 has buffered the whole message by now (its receive limit is
      // server-wide and checked only once a message is complete): admission
      // above and the per-caller call share are what bound this memory.
      if (static_cast<int64_t>(request_.Length()) > max_request_bytes_) {
        const size_t size = request_.Length();
        request_.Clear();
        if (owner_->telemetry_.metrics != nullptr) {
          owner_->telemetry_.metrics->LimitRejection("request_size");
        }
        return Done(FromLocalStatus(absl::ResourceExhaustedError(absl::StrCat(
                                        route_->method->full_name(), " takes requests of at most ",
                                        max_request_bytes_, " bytes; this one has ", size)),
                                    "MESSAGE_TOO_LARGE"),
                    0, 0, kRefused);
      }
      // Unary: the caller's half-close must follow; a second message is a
      // protocol error, not something to ignore.
      return StartRead(&extra_);
    }
    if (ok) {
      request_.Clear();
      extra_.Clear();
      return Done(NoMessage("more than one request message came"), 0);
    }
    if (context_->IsCancelled()) return Done(NoMessage("it was cancelled"), 0);
    Send();
  }

  void OnCancel() override {
    std::shared_ptr<client_core::ApiCall> call;
    std::shared_ptr<CallerQuotas::Waiting> waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      call = upstream_;
      waiting = waiting_;
    }
    if (waiting != nullptr) waiting->Cancel();
    if (call != nullptr) call->Cancel();
  }

  void OnDone() override {
    owner_->in_flight_.fetch_sub(1);
    if (owner_->telemetry_.metrics != nullptr) owner_->telemetry_.metrics->UnaryFinished();
    Unref();
  }

 private:
  grpc::Status NoMessage(const char* what) {
    if (context_->IsCancelled()) {
      return FromLocalStatus(absl::CancelledError("the call was cancelled"), "CANCELLED");
    }
    return FromLocalStatus(
        absl::InvalidArgumentError(absl::StrCat(route_->method->full_name(),
                                                " is unary: it takes exactly one request "
                                                "message, and ", what)),
        "BAD_REQUEST_MESSAGE");
  }

  // The call ends when gRPC has called OnDone and no other thread is inside
  // one of our steps: the upstream answer may arrive (and the RPC finish)
  // before the step that sent the request has returned.
  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // The whole request is here: decode it, then wait for a slot of the
  // caller's upstream share and send it.
  void Send() {
    const auto* prototype = proto::Prototype(route_->request_type);
    std::unique_ptr<google::protobuf::Message> request(prototype->New());
    {
      grpc::ProtoBufferReader reader(&request_);
      if (!request->ParseFromZeroCopyStream(&reader)) {
        return Done(FromLocalStatus(absl::InvalidArgumentError(absl::StrCat(
                                        "cannot parse ", route_->request_type->full_name())),
                                    "BAD_REQUEST_MESSAGE"),
                    0);
      }
    }
    request_.Clear();
    auto encoded = EncodeRequest(*route_, *request);
    if (!encoded.ok()) return Done(FromLocalStatus(encoded.status(), "BAD_REQUEST_MESSAGE"), 0);

    api_.method = route_->http_method;
    api_.path_and_query = std::move(encoded->path_and_query);
    api_.body = std::move(encoded->body);
    api_.content_type = std::move(encoded->content_type);
    api_.idempotency = route_->idempotent ? client_core::Idempotency::kIdempotent
                                          : client_core::Idempotency::kNonIdempotent;
    api_.deadline = DeadlineOf(context_);
    api_.send_auth = route_->send_auth;
    rc_->AddUpstreamHeaders(&api_.extra_headers);
    api_.caller = caller_->fairness_key;
    api_.credential = caller_->credential;
    if (owner_->quotas_ == nullptr) return SendUpstream(CallerQuotas::Slot());

    Ref();
    auto waiting = owner_->quotas_->AdmitWhenFree(
        caller_->fairness_key, caller_->name, CallerQuotas::kUpstream, api_.deadline,
        [this](grpc::Status status, CallerQuotas::Slot slot) {
          if (!status.ok()) return Done(status, 0);
          SendUpstream(std::move(slot));
        });
    bool cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!finished_) waiting_ = waiting;
      cancel = cancelled_;
    }
    if (cancel) waiting->Cancel();
    Unref();
  }

  // Holds `slot` (one of the caller's upstream requests) until the answer.
  void SendUpstream(CallerQuotas::Slot slot) {
    Ref();
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_slot_ = std::move(slot);
    }
    auto call = caller_->profile->client->Call(std::move(api_), [this](client_core::ApiResult result) {
      OnResult(std::move(result));
    });
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!finished_) upstream_ = std::move(call);
      if (cancelled_ && upstream_ != nullptr) upstream_->Cancel();
    }
    Unref();
  }

  void OnResult(client_core::ApiResult result) {
    caller_->profile->telemetry.OnApiResult(result, route_->full_method,
                                            route_->send_auth && !caller_->credential.has_value());
    if (result.status.ok()) {
      std::string bytes;
      UnmappedReport unmapped;
      absl::Status decoded =
          DecodeResponse(*route_, result.body, result.next_cursor, &bytes, &unmapped);
      if (decoded.ok() && (unmapped.unknown > 0 || unmapped.misfit > 0)) ReportUnmapped(unmapped);
      if (!decoded.ok()) {
        return Done(FromLocalStatus(absl::InternalError(absl::StrCat(
                                        "upstream answer does not fit ",
                                        route_->response_type->full_name(), ": ",
                                        decoded.message())),
                                    "UPSTREAM_RESPONSE_MALFORMED"),
                    result.attempts);
      }
      response_ = ToByteBuffer(std::move(bytes));
      return Done(grpc::Status::OK, result.attempts, result.http_status);
    }
    if (result.error.has_value()) {
      return Done(FromFilesError(*result.error, result.retry_after), result.attempts,
                  result.http_status);
    }
    const char* reason = "UPSTREAM_UNAVAILABLE";
    if (absl::IsDeadlineExceeded(result.status)) reason = "DEADLINE_EXCEEDED";
    if (absl::IsCancelled(result.status)) reason = "CANCELLED";
    if (absl::IsResourceExhausted(result.status)) reason = "GATEWAY_RATE_LIMITED";
    Done(FromLocalStatus(result.status, reason, result.retry_after), result.attempts);
  }

  // Keys kept in unmapped_fields: counted, and logged at debug with the
  // field paths only (values may be anything a user stored).
  void ReportUnmapped(const UnmappedReport& unmapped) {
    if (owner_->telemetry_.metrics != nullptr) {
      owner_->telemetry_.metrics->UnmappedFields(unmapped.unknown, unmapped.misfit);
    }
    if (!owner_->log_->Enabled(LogLevel::kDebug)) return;
    ScopedLogFields ids(rc_->request_id(),
                        rc_->trace().has_value() ? rc_->trace()->trace_id : std::string());
    owner_->log_->Log(LogLevel::kDebug, "upstream answer has unmapped fields",
                      {{"method", route_->full_method},
                       {"unknown", unmapped.unknown},
                       {"misfit", unmapped.misfit},
                       {"paths", absl::StrJoin(unmapped.paths, ",")}});
  }

  static constexpr bool kRefused = true;

  // Runs once, on whichever step ends the call; no read is pending then.
  // `refused`: turned away before anything was done for it (rate-limited log).
  void Done(const grpc::Status& status, int attempts, int http_status = 0, bool refused = false) {
    CallerQuotas::Slot upstream_slot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      upstream_.reset();
      waiting_.reset();
      upstream_slot = std::move(upstream_slot_);
    }
    // The caller's next waiting request may go now (possibly on this thread).
    upstream_slot.Release();
    call_slot_.Release();
    const absl::Duration elapsed = absl::Now() - started_;
    if (owner_->telemetry_.metrics != nullptr) {
      owner_->telemetry_.metrics->CallFinished(route_->full_method, status.error_code(), elapsed);
    }
    int64_t left_out = 0;
    if (refused && !owner_->log_->Enabled(LogLevel::kDebug) &&
        !owner_->AllowRefusalLog(&left_out)) {
      // counted in the metrics; not logged
    } else if (owner_->log_->Enabled(LogLevel::kDebug) || !status.ok()) {
      ScopedLogFields ids(rc_->request_id(),
                          rc_->trace().has_value() ? rc_->trace()->trace_id : std::string());
      const std::string route = absl::StrCat(route_->http_method, " ", route_->path_template);
      const LogLevel level = status.ok() ? LogLevel::kDebug : LogLevel::kInfo;
      const double ms = absl::ToDoubleMilliseconds(elapsed);
      if (left_out > 0) {
        owner_->log_->Log(level, "call",
                          {{"method", route_->full_method},
                           {"route", route},
                           {"code", static_cast<int>(status.error_code())},
                           {"similar_refusals_not_logged", left_out},
                           {"ms", ms}});
      } else {
        owner_->log_->Log(level, "call",
                          {{"method", route_->full_method},
                           {"route", route},
                           {"code", static_cast<int>(status.error_code())},
                           {"http_status", http_status},
                           {"attempts", attempts},
                           {"ms", ms}});
      }
    }
    if (status.ok()) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
    } else {
      Finish(status);
    }
  }

  Forwarder* owner_;
  const Route* route_;
  const int64_t max_request_bytes_;
  grpc::CallbackServerContext* context_;
  const std::shared_ptr<CallerIdentity> caller_;
  const grpc::Status auth_;
  std::shared_ptr<const RequestContext> rc_;
  absl::Time started_;
  // Touched only by gRPC's read callbacks, one at a time.
  grpc::ByteBuffer request_;
  grpc::ByteBuffer extra_;
  bool have_request_ = false;
  client_core::ApiRequest api_;
  grpc::ByteBuffer response_;
  CallerQuotas::Slot call_slot_;  // the caller's share of calls in progress
  std::mutex mu_;
  CallerQuotas::Slot upstream_slot_;
  std::shared_ptr<CallerQuotas::Waiting> waiting_;
  std::shared_ptr<client_core::ApiCall> upstream_;
  bool cancelled_ = false;
  bool finished_ = false;
  std::atomic<int> refs_{1};  // OnDone's
};

bool Forwarder::AllowRefusalLog(int64_t* left_out) {
  const int64_t second = absl::ToUnixSeconds(absl::Now());
  int64_t last = refusal_log_second_.load();
  if (last != second && refusal_log_second_.compare_exchange_strong(last, second)) {
    *left_out = refusals_left_out_.exchange(0);
    return true;
  }
  refusals_left_out_.fetch_add(1);
  return false;
}

Forwarder::Forwarder(const CallerAuth* auth, Logger* log, Telemetry telemetry,
                     std::shared_ptr<CallerQuotas> quotas)
    : auth_(auth), log_(log), telemetry_(std::move(telemetry)), quotas_(std::move(quotas)) {}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Forwarder::Forward(
    const Route* route, int64_t max_request_bytes, grpc::CallbackServerContext* context) {
  auto* call = new Call(this, route, max_request_bytes, context);
  call->Start();
  return call;
}

}  // namespace filesgw::server
