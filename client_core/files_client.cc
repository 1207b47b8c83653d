#include "client_core/files_client.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client_core/backoff.h"
#include "client_core/retry_after.h"
#include "client_core/retry_policy.h"

namespace filesgw::client_core {
namespace {

constexpr char kApiPrefix[] = "/api/rest/v1";

// A first guess only: the server re-derives the gRPC code from error.type,
// because Files.com's statuses do not always match its error groups.
absl::StatusCode CodeFromHttpStatus(int status) {
  switch (status) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 409: return absl::StatusCode::kAborted;
    case 413: case 414: case 431: return absl::StatusCode::kInvalidArgument;  // too large
    case 429: return absl::StatusCode::kResourceExhausted;
    case 501: return absl::StatusCode::kUnimplemented;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default: break;
  }
  if (status >= 400 && status < 500) return absl::StatusCode::kFailedPrecondition;
  if (status >= 500 && status < 600) return absl::StatusCode::kInternal;
  return absl::StatusCode::kUnknown;
}

// One logical call: its attempts, the wait between them, and cancellation.
// Transport callbacks, timers and Cancel race on different threads; `mu_`
// orders them and `finished_` makes sure `done_` runs exactly once. No lock is
// held while calling the transport, the scheduler's callbacks or `done_`.
class CallState : public ApiCall, public std::enable_shared_from_this<CallState> {
 public:
  CallState(std::shared_ptr<HttpTransport> transport, std::shared_ptr<Scheduler> scheduler,
            const ClientOptions& options, ApiRequest request, ApiCallback done)
      : transport_(std::move(transport)),
        scheduler_(std::move(scheduler)),
        options_(options),
        request_(std::move(request)),
        done_(std::move(done)) {
    http_ = BuildHttpRequest();
  }

  void Begin() {
    if (scheduler_->Now() >= request_.deadline) {
      ApiResult result;
      result.status = absl::DeadlineExceededError("deadline passed before the first attempt");
      return Finish(std::move(result));
    }
    Attempt();
  }

