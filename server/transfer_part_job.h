// One upload part's PUT to its presigned URL, with its retries: a fresh URL
// (begin_upload for that part) on 403 or expiry, backoff on 5xx, 429 and
// resets (scheduler timers, never a sleeping thread), from the gateway's own
// copy of the bytes. Runs on transport and scheduler threads and reports to
// its session once: PartDone or PartFailed.
#ifndef FILESGW_SERVER_TRANSFER_PART_JOB_H_
#define FILESGW_SERVER_TRANSFER_PART_JOB_H_

#include <memory>
#include <mutex>

#include "server/transfer_upload_session.h"

namespace filesgw::server::transfer {

class PartJob : public std::enable_shared_from_this<PartJob> {
 public:
  // `upstream` is the caller's upstream-request share, held until the job ends.
  PartJob(std::shared_ptr<UploadSession> session, int part, std::shared_ptr<const PartBuffer> data,
          int64_t bytes, CallInfo info, CallerQuotas::Slot upstream);
  int part() const { return part_; }
  void Start() { Put(); }
  void Cancel();

 private:
  void Put();
  void OnPut(client_core::HttpResult r);
  void Refresh();
  void Fail(grpc::Status status);
  void Done(std::string etag);

  std::shared_ptr<UploadSession> session_;
  const int part_;
  std::shared_ptr<const PartBuffer> data_;
  const int64_t bytes_;
  const CallInfo info_;  // the stream that dispatched the part (request id, trace)
  std::mutex mu_;
  CallerQuotas::Slot upstream_;
  bool cancelled_ = false;
  bool ended_ = false;
  std::shared_ptr<client_core::HttpCall> call_;
  std::shared_ptr<client_core::ApiCall> api_call_;
  uint64_t timer_ = 0;
  int attempts_ = 0;
  int refreshes_ = 0;
};

}  // namespace filesgw::server::transfer

#endif  // FILESGW_SERVER_TRANSFER_PART_JOB_H_
