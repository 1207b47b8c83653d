// TransferService.Download: GET /files/{path} for metadata and a presigned
// download_uri, then the URL's bytes streamed to the caller through a bounded
// queue. Expired URLs (read from the URL, or a 403) are refreshed; a dropped
// connection resumes with a Range request from the next byte; the whole-file
// md5 (else crc32) is checked when every byte was read.
//
// The bytes are copied once in user space: from curl's receive buffer into a
// chunk, which then goes out as the data of a DownloadResponse without being
// copied again (the message is written as a serialised ByteBuffer whose last
// slice is the chunk itself; gRPC hands the chunk back once it is sent).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client_core/backoff.h"
#include "client_core/checksum.h"
#include "client_core/path_util.h"
#include "client_core/url_expiry.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "server/transfer_internal.h"

namespace filesgw::server {
namespace {

using client_core::ApiRequest;
using client_core::ApiResult;
using client_core::BodyAction;
using client_core::HttpRequest;
using client_core::HttpResponse;
using client_core::HttpResult;
using transfer::Local;

constexpr absl::Duration kRefreshMargin = absl::Seconds(2);

struct Source {
  files::v1::File file;
  std::string url;
};

grpc::Status FetchSource(TransferService::Impl& impl, grpc::ServerContext* context,
                         const std::string& path, Source* out) {
  ApiRequest api;
  api.method = "GET";
  api.path_and_query = transfer::ApiPath("/files", path);
  api.idempotency = client_core::Idempotency::kIdempotent;
  ApiResult r = transfer::CallApi(impl, std::move(api), context);
  if (!r.status.ok()) return transfer::FailureStatus(r);
  absl::Status parsed = transfer::ParseFile(r.body, &out->file);
  if (!parsed.ok()) {
    return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                 absl::StrCat("GET /files answer is not a File: ", parsed.message()));
  }
  if (out->file.type() == "directory") {
    return Local(grpc::StatusCode::FAILED_PRECONDITION, "IS_A_FOLDER",
                 absl::StrCat(path, " is a folder"));
  }
  out->url = out->file.download_uri();
  out->file.clear_download_uri();  // presigned: never handed out or logged
  if (out->url.empty()) {
    return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                 "GET /files answer has no download_uri");
  }
  return grpc::Status::OK;
}

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

// Bytes from curl (transport thread) to the stream thread: curl's data is
// copied into the chunk being filled; full chunks wait in `ready` (at most
// kReadyMax, then curl pauses).
constexpr size_t kReadyMax = 2;
struct Pipe {
  explicit Pipe(std::shared_ptr<ChunkPool> p) : pool(std::move(p)) {}
  const std::shared_ptr<ChunkPool> pool;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_ptr<std::string> filling;
  std::deque<std::unique_ptr<std::string>> ready;
  bool paused = false;
  bool done = false;
  bool head_checked = false;
  std::string head_error;  // why the answer was refused (wrong range, ...)
  HttpResult result;
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

}  // namespace

