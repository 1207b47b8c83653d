#include "client_core/secret_source.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace filesgw::client_core {

std::shared_ptr<SecretSource> SecretSource::Fixed(std::string value) {
  auto s = std::make_shared<SecretSource>();
  absl::MutexLock lock(&s->mu_);
  s->value_ = std::move(value);
  return s;
}

absl::Status SecretSource::Read(const std::string& path, std::string* value, FileId* id) {
  struct stat st;
  // stat follows the symlinks of a Secret mount to the current file.
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot stat secret file ", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read secret file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text(absl::StripAsciiWhitespace(ss.str()));
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("secret file ", path, " is empty"));
  *value = std::move(text);
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id->size = static_cast<int64_t>(st.st_size);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<SecretSource>> SecretSource::FromFile(
    std::string path, std::shared_ptr<Scheduler> scheduler, absl::Duration poll) {
  auto s = std::make_shared<SecretSource>();
  std::string value;
  FileId id;
  if (absl::Status read = Read(path, &value, &id); !read.ok()) return read;
  {
    absl::MutexLock lock(&s->mu_);
    s->value_ = std::move(value);
    s->id_ = id;
  }
  s->path_ = std::move(path);
  s->scheduler_ = std::move(scheduler);
  s->poll_ = poll;
  s->Schedule();
  return s;
}

SecretSource::~SecretSource() {
  uint64_t timer = 0;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    timer = timer_;
  }
  if (timer != 0 && scheduler_ != nullptr) scheduler_->Cancel(timer);
}

void SecretSource::Schedule() {
  if (scheduler_ == nullptr) return;
  std::weak_ptr<SecretSource> weak = weak_from_this();
  uint64_t id = scheduler_->RunAt(scheduler_->Now() + poll_, [weak] {
    if (auto self = weak.lock()) {
      self->CheckNow();
      self->Schedule();
    }
  });
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  timer_ = id;
}

bool SecretSource::CheckNow() {
  if (path_.empty()) return false;
  struct stat st;
  FileId current;
  if (::stat(path_.c_str(), &st) == 0) {
    current.dev = st.st_dev;
    current.ino = st.st_ino;
    current.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    current.size = static_cast<int64_t>(st.st_size);
    absl::MutexLock lock(&mu_);
    if (current == id_) return false;
  }
  std::string value;
  FileId id;
  absl::Status read = Read(path_, &value, &id);
  std::function<void()> on_change;
  {
    absl::MutexLock lock(&mu_);
    if (!read.ok()) {
      last_error_ = read;  // keep serving the old value
      return false;
    }
    last_error_ = absl::OkStatus();
    id_ = id;
    if (value == value_) return false;
    value_ = std::move(value);
    ++version_;
    on_change = on_change_;
  }
  if (on_change) on_change();
  return true;
}

void SecretSource::OnChange(std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  on_change_ = std::move(callback);
}

std::string SecretSource::Get() const {
  absl::MutexLock lock(&mu_);
  return value_;
}

uint64_t SecretSource::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

absl::Status SecretSource::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

}  // namespace filesgw::client_core
