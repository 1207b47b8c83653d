// Pieces shared by the transfer service's reactors (transfer_upload.cc,
// transfer_download.cc, transfer_service.cc): the per-call scope (who calls,
// its admission, request id, metrics, closing log line), the strand every
// reactor serialises its events on, asynchronous Files.com calls, and the
// gateway-wide upload memory budget.
//
// Threading: nothing here blocks. gRPC reactions, curl answers (transport
// thread) and timers (scheduler thread) each post a closure to the stream's
// Strand; closures of one stream run one at a time, on whichever thread
// posted first, so a stream's state needs no lock of its own.
#ifndef FILESGW_SERVER_TRANSFER_INTERNAL_H_
#define FILESGW_SERVER_TRANSFER_INTERNAL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client_core/files_client.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/caller_auth.h"
#include "server/caller_quota.h"
#include "server/metrics.h"
#include "server/request_context.h"
#include "server/transfer_service.h"

namespace filesgw::server::transfer {

absl::Time DeadlineOf(const grpc::ServerContextBase* context);

// Runs posted closures one at a time, in order, on the posting threads (the
// first poster runs the queue; later posters only enqueue). Closures must not
// block.
class Strand {
 public:
  void Run(std::function<void()> fn);

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
  bool running_ = false;
};

// What an upstream Files.com call made for a gRPC call needs to know of it.
struct CallInfo {
  std::shared_ptr<const RequestContext> rc;
  std::shared_ptr<const CallerIdentity> caller;  // null: not authenticated
  std::string peer;
  absl::Time deadline = absl::InfiniteFuture();
  // The per-caller shares key ("caller:<name>" or the connection's peer).
  std::string quota_key;
  const std::string& caller_name() const;
};

// One TransferService call as seen from outside: authentication and
// admission (kCall, and kStream for streams) decided at construction, before
// any message is read; its request id (returned as initial metadata);
// metrics; and the closing log line.
class CallScope {
 public:
  CallScope(TransferService::Impl& impl, grpc::CallbackServerContext* context,
            const char* method, std::optional<Direction> stream = std::nullopt);
  ~CallScope();

  // OK, or why the call is refused (nothing is read or sent upstream).
  const grpc::Status& admitted() const { return admitted_; }
  const CallInfo& info() const { return info_; }
  const std::string& full_method() const { return full_method_; }

  // Records the outcome (metrics, log) once; returns `status`.
  grpc::Status Finish(grpc::Status status);

 private:
  TransferService::Impl& impl_;
  const std::string full_method_;
  const std::optional<Direction> stream_;
  const absl::Time started_;
  CallInfo info_;
  grpc::Status admitted_;
  CallerQuotas::Slot call_slot_;
  CallerQuotas::Slot stream_slot_;
  bool finished_ = false;
};

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

// Starts one Files.com call for the gRPC call `info` (its request id, trace
// context, caller, deadline); `done` runs once, on a transport or scheduler
// thread, after the telemetry has seen the result. Cancel the returned call
// to abort it (`done` then runs CANCELLED).
std::shared_ptr<client_core::ApiCall> CallApi(TransferService::Impl& impl, const CallInfo& info,
                                              client_core::ApiRequest request,
                                              std::function<void(client_core::ApiResult)> done);

// The failure of `result` (not 2xx, or no answer) as a rich gRPC status.
grpc::Status FailureStatus(const client_core::ApiResult& result);

// "/files/<percent-encoded path>" for a prefix such as "/files".
std::string ApiPath(std::string_view prefix, std::string_view path);

// A Files.com File JSON object as the typed message.
absl::Status ParseFile(std::string_view json, files::v1::File* out);

// A gateway-side failure with ErrorInfo reason `reason`.
grpc::Status Local(grpc::StatusCode code, std::string_view reason, std::string_view message);

// The status of a stream that moved no byte for the idle timeout (and counts
// the rejection).
grpc::Status IdleStatus(TransferService::Impl& impl, const char* what);

// Bytes of upload data all uploads may hold together. Never waits: a stream
// that cannot take stops reading its caller and tries again later.
//
// Memory is charged as data arrives, so the budget can fill with parts that
// are only partly received; if no part is in flight anywhere, nothing would
// ever free any. One stream at a time may then go over the budget to finish
// its current part (the overdraft): the gateway holds at most the budget plus
// one part and one message, and some upload always progresses.
class MemoryBudget {
 public:
  explicit MemoryBudget(int64_t bytes) : free_(bytes), total_(bytes) {}
  // A request larger than the whole budget is granted when nothing else is
  // held, so one oversized message cannot wedge its stream.
  bool TryTake(int64_t bytes);
  // Takes `bytes` beyond the budget for `holder` when no part is in flight
  // and no other stream holds the overdraft (or `holder` already does).
  bool TryOverdraft(const void* holder, int64_t bytes);
  // `holder` dispatched its part (or ended): another stream may overdraw.
  void EndOverdraft(const void* holder);
  void Give(int64_t bytes);
  int64_t free() const;

  // Part PUTs in flight over all uploads (they will give memory back).
  std::atomic<int> parts_in_flight{0};

 private:
  mutable std::mutex mu_;
  int64_t free_;
  const int64_t total_;
  const void* overdraft_ = nullptr;
};

// An upload part's bytes, in memory mapped for it alone: unmapping gives the
// pages back to the system at once, where malloc kept freed 5 MiB blocks in
// its arenas (a 1 GiB upload peaked 20 % above a 100 MiB one). Pages are
// touched only as data arrives, so a part that holds 1 byte costs one page.
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
// map fresh pages for every part. A buffer comes back when its last holder
// lets go; free ones are kept while any buffer is in use, as long as free and
// used together stay within `limit` bytes (upload_memory), and all are
// unmapped when none is in use.
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

class UploadSession;     // transfer_upload_session.h
class ResumableRegistry;  // transfer_resumable.h
class SharedUploads;      // transfer_shared_uploads.h

// The reactors (transfer_upload.cc, transfer_download.cc).
grpc::ServerReadReactor<files::v1::UploadRequest>* NewUploadReactor(
    TransferService::Impl& impl, grpc::CallbackServerContext* context,
    files::v1::UploadResponse* response);
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewDownloadReactor(
    TransferService::Impl& impl, grpc::CallbackServerContext* context);

}  // namespace filesgw::server::transfer

namespace filesgw::server {

struct TransferService::Impl {
  explicit Impl(TransferDeps d);
  ~Impl();

  TransferDeps deps;
  transfer::MemoryBudget budget;
  const std::shared_ptr<transfer::PartPool> parts;
  std::atomic<int64_t> active{0};
  std::unique_ptr<transfer::ResumableRegistry> resumable;
  // Set with --redis-url: resumable uploads live in Redis instead of `resumable`.
  std::unique_ptr<transfer::SharedUploads> shared;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_TRANSFER_INTERNAL_H_
