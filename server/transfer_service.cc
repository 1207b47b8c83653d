#include "server/transfer_service.h"

#include <chrono>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client_core/query.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/forwarder.h"
#include "server/status_builder.h"
#include "server/transfer_internal.h"

namespace filesgw::server {
namespace transfer {

absl::Time DeadlineOf(const grpc::ServerContext* context) {
  auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

client_core::ApiResult CallApi(client_core::FilesClient& client, client_core::ApiRequest request,
                               grpc::ServerContext* context) {
  if (request.deadline == absl::InfiniteFuture()) request.deadline = DeadlineOf(context);
  if (request.caller.empty()) request.caller = CallerKey(context);
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
  return future.get();
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
    : impl_(std::make_unique<Impl>(std::move(deps))) {}
TransferService::~TransferService() = default;

int64_t TransferService::active_streams() const { return impl_->active.load(); }

namespace {
struct ActiveGuard {
  explicit ActiveGuard(std::atomic<int64_t>* n) : n_(n) { n_->fetch_add(1); }
  ~ActiveGuard() { n_->fetch_sub(1); }
  std::atomic<int64_t>* n_;
};
}  // namespace

grpc::Status TransferService::Upload(grpc::ServerContext* context,
                                     grpc::ServerReader<files::v1::UploadRequest>* reader,
                                     files::v1::UploadResponse* response) {
  ActiveGuard guard(&impl_->active);
  return impl_->Upload(context, reader, response);
}

grpc::Status TransferService::Download(grpc::ServerContext* context,
                                       const files::v1::DownloadRequest* request,
                                       grpc::ServerWriter<files::v1::DownloadResponse>* writer) {
  ActiveGuard guard(&impl_->active);
  return impl_->Download(context, *request, writer);
}

grpc::Status TransferService::StartResumableUpload(
    grpc::ServerContext* context, const files::v1::StartResumableUploadRequest* request,
    files::v1::StartResumableUploadResponse* response) {
  return impl_->StartResumable(context, request->spec(), response->mutable_upload_id());
}

grpc::Status TransferService::QueryUploadStatus(grpc::ServerContext* /*context*/,
                                                const files::v1::QueryUploadStatusRequest* request,
                                                files::v1::QueryUploadStatusResponse* response) {
  return impl_->Query(request->upload_id(), response);
}

grpc::Status TransferService::CancelResumableUpload(
    grpc::ServerContext* /*context*/, const files::v1::CancelResumableUploadRequest* request,
    google::protobuf::Empty* /*response*/) {
  return impl_->CancelResumable(request->upload_id());
}

}  // namespace filesgw::server