  void Cancel() override {
    std::shared_ptr<HttpCall> in_flight;
    std::shared_ptr<GovernorTicket> ticket;
    uint64_t timer = 0;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || cancelled_) return;
      cancelled_ = true;
      in_flight = in_flight_;
      timer = timer_;
      ticket = ticket_;
    }
    // Queued at the governor: its callback answers CANCELLED.
    if (ticket != nullptr) return ticket->Cancel();
    // In flight: the transport answers CANCELLED and OnHttpResult finishes.
    // (If Start has not returned yet, Attempt sees cancelled_ and cancels.)
    if (in_flight != nullptr) return in_flight->Cancel();
    if (timer != 0) {
      // Waiting: finish now rather than at the end of the wait, but on a
      // scheduler thread, because callers often cancel under their own lock.
      scheduler_->Cancel(timer);
      scheduler_->RunAt(scheduler_->Now(),
                        [self = shared_from_this()] { self->FinishCancelled(); });
    }
  }

 private:
  HttpRequest BuildHttpRequest() const {
    HttpRequest http;
    http.method = request_.method;
    http.url = absl::StrCat(options_.base_url, kApiPrefix, request_.path_and_query);
    http.body = request_.body;
    http.connect_timeout = options_.open_timeout;
    http.read_timeout = options_.read_timeout;
    http.deadline = request_.deadline;
    // curl would silently re-send a POST whose reused connection died unanswered.
    http.fresh_connection = request_.idempotency == Idempotency::kNonIdempotent;
    HeaderList& h = http.headers;
    // Auth goes only to the API host: this client only builds API URLs.
    if (request_.send_auth && request_.credential.has_value()) {
      h.emplace_back(request_.credential->kind == ApiRequest::Credential::Kind::kApiKey
                         ? "X-FilesAPI-Key"
                         : "X-FilesAPI-Auth",
                     request_.credential->value);
    } else if (request_.send_auth && options_.api_key_source == nullptr &&
               options_.session_auth == nullptr) {
      if (!options_.api_key.empty()) {
        h.emplace_back("X-FilesAPI-Key", options_.api_key);
      } else if (!options_.session_id.empty()) {
        h.emplace_back("X-FilesAPI-Auth", options_.session_id);
      }
    }
    h.emplace_back("User-Agent", options_.user_agent);
    h.emplace_back("Accept", "application/json");
    if (!request_.body.empty() || !request_.content_type.empty()) {
      h.emplace_back("Content-Type",
                     request_.content_type.empty() ? "application/json" : request_.content_type);
    }
    for (const auto& header : request_.extra_headers) h.push_back(header);
    return http;
  }

  // Waits for the governor (if any), then sends.
  void Attempt() {
    if (options_.governor == nullptr) return Send(nullptr);
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      cancelled = cancelled_;
      timer_ = 0;
    }
    if (cancelled) return FinishCancelled();
    auto ticket = options_.governor->Acquire(
        request_.caller, request_.deadline, [self = shared_from_this()](Grant g) {
          {
            absl::MutexLock lock(&self->mu_);
            self->ticket_.reset();
            self->governor_wait_ += g.waited;
          }
          if (!g.status.ok()) {
            if (absl::IsCancelled(g.status)) return self->FinishCancelled();
            ApiResult result;
            result.status = g.status;
            result.retry_after = g.retry_after;
            return self->Finish(std::move(result));
          }
          self->Send(std::move(g.permit));
        });
    bool cancel_now = false;
    {
      absl::MutexLock lock(&mu_);
      if (!finished_ && in_flight_ == nullptr && permit_ == nullptr) {
        ticket_ = ticket;
        cancel_now = cancelled_;
      }
    }
    if (cancel_now) ticket->Cancel();
  }

  // Gets a session first when the profile logs in with username/password.
  void Send(std::shared_ptr<Permit> permit) {
    if (options_.session_auth == nullptr || !request_.send_auth || request_.credential.has_value()) {
      return Transmit(std::move(permit), "");
    }
    options_.session_auth->Get(
        request_.deadline, [self = shared_from_this(), permit = std::move(permit)](SessionResult s) mutable {
          if (!s.status.ok()) {
            ApiResult result;
            result.status = s.status;
            result.error = std::move(s.error);
            if (result.error.has_value()) result.http_status = result.error->http_status;
            return self->Finish(std::move(result));
          }
          self->Transmit(std::move(permit), std::move(s.session_id));
        });
  }

  void Transmit(std::shared_ptr<Permit> permit, std::string session) {
    int attempt;
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      cancelled = cancelled_;
      attempt = cancelled ? attempts_ : ++attempts_;
      timer_ = 0;
      permit_ = std::move(permit);
    }
    if (cancelled) return FinishCancelled();
    HttpRequest http = http_;
    if (request_.send_auth && !request_.credential.has_value() &&
        options_.api_key_source != nullptr) {
      // Read per attempt: a rotated key is used from the next attempt on.
      http.headers.emplace_back("X-FilesAPI-Key", options_.api_key_source->Get());
    } else if (!session.empty()) {
      http.headers.emplace_back("X-FilesAPI-Auth", session);
    }
    {
      absl::MutexLock lock(&mu_);
      session_ = std::move(session);
    }
    std::shared_ptr<HttpCall> call = transport_->Start(
        std::move(http), [self = shared_from_this()](HttpResult r) { self->OnHttpResult(std::move(r)); });
    bool cancel_now = false;
    {
      absl::MutexLock lock(&mu_);
      // A synchronous transport may have answered already: keep nothing then.
      if (!finished_ && answered_ < attempt) {
        in_flight_ = call;
        // Cancel ran while Start was running and found nothing to cancel.
        cancel_now = cancelled_;
      }
    }
    if (cancel_now) call->Cancel();
  }

  void OnHttpResult(HttpResult http) {
    int attempts;
    bool cancelled;
    std::shared_ptr<Permit> permit;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      answered_ = attempts_;
      in_flight_.reset();
      attempts = attempts_;
      cancelled = cancelled_;
      permit = std::move(permit_);
    }
    permit.reset();  // the upstream answered: the slot is free for the next caller
    if (cancelled || absl::IsCancelled(http.transport)) return FinishCancelled();
    std::string session;
    bool renewed;
    {
      absl::MutexLock lock(&mu_);
      session = session_;
      renewed = session_renewed_;
    }
    if (!session.empty() && !renewed && http.transport.ok() && http.response.status == 401) {
      // The session expired or was ended: log in again and repeat at once. A
      // 401 means Files.com did not act on the request, so POSTs repeat too.
      options_.session_auth->Invalidate(session);
      {
        absl::MutexLock lock(&mu_);
        session_renewed_ = true;
      }
      return Attempt();
    }
    if (options_.governor != nullptr && http.transport.ok() && http.response.status == 429) {
      // Files.com is rate limiting this credential: hold back every caller.
      auto retry_after = ParseRetryAfter(http.response.HeaderValues("retry-after"),
                                         scheduler_->Now(), options_.retry_after_cap);
      absl::BitGen gen;
      options_.governor->PauseUntil(scheduler_->Now() +
                                    retry_after.value_or(Backoff(attempts, options_, gen)));
    }
    const bool retryable =
        attempts <= options_.max_retries && IsRetryable(http, request_.idempotency);
    ApiResult result = ToApiResult(std::move(http.response), http.transport);
    if (!retryable) return Finish(std::move(result));
    absl::Duration wait;
    if (result.retry_after.has_value()) {
      wait = *result.retry_after;
    } else {
      absl::BitGen gen;
      wait = Backoff(attempts, options_, gen);
    }
    const absl::Time when = scheduler_->Now() + wait;
    // A retry that cannot even start in time is pointless: report what we have.
    if (when >= request_.deadline) return Finish(std::move(result));
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      last_ = std::move(result);
    }
    uint64_t id = scheduler_->RunAt(when, [self = shared_from_this()] { self->OnTimer(); });
    bool cancel_now = false;
    {
      absl::MutexLock lock(&mu_);
      if (!finished_ && attempts_ == attempts) {
        timer_ = id;
        // Cancel ran before the timer existed and found nothing to cancel.
        cancel_now = cancelled_;
      }
    }
    // If the timer already fired, Attempt sees cancelled_ and finishes.
    if (cancel_now && scheduler_->Cancel(id)) FinishCancelled();
  }

  void OnTimer() {
    if (scheduler_->Now() >= request_.deadline) {
      ApiResult result;
      {
        absl::MutexLock lock(&mu_);
        result = last_;
      }
      result.status = absl::DeadlineExceededError(
          absl::StrCat("deadline exceeded waiting to retry: ", result.status.message()));
      return Finish(std::move(result));
    }
    Attempt();
  }

  ApiResult ToApiResult(HttpResponse response, const absl::Status& transport) const {
    ApiResult result;
    if (!transport.ok()) {
      result.status = transport;
      return result;
    }
    result.http_status = response.status;
    result.retry_after = ParseRetryAfter(response.HeaderValues("retry-after"), scheduler_->Now(),
                                         options_.retry_after_cap);
    if (response.status >= 200 && response.status < 300) {
      const std::string* cursor = response.Header("x-files-cursor");
      if (cursor == nullptr) cursor = response.Header("x-files-cursor-next");
      if (cursor != nullptr) result.next_cursor = *cursor;
      result.status = absl::OkStatus();
    } else {
      FilesError error = ParseFilesError(response.status, response.body);
      result.status = absl::Status(CodeFromHttpStatus(response.status), error.message);
      result.error = std::move(error);
    }
    result.headers = std::move(response.headers);
    result.body = std::move(response.body);
    return result;
  }

  void FinishCancelled() {
    ApiResult result;
    result.status = absl::CancelledError("call cancelled");
    Finish(std::move(result));
  }

  void Finish(ApiResult result) {
    ApiCallback done;
    std::shared_ptr<Permit> permit;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      result.attempts = attempts_;
      result.governor_wait = governor_wait_;
      in_flight_.reset();
      ticket_.reset();
      permit = std::move(permit_);
      done = std::move(done_);
    }
    permit.reset();
    done(std::move(result));
  }

  const std::shared_ptr<HttpTransport> transport_;
  const std::shared_ptr<Scheduler> scheduler_;
  const ClientOptions options_;  // a copy: a call may outlive its client
  const ApiRequest request_;
  HttpRequest http_;  // the same request for every attempt

  absl::Mutex mu_;
  ApiCallback done_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  int answered_ ABSL_GUARDED_BY(mu_) = 0;  // attempts that got their answer
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<HttpCall> in_flight_ ABSL_GUARDED_BY(mu_);
  uint64_t timer_ ABSL_GUARDED_BY(mu_) = 0;
  ApiResult last_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<GovernorTicket> ticket_ ABSL_GUARDED_BY(mu_);  // queued at the governor
  std::shared_ptr<Permit> permit_ ABSL_GUARDED_BY(mu_);          // held during an attempt
  absl::Duration governor_wait_ ABSL_GUARDED_BY(mu_);
  std::string session_ ABSL_GUARDED_BY(mu_);  // sent with the attempt in flight; secret
  bool session_renewed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

FilesClient::FilesClient(std::shared_ptr<HttpTransport> transport,
                         std::shared_ptr<Scheduler> scheduler, ClientOptions options)
    : transport_(std::move(transport)),
      scheduler_(std::move(scheduler)),
      options_(std::move(options)) {}

std::shared_ptr<ApiCall> FilesClient::Call(ApiRequest request, ApiCallback done) {
  auto state = std::make_shared<CallState>(transport_, scheduler_, options_, std::move(request),
                                           std::move(done));
  state->Begin();
  return state;
}

}  // namespace filesgw::client_core
