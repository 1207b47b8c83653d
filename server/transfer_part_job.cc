#include "server/transfer_part_job.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client_core/backoff.h"
#include "client_core/url_expiry.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::server::transfer {

using client_core::ApiRequest;
using client_core::ApiResult;
using client_core::HttpRequest;
using client_core::HttpResult;

PartJob::PartJob(std::shared_ptr<UploadSession> session, int part,
                 std::shared_ptr<const PartBuffer> data, int64_t bytes, CallInfo info,
                 CallerQuotas::Slot upstream)
    : session_(std::move(session)), part_(part), data_(std::move(data)), bytes_(bytes),
      info_(std::move(info)), upstream_(std::move(upstream)) {}

void PartJob::Cancel() {
  std::shared_ptr<client_core::HttpCall> call;
  std::shared_ptr<client_core::ApiCall> api_call;
  uint64_t timer = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    call = call_;
    api_call = api_call_;
    timer = timer_;
    timer_ = 0;
  }
  if (call != nullptr) call->Cancel();
  if (api_call != nullptr) api_call->Cancel();
  if (timer != 0 && session_->impl()->deps.scheduler->Cancel(timer)) {
    Fail(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }
}

void PartJob::Put() {
  auto d = session_->Descriptor(part_);
  if (d == nullptr || client_core::UrlExpired(d->url, absl::Now(), absl::Seconds(2))) {
    return Refresh();
  }
  HttpRequest http;
  http.method = d->http_method;
  http.url = d->url;
  http.headers = d->headers;
  http.shared_view = std::shared_ptr<const std::string_view>(data_, &data_->bytes());
  const auto& opts = session_->impl()->deps.client->options();
  http.connect_timeout = opts.open_timeout;
  http.read_timeout = opts.read_timeout;
  auto self = shared_from_this();
  auto call = session_->impl()->deps.transport->Start(
      std::move(http), [self](HttpResult r) { self->OnPut(std::move(r)); });
  std::lock_guard<std::mutex> lock(mu_);
  call_ = std::move(call);
  if (cancelled_) call_->Cancel();
}

void PartJob::OnPut(HttpResult r) {
  bool cancelled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call_.reset();
    cancelled = cancelled_;
  }
  if (cancelled) return Fail(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  const int status = r.response.status;
  if (r.transport.ok() && status >= 200 && status < 300) {
    const std::string* etag = r.response.Header("etag");
    if (etag == nullptr || etag->empty()) {
      return Fail(Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                        absl::StrCat("part ", part_, " upload answered no ETag")));
    }
    return Done(std::string(absl::StripSuffix(absl::StripPrefix(*etag, "\""), "\"")));
  }
  auto d = session_->Descriptor(part_);
  if (d != nullptr && !d->retry) {
    return Fail(Local(grpc::StatusCode::UNAVAILABLE, "PART_UPLOAD_FAILED",
                      absl::StrCat("part ", part_,
                                   " failed and Files.com does not allow part retries")));
  }
  if (r.transport.ok() && status == 403) {
    if (++refreshes_ > 3) {
      return Fail(Local(grpc::StatusCode::UNAVAILABLE, "UPLOAD_URL_REFUSED",
                        absl::StrCat("part ", part_,
                                     ": the storage host refuses fresh upload URLs")));
    }
    return Refresh();
  }
  const bool retryable =
      !r.transport.ok()
          ? (absl::IsUnavailable(r.transport) || absl::IsDeadlineExceeded(r.transport))
          : (status == 429 || (status >= 500 && status != 501) ||
             absl::StrContains(r.response.body, "<Code>RequestTimeout</Code>") ||
             absl::StrContains(r.response.body, "<Code>SlowDown</Code>"));
  const auto& opts = session_->impl()->deps.client->options();
  const int max_attempts = std::max(3, opts.max_retries) + 1;
  if (!retryable || ++attempts_ >= max_attempts) {
    std::string what = r.transport.ok() ? absl::StrCat("HTTP ", status)
                                        : std::string(r.transport.message());
    return Fail(Local(grpc::StatusCode::UNAVAILABLE, "PART_UPLOAD_FAILED",
                      absl::StrCat("part ", part_, " upload failed after ", attempts_ + 1,
                                   " attempt(s): ", what)));
  }
  if (const auto& metrics = session_->impl()->deps.telemetry.metrics; metrics != nullptr) {
    metrics->UpstreamRetries(info_.rc != nullptr ? info_.rc->full_method() : "", 1);
  }
  absl::BitGen gen;
  const absl::Duration wait = client_core::Backoff(attempts_, opts, gen);
  auto self = shared_from_this();
  auto& scheduler = *session_->impl()->deps.scheduler;
  std::unique_lock<std::mutex> lock(mu_);
  if (cancelled_) {
    lock.unlock();
    return Fail(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }
  timer_ = scheduler.RunAt(scheduler.Now() + wait, [self] {
    {
      std::lock_guard<std::mutex> timer_lock(self->mu_);
      self->timer_ = 0;
    }
    self->Put();
  });
}

