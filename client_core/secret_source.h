// Where a secret (a Files.com API key, a password) comes from: a fixed value
// (environment) or a file that is re-read when it changes, so a Kubernetes
// Secret mount rotated by an atomic symlink swap is picked up without a
// restart and without dropping calls (readers always see a whole value; an
// unreadable or empty new file keeps the old value). Values never leave
// through logs: only Get() returns them.
//
//   auto key = SecretSource::FromFile("/var/run/secrets/files/api-key", scheduler);
//   if (!key.ok()) return key.status();
//   request.headers.emplace_back("X-FilesAPI-Key", (*key)->Get());
#ifndef FILESGW_CLIENT_CORE_SECRET_SOURCE_H_
#define FILESGW_CLIENT_CORE_SECRET_SOURCE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client_core/scheduler.h"

namespace filesgw::client_core {

class SecretSource : public std::enable_shared_from_this<SecretSource> {
 public:
  static std::shared_ptr<SecretSource> Fixed(std::string value);
  // Reads `path` now (INVALID_ARGUMENT naming the path if unreadable or
  // empty) and again whenever its target changes, checked every `poll`.
  static absl::StatusOr<std::shared_ptr<SecretSource>> FromFile(
      std::string path, std::shared_ptr<Scheduler> scheduler,
      absl::Duration poll = absl::Seconds(1));
  ~SecretSource();

  std::string Get() const;
  // Bumped on every change of value (for tests, metrics and logs).
  uint64_t version() const;
  // Why the last re-read was refused (the old value was kept); OK otherwise.
  absl::Status last_error() const;
  // Re-reads now if the file changed; returns true when the value changed.
  bool CheckNow();
  // Runs `callback` (without the value) after each change of value, on the
  // thread that noticed it.
  void OnChange(std::function<void()> callback);

  SecretSource() = default;

 private:
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t mtime_ns = 0;
    int64_t size = 0;
    bool operator==(const FileId& o) const {
      return dev == o.dev && ino == o.ino && mtime_ns == o.mtime_ns && size == o.size;
    }
  };
  static absl::Status Read(const std::string& path, std::string* value, FileId* id);
  void Schedule();

  std::string path_;
  std::shared_ptr<Scheduler> scheduler_;
  absl::Duration poll_;
  mutable absl::Mutex mu_;
  std::string value_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  std::function<void()> on_change_ ABSL_GUARDED_BY(mu_);
  FileId id_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  uint64_t timer_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_SECRET_SOURCE_H_
