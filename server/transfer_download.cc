// TransferService.Download as a raw bidi reactor: GET /files/{path} for
// metadata and a presigned download_uri, then the URL's bytes streamed to the
// caller through a bounded pipe. Expired URLs (read from the URL, or a 403)
// are refreshed; a dropped connection resumes with a Range request from the
// next byte; the whole-file md5 (else crc32) is checked when every byte was
// read.
//
// Flow control: curl's bytes go into at most kReadyMax chunks; then the body
// sink pauses curl (the socket is not read, TCP slows the storage host) until
// gRPC has taken a chunk. A caller that does not read for
// download_stall_release loses the storage connection (the GET is cancelled,
// its unsent bytes dropped); when it reads again a Range GET resumes from the
// next byte it has not been sent.
//
// The bytes are copied once in user space: from curl's receive buffer into a
// chunk, which then goes out as the data of a DownloadResponse without being
// copied again (the message is written as a serialised ByteBuffer whose last
// slice is the chunk itself; gRPC hands the chunk back once it is sent).
#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client_core/backoff.h"
#include "client_core/checksum.h"
#include "client_core/path_util.h"
#include "client_core/url_expiry.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/slice.h"
#include "server/transfer_internal.h"
#include "server/transfer_shares.h"

namespace filesgw::server::transfer {
namespace {

using client_core::ApiRequest;
using client_core::ApiResult;
using client_core::BodyAction;
using client_core::HttpRequest;
using client_core::HttpResponse;
using client_core::HttpResult;

constexpr absl::Duration kRefreshMargin = absl::Seconds(2);

// Chunk buffers of one download, reused: filled on the transport thread,
// lent to gRPC as a slice, given back when gRPC has sent them. At most
// kReadyMax + 2 exist at a time (filling, queued, one being written).
class ChunkPool : public std::enable_shared_from_this<ChunkPool> {
 public:
  explicit ChunkPool(size_t capacity) : capacity_(capacity) {}

  std::unique_ptr<std::string> Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto chunk = std::move(free_.back());
        free_.pop_back();
        chunk->clear();
        return chunk;
      }
    }
    auto chunk = std::make_unique<std::string>();
    chunk->reserve(capacity_);
    return chunk;
  }

  // `chunk` as a DownloadResponse {offset, data}: a few header bytes, then the
  // chunk itself (no copy), returned here when gRPC lets go of it.
  grpc::ByteBuffer Frame(int64_t offset, std::unique_ptr<std::string> chunk) {
    unsigned char header[24];
    size_t n = 0;
    auto varint = [&](uint64_t v) {
      while (v >= 0x80) {
        header[n++] = static_cast<unsigned char>(v | 0x80);
        v >>= 7;
      }
      header[n++] = static_cast<unsigned char>(v);
    };
    if (offset != 0) {
      header[n++] = (2 << 3) | 0;  // offset = 2, varint
      varint(static_cast<uint64_t>(offset));
    }
    header[n++] = (3 << 3) | 2;  // data = 3, length-delimited
    varint(chunk->size());
    auto* lent = new Lent{shared_from_this(), std::move(chunk)};
    grpc::Slice slices[2] = {
        grpc::Slice(header, n),
        grpc::Slice(lent->chunk->data(), lent->chunk->size(), &Lent::Return, lent)};
    return grpc::ByteBuffer(slices, 2);
  }

 private:
  struct Lent {
    std::shared_ptr<ChunkPool> pool;
    std::unique_ptr<std::string> chunk;
    static void Return(void* p) {
      auto* lent = static_cast<Lent*>(p);
      lent->pool->Give(std::move(lent->chunk));
      delete lent;
    }
  };
  void Give(std::unique_ptr<std::string> chunk) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(chunk));
  }

  const size_t capacity_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::string>> free_;
};

