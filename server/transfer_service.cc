#include "server/transfer_service.h"

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/method_handler.h"
#include "client_core/query.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/forwarder.h"
#include "server/request_context.h"
#include "server/status_builder.h"
#include "server/transfer_internal.h"

namespace filesgw::server {
namespace transfer {

absl::Time DeadlineOf(const grpc::ServerContext* context) {
  auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

Upstream UpstreamFor(TransferService::Impl& impl, const CallerIdentity* caller,
                     client_core::ApiRequest* request) {
  if (caller == nullptr || caller->profile == nullptr) {
    return {impl.deps.client.get(), &impl.deps.telemetry, true};
  }
  request->caller = caller->fairness_key;
  request->credential = caller->credential;
  return {caller->profile->client.get(), &caller->profile->telemetry,
          !caller->credential.has_value()};
}

client_core::ApiResult CallApi(TransferService::Impl& impl, client_core::ApiRequest request,
                               grpc::ServerContext* context) {
  if (request.deadline == absl::InfiniteFuture()) request.deadline = DeadlineOf(context);
  const auto& rc = RequestContext::Current();
  if (rc != nullptr) rc->AddUpstreamHeaders(&request.extra_headers);
  const Upstream upstream =
      UpstreamFor(impl, rc != nullptr ? rc->caller().get() : nullptr, &request);
  if (request.caller.empty()) request.caller = context->peer();
  client_core::FilesClient& client = *upstream.client;
  auto promise = std::make_shared<std::promise<client_core::ApiResult>>();
  auto future = promise->get_future();
  auto call = client.Call(std::move(request), [promise](client_core::ApiResult r) {
    promise->set_value(std::move(r));
  });
  bool cancelled = false;
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (!cancelled && context->IsCancelled()) {
      cancelled = true;
      call->Cancel();  // the callback still runs, CANCELLED
    }
  }
  client_core::ApiResult result = future.get();
  upstream.telemetry->OnApiResult(result, rc != nullptr ? rc->full_method() : "",
                                  upstream.own_credential);
  return result;
}

grpc::Status FailureStatus(const client_core::ApiResult& result) {
  if (result.error.has_value()) return FromFilesError(*result.error, result.retry_after);
  const char* reason = "UPSTREAM_UNAVAILABLE";
  if (absl::IsDeadlineExceeded(result.status)) reason = "DEADLINE_EXCEEDED";
  if (absl::IsCancelled(result.status)) reason = "CANCELLED";
  if (absl::IsResourceExhausted(result.status)) reason = "GATEWAY_RATE_LIMITED";
  return FromLocalStatus(result.status, reason, result.retry_after);
}

std::string ApiPath(std::string_view prefix, std::string_view path) {
  std::string out(prefix);
  out.push_back('/');
  client_core::AppendPercentEncoded(path, /*keep_slash=*/true, &out);
  return out;
}

absl::Status ParseFile(std::string_view json, files::v1::File* out) {
  std::string bytes;
  absl::Status s = JsonToBinary(files::v1::File::descriptor(), json, &bytes);
  if (!s.ok()) return s;
  if (!out->ParseFromString(bytes)) return absl::InternalError("File message does not parse");
  return absl::OkStatus();
}

grpc::Status Local(grpc::StatusCode code, std::string_view reason, std::string_view message) {
  return FromLocalStatus(
      absl::Status(static_cast<absl::StatusCode>(code), absl::string_view(message.data(), message.size())),
      reason);
}

}  // namespace transfer

TransferService::TransferService(TransferDeps deps)
    : impl_(std::make_unique<Impl>(std::move(deps))) {
  // Download as a stream handler over ByteBuffer responses. The generated
  // service registers its methods in the order of the proto's service.
  const int index = files::v1::DownloadRequest::descriptor()
                        ->file()
                        ->FindServiceByName("TransferService")
                        ->FindMethodByName("Download")
                        ->index();
  MarkMethodStreamed(index, new grpc::internal::BidiStreamingHandler<
                                TransferService, files::v1::DownloadRequest, grpc::ByteBuffer>(
                                &TransferService::DownloadStream, this));
}
TransferService::~TransferService() = default;

int64_t TransferService::active_streams() const { return impl_->active.load(); }

namespace {
struct ActiveGuard {
  explicit ActiveGuard(std::atomic<int64_t>* n) : n_(n) { n_->fetch_add(1); }
  ~ActiveGuard() { n_->fetch_sub(1); }
  std::atomic<int64_t>* n_;
};

// One TransferService call as seen from outside: its request id (returned as
// initial metadata, ambient for logs and upstream calls on this thread),
// metrics, and the closing log line.
class ObservedCall {
 public:
  ObservedCall(TransferService::Impl& impl, grpc::ServerContext* context, const char* method,
               std::optional<Direction> stream = std::nullopt)
      : impl_(impl), full_method_(absl::StrCat("/files.v1.TransferService/", method)),
        caller_(std::make_shared<CallerIdentity>()),
        auth_(impl.deps.auth->Authenticate(*context, full_method_, caller_.get())),
        rc_(RequestContext::FromMetadata(context->client_metadata(), full_method_,
                                         auth_.ok() ? caller_ : nullptr)),
        scope_(rc_), stream_(stream), started_(absl::Now()) {
    context->AddInitialMetadata("x-request-id", rc_->request_id());
    rc_->LogDroppedTrace(impl_.deps.log);
    if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
      if (stream_.has_value()) m->StreamStarted(*stream_);
      else m->UnaryStarted();
    }
  }
  ~ObservedCall() {
    if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
      if (stream_.has_value()) m->StreamFinished(*stream_);
      else m->UnaryFinished();
    }
  }

