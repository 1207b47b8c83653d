#include "clients/cpp/transfer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <mutex>
#include <ostream>

#include "clients/cpp/client.h"
#include "clients/cpp/internal/core.h"

namespace filesgw::client {

namespace internal {

struct UploadState {
  std::shared_ptr<const ClientCore> core;  // keeps the channel open
  grpc::ClientContext context;
  files::v1::UploadResponse response;
  std::unique_ptr<grpc::ClientWriter<files::v1::UploadRequest>> writer;
  std::size_t chunk = 0;
  std::string buffer;
  std::atomic<int64_t> written{0};
  std::exception_ptr error;  // sticky
  std::mutex mu;             // Abort may come from another thread
  bool finished = false;     // Finish was called
  bool committed = false;
  bool aborted = false;
};

struct DownloadState {
  std::shared_ptr<const ClientCore> core;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<files::v1::DownloadResponse>> reader;
  int64_t start = 0;
  bool whole = false;
  std::optional<int64_t> size;
  std::atomic<int64_t> received{0};
  std::string pending;
  std::size_t pos = 0;
  bool eof = false;
  bool finished = false;
  std::exception_ptr error;  // sticky
  std::atomic<bool> cancelled{false};
};

}  // namespace internal

namespace {

constexpr std::size_t kDefaultChunk = 1 << 20;

using internal::DownloadState;
using internal::UploadState;

void Validate(const TransferOptions& o, bool upload) {
  std::string wrong;
  auto note = [&wrong](bool given, const char* name) {
    if (given) wrong += (wrong.empty() ? "" : ", ") + std::string(name);
  };
  if (upload) {
    note(o.offset != 0, "offset");
    note(o.length != 0, "length");
  } else {
    note(o.mkdir_parents, "mkdir_parents");
    note(!o.provided_mtime.empty(), "provided_mtime");
    note(o.expected_size.has_value(), "expected_size");
    note(!o.expected_md5.empty(), "expected_md5");
    note(o.expected_crc32c.has_value(), "expected_crc32c");
    note(o.no_overwrite, "no_overwrite");
  }
  if (!wrong.empty()) {
    ThrowError("InvalidParameterError", std::string(upload ? "download" : "upload") +
                                            " options given to " +
                                            (upload ? "an upload: " : "a download: ") + wrong);
  }
  if (o.offset < 0 || o.length < 0) {
    ThrowError("InvalidParameterError", "offset and length must not be negative");
  }
}

Model FileModel(const files::v1::File& file) {
  return Model(std::make_shared<const files::v1::File>(file));
}

}  // namespace

// --- RemoteFile -----------------------------------------------------------

RemoteFile::RemoteFile(std::string remote, std::unique_ptr<UploadState> upload,
                       std::unique_ptr<DownloadState> download)
    : remote_(std::move(remote)), upload_(std::move(upload)), download_(std::move(download)) {}

RemoteFile::RemoteFile(RemoteFile&&) noexcept = default;

RemoteFile& RemoteFile::operator=(RemoteFile&& other) noexcept {
  if (this != &other) {
    try {
      Abort();
      Close();
    } catch (const Error&) {
      // The abandoned stream's own failure is of no interest any more.
    }
    remote_ = std::move(other.remote_);
    upload_ = std::move(other.upload_);
    download_ = std::move(other.download_);
    metadata_ = std::move(other.metadata_);
    md5_ = std::move(other.md5_);
    crc32c_ = other.crc32c_;
  }
  return *this;
}

RemoteFile::~RemoteFile() {
  try {
    Abort();  // a no-op for a committed upload
    Close();
  } catch (const Error&) {
    // Nothing was committed, which is what an abandoned file means.
  }
}

int64_t RemoteFile::bytes_transferred() const {
  if (download_) return download_->received.load();
  if (upload_) return upload_->written.load();
  return 0;
}

void RemoteFile::Write(std::string_view data) {
  if (!upload_) ThrowError("InvalidRequestError", remote_ + " is open for reading");
  UploadState& u = *upload_;
  {
    std::lock_guard<std::mutex> lock(u.mu);
    if (u.aborted) ThrowError("CancelledError", "the upload of " + remote_ + " was aborted");
    if (u.finished) ThrowError("InvalidRequestError", "write to " + remote_ + " after Close");
  }
  if (u.error) std::rethrow_exception(u.error);
  auto send = [&](std::string_view piece) {
    files::v1::UploadRequest request;
    request.set_data(piece.data(), piece.size());
    if (u.writer->Write(request)) return;
    // The gateway ended the stream; its status says why.
    grpc::Status status = u.writer->Finish();
    {
      std::lock_guard<std::mutex> lock(u.mu);
      u.finished = true;
    }
    u.error = status.ok() ? MakeError("GatewayError",
                                      "the upload of " + remote_ + " ended before it was closed")
                          : ErrorFromStatus(status);
    std::rethrow_exception(u.error);
  };
  std::size_t consumed = 0;
  if (!u.buffer.empty()) {
    consumed = std::min(u.chunk - u.buffer.size(), data.size());
    u.buffer.append(data.substr(0, consumed));
    if (u.buffer.size() == u.chunk) {
      send(u.buffer);
      u.buffer.clear();
    }
  }
  // Whole chunks straight from `data`: Write has encoded the message when it returns.
  while (data.size() - consumed >= u.chunk) {
    send(data.substr(consumed, u.chunk));
    consumed += u.chunk;
  }
  u.buffer.append(data.substr(consumed));
  u.written += static_cast<int64_t>(data.size());
}

void RemoteFile::Close() {
  if (download_) {
    DownloadState& d = *download_;
    if (!d.finished) {
      if (!d.eof) d.context.TryCancel();
      files::v1::DownloadResponse ignored;
      while (d.reader->Read(&ignored)) {
      }
      d.reader->Finish();
      d.finished = true;
    }
    return;
  }
  if (!upload_) return;
  UploadState& u = *upload_;
  {
    std::lock_guard<std::mutex> lock(u.mu);
    if (u.finished) {
      if (u.aborted) ThrowError("CancelledError", "the upload of " + remote_ + " was aborted");
      if (u.error) std::rethrow_exception(u.error);
      return;
    }
    if (u.aborted) {
      u.finished = true;
      u.writer->Finish();
      ThrowError("CancelledError", "the upload of " + remote_ + " was aborted");
    }
  }
  if (!u.buffer.empty()) {
    files::v1::UploadRequest request;
    request.set_data(u.buffer);
    u.buffer.clear();
    u.writer->Write(request);  // a failure shows in Finish's status
  }
  u.writer->WritesDone();
  grpc::Status status = u.writer->Finish();
  std::lock_guard<std::mutex> lock(u.mu);
  u.finished = true;
  if (!status.ok()) {
    u.error = ErrorFromStatus(status);
    std::rethrow_exception(u.error);
  }
  u.committed = true;
  metadata_ = FileModel(u.response.file());
  md5_ = u.response.md5();
  crc32c_ = u.response.crc32c();
}

void RemoteFile::Abort() {
  if (download_) {
    download_->cancelled = true;
    download_->context.TryCancel();
    return;
  }
  if (!upload_) return;
  std::lock_guard<std::mutex> lock(upload_->mu);
  if (upload_->committed || upload_->aborted) return;
  upload_->aborted = true;
  upload_->context.TryCancel();
}

bool RemoteFile::Fill() {
  DownloadState& d = *download_;
  while (d.pos >= d.pending.size()) {
    if (d.cancelled) {
      if (!d.error) {
        d.error = MakeError("CancelledError", "the download of " + remote_ + " was cancelled");
      }
      std::rethrow_exception(d.error);
    }
    if (d.error) std::rethrow_exception(d.error);
    if (d.eof) return false;
    files::v1::DownloadResponse message;
    if (!d.reader->Read(&message)) {
      d.eof = true;
      d.finished = true;
      grpc::Status status = d.reader->Finish();
      if (!status.ok()) {
        d.error = d.cancelled ? nullptr : ErrorFromStatus(status);
        continue;  // rethrown above (a local cancel as CancelledError)
      }
      if (d.whole && d.size && d.received != *d.size) {
        // A whole-file read must deliver every byte (the gateway checks too).
        d.error = MakeError("DataLossError", "the download of " + remote_ + " ended after " +
                                                 std::to_string(d.received.load()) + " of " +
                                                 std::to_string(*d.size) + " bytes");
        std::rethrow_exception(d.error);
      }
      return false;
    }
    if (!message.data().empty() && message.offset() != d.start + d.received) {
      d.context.TryCancel();
      d.error = MakeError("DataLossError", "the download of " + remote_ + " skipped from offset " +
                                               std::to_string(d.start + d.received) + " to " +
                                               std::to_string(message.offset()));
      std::rethrow_exception(d.error);
    }
    d.received += static_cast<int64_t>(message.data().size());
    d.pending = std::move(*message.mutable_data());
    d.pos = 0;
  }
  return true;
}

std::size_t RemoteFile::Read(char* buffer, std::size_t n) {
  if (!download_) ThrowError("InvalidRequestError", remote_ + " is open for writing");
  if (n == 0 || !Fill()) return 0;
  DownloadState& d = *download_;
  std::size_t k = std::min(n, d.pending.size() - d.pos);
  std::memcpy(buffer, d.pending.data() + d.pos, k);
  d.pos += k;
  return k;
}

std::string RemoteFile::Read(std::size_t n) {
  std::string out;
  out.resize(n);
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = Read(out.data() + got, n - got);
    if (k == 0) break;
    got += k;
  }
  out.resize(got);
  return out;
}