// "bytes 100-199/1000" -> 100.
bool ContentRangeStart(const std::string* header, int64_t* start) {
  if (header == nullptr) return false;
  absl::string_view v(header->data(), header->size());
  if (!absl::ConsumePrefix(&v, "bytes ")) return false;
  size_t dash = v.find('-');
  return dash != absl::string_view::npos && absl::SimpleAtoi(v.substr(0, dash), start);
}

bool Retryable(const HttpResult& r) {
  if (!r.transport.ok()) return absl::IsUnavailable(r.transport) || absl::IsDeadlineExceeded(r.transport);
  int s = r.response.status;
  return s == 429 || (s >= 500 && s != 501);
}

struct Source {
  files::v1::File file;
  std::string url;
};

// GET /files/{path}: the file's metadata and a fresh download URL.
std::shared_ptr<client_core::ApiCall> FetchSource(
    TransferService::Impl& impl, const CallInfo& info, const std::string& path,
    std::function<void(grpc::Status, Source)> done) {
  ApiRequest api;
  api.method = "GET";
  api.path_and_query = ApiPath("/files", path);
  api.idempotency = client_core::Idempotency::kIdempotent;
  return CallApi(impl, info, std::move(api), [path, done = std::move(done)](ApiResult r) {
    Source out;
    if (!r.status.ok()) return done(FailureStatus(r), std::move(out));
    absl::Status parsed = ParseFile(r.body, &out.file);
    if (!parsed.ok()) {
      return done(Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                        absl::StrCat("GET /files answer is not a File: ", parsed.message())),
                  std::move(out));
    }
    if (out.file.type() == "directory") {
      return done(Local(grpc::StatusCode::FAILED_PRECONDITION, "IS_A_FOLDER",
                        absl::StrCat(path, " is a folder")),
                  std::move(out));
    }
    out.url = out.file.download_uri();
    out.file.clear_download_uri();  // presigned: never handed out or logged
    if (out.url.empty()) {
      return done(Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                        "GET /files answer has no download_uri"),
                  std::move(out));
    }
    done(grpc::Status::OK, std::move(out));
  });
}

// Bytes from curl (transport thread) to the stream: curl's data is copied
// into the chunk being filled; full chunks wait in `ready` (at most
// kReadyMax, then curl pauses). `notify` tells the stream (never under `mu`).
constexpr size_t kReadyMax = 2;
struct Pipe {
  explicit Pipe(std::shared_ptr<ChunkPool> p) : pool(std::move(p)) {}
  const std::shared_ptr<ChunkPool> pool;
  std::function<void()> notify;
  std::mutex mu;
  std::unique_ptr<std::string> filling;
  std::deque<std::unique_ptr<std::string>> ready;
  bool paused = false;
  bool done = false;
  bool head_checked = false;
  std::string head_error;  // why the answer was refused (wrong range, ...)
  HttpResult result;
};

class DownloadStream : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                       public std::enable_shared_from_this<DownloadStream> {
 public:
  DownloadStream(TransferService::Impl& impl, grpc::CallbackServerContext* context)
      : impl_(impl), scope_(impl, context, "Download", Direction::kDownload),
        started_(absl::Now()), backoff_(impl.deps.client->options()),
        max_failures_(std::max(3, backoff_.max_retries + 2)), shares_(impl, scope_.info()),
        timer_(*impl.deps.scheduler) {}

  void Begin() {
    self_ = shared_from_this();
    if (!scope_.admitted().ok()) return End(scope_.admitted());  // nothing read
    Post([this] {
      reading_ = true;
      StartRead(&request_bytes_);
      ArmTick();
    });
  }

  void OnReadDone(bool ok) override {
    Post([this, ok] { HandleRequest(ok); });
  }
  void OnWriteDone(bool ok) override {
    Post([this, ok] { Written(ok); });
  }
  void OnCancel() override {
    Post([this] {
      End(Local(grpc::StatusCode::CANCELLED, "CANCELLED", "the caller cancelled the download"));
    });
  }
  void OnDone() override {
    Post([this] { self_.reset(); });
  }

