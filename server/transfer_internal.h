// Pieces shared by the transfer service's upload and download halves.
#ifndef FILESGW_SERVER_TRANSFER_INTERNAL_H_
#define FILESGW_SERVER_TRANSFER_INTERNAL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client_core/files_client.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "server/caller_auth.h"
#include "server/transfer_service.h"

namespace filesgw::server::transfer {

absl::Time DeadlineOf(const grpc::ServerContext* context);

// Where a call made for `caller` goes: its profile's client and telemetry
// (the default profile's when `caller` is null), with the caller's fairness
// key and per-call credential put on `request`.
struct Upstream {
  client_core::FilesClient* client;
  const Telemetry* telemetry;
  bool own_credential;  // the profile's credential (not the caller's own)
};
Upstream UpstreamFor(TransferService::Impl& impl, const CallerIdentity* caller,
                     client_core::ApiRequest* request);

// Runs one Files.com call to the end, cancelling it if the RPC is cancelled.
// Carries the current call's request id and trace context upstream and
// reports the result to the telemetry.
client_core::ApiResult CallApi(TransferService::Impl& impl, client_core::ApiRequest request,
                               grpc::ServerContext* context);

// The failure of `result` (not 2xx, or no answer) as a rich gRPC status.
grpc::Status FailureStatus(const client_core::ApiResult& result);

// "/files/<percent-encoded path>" for a prefix such as "/files".
std::string ApiPath(std::string_view prefix, std::string_view path);

// A Files.com File JSON object as the typed message.
absl::Status ParseFile(std::string_view json, files::v1::File* out);

// A gateway-side failure with ErrorInfo reason `reason`.
grpc::Status Local(grpc::StatusCode code, std::string_view reason, std::string_view message);

// Bytes of part buffers all uploads may hold together. Acquire waits (the
// caller's stream is not read meanwhile) until enough is free or `give_up`
// says to stop.
class BufferBudget {
 public:
  explicit BufferBudget(int64_t bytes) : free_(bytes), total_(bytes) {}
  // False when give_up() turned true first.
  template <typename GiveUp>
  bool Acquire(int64_t bytes, GiveUp give_up) {
    if (bytes > total_) bytes = total_;
    std::unique_lock<std::mutex> lock(mu_);
    while (free_ < bytes) {
      if (give_up()) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    free_ -= bytes;
    return true;
  }
  void Release(int64_t bytes) {
    if (bytes > total_) bytes = total_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_ += bytes;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t free_;
  const int64_t total_;
};

// An upload part's bytes, in memory mapped for it alone: unmapping gives the
// pages back to the system at once, where malloc kept freed 5 MiB blocks in
// its arenas (a 1 GiB upload peaked 20 % above a 100 MiB one).
class PartBuffer {
 public:
  // Null when the memory cannot be mapped.
  static std::unique_ptr<PartBuffer> Map(size_t capacity);
  ~PartBuffer();
  PartBuffer(const PartBuffer&) = delete;
  PartBuffer& operator=(const PartBuffer&) = delete;

  size_t capacity() const { return capacity_; }
  size_t size() const { return bytes_.size(); }
  // Stays where it is while the buffer lives (a request body can point at it).
  const std::string_view& bytes() const { return bytes_; }
  // At most capacity() - size() bytes.
  void Append(std::string_view data);
  void Clear() { bytes_ = std::string_view(data_, 0); }

 private:
  PartBuffer(char* data, size_t capacity) : data_(data), capacity_(capacity), bytes_(data, 0) {}
  char* const data_;
  const size_t capacity_;
  std::string_view bytes_;
};

// Part buffers of all uploads, reused (same size only) so a stream does not
// fault in fresh pages for every part. A buffer comes back when its last
// holder lets go; free ones are kept while any buffer is in use, as long as
// free and used together stay within `limit` bytes (upload_memory), and all
// are unmapped when none is in use.
class PartPool : public std::enable_shared_from_this<PartPool> {
 public:
  explicit PartPool(int64_t limit) : limit_(static_cast<size_t>(limit)) {}
  // Null when the memory cannot be mapped.
  std::shared_ptr<PartBuffer> Take(size_t capacity);
  // Buffers mapped now (in use and free), for tests.
  int mapped() const;

 private:
  void Give(PartBuffer* buffer);
  const size_t limit_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<PartBuffer>> free_;  // oldest first
  size_t free_bytes_ = 0;
  int in_use_ = 0;
  size_t in_use_bytes_ = 0;
};

class UploadSession;  // transfer_upload.cc

}  // namespace filesgw::server::transfer

namespace filesgw::server {

// Download's stream: the request in, DownloadResponse messages out as
// serialised bytes (so data chunks go out without a copy).
using DownloadWriter = grpc::ServerReaderWriter<grpc::ByteBuffer, files::v1::DownloadRequest>;

struct TransferService::Impl {
  explicit Impl(TransferDeps d)
      : deps(std::move(d)), budget(deps.options.upload_memory),
        parts(std::make_shared<transfer::PartPool>(deps.options.upload_memory)) {}

  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<files::v1::UploadRequest>* reader,
                      files::v1::UploadResponse* response);
  grpc::Status Download(grpc::ServerContext* context, const files::v1::DownloadRequest& request,
                        DownloadWriter* writer);
  grpc::Status StartResumable(grpc::ServerContext* context, const files::v1::UploadSpec& spec,
                              std::string* upload_id);
  grpc::Status Query(const std::string& upload_id, files::v1::QueryUploadStatusResponse* out);
  grpc::Status CancelResumable(const std::string& upload_id);

  TransferDeps deps;
  transfer::BufferBudget budget;
  const std::shared_ptr<transfer::PartPool> parts;
  std::atomic<int64_t> active{0};

  std::mutex uploads_mu;
  std::map<std::string, std::shared_ptr<transfer::UploadSession>> uploads;  // resumable, by id
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_TRANSFER_INTERNAL_H_