std::string RemoteFile::ReadAll() {
  if (!download_) ThrowError("InvalidRequestError", remote_ + " is open for writing");
  std::string out;
  DownloadState& d = *download_;
  while (Fill()) {
    out.append(d.pending, d.pos, std::string::npos);
    d.pos = d.pending.size();
  }
  return out;
}

// --- Client transfer calls ------------------------------------------------

namespace {

CallOptions CallOf(const TransferOptions& options) {
  CallOptions call;
  call.timeout = options.timeout;
  call.api_key = options.api_key;
  call.session_id = options.session_id;
  call.workspace_id = options.workspace_id;
  call.language = options.language;
  return call;
}

void Report(const TransferOptions& options, int64_t done, int64_t total) {
  if (options.progress) options.progress(done, total);
}

files::v1::UploadSpec SpecOf(const std::string& remote, const TransferOptions& options) {
  files::v1::UploadSpec spec;
  spec.set_path(remote);
  spec.set_mkdir_parents(options.mkdir_parents);
  spec.set_provided_mtime(options.provided_mtime);
  if (options.expected_size) spec.set_expected_size(*options.expected_size);
  spec.set_expected_md5(options.expected_md5);
  if (options.expected_crc32c) spec.set_expected_crc32c(*options.expected_crc32c);
  if (options.no_overwrite) spec.set_overwrite(files::v1::OVERWRITE_POLICY_FAIL_IF_EXISTS);
  return spec;
}

}  // namespace

