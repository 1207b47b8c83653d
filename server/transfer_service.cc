#include "server/transfer_service.h"

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client_core/query.h"
#include "grpcpp/support/server_callback.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/request_context.h"
#include "server/status_builder.h"
#include "server/transfer_internal.h"
#include "server/transfer_resumable.h"
#include "server/transfer_shared_uploads.h"
#include "server/transfer_upload_session.h"

namespace filesgw::server {
namespace transfer {

absl::Time DeadlineOf(const grpc::ServerContextBase* context) {
  auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

void Strand::Run(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(fn));
    if (running_) return;
    running_ = true;
  }
  for (;;) {
    std::function<void()> next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) {
        running_ = false;
        return;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next();
  }
}

const std::string& CallInfo::caller_name() const {
  static const std::string kNone;
  return caller != nullptr ? caller->name : kNone;
}

CallScope::CallScope(TransferService::Impl& impl, grpc::CallbackServerContext* context,
                     const char* method, std::optional<Direction> stream)
    : impl_(impl), full_method_(absl::StrCat("/files.v1.TransferService/", method)),
      stream_(stream), started_(absl::Now()) {
  auto caller = std::make_shared<CallerIdentity>();
  admitted_ = impl.deps.auth->Authenticate(*context, full_method_, caller.get());
  if (admitted_.ok()) info_.caller = caller;
  info_.rc = RequestContext::FromMetadata(context->client_metadata(), full_method_, info_.caller);
  info_.peer = context->peer();
  info_.deadline = DeadlineOf(context);
  info_.quota_key = admitted_.ok() && !caller->fairness_key.empty() ? caller->fairness_key
                                                                     : info_.peer;
  context->AddInitialMetadata("x-request-id", info_.rc->request_id());
  info_.rc->LogDroppedTrace(impl_.deps.log);
  if (stream_.has_value()) impl_.active.fetch_add(1);
  if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
    if (stream_.has_value()) {
      m->StreamStarted(*stream_);
    } else {
      m->UnaryStarted();
    }
  }
  if (admitted_.ok() && !info_.rc->metadata_status().ok()) {
    admitted_ = FromLocalStatus(info_.rc->metadata_status(), "INVALID_METADATA");
  }
  if (admitted_.ok() && impl_.deps.quotas != nullptr) {
    admitted_ = impl_.deps.quotas->Admit(info_.quota_key, info_.caller_name(),
                                         CallerQuotas::kCall, &call_slot_);
    if (admitted_.ok() && stream_.has_value()) {
      admitted_ = impl_.deps.quotas->Admit(info_.quota_key, info_.caller_name(),
                                           CallerQuotas::kStream, &stream_slot_);
    }
  }
}

CallScope::~CallScope() {
  if (!finished_) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
}

grpc::Status CallScope::Finish(grpc::Status status) {
  if (finished_) return status;
  finished_ = true;
  stream_slot_.Release();
  call_slot_.Release();
  if (stream_.has_value()) impl_.active.fetch_sub(1);
  const absl::Duration elapsed = absl::Now() - started_;
  if (Metrics* m = impl_.deps.telemetry.metrics.get()) {
    if (stream_.has_value()) {
      m->StreamFinished(*stream_);
    } else {
      m->UnaryFinished();
    }
    m->CallFinished(full_method_, status.error_code(), elapsed);
  }
  Logger* log = impl_.deps.log;
  if (log != nullptr && (log->Enabled(LogLevel::kDebug) || !status.ok())) {
    const auto& trace = info_.rc->trace();
    ScopedLogFields ids(info_.rc->request_id(), trace.has_value() ? trace->trace_id : "");
    log->Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "call",
             {{"method", full_method_},
              {"code", static_cast<int>(status.error_code())},
              {"ms", absl::ToDoubleMilliseconds(elapsed)}});
  }
  return status;
}