  // OK, or why the caller may not make this call (nothing is sent upstream).
  const grpc::Status& auth() const { return auth_; }

  grpc::Status Finish(grpc::Status status) {
    const absl::Duration elapsed = absl::Now() - started_;
    if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
      m->CallFinished(full_method_, status.error_code(), elapsed);
    }
    Logger* log = impl_.deps.log;
    if (log != nullptr && (log->Enabled(LogLevel::kDebug) || !status.ok())) {
      log->Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "call",
               {{"method", full_method_},
                {"code", static_cast<int>(status.error_code())},
                {"ms", absl::ToDoubleMilliseconds(elapsed)}});
    }
    return status;
  }

 private:
  TransferService::Impl& impl_;
  const std::string full_method_;
  const std::shared_ptr<CallerIdentity> caller_;
  const grpc::Status auth_;
  const std::shared_ptr<const RequestContext> rc_;
  ScopedRequestContext scope_;
  const std::optional<Direction> stream_;
  const absl::Time started_;
};

}  // namespace

grpc::Status TransferService::Upload(grpc::ServerContext* context,
                                     grpc::ServerReader<files::v1::UploadRequest>* reader,
                                     files::v1::UploadResponse* response) {
  ActiveGuard guard(&impl_->active);
  ObservedCall call(*impl_, context, "Upload", Direction::kUpload);
  if (!call.auth().ok()) return call.Finish(call.auth());
  return call.Finish(impl_->Upload(context, reader, response));
}

grpc::Status TransferService::DownloadStream(grpc::ServerContext* context,
                                             DownloadWriter* stream) {
  ActiveGuard guard(&impl_->active);
  ObservedCall call(*impl_, context, "Download", Direction::kDownload);
  if (!call.auth().ok()) return call.Finish(call.auth());
  files::v1::DownloadRequest request;
  if (!stream->Read(&request)) {
    return call.Finish(transfer::Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                                       "the download request did not arrive"));
  }
  return call.Finish(impl_->Download(context, request, stream));
}

grpc::Status TransferService::StartResumableUpload(
    grpc::ServerContext* context, const files::v1::StartResumableUploadRequest* request,
    files::v1::StartResumableUploadResponse* response) {
  ObservedCall call(*impl_, context, "StartResumableUpload");
  if (!call.auth().ok()) return call.Finish(call.auth());
  return call.Finish(
      impl_->StartResumable(context, request->spec(), response->mutable_upload_id()));
}

grpc::Status TransferService::QueryUploadStatus(grpc::ServerContext* context,
                                                const files::v1::QueryUploadStatusRequest* request,
                                                files::v1::QueryUploadStatusResponse* response) {
  ObservedCall call(*impl_, context, "QueryUploadStatus");
  if (!call.auth().ok()) return call.Finish(call.auth());
  return call.Finish(impl_->Query(request->upload_id(), response));
}

grpc::Status TransferService::CancelResumableUpload(
    grpc::ServerContext* context, const files::v1::CancelResumableUploadRequest* request,
    google::protobuf::Empty* /*response*/) {
  ObservedCall call(*impl_, context, "CancelResumableUpload");
  if (!call.auth().ok()) return call.Finish(call.auth());
  return call.Finish(impl_->CancelResumable(request->upload_id()));
}

}  // namespace filesgw::server