RemoteFile Client::Open(const std::string& remote, std::string_view mode,
                        TransferOptions options) const {
  CallOptions call = CallOf(options);
  if (mode == "w" || mode == "wb") {
    Validate(options, true);
    auto u = std::make_unique<UploadState>();
    u->core = core_;
    u->chunk = options.chunk_size > 0 ? options.chunk_size : kDefaultChunk;
    internal::PrepareContext(*core_, call, true, &u->context);
    u->writer = core_->transfer().Upload(&u->context, &u->response);
    files::v1::UploadRequest first;
    *first.mutable_spec() = SpecOf(remote, options);
    if (!u->writer->Write(first)) {
      grpc::Status status = u->writer->Finish();
      u->finished = true;
      ThrowIfError(status);
      ThrowError("GatewayError", "the upload of " + remote + " ended before it began");
    }
    return RemoteFile(remote, std::move(u), nullptr);
  }
  if (mode == "r" || mode == "rb") {
    Validate(options, false);
    auto d = std::make_unique<DownloadState>();
    d->core = core_;
    d->start = options.offset;
    d->whole = options.offset == 0 && options.length == 0;
    internal::PrepareContext(*core_, call, true, &d->context);
    files::v1::DownloadRequest request;
    request.set_path(remote);
    request.set_offset(options.offset);
    request.set_length(options.length);
    request.set_chunk_size(static_cast<int32_t>(options.chunk_size));
    d->reader = core_->transfer().Download(&d->context, request);
    files::v1::DownloadResponse first;
    if (!d->reader->Read(&first)) {
      grpc::Status status = d->reader->Finish();
      d->finished = true;
      ThrowIfError(status);
      ThrowError("DataLossError", "the download of " + remote + " ended without its metadata");
    }
    RemoteFile file(remote, nullptr, std::move(d));
    DownloadState& state = *file.download_;
    if (first.has_metadata()) {
      file.metadata_ = FileModel(first.metadata());
      if (first.metadata().has_size()) state.size = first.metadata().size();
    }
    if (!first.data().empty()) {
      if (first.offset() != state.start) {
        ThrowError("DataLossError", "the download of " + remote + " began at offset " +
                                        std::to_string(first.offset()));
      }
      state.received = static_cast<int64_t>(first.data().size());
      state.pending = std::move(*first.mutable_data());
    }
    return file;
  }
  ThrowError("InvalidParameterError",
             "mode must be r, rb, w or wb, not \"" + std::string(mode) + "\"");
}

