// TransferService.Upload as a read reactor: the caller's messages are cut
// into Files.com parts (UploadSession), each full part is PUT by a PartJob
// while the next one fills, up to max_parallel_parts at once; `end` commits
// only after the size and any expected checksum are verified. Nothing is
// committed otherwise.
//
// The next message is asked of gRPC (StartRead) only when the one in hand is
// stored in a part buffer and no full part waits for a slot: that is the
// flow control towards the caller. Memory is charged per message as it
// arrives (caller share, then the gateway-wide budget) and given back as
// parts are stored.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/server_callback.h"
#include "server/log.h"
#include "server/transfer_internal.h"
#include "server/transfer_resumable.h"
#include "server/transfer_shared_uploads.h"
#include "server/transfer_shares.h"
#include "server/transfer_upload_session.h"

namespace filesgw::server::transfer {
namespace {

// How long after the caller's reads end `end` waits for a cancel to show
// (see Commit). Small next to an upload's own round trips.
constexpr absl::Duration kCancelGrace = absl::Milliseconds(20);

using client_core::ApiRequest;
using client_core::ApiResult;
using files::v1::UploadRequest;

class UploadStream : public grpc::ServerReadReactor<UploadRequest>,
                     public std::enable_shared_from_this<UploadStream> {
 public:
  UploadStream(TransferService::Impl& impl, grpc::CallbackServerContext* context,
               files::v1::UploadResponse* response)
      : impl_(impl), context_(context), scope_(impl, context, "Upload", Direction::kUpload),
        response_(response),
        shares_(impl, scope_.info()), last_progress_(absl::Now()),
        timer_(*impl.deps.scheduler) {}

  void Begin() {
    self_ = shared_from_this();
    if (!scope_.admitted().ok()) return End(scope_.admitted());  // nothing read
    Post([this] {
      // Tells the caller it was admitted (and its request id) before it has
      // to wait for the upload's answer.
      StartSendInitialMetadata();
      StartReading();
      ArmTick();
    });
  }

  void OnReadDone(bool ok) override {
    Post([this, ok] { HandleRead(ok); });
  }
  void OnCancel() override {
    Post([this] { CallerCancelled(); });
  }
  void OnDone() override {
    Post([this] { self_.reset(); });
  }

 private:
  enum class Phase { kFirst, kSetup, kData };

  void Post(std::function<void()> fn) {
    auto self = shared_from_this();
    strand_.Run([self, fn = std::move(fn)] { fn(); });
  }
  const CallInfo& info() const { return scope_.info(); }

  void StartReading() {
    if (reading_ || ended_) return;
    reading_ = true;
    StartRead(&message_);
  }

  void HandleRead(bool ok) {
    reading_ = false;
    if (ended_ || failing_) return;
    if (!ok) {
      // A cancelled stream also ends its reads; only a half-close may commit.
      // (OnCancel may run just after this, so Commit looks once more.)
      if (context_->IsCancelled()) return CallerCancelled();
      half_closed_ = true;
      reads_ended_at_ = absl::Now();
      if (phase_ == Phase::kFirst) {
        return Fail(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                          "the upload stream ended before its first message"));
      }
      return Advance();
    }
    Progress();
    const int64_t size = static_cast<int64_t>(message_.data().size());
    if (size > impl_.deps.options.max_upload_message_bytes &&
        impl_.deps.options.max_upload_message_bytes > 0) {
      if (Metrics* m = impl_.deps.telemetry.metrics.get()) m->LimitRejection("upload_message_size");
      return Fail(Local(grpc::StatusCode::RESOURCE_EXHAUSTED, "MESSAGE_TOO_LARGE",
                        absl::StrCat("an upload message carried ", size,
                                     " bytes of data; at most ",
                                     impl_.deps.options.max_upload_message_bytes,
                                     " are accepted (--max-upload-message-bytes); send smaller "
                                     "chunks. Nothing was committed")));
    }
    if (size > 0) {
      if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
        m->TransferBytes(Direction::kUpload, size);
      }
    }
    if (phase_ == Phase::kFirst) return First();
    if (message_.first_message_case() != UploadRequest::FIRST_MESSAGE_NOT_SET) {
      return Fail(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                        "only the first upload message may carry spec or upload_id"));
    }
    Take(&message_);
    Advance();
  }

  // The first message: a new upload (spec) or a resumable one (upload_id).
  void First() {
    phase_ = Phase::kSetup;
    first_ = std::move(message_);
    if (first_.has_spec()) {
      std::string path;
      if (grpc::Status s = CheckSpec(first_.spec(), &path); !s.ok()) return Fail(s);
      auto self = shared_from_this();
      api_call_ = CheckOverwrite(impl_, info(), first_.spec(), path, [self, path](grpc::Status s) {
        self->Post([self, path, s] { self->Begun(path, s); });
      });
      return;
    }
    if (first_.first_message_case() != UploadRequest::kUploadId) {
      return Fail(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                        "the first upload message must carry spec or upload_id"));
    }
    if (impl_.shared != nullptr) return AttachShared();
    auto session = impl_.resumable->Find(first_.upload_id(), info().caller_name());
    if (session == nullptr) {
      return Fail(Local(grpc::StatusCode::NOT_FOUND, "UPLOAD_NOT_FOUND",
                        "no resumable upload with that id (finished, cancelled or expired)"));
    }
    if (!impl_.resumable->Attach(session)) {
      return Fail(Local(grpc::StatusCode::ABORTED, "UPLOAD_BUSY",
                        "another stream is writing this upload; retry after it ends"));
    }
    session_ = std::move(session);
    resumable_ = true;
    Listen();
    if (session_->complete) {
      *response_->mutable_file() = session_->file;
      response_->set_persisted_size(session_->file.size());
      return End(grpc::Status::OK);
    }
    session_->RewindToPersisted();
    Streaming();
  }

  // A resumable upload kept in Redis: take its lock, rebuild the session from
  // what is stored there (this replica may never have seen it).
  void AttachShared() {
    const std::string id = first_.upload_id();
    const std::string token = NewUploadId();
    auto self = shared_from_this();
    api_busy_ = true;
    impl_.shared->Attach(id, info().caller_name(), token,
                         [self, id, token](grpc::Status s, SharedUpload u) {
                           self->Post([self, id, token, s, u = std::move(u)] {
                             self->Attached(id, token, s, u);
                           });
                         });
  }

  void Attached(const std::string& id, const std::string& token, const grpc::Status& s,
                const SharedUpload& u) {
    api_busy_ = false;
    if (ended_ || failing_) {
      if (s.ok()) impl_.shared->Detach(id, token);
      if (failing_) Unwind();
      return;
    }
    if (!s.ok()) return Fail(s);
    files::v1::UploadSpec spec;
    if (!spec.ParseFromString(u.spec)) {
      impl_.shared->Detach(id, token);
      return Fail(Local(grpc::StatusCode::INTERNAL, "UPLOAD_STATE_CORRUPT",
                        "the resumable upload's saved state is unreadable; start it again"));
    }
    auto session = std::make_shared<UploadSession>(&impl_, spec, u.path, info().caller);
    session->ShareAs(impl_.shared.get(), id, token);
    if (!session->Restore(u.ref, u.parts)) {
      impl_.shared->Detach(id, token);
      return Fail(Local(grpc::StatusCode::INTERNAL, "UPLOAD_STATE_CORRUPT",
                        "the resumable upload's saved parts are unreadable (a replica of "
                        "another build?); start it again"));
    }
    session_ = std::move(session);
    resumable_ = true;
    shared_ = true;
    renewed_at_ = absl::Now();
    Listen();
    if (u.complete) {
      files::v1::File file;
      file.ParseFromString(u.file);
      response_->set_persisted_size(file.size());
      *response_->mutable_file() = std::move(file);
      return End(grpc::Status::OK);
    }
    session_->RewindToPersisted();
    Streaming();
  }

  // Keeps the upload's lock while the stream lives (OnTimer).
  void RenewShared() {
    if (!shared_ || ended_ || renewing_ ||
        absl::Now() - renewed_at_ < impl_.shared->lock_ttl() / 4) {
      return;
    }
    renewing_ = true;
    auto self = shared_from_this();
    impl_.shared->Renew(session_->shared_id(), session_->shared_token(), [self](grpc::Status s) {
      self->Post([self, s] {
        self->renewing_ = false;
        self->renewed_at_ = absl::Now();
        // Redis down: the parts still record nothing, so they fail on their
        // own; a lost lock (or a cancel) ends the stream now.
        if (!s.ok() && s.error_code() == grpc::StatusCode::ABORTED) self->Fail(s);
      });
    });
  }

  // The overwrite check answered: begin_upload for the new upload.
  void Begun(const std::string& path, grpc::Status checked) {
    api_call_.reset();
    if (ended_ || failing_) return;
    if (!checked.ok()) return Fail(checked);
    session_ = std::make_shared<UploadSession>(&impl_, first_.spec(), path, info().caller);
    Listen();
    api_busy_ = true;
    auto self = shared_from_this();
    api_call_ = session_->FetchDescriptors(info(), 1, [self](grpc::Status s) {
      self->Post([self, s] {
        self->api_busy_ = false;
        self->api_call_.reset();
        if (self->ended_) return;
        if (self->failing_) return self->Unwind();
        if (!s.ok()) return self->Fail(s);
        self->Streaming();
      });
    });
  }

  void Streaming() {
    phase_ = Phase::kData;
    Take(&first_);
    Advance();
  }

  // Parts that finish give their memory back here.
  void Listen() {
    std::weak_ptr<UploadStream> weak = weak_from_this();
    // A stream gives back everything it still holds when it ends, so a part
    // that reports after that (or to no stream) has nothing left to give.
    session_->SetListener([weak](int64_t bytes) {
      if (auto self = weak.lock()) self->Post([self, bytes] { self->Released(bytes); });
    });
  }

  void Released(int64_t bytes) {
    Give(bytes);
    Progress();  // a part stored: the upload moves
    Advance();
  }

  // Makes `message`'s data the bytes in hand.
  void Take(UploadRequest* message) {
    if (message->has_write_offset() && message->write_offset() != session_->received()) {
      return Fail(Local(grpc::StatusCode::INVALID_ARGUMENT, "WRITE_OFFSET_MISMATCH",
                        absl::StrCat("write_offset ", message->write_offset(),
                                     " but the upload is at byte ", session_->received(),
                                     " (QueryUploadStatus tells where to resume)")));
    }
    const files::v1::UploadSpec& spec = session_->spec();
    if (spec.has_expected_size() &&
        session_->received() + static_cast<int64_t>(message->data().size()) >
            spec.expected_size()) {
      return Fail(Local(grpc::StatusCode::INVALID_ARGUMENT, "SIZE_MISMATCH",
                        absl::StrCat("more than the expected ", spec.expected_size(),
                                     " bytes were sent")));
    }
    if (message->finish_upload() && !resumable_) {
      return Fail(Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                        "finish_upload is for resumable uploads; half-close the stream instead"));
    }
    finish_upload_ = finish_upload_ || message->finish_upload();
    pending_ = std::move(*message->mutable_data());
    pending_at_ = 0;
    pending_charged_ = pending_.empty();
    message->Clear();
    if (resumable_ && !shared_) impl_.resumable->Touch(session_);
  }

  // Moves the upload as far as it can go now; called after every event.
  void Advance() {
    if (ended_) return;
    if (failing_) return Unwind();
    if (phase_ != Phase::kData || api_busy_) return;
    grpc::Status why;
    if (session_->failed(&why)) return Fail(why);
    for (;;) {
      // A part ready to go up: the last, short one once closing.
      if (session_->part_full() || (closing_ && session_->has_buffer())) {
        if (session_->in_flight() >= session_->parallel_limit()) return;  // a part ends first
        CallerQuotas::Slot upstream;
        if (!TakeUpstream(&upstream)) return;
        session_->Dispatch(info(), std::move(upstream));
        shares_.PartDispatched();
        continue;
      }
      if (pending_at_ < pending_.size()) {
        if (!pending_charged_) {
          if (!Charge(static_cast<int64_t>(pending_.size()))) return;
          pending_charged_ = true;
        }
        if (!session_->has_buffer() && !OpenBuffer()) return;
        const size_t taken = session_->Append(std::string_view(pending_).substr(pending_at_));
        if (taken == 0 && !session_->part_full()) {  // the size checks make this impossible
          return Fail(Local(grpc::StatusCode::INTERNAL, "PART_BUFFER_FULL",
                            "part buffer full before the part"));
        }
        pending_at_ += taken;
        if (pending_at_ == pending_.size()) {
          pending_.clear();
          pending_.shrink_to_fit();
          pending_at_ = 0;
        }
        continue;
      }
      if (!half_closed_ && !finish_upload_) return StartReading();
      return Close();
    }
  }

  // A buffer for the next part; false while its descriptor is being fetched
  // (or on failure).
  bool OpenBuffer() {
    if (session_->Descriptor(session_->next_part()) == nullptr) {
      api_busy_ = true;
      auto self = shared_from_this();
      api_call_ = session_->FetchDescriptors(info(), session_->next_part(), [self](grpc::Status s) {
        self->Post([self, s] {
          self->api_busy_ = false;
          self->api_call_.reset();
          if (self->ended_) return;
          if (!s.ok() && !self->failing_) return self->Fail(s);
          self->Advance();
        });
      });
      return false;
    }
    if (grpc::Status s = session_->OpenBuffer(); !s.ok()) {
      Fail(s);
      return false;
    }
    return true;
  }

  // The caller stopped sending (half-close or finish_upload).
  void Close() {
    if (resumable_ && !finish_upload_) {
      // Ended without finishing: keep what is durably stored.
      Give(session_->DropBuffer());
      if (session_->in_flight() > 0) return;
      grpc::Status why;
      if (session_->failed(&why)) return Fail(why);
      session_->RewindToPersisted();
      response_->set_persisted_size(session_->persisted());
      return End(grpc::Status::OK);
    }
    if (!closing_) {
      if (grpc::Status s = session_->CheckReceived(); !s.ok()) return Fail(s);
      closing_ = true;
      // An empty file is one empty part.
      if (!session_->has_buffer() && session_->next_part() == 1 && !OpenBuffer()) return;
      return Advance();
    }
    if (!session_->has_buffer() && session_->next_part() == 1) {
      if (!OpenBuffer()) return;
      return Advance();
    }
    if (session_->in_flight() > 0 || committing_) return;
    Commit();
  }

  void CallerCancelled() {
    if (ended_) return;
    if (api_call_ != nullptr) api_call_->Cancel();
    Fail(Local(grpc::StatusCode::CANCELLED, "CANCELLED", "the caller cancelled the upload"));
  }

  void Commit() {
    // The last moment to notice a cancel that raced the end of the reads:
    // once `end` is sent the file is visible. A client's RST_STREAM ends the
    // pending read (ok = false, as a half-close does) a moment before gRPC
    // marks the call cancelled: seen with grpc-js and grpc-java aborting an
    // upload right after its first message, whose empty file was committed.
    // So `end` waits until kCancelGrace has passed since the reads ended.
    if (context_->IsCancelled()) return CallerCancelled();
    const absl::Time go = reads_ended_at_ + kCancelGrace;
    if (!grace_waited_ && absl::Now() < go) {
      grace_waited_ = true;
      committing_ = true;  // nothing else starts the commit meanwhile
      auto self = shared_from_this();
      impl_.deps.scheduler->RunAt(go, [self] {
        self->Post([self] {
          self->committing_ = false;
          if (self->ended_) return;
          if (self->failing_) return self->Unwind();
          self->Commit();
        });
      });
      return;
    }
    if (context_->IsCancelled()) return CallerCancelled();
    if (shared_ && !commit_checked_) {
      // `end` cannot be taken back: first make sure this stream still holds
      // the upload (no other replica took it over, nobody cancelled it).
      commit_checked_ = true;
      committing_ = true;
      api_busy_ = true;
      auto self = shared_from_this();
      impl_.shared->Renew(session_->shared_id(), session_->shared_token(), [self](grpc::Status s) {
        self->Post([self, s] {
          self->committing_ = false;
          self->api_busy_ = false;
          if (self->ended_) return;
          if (self->failing_) return self->Unwind();
          if (!s.ok()) return self->Fail(s);
          self->Commit();
        });
      });
      return;
    }
    committing_ = true;
    api_busy_ = true;
    ApiRequest api;
    api.method = "POST";
    api.path_and_query = ApiPath("/files", session_->path());
    api.body = session_->EndBody();
    api.content_type = "application/json";
    api.idempotency = client_core::Idempotency::kNonIdempotent;
    auto self = shared_from_this();
    api_call_ = CallApi(impl_, info(), std::move(api), [self](ApiResult r) {
      self->Post([self, r = std::move(r)]() mutable { self->Committed(std::move(r)); });
    });
  }

  void Committed(ApiResult r) {
    api_call_.reset();
    api_busy_ = false;
    if (ended_) return;
    if (failing_) return Unwind();
    files::v1::File committed;
    if (!r.status.ok()) {
      if (r.error.has_value()) return Fail(FailureStatus(r));
      // No answer: the commit may still have happened. Look before failing.
      ApiRequest stat;
      stat.method = "GET";
      stat.path_and_query = ApiPath("/file_actions/metadata", session_->path());
      auto self = shared_from_this();
      auto first = std::make_shared<ApiResult>(std::move(r));
      api_busy_ = true;
      api_call_ = CallApi(impl_, info(), std::move(stat), [self, first](ApiResult s) {
        self->Post([self, first, s = std::move(s)] {
          self->api_call_.reset();
          self->api_busy_ = false;
          if (self->ended_) return;
          if (self->failing_) return self->Unwind();
          files::v1::File stored;
          if (!s.status.ok() || !ParseFile(s.body, &stored).ok() ||
              stored.size() != self->session_->received() || self->session_->Disagrees(stored)) {
            return self->Fail(FailureStatus(*first));
          }
          self->Stored(std::move(stored));
        });
      });
      return;
    }
    if (absl::Status parsed = ParseFile(r.body, &committed); !parsed.ok()) {
      return Fail(Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                        absl::StrCat("end answered no File: ", parsed.message())));
    }
    Stored(std::move(committed));
  }

  void Stored(files::v1::File committed) {
    committed.clear_download_uri();
    if (session_->Disagrees(committed)) {
      return Fail(Local(grpc::StatusCode::DATA_LOSS, "CHECKSUM_MISMATCH",
                        absl::StrCat("Files.com stored size ", committed.size(), " crc32 ",
                                     committed.crc32(), " md5 ", committed.md5(),
                                     " but the gateway sent ", session_->received(),
                                     " bytes")));
    }
    session_->Answer(committed, response_);
    if (shared_) {
      // Committed: a later QueryUploadStatus (any replica) says complete.
      api_busy_ = true;
      auto self = shared_from_this();
      impl_.shared->Complete(
          session_->shared_id(), session_->shared_token(), committed.SerializeAsString(),
          [self](grpc::Status s) {
            self->Post([self, s] {
              self->api_busy_ = false;
              if (!s.ok() && self->impl_.deps.log != nullptr) {
                self->impl_.deps.log->Warn("resumable upload committed, but not marked complete "
                                           "in Redis",
                                           {{"error", std::string(s.error_message())}});
              }
              self->End(grpc::Status::OK);
            });
          });
      return;
    }
    if (resumable_) impl_.resumable->Complete(session_, committed);
    End(grpc::Status::OK);
  }

  // Upload memory for the message in hand; false while it must wait (a
  // retry is scheduled) or when the stream failed.
  bool Charge(int64_t bytes) {
    grpc::Status refused;
    switch (shares_.ChargeMemory(bytes, session_->in_flight() > 0,
                                 session_->buffered() > 0, &refused)) {
      case StreamShares::Outcome::kTaken:
        return true;
      case StreamShares::Outcome::kWait:
        Arm(shares_.poll_delay());
        return false;
      case StreamShares::Outcome::kRefused:
        Fail(refused);
        return false;
    }
    return false;
  }

  bool TakeUpstream(CallerQuotas::Slot* slot) {
    if (shares_.TakeUpstream(slot)) return true;
    Arm(shares_.poll_delay());
    return false;
  }

  void Give(int64_t bytes) { shares_.GiveMemory(bytes); }

  void Progress() { last_progress_ = absl::Now(); }

  absl::Duration TickEvery() const {
    return std::clamp(impl_.deps.options.stream_idle_timeout / 4, absl::Milliseconds(5),
                      absl::Seconds(1));
  }
  void ArmTick() { Arm(TickEvery()); }
  void Arm(absl::Duration after) {
    std::weak_ptr<UploadStream> weak = weak_from_this();
    timer_.Arm(after, [weak] {
      if (auto self = weak.lock()) self->Post([self] { self->OnTimer(); });
    });
  }

  void OnTimer() {
    timer_.Fired();
    if (ended_) return;
    if (reading_ && !failing_ &&
        absl::Now() - last_progress_ >= impl_.deps.options.stream_idle_timeout) {
      return Fail(IdleStatus(impl_, "no upload message arrived"));
    }
    if (shares_.waiting()) Advance();
    RenewShared();
    if (!ended_) ArmTick();
  }

  // Ends the stream with `status` once its parts in flight have let go.
  void Fail(grpc::Status status) {
    if (ended_) return;
    if (!failing_) {
      failing_ = true;
      failure_ = std::move(status);
      if (session_ != nullptr) session_->Abort();
    }
    Unwind();
  }

  void Unwind() {
    if (session_ != nullptr && session_->in_flight() > 0) return;  // Released() calls back
    if (api_busy_) return;  // a begin_upload in flight calls back
    if (session_ != nullptr) {
      Give(session_->DropBuffer());
      if (resumable_) session_->RewindToPersisted();
      if (impl_.deps.log != nullptr && failure_.error_code() != grpc::StatusCode::CANCELLED) {
        ScopedLogFields ids(info().rc->request_id(), info().rc->trace().has_value()
                                                         ? info().rc->trace()->trace_id
                                                         : std::string());
        impl_.deps.log->Info("upload failed", {{"code", static_cast<int>(failure_.error_code())},
                                               {"bytes", session_->received()}});
      }
    }
    End(failure_);
  }

  void End(grpc::Status status) {
    if (ended_) return;
    ended_ = true;
    timer_.Stop();
    if (session_ != nullptr) {
      session_->SetListener(nullptr);
      if (shared_) {
        impl_.shared->Detach(session_->shared_id(), session_->shared_token());
      } else if (resumable_) {
        impl_.resumable->Detach(session_);
      }
    }
    shares_.GiveAll();
    shares_.PartDispatched();  // no overdraft outlives the stream
    Finish(scope_.Finish(std::move(status)));
  }

  TransferService::Impl& impl_;
  grpc::CallbackServerContext* const context_;  // valid until OnDone
  CallScope scope_;
  files::v1::UploadResponse* const response_;
  Strand strand_;
  std::shared_ptr<UploadStream> self_;  // until gRPC is done with the reactor

  UploadRequest message_;  // the read in progress lands here
  UploadRequest first_;
  Phase phase_ = Phase::kFirst;
  bool reading_ = false;
  bool half_closed_ = false;
  absl::Time reads_ended_at_ = absl::InfinitePast();
  bool grace_waited_ = false;
  bool finish_upload_ = false;
  bool resumable_ = false;
  bool shared_ = false;      // resumable, kept in Redis
  bool renewing_ = false;
  bool commit_checked_ = false;  // the lock was checked just before `end`
  absl::Time renewed_at_;
  bool api_busy_ = false;  // a begin_upload or commit answer is awaited
  bool closing_ = false;
  bool committing_ = false;
  bool failing_ = false;
  bool ended_ = false;
  grpc::Status failure_;
  std::shared_ptr<UploadSession> session_;
  std::shared_ptr<client_core::ApiCall> api_call_;

  std::string pending_;  // data in hand, not yet in a part buffer
  size_t pending_at_ = 0;
  bool pending_charged_ = true;

  StreamShares shares_;

  absl::Time last_progress_;
  StreamTimer timer_;
};

}  // namespace

grpc::ServerReadReactor<files::v1::UploadRequest>* NewUploadReactor(
    TransferService::Impl& impl, grpc::CallbackServerContext* context,
    files::v1::UploadResponse* response) {
  auto stream = std::make_shared<UploadStream>(impl, context, response);
  stream->Begin();
  return stream.get();
}

}  // namespace filesgw::server::transfer
