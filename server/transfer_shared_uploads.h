// Resumable uploads kept in Redis (--redis-url), so that QueryUploadStatus
// and a resumed Upload work on any replica, also after the one that started
// the upload is gone. Only the upload's bookkeeping is kept, never file
// bytes: profile, owning caller, destination, the upload's spec, Files.com's
// `ref`, and per durable part its ETag, the byte offset where it ends and the
// checksum state there. The hash expires --resumable-ttl after the last
// activity.
//
// A stream writing an upload holds its lock (a random token, renewed while
// the stream lives, expiring after --redis-lease-ttl when its replica dies):
// a second writer gets ABORTED / UPLOAD_BUSY, and every part a writer records
// is fenced by its token, so a writer that lost the lock records nothing.
//
// Keys: filesgw:upload:{ID} (hash), filesgw:upload:{ID}:lock.
#ifndef FILESGW_SERVER_TRANSFER_SHARED_UPLOADS_H_
#define FILESGW_SERVER_TRANSFER_SHARED_UPLOADS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "server/redis_client.h"

namespace filesgw::server::transfer {

struct SharedPart {
  std::string etag;
  int64_t end = 0;   // bytes up to the end of this part
  std::string sums;  // client_core::Checksums::Export() at `end`
};

struct SharedUpload {
  std::string caller;
  std::string profile;
  std::string path;
  std::string spec;  // files.v1.UploadSpec, serialized
  std::string ref;
  std::map<int, SharedPart> parts;  // the durable prefix 1..k
  bool complete = false;
  std::string file;  // files.v1.File, serialized, when complete
  int64_t persisted() const;
};

class SharedUploads {
 public:
  using Done = std::function<void(grpc::Status)>;
  using Loaded = std::function<void(grpc::Status, SharedUpload)>;

  SharedUploads(std::shared_ptr<RedisClient> redis, absl::Duration ttl, absl::Duration lock_ttl);

  void Create(const std::string& id, const SharedUpload& upload, Done done);
  // Takes the write lock with `token` and reads the upload (its parts past
  // the durable prefix are dropped). NOT_FOUND, ABORTED/UPLOAD_BUSY,
  // UNAVAILABLE/REDIS_UNAVAILABLE.
  void Attach(const std::string& id, const std::string& caller, const std::string& token,
              Loaded done);
  // Records a stored part, when `token` still holds the lock (else ABORTED,
  // or NOT_FOUND when the upload was cancelled or expired).
  void RecordPart(const std::string& id, const std::string& token, int part,
                  const SharedPart& p, Done done);
  void Complete(const std::string& id, const std::string& token, const std::string& file,
                Done done);
  // Keeps the lock and the upload alive; ABORTED when the lock was lost.
  void Renew(const std::string& id, const std::string& token, Done done);
  void Detach(const std::string& id, const std::string& token);
  void Query(const std::string& id, const std::string& caller, Loaded done);
  void Cancel(const std::string& id, const std::string& caller, Done done);

  absl::Duration lock_ttl() const { return lock_ttl_; }

 private:
  const std::shared_ptr<RedisClient> redis_;
  const absl::Duration ttl_;
  const absl::Duration lock_ttl_;
};

// UNAVAILABLE / REDIS_UNAVAILABLE for a Redis failure during `what`.
grpc::Status RedisUnavailable(const std::string& what, const absl::Status& why);

}  // namespace filesgw::server::transfer

#endif  // FILESGW_SERVER_TRANSFER_SHARED_UPLOADS_H_
