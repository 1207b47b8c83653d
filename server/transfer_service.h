// files.v1.TransferService: file content as gRPC streams over Files.com's
// upload protocol (begin_upload, part PUTs to presigned URLs, end) and
// download protocol (download_uri, Range requests).
//
// Each stream runs on a gRPC sync-server thread and blocks on bounded queues,
// which gives flow control both ways: a slow caller stops the gateway reading
// from upstream (curl pauses, TCP pushes back), a slow upstream stops the
// gateway reading the caller's stream. Memory:
//   Download: at most 4 x chunk_size (one filling, two queued, one being
//             sent) + curl's receive buffer, whatever the file size.
//   Upload:   at most (1 + max_parallel_parts) part buffers (Files.com parts
//             are 5 MiB and up; with the default 3 parts in flight: 20 MiB),
//             plus about 6 MiB of gRPC receive buffers and the message being
//             read, and all part buffers together within upload_memory (a
//             stream waits for buffer space, so callers are slowed, never
//             refused). Part buffers are mappings of their own, reused while
//             uploads run and unmapped when none does.
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
  std::shared_ptr<client_core::Scheduler> scheduler;      // part retry backoff
  GatewayOptions options;
  Logger* log = nullptr;
  Telemetry telemetry;  // gateway-wide metrics (profiles report upstream answers)
};

class TransferService final : public files::v1::TransferService::Service {
 public:
  explicit TransferService(TransferDeps deps);
  ~TransferService() override;

  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<files::v1::UploadRequest>* reader,
                      files::v1::UploadResponse* response) override;
  grpc::Status StartResumableUpload(grpc::ServerContext* context,
                                    const files::v1::StartResumableUploadRequest* request,
                                    files::v1::StartResumableUploadResponse* response) override;
  grpc::Status QueryUploadStatus(grpc::ServerContext* context,
                                 const files::v1::QueryUploadStatusRequest* request,
                                 files::v1::QueryUploadStatusResponse* response) override;
  grpc::Status CancelResumableUpload(grpc::ServerContext* context,
                                     const files::v1::CancelResumableUploadRequest* request,
                                     google::protobuf::Empty* response) override;

  // Streams in progress (for drain logs and metrics).
  int64_t active_streams() const;

  struct Impl;

 private:
  // Download is served as a stream of serialised messages (see
  // transfer_download.cc), registered in the constructor in place of the
  // generated typed method.
  grpc::Status DownloadStream(grpc::ServerContext* context,
                              grpc::ServerReaderWriter<grpc::ByteBuffer, files::v1::DownloadRequest>* stream);

  std::unique_ptr<Impl> impl_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_TRANSFER_SERVICE_H_
