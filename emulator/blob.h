// Immutable file contents shared, never copied, between the file system,
// upload sessions and download URLs: bytes in memory, a chain of other blobs
// (a file assembled from its upload parts without copying a byte), or a file
// on disk read through a descriptor opened once (a later rename over the path
// does not change what an old reader sees).
//
//   std::unique_ptr<BlobWriter> w = NewMemoryWriter(/*size_hint=*/5);
//   w->Append("hel");
//   w->Append("lo");
//   BlobPtr part = *w->Finish();
//   BlobPtr file = ChainBlob({part, other_part});
//   file->Read(2, 4, [](absl::string_view piece) { ...; return true; });
#ifndef FILESGW_EMULATOR_BLOB_H_
#define FILESGW_EMULATOR_BLOB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace filesgw::emulator {

class Blob {
 public:
  // Takes one piece; false stops the read.
  using Sink = std::function<bool(absl::string_view piece)>;

  virtual ~Blob() = default;
  virtual int64_t size() const = 0;
  // Feeds bytes [offset, offset + length) (clamped to the size) to `sink` in
  // order, in pieces of at most a few MiB. False when the sink stopped or a
  // read failed.
  virtual bool Read(int64_t offset, int64_t length, const Sink& sink) const = 0;
};
using BlobPtr = std::shared_ptr<const Blob>;

BlobPtr MemoryBlob(std::string bytes);
// The concatenation of `pieces`, which stay shared.
BlobPtr ChainBlob(std::vector<BlobPtr> pieces);
// `path` opened read-only (O_NOFOLLOW: a symlink is refused). With
// `remove_when_done` the file is unlinked once the last reference is gone.
absl::StatusOr<BlobPtr> OpenDiskBlob(const std::string& path, bool remove_when_done);

// Everything in `blob`, as a string (tests and small files only).
std::string BlobToString(const Blob& blob);

// Receives a blob's bytes as they arrive (a part PUT's body).
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual bool Append(absl::string_view data) = 0;
  virtual int64_t size() const = 0;
  // The finished blob; the writer must not be used afterwards.
  virtual absl::StatusOr<BlobPtr> Finish() = 0;
};

// In memory; `size_hint` (the Content-Length) reserves the buffer once.
std::unique_ptr<BlobWriter> NewMemoryWriter(int64_t size_hint);
// A new file at `path` (must not exist; never follows a symlink). The blob
// Finish() gives deletes the file when released; a writer dropped unfinished
// deletes it too.
absl::StatusOr<std::unique_ptr<BlobWriter>> NewDiskWriter(const std::string& path);

// Writes all of `blob` to a new file at `path` (O_EXCL, no symlinks).
absl::Status WriteBlobToFile(const Blob& blob, const std::string& path);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_BLOB_H_