Model Client::Upload(std::istream& in, const std::string& remote, TransferOptions options) const {
  RemoteFile f = Open(remote, "wb", options);
  std::string buffer(options.chunk_size > 0 ? options.chunk_size : kDefaultChunk, '\0');
  const int64_t total = options.expected_size.value_or(-1);
  int64_t sent = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (n > 0) {
      f.Write(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      sent += n;
      Report(options, sent, total);
    }
  }
  if (in.bad()) {
    f.Abort();  // commits nothing
    ThrowError("Error", "cannot read the content for " + remote);
  }
  f.Close();
  return f.metadata();
}

Model Client::UploadFile(const std::string& local, const std::string& remote, bool mkdir_parents,
                         TransferOptions options) const {
  std::ifstream in(local, std::ios::binary);
  if (!in) ThrowError("InvalidParameterError", "cannot open " + local + ": " + std::strerror(errno));
  std::error_code ec;
  if (std::filesystem::is_regular_file(local, ec) && !options.expected_size) {
    // Lets the gateway plan its parts and refuse a short stream.
    auto size = std::filesystem::file_size(local, ec);
    if (!ec) options.expected_size = static_cast<int64_t>(size);
  }
  options.mkdir_parents = options.mkdir_parents || mkdir_parents;
  return Upload(in, remote, std::move(options));
}

Model Client::Download(const std::string& remote, std::ostream& out,
                       TransferOptions options) const {
  RemoteFile f = Open(remote, "rb", options);
  std::vector<char> buffer(kDefaultChunk);
  int64_t total = -1;
  if (f.metadata().valid() && f.metadata().Has("size")) {
    total = options.length > 0 ? std::min(options.length, f.metadata().GetInt("size") - options.offset)
                               : f.metadata().GetInt("size") - options.offset;
  }
  int64_t got = 0;
  for (;;) {
    std::size_t n = f.Read(buffer.data(), buffer.size());
    if (n == 0) break;
    out.write(buffer.data(), static_cast<std::streamsize>(n));
    if (!out) {
      f.Cancel();
      ThrowError("Error", "cannot write the content of " + remote);
    }
    got += static_cast<int64_t>(n);
    Report(options, got, total);
  }
  return f.metadata();
}

Model Client::DownloadFile(const std::string& remote, const std::string& local,
                           TransferOptions options) const {
  namespace fs = std::filesystem;
  fs::path target(local);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string pattern = (dir / ("." + target.filename().string() + ".XXXXXX.part")).string();
  int fd = mkstemps(pattern.data(), 5);
  if (fd < 0) ThrowError("Error", "cannot create a file beside " + local + ": " + std::strerror(errno));
  close(fd);
  try {
    Model file;
    {
      std::ofstream out(pattern, std::ios::binary | std::ios::trunc);
      file = Download(remote, out, std::move(options));
      out.close();
      if (!out) ThrowError("Error", "cannot write " + pattern);
    }
    std::error_code ec;
    fs::rename(pattern, target, ec);
    if (ec) ThrowError("Error", "cannot rename " + pattern + " to " + local + ": " + ec.message());
    return file;
  } catch (...) {
    std::remove(pattern.c_str());
    throw;
  }
}

