// File content over files.v1.TransferService (the generated C++ stub): the
// options of uploads and downloads and RemoteFile, the streaming file object
// Client::Open gives.
//
//   auto f = client.Open("reports/today.csv", "w", {.mkdir_parents = true});
//   f.Write("a,b\n");
//   f.Close();            // commits; destroying f without Close commits nothing
//   auto r = client.Open("reports/today.csv", "r");
//   std::string text = r.ReadAll();
#ifndef FILESGW_CLIENTS_CPP_TRANSFER_H_
#define FILESGW_CLIENTS_CPP_TRANSFER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "clients/cpp/api.h"

namespace filesgw::client {

// Options of UploadFile, Upload, DownloadFile, Download and Open. Upload
// options given to a download (or the reverse) throw InvalidParameterError.
struct TransferOptions {
  // Uploads.
  bool mkdir_parents = false;     // create the destination's missing folders
  std::string provided_mtime;     // RFC 3339, stored as the file's provided_mtime
  std::optional<int64_t> expected_size;  // fail, committing nothing, unless exactly this many bytes arrive
  std::string expected_md5;       // hex; the gateway verifies before it commits
  std::optional<uint32_t> expected_crc32c;
  bool no_overwrite = false;      // DestinationExistsError when the file exists
  // Downloads: a range (length 0: to the end). Only whole-file reads are checked for completeness.
  int64_t offset = 0;
  int64_t length = 0;
  // Data bytes per message: what an upload sends (default 1 MiB) or a download asks for.
  std::size_t chunk_size = 0;
  // Deadline of the whole transfer (default: the client's transfer_timeout, none).
  std::optional<std::chrono::milliseconds> timeout;
  // Progress of UploadFile, Upload, DownloadFile, Download and the resumable
  // calls: called on the calling thread after each chunk with the bytes moved
  // so far and the total (-1 when unknown: an upload without expected_size).
  std::function<void(int64_t transferred, int64_t total)> progress;
  // Per transfer, as CallOptions has them (see there).
  std::string api_key;
  std::string session_id;
  std::optional<int64_t> workspace_id;
  std::string language;
};

// Where a resumable upload stands (Client::QueryUploadStatus).
struct UploadStatus {
  int64_t persisted_size = 0;  // bytes stored upstream: resume from here
  bool complete = false;       // committed; `file` is the File
  Model file;
};

class Client;
namespace internal {
struct UploadState;
struct DownloadState;
}  // namespace internal

// A Files.com file opened for streaming, in mode "r"/"rb" (Read*) or
// "w"/"wb" (Write, Close). The two spellings of each mode behave the same:
// bytes pass unchanged.
//
// Reading: Open starts the download and reads the file's metadata, so a
// missing file throws FileNotFoundError at Open. Cancel (from any thread)
// stops the stream; later reads throw CancelledError.
//
// Writing: the content streams to the gateway as it is written (a write blocks
// under gRPC flow control, so memory stays at one chunk). Close commits and
// gives the File; a RemoteFile destroyed without Close, or Abort, commits
// nothing, so an exception thrown between Open and Close leaves nothing behind.
class RemoteFile {
 public:
  RemoteFile(RemoteFile&&) noexcept;
  RemoteFile& operator=(RemoteFile&&) noexcept;
  RemoteFile(const RemoteFile&) = delete;
  RemoteFile& operator=(const RemoteFile&) = delete;
  ~RemoteFile();  // aborts an uncommitted upload, cancels an unfinished download

  const std::string& name() const { return remote_; }
  bool readable() const { return download_ != nullptr; }

  // Reading. Read fills up to n bytes and gives how many (0 at the end).
  std::size_t Read(char* buffer, std::size_t n);
  std::string Read(std::size_t n);
  std::string ReadAll();
  // Writing.
  void Write(std::string_view data);
  // Ends the stream: for an upload, commits and waits for the File (throws if
  // it was not stored); for a download, stops it if not at its end.
  void Close();
  // Cancels the stream (thread-safe): an upload commits nothing (a no-op once
  // committed); a download's later reads throw CancelledError.
  void Abort();
  void Cancel() { Abort(); }

  // The File: for a download from its start, for an upload once committed.
  const Model& metadata() const { return metadata_; }
  // Bytes received (download) or written (upload) so far.
  int64_t bytes_transferred() const;
  // For a committed upload: the md5 (hex) and crc32c of what the gateway sent.
  const std::string& md5() const { return md5_; }
  uint32_t crc32c() const { return crc32c_; }

 private:
  friend class Client;
  RemoteFile(std::string remote, std::unique_ptr<internal::UploadState> upload,
             std::unique_ptr<internal::DownloadState> download);
  bool Fill();  // data pending in download_; false at the end

  std::string remote_;
  std::unique_ptr<internal::UploadState> upload_;
  std::unique_ptr<internal::DownloadState> download_;
  Model metadata_;
  std::string md5_;
  uint32_t crc32c_ = 0;
};

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_TRANSFER_H_
