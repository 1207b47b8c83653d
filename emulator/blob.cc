#include "emulator/blob.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace filesgw::emulator {
namespace {

constexpr int64_t kPiece = 4 << 20;            // largest piece handed to a sink
constexpr int64_t kDiskBuffer = 1 << 20;       // read size for files
constexpr int64_t kMaxReserve = int64_t{512} << 20;

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Clamps [offset, offset + length) to [0, size).
bool Clamp(int64_t size, int64_t* offset, int64_t* length) {
  if (*offset < 0 || *length < 0) return false;
  if (*offset > size) *offset = size;
  *length = std::min(*length, size - *offset);
  return true;
}

class StringBlob : public Blob {
 public:
  explicit StringBlob(std::string bytes) : bytes_(std::move(bytes)) {}
  int64_t size() const override { return static_cast<int64_t>(bytes_.size()); }
  bool Read(int64_t offset, int64_t length, const Sink& sink) const override {
    if (!Clamp(size(), &offset, &length)) return false;
    while (length > 0) {
      int64_t n = std::min(length, kPiece);
      if (!sink(absl::string_view(bytes_.data() + offset, static_cast<size_t>(n)))) return false;
      offset += n;
      length -= n;
    }
    return true;
  }

 private:
  const std::string bytes_;
};

class Chain : public Blob {
 public:
  explicit Chain(std::vector<BlobPtr> pieces) : pieces_(std::move(pieces)) {
    starts_.reserve(pieces_.size());
    for (const auto& p : pieces_) {
      starts_.push_back(size_);
      size_ += p->size();
    }
  }
  int64_t size() const override { return size_; }
  bool Read(int64_t offset, int64_t length, const Sink& sink) const override {
    if (!Clamp(size_, &offset, &length)) return false;
    // The first piece holding `offset`.
    size_t i = static_cast<size_t>(
        std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin());
    i = i == 0 ? 0 : i - 1;
    for (; length > 0 && i < pieces_.size(); ++i) {
      int64_t local = offset - starts_[i];
      int64_t n = std::min(length, pieces_[i]->size() - local);
      if (n <= 0) continue;
      if (!pieces_[i]->Read(local, n, sink)) return false;
      offset += n;
      length -= n;
    }
    return true;
  }

 private:
  std::vector<BlobPtr> pieces_;
  std::vector<int64_t> starts_;
  int64_t size_ = 0;
};

class DiskBlob : public Blob {
 public:
  DiskBlob(int fd, int64_t size, std::string remove_path)
      : fd_(fd), size_(size), remove_path_(std::move(remove_path)) {}
  ~DiskBlob() override {
    ::close(fd_);
    if (!remove_path_.empty()) ::unlink(remove_path_.c_str());
  }
  int64_t size() const override { return size_; }
  bool Read(int64_t offset, int64_t length, const Sink& sink) const override {
    if (!Clamp(size_, &offset, &length)) return false;
    std::string buffer(static_cast<size_t>(std::min(length, kDiskBuffer)), '\0');
    while (length > 0) {
      size_t want = static_cast<size_t>(std::min<int64_t>(length, static_cast<int64_t>(buffer.size())));
      ssize_t n = ::pread(fd_, buffer.data(), want, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // error, or the file shrank under us
      if (!sink(absl::string_view(buffer.data(), static_cast<size_t>(n)))) return false;
      offset += n;
      length -= n;
    }
    return true;
  }

 private:
  const int fd_;
  const int64_t size_;
  const std::string remove_path_;
};

class MemoryWriter : public BlobWriter {
 public:
  explicit MemoryWriter(int64_t size_hint) {
    if (size_hint > 0) bytes_.reserve(static_cast<size_t>(std::min(size_hint, kMaxReserve)));
  }
  bool Append(absl::string_view data) override {
    bytes_.append(data.data(), data.size());
    return true;
  }
  int64_t size() const override { return static_cast<int64_t>(bytes_.size()); }
  absl::StatusOr<BlobPtr> Finish() override { return MemoryBlob(std::move(bytes_)); }

 private:
  std::string bytes_;
};

class DiskWriter : public BlobWriter {
 public:
  DiskWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~DiskWriter() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(path_.c_str());
    }
  }
  bool Append(absl::string_view data) override {
    if (fd_ < 0 || !WriteAll(fd_, data)) return false;
    size_ += static_cast<int64_t>(data.size());
    return true;
  }
  int64_t size() const override { return size_; }
  absl::StatusOr<BlobPtr> Finish() override {
    if (fd_ < 0) return absl::FailedPreconditionError("writer already finished");
    int fd = fd_;
    fd_ = -1;
    // The write descriptor reads too (O_RDWR): keep it, no second open.
    return BlobPtr(std::make_shared<DiskBlob>(fd, size_, path_));
  }

 private:
  int fd_;
  std::string path_;
  int64_t size_ = 0;
};

}  // namespace

BlobPtr MemoryBlob(std::string bytes) { return std::make_shared<StringBlob>(std::move(bytes)); }

BlobPtr ChainBlob(std::vector<BlobPtr> pieces) {
  if (pieces.size() == 1) return pieces[0];
  return std::make_shared<Chain>(std::move(pieces));
}

absl::StatusOr<BlobPtr> OpenDiskBlob(const std::string& path, bool remove_when_done) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  return BlobPtr(std::make_shared<DiskBlob>(fd, static_cast<int64_t>(st.st_size),
                                            remove_when_done ? path : std::string()));
}

std::string BlobToString(const Blob& blob) {
  std::string out;
  out.reserve(static_cast<size_t>(blob.size()));
  blob.Read(0, blob.size(), [&out](absl::string_view piece) {
    out.append(piece.data(), piece.size());
    return true;
  });
  return out;
}

std::unique_ptr<BlobWriter> NewMemoryWriter(int64_t size_hint) {
  return std::make_unique<MemoryWriter>(size_hint);
}

absl::StatusOr<std::unique_ptr<BlobWriter>> NewDiskWriter(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  return std::unique_ptr<BlobWriter>(std::make_unique<DiskWriter>(fd, path));
}

absl::Status WriteBlobToFile(const Blob& blob, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  bool ok = blob.Read(0, blob.size(), [fd](absl::string_view piece) { return WriteAll(fd, piece); });
  if (::close(fd) != 0) ok = false;
  if (!ok) {
    ::unlink(path.c_str());
    return Errno("cannot write", path);
  }
  return absl::OkStatus();
}

}  // namespace filesgw::emulator
