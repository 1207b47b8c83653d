// files.v1.TransferService: file content as gRPC streams over Files.com's
// upload protocol (begin_upload, part PUTs to presigned URLs, end) and
// download protocol (download_uri, Range requests).
//
// Every method runs on gRPC's callback API: a stream is a reactor object, not
// a thread, so the gateway's thread count does not grow with open streams.
// Nothing blocks a gRPC or curl thread: Files.com calls, storage requests and
// backoff waits complete through callbacks and timers. Flow control holds
// both ways: a caller that does not read pauses the storage GET (curl stops
// reading the socket), and a slow upstream stops the gateway asking gRPC for
// the caller's next upload message.
//
// Isolation (a shared gateway):
//   - the caller is authenticated and admitted (CallerQuotas: a call slot and,
//     for Upload/Download, a stream slot: --caller-max-calls,
//     --caller-max-streams) before any message is read; a refusal is
//     RESOURCE_EXHAUSTED / CALLER_QUOTA_EXCEEDED with RetryInfo;
//   - upload memory is charged as data arrives (per received message) to the
//     caller's share (--caller-upload-memory) and to the gateway-wide
//     --upload-memory, and given back as parts are stored. A caller over its
//     share stops being read; if nothing of its own frees within 3 s it ends
//     CALLER_QUOTA_EXCEEDED. A full gateway budget slows callers (they are
//     not read) for up to --stream-idle-timeout, then RESOURCE_EXHAUSTED /
//     GATEWAY_UPLOAD_MEMORY_FULL. When the budget is full of partly received
//     parts and no part is in flight, one stream at a time may go over to
//     finish its part (MemoryBudget's overdraft), so uploads cannot deadlock;
//   - every storage request (part PUT, download GET) holds one of the
//     caller's upstream slots (--caller-max-upstream-requests); parts and
//     GETs queue when the caller has none free, they never fail for it;
//   - a stream that moves no byte for --stream-idle-timeout (waiting for the
//     caller: no message arriving, or a written message not taken) ends
//     DEADLINE_EXCEEDED / STREAM_IDLE; a resumable upload keeps its stored
//     parts and stays resumable. Work the gateway does (parts in flight,
//     begin_upload, the commit) is not idleness;
//   - a Download whose caller does not take a message for
//     --download-stall-release gives its storage connection back and resumes
//     with a Range request from the next byte when the caller reads again;
//   - an upload message with more than --max-upload-message-bytes of data is
//     RESOURCE_EXHAUSTED / MESSAGE_TOO_LARGE (nothing committed).
// Resumable uploads live --resumable-ttl from their last activity.
// Memory:
//   Download: at most 4 x chunk_size (one filling, two queued, one being
//             sent) + curl's receive buffer, whatever the file size.
//   Upload:   the bytes received and not yet stored (at most
//             (1 + max_parallel_parts) parts), plus gRPC's receive buffers
//             and one message read ahead.
//
//   TransferService service(deps);
//   builder.RegisterService(&service);
#ifndef FILESGW_SERVER_TRANSFER_SERVICE_H_
#define FILESGW_SERVER_TRANSFER_SERVICE_H_

#include <memory>

#include "client_core/files_client.h"
#include "client_core/http_transport.h"
#include "client_core/scheduler.h"
#include "files/v1/transfer.grpc.pb.h"
#include "server/caller_auth.h"
#include "server/caller_quota.h"
#include "server/log.h"
#include "server/redis_client.h"
#include "server/options.h"
#include "server/telemetry.h"

namespace filesgw::server {

struct TransferDeps {
  // Who may call (required); each caller's profile client makes its Files.com
  // API calls.
  const CallerAuth* auth = nullptr;
  // The default profile's client: its retry settings pace part retries.
  std::shared_ptr<client_core::FilesClient> client;
  std::shared_ptr<client_core::HttpTransport> transport;  // presigned URLs (no auth): the storage pool
  // Per-caller shares (streams, upload memory, upstream requests); may be null
  // (no per-caller limits).
  std::shared_ptr<CallerQuotas> quotas;
  // Timers: retry backoff, idle and stall limits, resource waits, sweeps.
  std::shared_ptr<client_core::Scheduler> scheduler;
  GatewayOptions options;
  Logger* log = nullptr;
  Telemetry telemetry;  // gateway-wide metrics (profiles report upstream answers)
  // Set (--redis-url): resumable uploads live in Redis, so any replica
  // continues them (transfer_shared_uploads.h).
  std::shared_ptr<RedisClient> redis;
};

class TransferService final : public files::v1::TransferService::CallbackService {
 public:
  explicit TransferService(TransferDeps deps);
  ~TransferService() override;

  grpc::ServerReadReactor<files::v1::UploadRequest>* Upload(
      grpc::CallbackServerContext* context, files::v1::UploadResponse* response) override;
  grpc::ServerUnaryReactor* StartResumableUpload(
      grpc::CallbackServerContext* context, const files::v1::StartResumableUploadRequest* request,
      files::v1::StartResumableUploadResponse* response) override;
  grpc::ServerUnaryReactor* QueryUploadStatus(
      grpc::CallbackServerContext* context, const files::v1::QueryUploadStatusRequest* request,
      files::v1::QueryUploadStatusResponse* response) override;
  grpc::ServerUnaryReactor* CancelResumableUpload(
      grpc::CallbackServerContext* context, const files::v1::CancelResumableUploadRequest* request,
      google::protobuf::Empty* response) override;

  // Streams in progress (for drain logs and metrics).
  int64_t active_streams() const;

  struct Impl;

 private:
  // Download is served as a raw bidi stream (registered in the constructor in
  // place of the generated method): the request is read only after the
  // caller is admitted, and data messages go out as serialised bytes without
  // a copy (see transfer_download.cc).
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* DownloadStream(
      grpc::CallbackServerContext* context);

  std::unique_ptr<Impl> impl_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_TRANSFER_SERVICE_H_