grpc::Status TransferService::Impl::Download(grpc::ServerContext* context,
                                             const files::v1::DownloadRequest& request,
                                             DownloadWriter* writer) {
  const std::string path = client_core::Normalize(request.path());
  if (path.empty()) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE", "path is required");
  }
  if (request.offset() < 0 || request.length() < 0) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                 "offset and length must not be negative");
  }
  int64_t chunk = request.chunk_size() > 0 ? request.chunk_size() : deps.options.chunk_size;
  chunk = std::clamp<int64_t>(chunk, 16 << 10, 4 << 20);

  Source source;
  if (grpc::Status s = FetchSource(*this, context, path, &source); !s.ok()) return s;
  const int64_t size = source.file.size();
  if (request.offset() > size) {
    return Local(grpc::StatusCode::OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE",
                 absl::StrCat("offset ", request.offset(), " is past the end (", size, " bytes)"));
  }
  const int64_t end = request.length() > 0 ? std::min(size, request.offset() + request.length()) : size;
  const bool whole = request.offset() == 0 && end == size;

  {
    files::v1::DownloadResponse first;
    *first.mutable_metadata() = source.file;
    first.set_offset(request.offset());
    grpc::Slice bytes(first.SerializeAsString());
    if (!writer->Write(grpc::ByteBuffer(&bytes, 1))) {
      return Local(grpc::StatusCode::CANCELLED, "CANCELLED", "caller went away");
    }
  }

  // One whole-file check: Files.com's crc32 when it has one (about 0.1 vs 2.4
  // CPU seconds per GiB for md5 here), else its md5.
  const unsigned which = !source.file.crc32().empty() ? client_core::Checksums::kCrc32
                         : !source.file.md5().empty() ? client_core::Checksums::kMd5
                                                      : 0u;
  client_core::Checksums sums(which);
  int64_t pos = request.offset();
  int failures = 0, refreshes = 0;
  absl::BitGen gen;
  client_core::ClientOptions backoff = deps.client->options();
  const int max_failures = std::max(3, backoff.max_retries + 2);
  auto pool = std::make_shared<ChunkPool>(static_cast<size_t>(chunk));

  while (pos < end) {
    if (context->IsCancelled()) return Local(grpc::StatusCode::CANCELLED, "CANCELLED", "cancelled");
    if (client_core::UrlExpired(source.url, absl::Now(), kRefreshMargin)) {
      if (++refreshes > 5) {
        return Local(grpc::StatusCode::UNAVAILABLE, "DOWNLOAD_URL_EXPIRED",
                     "the download URL keeps expiring before it can be used");
      }
      Source fresh;
      if (grpc::Status s = FetchSource(*this, context, path, &fresh); !s.ok()) return s;
      if (fresh.file.size() != size || fresh.file.md5() != source.file.md5()) {
        return Local(grpc::StatusCode::ABORTED, "FILE_CHANGED",
                     "the file changed upstream during the download");
      }
      source.url = std::move(fresh.url);
      continue;
    }

    auto pipe = std::make_shared<Pipe>(pool);
    HttpRequest http;
    http.method = "GET";
    http.url = source.url;
    if (pos != 0 || end != size) http.headers.emplace_back("Range", absl::StrCat("bytes=", pos, "-", end - 1));
    http.connect_timeout = backoff.open_timeout;
    http.read_timeout = backoff.read_timeout;
    http.deadline = transfer::DeadlineOf(context);
    const int64_t expect_start = pos;
    http.body_sink = [pipe, expect_start, chunk](const HttpResponse& head,
                                                 std::string_view data) -> BodyAction {
      std::lock_guard<std::mutex> lock(pipe->mu);
      if (!pipe->head_checked) {
        pipe->head_checked = true;
        int64_t start = 0;
        if (head.status == 206) {
          if (!ContentRangeStart(head.Header("content-range"), &start) || start != expect_start) {
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
          pipe->cv.notify_one();
        }
      }
      return BodyAction::kAccept;
    };
    auto call = deps.transport->Start(std::move(http), [pipe](HttpResult r) {
      std::lock_guard<std::mutex> lock(pipe->mu);
      pipe->result = std::move(r);
      if (pipe->filling != nullptr && !pipe->filling->empty()) {
        pipe->ready.push_back(std::move(pipe->filling));
      }
      pipe->done = true;
      pipe->cv.notify_one();
    });

    // Drain the pipe into messages of `chunk` bytes.
    bool writer_gone = false, cancelled = false;
    const int64_t progress_from = pos;
    for (;;) {
      bool resume = false, finished = false;
      std::unique_ptr<std::string> data;
      {
        std::unique_lock<std::mutex> lock(pipe->mu);
        while (!pipe->done && pipe->ready.empty()) {
          if (!cancelled && context->IsCancelled()) {
            cancelled = true;
            call->Cancel();
          }
          pipe->cv.wait_for(lock, std::chrono::milliseconds(100));
        }
        if (!pipe->ready.empty()) {
          data = std::move(pipe->ready.front());
          pipe->ready.pop_front();
        }
        if (pipe->paused && pipe->ready.size() < kReadyMax) {
          pipe->paused = false;
          resume = true;
        }
        finished = pipe->done && pipe->ready.empty();
      }
      if (resume) call->Resume();
      if (data != nullptr && pos < end) {
        // Never send past `end`, whatever upstream sends.
        if (pos + static_cast<int64_t>(data->size()) > end) data->resize(end - pos);
        if (whole) sums.Update(*data);
        const int64_t n = static_cast<int64_t>(data->size());
        const int64_t at = pos;
        pos += n;
        if (cancelled || !writer->Write(pool->Frame(at, std::move(data)))) {
          writer_gone = true;
          call->Cancel();
        } else if (const auto& metrics = deps.telemetry.metrics; metrics != nullptr) {
          metrics->TransferBytes(Direction::kDownload, n);
        }
      }
      if (finished || writer_gone) break;
    }
    if (writer_gone || cancelled) {
      // Wait for the transport to let go of the pipe's sink before leaving.
      std::unique_lock<std::mutex> lock(pipe->mu);
      pipe->cv.wait(lock, [&] { return pipe->done; });
      return Local(grpc::StatusCode::CANCELLED, "CANCELLED", "the caller cancelled the download");
    }

    const HttpResult& r = pipe->result;
    if (pos > progress_from) failures = 0;  // progress: start counting again
    if (!pipe->head_error.empty()) {
      return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RANGE_MISMATCH", pipe->head_error);
    }
    if (r.transport.ok() && r.response.status >= 200 && r.response.status < 300) {
      if (pos < end) {
        // A short body without a transport error: resume from where it stopped.
        if (++failures > max_failures) {
          return Local(grpc::StatusCode::UNAVAILABLE, "UPSTREAM_SHORT_BODY",
                       "the download keeps ending early");
        }
        if (const auto& metrics = deps.telemetry.metrics; metrics != nullptr) {
          metrics->UpstreamRetries("/files.v1.TransferService/Download", 1);
        }
      }
      continue;
    }
    if (r.transport.ok() && r.response.status == 403) {
      // The storage host's answer to an expired URL: get a fresh one.
      if (++refreshes > 5) {
        return Local(grpc::StatusCode::PERMISSION_DENIED, "DOWNLOAD_URL_REFUSED",
                     "the storage host keeps refusing fresh download URLs");
      }
      Source fresh;
      if (grpc::Status s = FetchSource(*this, context, path, &fresh); !s.ok()) return s;
      if (fresh.file.size() != size || fresh.file.md5() != source.file.md5()) {
        return Local(grpc::StatusCode::ABORTED, "FILE_CHANGED",
                     "the file changed upstream during the download");
      }
      source.url = std::move(fresh.url);
      continue;
    }
    if (!Retryable(r) || ++failures > max_failures) {
      if (!r.transport.ok()) {
        return Local(grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE",
                     absl::StrCat("download failed at byte ", pos, ": ", r.transport.message()));
      }
      return Local(grpc::StatusCode::UNAVAILABLE, "UPSTREAM_HTTP_ERROR",
                   absl::StrCat("download URL answered HTTP ", r.response.status, " at byte ", pos));
    }
    if (const auto& metrics = deps.telemetry.metrics; metrics != nullptr) {
      metrics->UpstreamRetries("/files.v1.TransferService/Download", 1);
    }
    absl::Duration wait = client_core::Backoff(failures, backoff, gen);
    if (transfer::DeadlineOf(context) < absl::Now() + wait) {
      return Local(grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                   absl::StrCat("no time left to retry the download at byte ", pos));
    }
    absl::SleepFor(wait);
  }

  if (whole) {
    if (sums.has(client_core::Checksums::kMd5)) {
      if (!absl::EqualsIgnoreCase(sums.Md5Hex(), source.file.md5())) {
        return Local(grpc::StatusCode::DATA_LOSS, "CHECKSUM_MISMATCH",
                     absl::StrCat("downloaded bytes have md5 ", sums.Md5Hex(), ", Files.com says ",
                                  source.file.md5()));
      }
    } else if (sums.has(client_core::Checksums::kCrc32)) {
      if (!absl::EqualsIgnoreCase(client_core::Crc32Hex(sums.crc32()), source.file.crc32())) {
        return Local(grpc::StatusCode::DATA_LOSS, "CHECKSUM_MISMATCH",
                     absl::StrCat("downloaded bytes have crc32 ", client_core::Crc32Hex(sums.crc32()),
                                  ", Files.com says ", source.file.crc32()));
      }
    }
  }
  return grpc::Status::OK;
}

}  // namespace filesgw::server