Upstream UpstreamFor(TransferService::Impl& impl, const CallerIdentity* caller,
                     client_core::ApiRequest* request) {
  if (caller == nullptr || caller->profile == nullptr) {
    return {impl.deps.client.get(), &impl.deps.telemetry, true};
  }
  request->caller = caller->fairness_key;
  request->credential = caller->credential;
  return {caller->profile->client.get(), &caller->profile->telemetry,
          !caller->credential.has_value()};
}

std::shared_ptr<client_core::ApiCall> CallApi(TransferService::Impl& impl, const CallInfo& info,
                                              client_core::ApiRequest request,
                                              std::function<void(client_core::ApiResult)> done) {
  if (request.deadline == absl::InfiniteFuture()) request.deadline = info.deadline;
  if (info.rc != nullptr) info.rc->AddUpstreamHeaders(&request.extra_headers);
  const Upstream upstream = UpstreamFor(impl, info.caller.get(), &request);
  if (request.caller.empty()) request.caller = info.peer;
  std::string full_method = info.rc != nullptr ? info.rc->full_method() : "";
  return upstream.client->Call(
      std::move(request), [upstream, full_method = std::move(full_method),
                           done = std::move(done)](client_core::ApiResult r) {
        upstream.telemetry->OnApiResult(r, full_method, upstream.own_credential);
        done(std::move(r));
      });
}

grpc::Status FailureStatus(const client_core::ApiResult& result) {
  if (result.error.has_value()) return FromFilesError(*result.error, result.retry_after);
  const char* reason = "UPSTREAM_UNAVAILABLE";
  if (absl::IsDeadlineExceeded(result.status)) reason = "DEADLINE_EXCEEDED";
  if (absl::IsCancelled(result.status)) reason = "CANCELLED";
  if (absl::IsResourceExhausted(result.status)) reason = "GATEWAY_RATE_LIMITED";
  return FromLocalStatus(result.status, reason, result.retry_after);
}

std::string ApiPath(std::string_view prefix, std::string_view path) {
  std::string out(prefix);
  out.push_back('/');
  client_core::AppendPercentEncoded(path, /*keep_slash=*/true, &out);
  return out;
}

absl::Status ParseFile(std::string_view json, files::v1::File* out) {
  std::string bytes;
  absl::Status s = JsonToBinary(files::v1::File::descriptor(), json, &bytes);
  if (!s.ok()) return s;
  if (!out->ParseFromString(bytes)) return absl::InternalError("File message does not parse");
  return absl::OkStatus();
}

grpc::Status Local(grpc::StatusCode code, std::string_view reason, std::string_view message) {
  return FromLocalStatus(
      absl::Status(static_cast<absl::StatusCode>(code),
                   absl::string_view(message.data(), message.size())),
      reason);
}

grpc::Status IdleStatus(TransferService::Impl& impl, const char* what) {
  if (Metrics* m = impl.deps.telemetry.metrics.get()) m->LimitRejection("stream_idle");
  return Local(grpc::StatusCode::DEADLINE_EXCEEDED, "STREAM_IDLE",
               absl::StrCat(what, " for ",
                            absl::FormatDuration(impl.deps.options.stream_idle_timeout),
                            " (--stream-idle-timeout); the stream was ended"));
}

}  // namespace transfer

TransferService::Impl::Impl(TransferDeps d)
    : deps(std::move(d)), budget(deps.options.upload_memory),
      parts(std::make_shared<transfer::PartPool>(deps.options.upload_memory)),
      resumable(std::make_unique<transfer::ResumableRegistry>(deps.scheduler,
                                                              deps.options.resumable_ttl)) {
  if (deps.redis != nullptr) {
    shared = std::make_unique<transfer::SharedUploads>(deps.redis, deps.options.resumable_ttl,
                                                       deps.options.redis.lease_ttl);
  }
}

TransferService::Impl::~Impl() = default;

