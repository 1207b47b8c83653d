#include "server/forwarder.h"

#include <chrono>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
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

class Forwarder::Call : public grpc::ServerUnaryReactor {
 public:
  Call(Forwarder* owner, const Route* route, grpc::CallbackServerContext* context,
       grpc::ByteBuffer* response)
      : owner_(owner), route_(route), context_(context), response_(response),
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

  void Start(const grpc::ByteBuffer* request_bytes) {
    if (!auth_.ok()) {  // nothing goes upstream
      Done(auth_, 0);
      return Unref();
    }
    const auto* prototype = proto::Prototype(route_->request_type);
    std::unique_ptr<google::protobuf::Message> request(prototype->New());
    grpc::ByteBuffer copy(*request_bytes);
    grpc::ProtoBufferReader reader(&copy);
    if (!request->ParseFromZeroCopyStream(&reader)) {
      Done(FromLocalStatus(absl::InvalidArgumentError(absl::StrCat(
                               "cannot parse ", route_->request_type->full_name())),
                           "BAD_REQUEST_MESSAGE"),
           0);
      return Unref();
    }
    auto encoded = EncodeRequest(*route_, *request);
    if (!encoded.ok()) {
      Done(FromLocalStatus(encoded.status(), "BAD_REQUEST_MESSAGE"), 0);
      return Unref();
    }

    client_core::ApiRequest api;
    api.method = route_->http_method;
    api.path_and_query = std::move(encoded->path_and_query);
    api.body = std::move(encoded->body);
    api.content_type = std::move(encoded->content_type);
    api.idempotency = route_->idempotent ? client_core::Idempotency::kIdempotent
                                         : client_core::Idempotency::kNonIdempotent;
    api.deadline = DeadlineOf(context_);
    api.send_auth = route_->send_auth;
    rc_->AddUpstreamHeaders(&api.extra_headers);
    api.caller = caller_->fairness_key;
    api.credential = caller_->credential;
    auto call = caller_->profile->client->Call(std::move(api), [this](client_core::ApiResult result) {
      OnResult(std::move(result));
    });
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!finished_) upstream_ = std::move(call);
      if (cancelled_ && upstream_ != nullptr) upstream_->Cancel();
    }
    Unref();
  }

  void OnCancel() override {
    std::shared_ptr<client_core::ApiCall> call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      call = upstream_;
    }
    if (call != nullptr) call->Cancel();
  }

  void OnDone() override {
    owner_->in_flight_.fetch_sub(1);
    if (owner_->telemetry_.metrics != nullptr) owner_->telemetry_.metrics->UnaryFinished();
    Unref();
  }

 private:
  // The call ends when both Start has returned and gRPC has called OnDone:
  // the upstream answer may arrive (and the RPC finish) before Start returns.
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void OnResult(client_core::ApiResult result) {
    caller_->profile->telemetry.OnApiResult(result, route_->full_method,
                                            route_->send_auth && !caller_->credential.has_value());
    if (result.status.ok()) {
      std::string bytes;
      absl::Status decoded = DecodeResponse(*route_, result.body, result.next_cursor, &bytes);
      if (!decoded.ok()) {
        return Done(FromLocalStatus(absl::InternalError(absl::StrCat(
                                        "upstream answer does not fit ",
                                        route_->response_type->full_name(), ": ",
                                        decoded.message())),
                                    "UPSTREAM_RESPONSE_MALFORMED"),
                    result.attempts);
      }
      *response_ = ToByteBuffer(std::move(bytes));
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

  void Done(const grpc::Status& status, int attempts, int http_status = 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      upstream_.reset();
    }
    const absl::Duration elapsed = absl::Now() - started_;
    if (owner_->telemetry_.metrics != nullptr) {
      owner_->telemetry_.metrics->CallFinished(route_->full_method, status.error_code(), elapsed);
    }
    if (owner_->log_->Enabled(LogLevel::kDebug) || !status.ok()) {
      ScopedLogFields ids(rc_->request_id(),
                          rc_->trace().has_value() ? rc_->trace()->trace_id : std::string());
      owner_->log_->Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "call",
                        {{"method", route_->full_method},
                         {"route", absl::StrCat(route_->http_method, " ", route_->path_template)},
                         {"code", static_cast<int>(status.error_code())},
                         {"http_status", http_status},
                         {"attempts", attempts},
                         {"ms", absl::ToDoubleMilliseconds(elapsed)}});
    }
    Finish(status);
  }

  Forwarder* owner_;
  const Route* route_;
  grpc::CallbackServerContext* context_;
  grpc::ByteBuffer* response_;
  const std::shared_ptr<CallerIdentity> caller_;
  const grpc::Status auth_;
  std::shared_ptr<const RequestContext> rc_;
  absl::Time started_;
  std::mutex mu_;
  std::shared_ptr<client_core::ApiCall> upstream_;
  bool cancelled_ = false;
  bool finished_ = false;
  std::atomic<int> refs_{2};
};

Forwarder::Forwarder(const CallerAuth* auth, Logger* log, Telemetry telemetry,
                     std::shared_ptr<CallerQuotas> quotas)
    : auth_(auth), log_(log), telemetry_(std::move(telemetry)), quotas_(std::move(quotas)) {}

grpc::ServerUnaryReactor* Forwarder::Forward(const Route* route,
                                             grpc::CallbackServerContext* context,
                                             const grpc::ByteBuffer* request,
                                             grpc::ByteBuffer* response) {
  auto* call = new Call(this, route, context, response);
  call->Start(request);
  return call;
}

}  // namespace filesgw::server
