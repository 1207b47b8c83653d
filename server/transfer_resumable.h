// Resumable uploads by id (GCS-style StartResumableWrite / QueryWriteStatus):
// each entry's session keeps its durable parts between streams. An entry
// lives `resumable_ttl` after its last activity (every message a stream
// receives and every query touches it); a timer sweeps expired ones.
#ifndef FILESGW_SERVER_TRANSFER_RESUMABLE_H_
#define FILESGW_SERVER_TRANSFER_RESUMABLE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "client_core/scheduler.h"
#include "server/transfer_upload_session.h"

namespace filesgw::server::transfer {

// A new upload id: "up-" and 32 random hex digits.
std::string NewUploadId();

class ResumableRegistry {
 public:
  ResumableRegistry(std::shared_ptr<client_core::Scheduler> scheduler, absl::Duration ttl);
  ~ResumableRegistry();

  // Registers `session`; returns its new id.
  std::string Add(std::shared_ptr<UploadSession> session);
  // The upload `id` when `caller_name` owns it (null otherwise); touches it.
  std::shared_ptr<UploadSession> Find(const std::string& id, const std::string& caller_name);
  // Removes and returns the upload (null when not found or not the caller's).
  std::shared_ptr<UploadSession> Remove(const std::string& id, const std::string& caller_name);

  // One stream at a time writes an upload: false when another is attached.
  bool Attach(const std::shared_ptr<UploadSession>& session);
  void Detach(const std::shared_ptr<UploadSession>& session);
  // Marks `session` finished with `file` (under the registry's lock).
  void Complete(const std::shared_ptr<UploadSession>& session, const files::v1::File& file);
  // A consistent view for QueryUploadStatus: complete only when no stream
  // is writing.
  void Status(const std::shared_ptr<UploadSession>& session, bool* complete,
              files::v1::File* file);
  void Touch(const std::shared_ptr<UploadSession>& session);

  // Forgets uploads idle past their time to live (not those being written).
  void Sweep();

 private:
  void Arm();

  struct Shared {
    std::mutex mu;
    bool closed = false;
  };
  const std::shared_ptr<client_core::Scheduler> scheduler_;
  const absl::Duration ttl_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<UploadSession>> uploads_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  uint64_t timer_ = 0;
};

}  // namespace filesgw::server::transfer

#endif  // FILESGW_SERVER_TRANSFER_RESUMABLE_H_