TransferService::TransferService(TransferDeps deps)
    : impl_(std::make_unique<Impl>(std::move(deps))) {
  // Download as a raw bidi stream: a bidi method's request is not read before
  // the handler runs, so the caller is admitted first. The generated service
  // registers its methods in the order of the proto's service.
  const int index = files::v1::DownloadRequest::descriptor()
                        ->file()
                        ->FindServiceByName("TransferService")
                        ->FindMethodByName("Download")
                        ->index();
  using Handler = grpc::internal::CallbackBidiHandler<grpc::ByteBuffer, grpc::ByteBuffer>;
  auto make = [this] {
    return new Handler([this](grpc::CallbackServerContext* context) {
      return DownloadStream(context);
    });
  };
  MarkMethodStreamed(index, make());    // the method type: bidi
  MarkMethodRawCallback(index, make());  // the API type: raw callback
}
TransferService::~TransferService() = default;

int64_t TransferService::active_streams() const { return impl_->active.load(); }

grpc::ServerReadReactor<files::v1::UploadRequest>* TransferService::Upload(
    grpc::CallbackServerContext* context, files::v1::UploadResponse* response) {
  return transfer::NewUploadReactor(*impl_, context, response);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* TransferService::DownloadStream(
    grpc::CallbackServerContext* context) {
  return transfer::NewDownloadReactor(*impl_, context);
}

namespace {

using transfer::CallScope;
using transfer::Local;

// A unary TransferService call: admitted at construction; Reply ends it.
// Deleted when both gRPC is done with it and the method that made it has
// returned (the answer may come on a transport thread before that).
class UnaryCall : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(TransferService::Impl& impl, grpc::CallbackServerContext* context,
            const char* method)
      : impl_(impl), scope_(impl, context, method) {}

  void OnCancel() override {
    std::shared_ptr<client_core::ApiCall> call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      call = upstream_;
    }
    if (call != nullptr) call->Cancel();
  }
  void OnDone() override { Unref(); }
  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // The last thing a call does: `this` may be gone when it returns.
  void Reply(grpc::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_.reset();
    }
    Finish(scope_.Finish(std::move(status)));
  }
  // The Files.com call in progress (cancelled with the RPC).
  void Track(std::shared_ptr<client_core::ApiCall> call) {
    if (call == nullptr) return;
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_ = call;
      cancelled = cancelled_;
    }
    if (cancelled) call->Cancel();
  }

  TransferService::Impl& impl_;
  CallScope scope_;

 private:
  std::mutex mu_;
  bool cancelled_ = false;
  std::shared_ptr<client_core::ApiCall> upstream_;
  std::atomic<int> refs_{2};
};

}  // namespace

grpc::ServerUnaryReactor* TransferService::StartResumableUpload(
    grpc::CallbackServerContext* context, const files::v1::StartResumableUploadRequest* request,
    files::v1::StartResumableUploadResponse* response) {
  auto* call = new UnaryCall(*impl_, context, "StartResumableUpload");
  if (!call->scope_.admitted().ok()) {
    call->Reply(call->scope_.admitted());
    call->Unref();
    return call;
  }
  std::string path;
  if (grpc::Status s = transfer::CheckSpec(request->spec(), &path); !s.ok()) {
    call->Reply(s);
    call->Unref();
    return call;
  }
  const files::v1::UploadSpec spec = request->spec();
  Impl* impl = impl_.get();
  // Overwrite check, then begin_upload, then the id: each step answers on a
  // transport thread and starts the next.
  call->Track(transfer::CheckOverwrite(
      *impl, call->scope_.info(), spec, path,
      [call, impl, spec, path, response](grpc::Status s) {
        if (!s.ok()) return call->Reply(s);
        auto session = std::make_shared<transfer::UploadSession>(impl, spec, path,
                                                                 call->scope_.info().caller);
        call->Ref();  // the answer may end the call before Track returns
        call->Track(session->FetchDescriptors(
            call->scope_.info(), 1, [call, impl, session, response](grpc::Status begun) {
              if (!begun.ok()) return call->Reply(begun);
              if (impl->shared != nullptr) {
                // In Redis: any replica continues it. Only bookkeeping, no bytes.
                transfer::SharedUpload u;
                u.caller = call->scope_.info().caller_name();
                const auto& who = call->scope_.info().caller;
                u.profile = who != nullptr && who->profile != nullptr ? who->profile->name
                                                                        : "default";
                u.path = session->path();
                u.spec = session->spec().SerializeAsString();
                u.ref = session->ref();
                const std::string id = transfer::NewUploadId();
                return impl->shared->Create(id, u, [call, response, id](grpc::Status stored) {
                  if (stored.ok()) response->set_upload_id(id);
                  call->Reply(stored);
                });
              }
              response->set_upload_id(impl->resumable->Add(session));
              call->Reply(grpc::Status::OK);
            }));
        call->Unref();
      }));
  call->Unref();
  return call;
}