// Asks begin_upload for this part's descriptor again (a fresh URL).
void PartJob::Refresh() {
  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> w(body);
  w.StartObject();
  w.Key("ref");
  const std::string ref = session_->ref();
  w.String(ref.c_str());
  w.Key("part");
  w.Int(part_);
  w.EndObject();
  ApiRequest api;
  api.method = "POST";
  api.path_and_query = ApiPath("/file_actions/begin_upload", session_->path());
  api.body = body.GetString();
  api.content_type = "application/json";
  // Only hands out URLs for an existing upload: safe to repeat.
  api.idempotency = client_core::Idempotency::kIdempotent;
  CallInfo info = info_;
  info.caller = session_->caller();
  auto self = shared_from_this();
  auto call = CallApi(*session_->impl(), info, std::move(api), [self](ApiResult r) {
    if (!r.status.ok()) return self->Fail(FailureStatus(r));
    rapidjson::Document doc;
    doc.Parse(r.body.c_str(), r.body.size());
    bool found = false;
    if (doc.IsArray()) {
      for (const auto& item : doc.GetArray()) {
        if (!item.IsObject() || !item.HasMember("part_number") || !item["part_number"].IsInt() ||
            item["part_number"].GetInt() != self->part_) {
          continue;
        }
        PartDescriptor d;
        if (item.HasMember("upload_uri") && item["upload_uri"].IsString()) {
          d.url = item["upload_uri"].GetString();
        }
        if (item.HasMember("http_method") && item["http_method"].IsString()) {
          d.http_method = item["http_method"].GetString();
        }
        if (item.HasMember("headers") && item["headers"].IsObject()) {
          for (const auto& h : item["headers"].GetObject()) {
            if (h.value.IsString()) d.headers.emplace_back(h.name.GetString(), h.value.GetString());
          }
        }
        if (item.HasMember("retry_parts") && item["retry_parts"].IsBool()) {
          d.retry = item["retry_parts"].GetBool();
        }
        found = !d.url.empty();
        if (found) self->session_->SetDescriptor(self->part_, std::move(d));
      }
    }
    if (!found) {
      return self->Fail(Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                              absl::StrCat("begin_upload gave no URL for part ", self->part_)));
    }
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      cancelled = self->cancelled_;
      self->api_call_.reset();
    }
    if (cancelled) return self->Fail(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    self->Put();
  });
  std::lock_guard<std::mutex> lock(mu_);
  api_call_ = std::move(call);
  if (cancelled_) api_call_->Cancel();
}

// The buffer goes back to the pool, and the upstream share to the caller,
// before the session learns the part ended: otherwise the stream could take
// its next buffer first, and the pool map one more that then stayed.
void PartJob::Fail(grpc::Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    upstream_.Release();
    api_call_.reset();
  }
  data_.reset();
  session_->PartFailed(part_, std::move(status), bytes_);
}

void PartJob::Done(std::string etag) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    upstream_.Release();
    api_call_.reset();
  }
  data_.reset();
  session_->PartDone(part_, std::move(etag), bytes_);
}

}  // namespace filesgw::server::transfer
