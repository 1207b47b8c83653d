// One upload's state on the Files.com side: its begin_upload reference and
// part descriptors, the part being cut (stream side), the parts dispatched
// and their ETags, and what the `end` commit needs. A resumable upload's
// session outlives the streams that write it (ResumableRegistry holds it);
// one stream at a time is attached to it and drives it from its strand.
#ifndef FILESGW_SERVER_TRANSFER_UPLOAD_SESSION_H_
#define FILESGW_SERVER_TRANSFER_UPLOAD_SESSION_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "client_core/checksum.h"
#include "client_core/http_transport.h"
#include "server/transfer_internal.h"
#include "server/transfer_shared_uploads.h"

namespace filesgw::server::transfer {

struct PartDescriptor {
  std::string url;
  std::string http_method = "PUT";
  client_core::HeaderList headers;
  int64_t partsize = 0;
  bool parallel = true;
  bool retry = true;
};

class PartJob;  // transfer_part_job.h

class UploadSession : public std::enable_shared_from_this<UploadSession> {
 public:
  UploadSession(TransferService::Impl* impl, files::v1::UploadSpec spec, std::string path,
                std::shared_ptr<const CallerIdentity> caller);

  // --- Any thread. ---
  // Asks begin_upload for the descriptors from `part` on (the first call
  // also gets the upload's ref). `done` runs on a transport thread; cancel
  // the returned call to end it sooner (CANCELLED).
  std::shared_ptr<client_core::ApiCall> FetchDescriptors(const CallInfo& info, int part,
                                                         std::function<void(grpc::Status)> done);
  std::shared_ptr<PartDescriptor> Descriptor(int part);
  void SetDescriptor(int part, PartDescriptor d);
  // A part's PUT finished (`etag`) or failed; `bytes` of upload memory it held
  // go back through the attached stream's listener.
  void PartDone(int part, std::string etag, int64_t bytes);
  void PartFailed(int part, grpc::Status status, int64_t bytes);
  // Cancels the parts in flight; each still reports PartFailed (CANCELLED).
  void Abort();
  // The upload was cancelled (CancelResumableUpload): a stream still
  // writing it fails with `why`, and its parts stop.
  void Cancel(grpc::Status why);
  int in_flight() const;
  // The first part failure (not a cancellation), if any.
  bool failed(grpc::Status* why) const;
  int64_t persisted() const;
  TransferService::Impl* impl() const { return impl_; }
  std::string ref() const;
  const std::string& path() const { return path_; }
  const files::v1::UploadSpec& spec() const { return spec_; }
  // Who started the upload: its profile and credential serve every part, and
  // only the same caller may resume, query or cancel it.
  const std::shared_ptr<const CallerIdentity>& caller() const { return caller_; }
  bool OwnedBy(const std::string& caller_name) const;

  // The stream writing this upload hears of finished parts here (on the
  // thread that finished them); null when no stream is attached.
  void SetListener(std::function<void(int64_t released)> listener);

  // --- The attached stream only. ---
  int next_part() const { return next_part_; }
  int64_t received() const { return received_; }
  bool has_buffer() const { return buffer_ != nullptr; }
  int64_t buffered() const {
    return buffer_ == nullptr ? 0 : static_cast<int64_t>(buffer_->size());
  }
  // Parts this upload may have in flight at once.
  int parallel_limit() const;
  // A buffer for part next_part() (its descriptor must be known).
  grpc::Status OpenBuffer();
  // Copies what fits in the current part; returns the bytes taken.
  size_t Append(std::string_view data);
  // The current part holds its whole partsize and must be dispatched before
  // more data fits.
  bool part_full() const;
  // Starts the PUT of the current buffer as part next_part() (full, or the
  // last, short one), holding `upstream` for the caller while it runs.
  void Dispatch(const CallInfo& info, CallerQuotas::Slot upstream);
  // Drops the part being cut (not durable: the caller resends it); returns
  // its bytes.
  int64_t DropBuffer();
  // Back to the durable prefix (whole parts with ETags); returns its size.
  int64_t RewindToPersisted();
  // Size and expected checksums of what was received; OK or why not.
  grpc::Status CheckReceived() const;
  // The `end` request's JSON body.
  std::string EndBody() const;
  // True when `stored` (from Files.com) disagrees with what was sent.
  bool Disagrees(const files::v1::File& stored) const;
  // Fills the answer for a committed file.
  void Answer(const files::v1::File& committed, files::v1::UploadResponse* response) const;

  // --- Shared (Redis) resumable uploads. ---
  // Continues from what another stream (maybe on another replica) stored:
  // Files.com's ref and the durable parts with their end offsets and the
  // checksum state there. False when the saved state is unusable.
  bool Restore(const std::string& ref, const std::map<int, SharedPart>& parts);
  // From now on each stored part is recorded in `shared` (fenced by `token`)
  // before it counts as done; a failure to record fails the part.
  void ShareAs(SharedUploads* shared, std::string id, std::string token);
  const std::string& shared_id() const { return shared_id_; }
  const std::string& shared_token() const { return shared_token_; }

  // Resumable bookkeeping (under the registry's lock).
  bool attached = false;
  bool complete = false;
  files::v1::File file;
  absl::Time touched = absl::Now();

 private:
  struct Boundary {
    int64_t end = 0;              // bytes up to the end of this part
    client_core::Checksums sums;  // checksums of those bytes
  };
  // CRC-32 (to compare with Files.com's crc32) and CRC-32C always; MD5 (about
  // 2.4 CPU seconds per GiB here) only when the caller gave expected_md5.
  unsigned SumsWanted() const;
  grpc::Status ParseDescriptors(const std::string& body, int part);
  void Finished(int part, int64_t bytes);

  void Stored(int part, std::string etag, int64_t bytes);

  SharedUploads* shared_ = nullptr;
  std::string shared_id_;
  std::string shared_token_;

  TransferService::Impl* const impl_;
  const files::v1::UploadSpec spec_;
  const std::string path_;
  const std::shared_ptr<const CallerIdentity> caller_;

  mutable std::mutex mu_;
  std::string ref_;
  std::map<int, std::shared_ptr<PartDescriptor>> descriptors_;
  std::map<int, std::string> etags_;          // finished parts
  std::map<int, Boundary> boundaries_;        // dispatched parts
  std::set<std::shared_ptr<PartJob>> jobs_;   // in flight
  bool failed_ = false;
  grpc::Status failure_;
  std::function<void(int64_t)> listener_;

  // Stream side (the attached stream's strand only).
  int next_part_ = 1;
  int64_t received_ = 0;
  client_core::Checksums sums_;
  std::shared_ptr<PartBuffer> buffer_;
  int64_t buffer_limit_ = 0;
  bool parallel_ = true;
};

// The spec's normalised path, or why the spec is refused.
grpc::Status CheckSpec(const files::v1::UploadSpec& spec, std::string* path);

// With OVERWRITE_POLICY_FAIL_IF_EXISTS: looks the destination up; `done`
// gets OK when the upload may go ahead.
std::shared_ptr<client_core::ApiCall> CheckOverwrite(TransferService::Impl& impl,
                                                     const CallInfo& info,
                                                     const files::v1::UploadSpec& spec,
                                                     const std::string& path,
                                                     std::function<void(grpc::Status)> done);

}  // namespace filesgw::server::transfer

#endif  // FILESGW_SERVER_TRANSFER_UPLOAD_SESSION_H_