grpc::ServerUnaryReactor* TransferService::QueryUploadStatus(
    grpc::CallbackServerContext* context, const files::v1::QueryUploadStatusRequest* request,
    files::v1::QueryUploadStatusResponse* response) {
  auto* call = new UnaryCall(*impl_, context, "QueryUploadStatus");
  if (!call->scope_.admitted().ok()) {
    call->Reply(call->scope_.admitted());
    call->Unref();
    return call;
  }
  if (impl_->shared != nullptr) {
    impl_->shared->Query(request->upload_id(), call->scope_.info().caller_name(),
                         [call, response](grpc::Status s, transfer::SharedUpload u) {
                           if (s.ok()) {
                             response->set_complete(u.complete);
                             files::v1::File file;
                             if (u.complete && file.ParseFromString(u.file)) {
                               response->set_persisted_size(file.size());
                               *response->mutable_file() = std::move(file);
                             } else {
                               response->set_persisted_size(u.persisted());
                             }
                           }
                           call->Reply(s);
                           call->Unref();
                         });
    return call;
  }
  auto session = impl_->resumable->Find(request->upload_id(), call->scope_.info().caller_name());
  if (session == nullptr) {
    call->Reply(Local(grpc::StatusCode::NOT_FOUND, "UPLOAD_NOT_FOUND",
                      "no resumable upload with that id (cancelled or expired)"));
    call->Unref();
    return call;
  }
  // While a stream writes, report what is durable so far.
  bool complete = false;
  files::v1::File file;
  impl_->resumable->Status(session, &complete, &file);
  response->set_complete(complete);
  if (complete) {
    *response->mutable_file() = file;
    response->set_persisted_size(file.size());
  } else {
    response->set_persisted_size(session->persisted());
  }
  call->Reply(grpc::Status::OK);
  call->Unref();
  return call;
}

grpc::ServerUnaryReactor* TransferService::CancelResumableUpload(
    grpc::CallbackServerContext* context, const files::v1::CancelResumableUploadRequest* request,
    google::protobuf::Empty* /*response*/) {
  auto* call = new UnaryCall(*impl_, context, "CancelResumableUpload");
  if (!call->scope_.admitted().ok()) {
    call->Reply(call->scope_.admitted());
    call->Unref();
    return call;
  }
  if (impl_->shared != nullptr) {
    // A stream writing it (any replica) fails at its next part or renewal.
    impl_->shared->Cancel(request->upload_id(), call->scope_.info().caller_name(),
                          [call](grpc::Status s) {
                            call->Reply(s);
                            call->Unref();
                          });
    return call;
  }
  auto session =
      impl_->resumable->Remove(request->upload_id(), call->scope_.info().caller_name());
  if (session == nullptr) {
    call->Reply(Local(grpc::StatusCode::NOT_FOUND, "UPLOAD_NOT_FOUND",
                      "no resumable upload with that id"));
    call->Unref();
    return call;
  }
  // A stream still writing it fails; its parts stop.
  session->Cancel(Local(grpc::StatusCode::ABORTED, "UPLOAD_CANCELLED",
                        "the resumable upload was cancelled; nothing was committed"));
  call->Reply(grpc::Status::OK);
  call->Unref();
  return call;
}

}  // namespace filesgw::server