 private:
  void Post(std::function<void()> fn) {
    auto self = shared_from_this();
    strand_.Run([self, fn = std::move(fn)] { fn(); });
  }
  const CallInfo& info() const { return scope_.info(); }

  void HandleRequest(bool ok) {
    reading_ = false;
    if (ended_) return;
    if (!ok) {
      return End(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                       "the download request did not arrive"));
    }
    files::v1::DownloadRequest request;
    grpc::ProtoBufferReader reader(&request_bytes_);
    if (!request.ParseFromZeroCopyStream(&reader)) {
      return End(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                       "the download request does not parse"));
    }
    request_bytes_.Clear();
    if (absl::Status bad = client_core::CheckRemotePath(request.path()); !bad.ok()) {
      return End(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                       std::string(bad.message())));
    }
    path_ = client_core::Normalize(request.path());
    if (path_.empty()) {
      return End(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                       "path is required"));
    }
    if (request.offset() < 0 || request.length() < 0) {
      return End(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                       "offset and length must not be negative"));
    }
    int64_t chunk =
        request.chunk_size() > 0 ? request.chunk_size() : impl_.deps.options.chunk_size;
    chunk_ = std::clamp<int64_t>(chunk, 16 << 10, 4 << 20);
    pool_ = std::make_shared<ChunkPool>(static_cast<size_t>(chunk_));
    pos_ = request.offset();
    length_ = request.length();
    api_busy_ = true;
    auto self = shared_from_this();
    api_call_ = FetchSource(impl_, info(), path_, [self](grpc::Status s, Source source) {
      self->Post([self, s, source = std::move(source)]() mutable {
        self->Opened(s, std::move(source));
      });
    });
  }

  void Opened(grpc::Status status, Source source) {
    api_busy_ = false;
    api_call_.reset();
    if (ended_) return;
    if (!status.ok()) return End(status);
    source_ = std::move(source);
    const int64_t size = source_.file.size();
    if (pos_ > size) {
      return End(Local(grpc::StatusCode::OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE",
                       absl::StrCat("offset ", pos_, " is past the end (", size, " bytes)")));
    }
    end_ = length_ > 0 ? std::min(size, pos_ + length_) : size;
    whole_ = pos_ == 0 && end_ == size;
    // One whole-file check: Files.com's crc32 when it has one (about 0.1 vs
    // 2.4 CPU seconds per GiB for md5 here), else its md5.
    const unsigned which = !source_.file.crc32().empty() ? client_core::Checksums::kCrc32
                           : !source_.file.md5().empty() ? client_core::Checksums::kMd5
                                                         : 0u;
    sums_ = client_core::Checksums(which);
    files::v1::DownloadResponse first;
    *first.mutable_metadata() = source_.file;
    first.set_offset(pos_);
    grpc::Slice bytes(first.SerializeAsString());
    out_ = grpc::ByteBuffer(&bytes, 1);
    Write();
    Pump();
  }

  void Write() {
    writing_ = true;
    write_started_ = absl::Now();
    StartWrite(&out_);
  }

  void Written(bool ok) {
    writing_ = false;
    out_.Clear();
    if (ended_) return;
    if (!ok) {
      return End(Local(grpc::StatusCode::CANCELLED, "CANCELLED", "the caller went away"));
    }
    released_ = false;  // the caller reads again
    Pump();
  }

  // Moves the download as far as it can go now; called after every event.
  void Pump() {
    if (ended_ || end_ < 0) return;
    if (!writing_ && pipe_ != nullptr) {
      std::unique_ptr<std::string> data;
      bool resume = false, finished = false;
      {
        std::lock_guard<std::mutex> lock(pipe_->mu);
        if (!pipe_->ready.empty()) {
          data = std::move(pipe_->ready.front());
          pipe_->ready.pop_front();
        }
        if (pipe_->paused && pipe_->ready.size() < kReadyMax) {
          pipe_->paused = false;
          resume = true;
        }
        finished = pipe_->done && pipe_->ready.empty() && data == nullptr;
      }
      if (resume && call_ != nullptr) call_->Resume();
      if (data != nullptr && pos_ < end_) {
        // Never send past `end`, whatever upstream sends.
        if (pos_ + static_cast<int64_t>(data->size()) > end_) data->resize(end_ - pos_);
        if (whole_) sums_.Update(*data);
        const int64_t n = static_cast<int64_t>(data->size());
        out_ = pool_->Frame(pos_, std::move(data));
        pos_ += n;
        if (const auto& metrics = impl_.deps.telemetry.metrics; metrics != nullptr) {
          metrics->TransferBytes(Direction::kDownload, n);
        }
        Write();
      } else if (finished) {
        GetEnded();
        if (ended_) return;
      }
    }
    if (pos_ >= end_) {
      if (!writing_) Complete();
      return;
    }
    if (pipe_ == nullptr && !api_busy_ && !(released_ && writing_) && absl::Now() >= retry_at_) {
      StartGet();
    }
  }

  void StartGet() {
    if (client_core::UrlExpired(source_.url, absl::Now(), kRefreshMargin)) return Refresh();
    if (!shares_.TakeUpstream(&get_slot_)) {
      // Wait for one of the caller's own requests to end.
      return Arm(shares_.poll_delay());
    }
    auto pipe = std::make_shared<Pipe>(pool_);
    std::weak_ptr<DownloadStream> weak = weak_from_this();
    pipe->notify = [weak] {
      if (auto self = weak.lock()) self->Post([self] { self->Pump(); });
    };
    HttpRequest http;
    http.method = "GET";
    http.url = source_.url;
    const int64_t size = source_.file.size();
    if (pos_ != 0 || end_ != size) {
      http.headers.emplace_back("Range", absl::StrCat("bytes=", pos_, "-", end_ - 1));
    }
    http.connect_timeout = backoff_.open_timeout;
    http.read_timeout = backoff_.read_timeout;
    http.deadline = info().deadline;
    const int64_t expect_start = pos_;
    const int64_t chunk = chunk_;
    http.body_sink = [pipe, expect_start, chunk](const HttpResponse& head,
                                                 std::string_view data) -> BodyAction {
      bool notify = false;
      {
        std::lock_guard<std::mutex> lock(pipe->mu);
        if (!pipe->head_checked) {
          pipe->head_checked = true;
          int64_t start = 0;
          if (head.status == 206) {
            if (!ContentRangeStart(head.Header("content-range"), &start) ||
                start != expect_start) {
              pipe->head_error = "upstream answered a different range than asked";
            }
          } else if (expect_start != 0) {
            pipe->head_error = "upstream ignored the Range request";
          }
        }
        if (!pipe->head_error.empty()) return BodyAction::kAbort;
        if (pipe->ready.size() >= kReadyMax) {
          pipe->paused = true;
          return BodyAction::kPause;
        }
        // Cut at `chunk` so no message outgrows what the caller asked for (or
        // gRPC's 4 MiB default receive limit).
        while (!data.empty()) {
          if (pipe->filling == nullptr) pipe->filling = pipe->pool->Take();
          size_t take = std::min(data.size(), static_cast<size_t>(chunk) - pipe->filling->size());
          pipe->filling->append(data.data(), take);
          data.remove_prefix(take);
          if (static_cast<int64_t>(pipe->filling->size()) == chunk) {
            pipe->ready.push_back(std::move(pipe->filling));
            notify = true;
          }
        }
      }
      if (notify) pipe->notify();
      return BodyAction::kAccept;
    };
    pipe_ = pipe;
    progress_from_ = pos_;
    call_ = impl_.deps.transport->Start(std::move(http), [pipe](HttpResult r) {
      {
        std::lock_guard<std::mutex> lock(pipe->mu);
        pipe->result = std::move(r);
        if (pipe->filling != nullptr && !pipe->filling->empty()) {
          pipe->ready.push_back(std::move(pipe->filling));
        }
        pipe->done = true;
      }
      pipe->notify();
    });
  }

  // The GET's bytes are all sent on: resume, refresh, back off or fail.
  void GetEnded() {
    auto pipe = std::move(pipe_);
    call_.reset();
    get_slot_.Release();
    const HttpResult& r = pipe->result;
    if (pos_ > progress_from_) failures_ = 0;  // progress: start counting again
    if (!pipe->head_error.empty()) {
      return End(Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RANGE_MISMATCH", pipe->head_error));
    }
    if (r.transport.ok() && r.response.status >= 200 && r.response.status < 300) {
      if (pos_ < end_) {
        // A short body without a transport error: resume from where it stopped.
        if (++failures_ > max_failures_) {
          return End(Local(grpc::StatusCode::UNAVAILABLE, "UPSTREAM_SHORT_BODY",
                           "the download keeps ending early"));
        }
        CountRetry();
      }
      return;
    }
    if (r.transport.ok() && r.response.status == 403) {
      // The storage host's answer to an expired URL: get a fresh one.
      return Refresh();
    }
    if (!Retryable(r) || ++failures_ > max_failures_) {
      if (!r.transport.ok()) {
        return End(Local(grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE",
                         absl::StrCat("download failed at byte ", pos_, ": ",
                                      r.transport.message())));
      }
      return End(Local(grpc::StatusCode::UNAVAILABLE, "UPSTREAM_HTTP_ERROR",
                       absl::StrCat("download URL answered HTTP ", r.response.status,
                                    " at byte ", pos_)));
    }
    CountRetry();
    absl::BitGen gen;
    const absl::Duration wait = client_core::Backoff(failures_, backoff_, gen);
    if (info().deadline < absl::Now() + wait) {
      return End(Local(grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                       absl::StrCat("no time left to retry the download at byte ", pos_)));
    }
    retry_at_ = absl::Now() + wait;
    Arm(wait);
  }

  void CountRetry() {
    if (const auto& metrics = impl_.deps.telemetry.metrics; metrics != nullptr) {
      metrics->UpstreamRetries(scope_.full_method(), 1);
    }
  }

  // A fresh download URL (the old one expired or was refused). One that
  // stays expired or refused after a few is UNAVAILABLE: the caller cannot
  // fix it.
  void Refresh() {
    if (++refreshes_ > 5) {
      return End(Local(grpc::StatusCode::UNAVAILABLE, "DOWNLOAD_URL_EXPIRED",
                       "the storage host keeps refusing fresh download URLs as expired"));
    }
    api_busy_ = true;
    auto self = shared_from_this();
    api_call_ = FetchSource(impl_, info(), path_, [self](grpc::Status s, Source fresh) {
      self->Post([self, s, fresh = std::move(fresh)]() mutable {
        self->api_busy_ = false;
        self->api_call_.reset();
        if (self->ended_) return;
        if (!s.ok()) return self->End(s);
        if (fresh.file.size() != self->source_.file.size() ||
            fresh.file.md5() != self->source_.file.md5()) {
          return self->End(Local(grpc::StatusCode::ABORTED, "FILE_CHANGED",
                                 "the file changed upstream during the download"));
        }
        self->source_.url = std::move(fresh.url);
        self->Pump();
      });
    });
  }

  void Complete() {
    if (whole_) {
      if (sums_.has(client_core::Checksums::kMd5)) {
        if (!absl::EqualsIgnoreCase(sums_.Md5Hex(), source_.file.md5())) {
          return End(Local(grpc::StatusCode::DATA_LOSS, "CHECKSUM_MISMATCH",
                           absl::StrCat("downloaded bytes have md5 ", sums_.Md5Hex(),
                                        ", Files.com says ", source_.file.md5())));
        }
      } else if (sums_.has(client_core::Checksums::kCrc32)) {
        if (!absl::EqualsIgnoreCase(client_core::Crc32Hex(sums_.crc32()), source_.file.crc32())) {
          return End(Local(grpc::StatusCode::DATA_LOSS, "CHECKSUM_MISMATCH",
                           absl::StrCat("downloaded bytes have crc32 ",
                                        client_core::Crc32Hex(sums_.crc32()), ", Files.com says ",
                                        source_.file.crc32())));
        }
      }
    }
    End(grpc::Status::OK);
  }

  absl::Duration TickEvery() const {
    const auto& o = impl_.deps.options;
    return std::clamp(std::min(o.stream_idle_timeout, o.download_stall_release) / 4,
                      absl::Milliseconds(5), absl::Seconds(1));
  }
  void ArmTick() { Arm(TickEvery()); }

  void Arm(absl::Duration after) {
    std::weak_ptr<DownloadStream> weak = weak_from_this();
    timer_.Arm(after, [weak] {
      if (auto self = weak.lock()) self->Post([self] { self->OnTimer(); });
    });
  }

  void OnTimer() {
    timer_.Fired();
    if (ended_) return;
    const absl::Time now = absl::Now();
    const auto& o = impl_.deps.options;
    if (reading_ && now - started_ >= o.stream_idle_timeout) {
      return End(IdleStatus(impl_, "no download request arrived"));
    }
    if (writing_ && now - write_started_ >= o.stream_idle_timeout) {
      return End(IdleStatus(impl_, "the caller read nothing"));
    }
    if (writing_ && pipe_ != nullptr && !released_ &&
        now - write_started_ >= o.download_stall_release) {
      // The caller stopped reading: give the storage connection back. What
      // the pipe holds is dropped; the next GET starts at pos_.
      released_ = true;
      if (call_ != nullptr) call_->Cancel();
      call_.reset();
      pipe_.reset();
      get_slot_.Release();
    }
    Pump();
    if (!ended_) ArmTick();
  }

  void End(grpc::Status status) {
    if (ended_) return;
    ended_ = true;
    timer_.Stop();
    if (call_ != nullptr) call_->Cancel();
    if (api_call_ != nullptr) api_call_->Cancel();
    call_.reset();
    pipe_.reset();
    get_slot_.Release();
    Finish(scope_.Finish(std::move(status)));
  }

  TransferService::Impl& impl_;
  CallScope scope_;
  Strand strand_;
  std::shared_ptr<DownloadStream> self_;  // until gRPC is done with the reactor
  const absl::Time started_;
  const client_core::ClientOptions backoff_;
  const int max_failures_;

  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer out_;  // the write in progress
  bool reading_ = false;
  bool writing_ = false;
  absl::Time write_started_;
  bool ended_ = false;
  bool api_busy_ = false;
  std::shared_ptr<client_core::ApiCall> api_call_;

  std::string path_;
  Source source_;
  int64_t chunk_ = 0;
  std::shared_ptr<ChunkPool> pool_;
  int64_t pos_ = 0;      // the next byte to send
  int64_t length_ = 0;
  int64_t end_ = -1;     // known once the metadata arrived
  bool whole_ = false;
  client_core::Checksums sums_{0u};

  std::shared_ptr<Pipe> pipe_;  // the GET in progress, or its unsent rest
  std::shared_ptr<client_core::HttpCall> call_;
  CallerQuotas::Slot get_slot_;
  int64_t progress_from_ = 0;
  int failures_ = 0;
  int refreshes_ = 0;
  bool released_ = false;  // stalled: the GET was given up until the caller reads
  absl::Time retry_at_ = absl::InfinitePast();

  StreamShares shares_;  // upstream slots only
  StreamTimer timer_;
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewDownloadReactor(
    TransferService::Impl& impl, grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<DownloadStream>(impl, context);
  stream->Begin();
  return stream.get();
}

}  // namespace filesgw::server::transfer