// --- Resumable uploads ----------------------------------------------------

std::string Client::StartResumableUpload(const std::string& remote, TransferOptions options) const {
  Validate(options, true);
  grpc::ClientContext context;
  internal::PrepareContext(*core_, CallOf(options), false, &context);
  files::v1::StartResumableUploadRequest request;
  *request.mutable_spec() = SpecOf(remote, options);
  files::v1::StartResumableUploadResponse response;
  ThrowIfError(core_->transfer().StartResumableUpload(&context, request, &response));
  return response.upload_id();
}

UploadStatus Client::QueryUploadStatus(const std::string& upload_id,
                                       const CallOptions& options) const {
  grpc::ClientContext context;
  internal::PrepareContext(*core_, options, false, &context);
  files::v1::QueryUploadStatusRequest request;
  request.set_upload_id(upload_id);
  files::v1::QueryUploadStatusResponse response;
  ThrowIfError(core_->transfer().QueryUploadStatus(&context, request, &response));
  UploadStatus status;
  status.persisted_size = response.persisted_size();
  status.complete = response.complete();
  if (response.has_file()) status.file = FileModel(response.file());
  return status;
}

void Client::CancelResumableUpload(const std::string& upload_id, const CallOptions& options) const {
  grpc::ClientContext context;
  internal::PrepareContext(*core_, options, false, &context);
  files::v1::CancelResumableUploadRequest request;
  request.set_upload_id(upload_id);
  google::protobuf::Empty response;
  ThrowIfError(core_->transfer().CancelResumableUpload(&context, request, &response));
}

UploadStatus Client::ResumeUpload(const std::string& upload_id, std::istream& in, bool finish,
                                  TransferOptions options) const {
  Validate(options, true);
  if (options.mkdir_parents || !options.provided_mtime.empty() || options.expected_size ||
      !options.expected_md5.empty() || options.expected_crc32c || options.no_overwrite) {
    ThrowError("InvalidParameterError",
               "a resumed upload keeps the options it was started with; give them to "
               "StartResumableUpload");
  }
  CallOptions call = CallOf(options);
  UploadStatus status = QueryUploadStatus(upload_id, call);
  if (status.complete) return status;
  const int64_t start = status.persisted_size;
  // Seek to the persisted size when the stream can; otherwise trust it is there.
  in.clear();
  in.seekg(static_cast<std::streamoff>(start), std::ios::beg);
  if (!in) {
    in.clear();
  }
  grpc::ClientContext context;
  internal::PrepareContext(*core_, call, true, &context);
  files::v1::UploadResponse response;
  auto writer = core_->transfer().Upload(&context, &response);
  std::string buffer(options.chunk_size > 0 ? options.chunk_size : kDefaultChunk, '\0');
  int64_t sent = start;
  bool first = true;
  bool open = true;
  for (;;) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (in.bad()) {
      context.TryCancel();
      writer->Finish();
      ThrowError("Error", "cannot read the content for upload " + upload_id);
    }
    const bool last = !in || n == 0;
    files::v1::UploadRequest message;
    if (first) {
      message.set_upload_id(upload_id);
      message.set_write_offset(start);
      first = false;
    }
    if (n > 0) message.set_data(buffer.data(), static_cast<std::size_t>(n));
    if (last && finish) message.set_finish_upload(true);
    if (n > 0 || last) {
      if (!writer->Write(message)) {
        open = false;
        break;
      }
    }
    sent += n;
    if (n > 0) Report(options, sent, -1);
    if (last) break;
  }
  if (open) writer->WritesDone();
  ThrowIfError(writer->Finish());
  UploadStatus out;
  out.persisted_size = response.persisted_size();
  if (response.has_file()) {
    out.complete = true;
    out.file = FileModel(response.file());
    out.persisted_size = sent;
  }
  return out;
}

UploadStatus Client::ResumeUploadFile(const std::string& upload_id, const std::string& local,
                                      TransferOptions options) const {
  std::ifstream in(local, std::ios::binary);
  if (!in) ThrowError("InvalidParameterError", "cannot open " + local + ": " + std::strerror(errno));
  return ResumeUpload(upload_id, in, true, std::move(options));
}

}  // namespace filesgw::client
