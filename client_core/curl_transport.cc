#include "client_core/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client_core/internal/string_view.h"
#include "client_core/status_reason.h"

namespace filesgw::client_core {

using internal::AsAbsl;
namespace {

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// The one translation of curl failures. Only the fixed curl texts are used:
// curl's error buffer can echo parts of the URL, and URLs may be presigned.
absl::Status CurlCodeToStatus(CURLcode code) {
  const std::string message = absl::StrCat("curl: ", curl_easy_strerror(code));
  switch (code) {
    case CURLE_OK:
      return absl::OkStatus();
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::CancelledError(message);
    // Connect timeout, read timeout (low-speed limit) and the deadline alike.
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(message);
    // The network or the peer failed; another attempt may well work.
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PROXY:
    case CURLE_BAD_CONTENT_ENCODING:
      return absl::UnavailableError(message);
    // The request itself is wrong: retrying cannot help.
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return absl::InvalidArgumentError(message);
    // Our configuration (CA file, source address) is wrong: not transient.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_INTERFACE_FAILED:
      return absl::FailedPreconditionError(message);
    // A local failure, not the server's or the rate governor's: curl also
    // reports its own size limits this way (a request head over 1 MiB, e.g. a
    // huge cursor in the URL). Retrying sends the same request again.
    case CURLE_OUT_OF_MEMORY:
      return WithReason(absl::InternalError(message), "LOCAL_OUT_OF_MEMORY");
    default:
      return absl::UnknownError(message);
  }
}

// True when the request provably never left: name resolution, connection and
// TLS set-up all happen before the first request byte is written.
bool NeverSent(CURLcode code, CURL* easy) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_INTERFACE_FAILED:
      return true;
    default:
      break;
  }
  // A connect timeout, or a deadline hit while queued for a connection.
  curl_off_t sent = 0;
  if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK) return false;
  return sent == 0;
}

struct Transfer {
  uint64_t id = 0;
  HttpRequest request;
  HttpCallback done;
  EasyPtr easy;
  SlistPtr headers;
  HttpResponse response;
  bool sink_aborted = false;
};

constexpr size_t kMaxErrorBody = 1 << 20;

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->request.body_sink) {
    long status = 0;
    curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &status);
    t->response.status = static_cast<int>(status);
    if (status >= 200 && status < 300) {
      switch (t->request.body_sink(t->response, std::string_view(data, n))) {
        case BodyAction::kAccept:
          return n;
        case BodyAction::kPause:
          return CURL_WRITEFUNC_PAUSE;
        case BodyAction::kAbort:
          t->sink_aborted = true;
          return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
      }
    }
    if (t->response.body.size() + n > kMaxErrorBody) return n;  // keep the head of it
  }
  t->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  // Interim answers (100 Continue) come first: keep the final answer's headers.
  if (absl::StartsWith(AsAbsl(line), "HTTP/")) {
    t->response.headers.clear();
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();  // blank line, folding
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(AsAbsl(line.substr(0, colon))));
  std::string value(absl::StripAsciiWhitespace(AsAbsl(line.substr(colon + 1))));
  t->response.headers.emplace_back(std::move(name), std::move(value));
  return line.size();
}

// Everything the loop thread owns, kept apart from the transport object
// because the loop thread co-owns it: a callback may destroy the transport.
class Loop {
 public:
  explicit Loop(CurlTransportOptions options) : options_(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    if (multi_ != nullptr) {
      curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
      long total = options_.max_total_connections > 0 ? options_.max_total_connections : 64;
      curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
      // curl counts busy connections in its cache too: when one finishes
      // with more than this open, the oldest idle one is closed, so after a
      // burst at most this many stay idle. 0 would mean curl's own default
      // (4 per easy handle ever added), so at least 1.
      long idle = std::max(1, std::min(options_.max_idle_connections, static_cast<int>(total)));
      curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, idle);
      if (options_.max_host_connections > 0) {
        curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                          static_cast<long>(options_.max_host_connections));
      }
    }
  }

  ~Loop() {
    pool_.clear();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // 0 when the loop no longer accepts work (the caller completes `t` itself).
  uint64_t Post(std::unique_ptr<Transfer>& t) {
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || multi_ == nullptr) return 0;
      id = ++next_id_;
      t->id = id;
      adds_.push_back(std::move(t));
    }
    curl_multi_wakeup(multi_);
    return id;
  }

  void PostCancel(uint64_t id) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;  // the shutdown cancels everything anyway
      cancels_.push_back(id);
    }
    curl_multi_wakeup(multi_);
  }

  void PostResume(uint64_t id) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      resumes_.push_back(id);
    }
    curl_multi_wakeup(multi_);
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
  }

  void Run() {
    if (multi_ == nullptr) return;
    for (;;) {
      std::vector<std::unique_ptr<Transfer>> adds;
      std::vector<uint64_t> cancels, resumes;
      bool stop;
      {
        absl::MutexLock lock(&mu_);
        adds.swap(adds_);
        cancels.swap(cancels_);
        resumes.swap(resumes_);
        stop = stopping_;
      }
      for (auto& t : adds) Begin(std::move(t));
      for (uint64_t id : cancels) Abort(id, absl::CancelledError("cancelled"));
      for (uint64_t id : resumes) {
        auto it = active_.find(id);
        // May deliver the held bytes (and finish the transfer) right here.
        if (it != active_.end()) curl_easy_pause(it->second->easy.get(), CURLPAUSE_CONT);
      }
      if (stop) {
        std::vector<uint64_t> ids;
        for (const auto& [id, t] : active_) ids.push_back(id);
        for (uint64_t id : ids) Abort(id, absl::CancelledError("transport shut down"));
        return;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        if (t != nullptr) Complete(t->id, msg->data.result);
      }
      // Sleeps until a socket is ready, curl's next timer, or a wakeup.
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

 private:
  EasyPtr TakeEasy() {
    if (!pool_.empty()) {
      EasyPtr easy = std::move(pool_.back());
      pool_.pop_back();
      return easy;
    }
    return EasyPtr(curl_easy_init());
  }

  void ReleaseEasy(EasyPtr easy) {
    if (easy == nullptr || pool_.size() >= kPoolSize) return;
    curl_easy_reset(easy.get());
    pool_.push_back(std::move(easy));
  }

  bool Configure(Transfer* t) {
    CURL* e = t->easy.get();
    const HttpRequest& req = t->request;
    bool ok = true;
    auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
    set(curl_easy_setopt(e, CURLOPT_URL, req.url.c_str()));
    set(curl_easy_setopt(e, CURLOPT_PRIVATE, t));
    set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L));
    set(curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L));
    set(curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS)));
    // Wait for an HTTP/2 connection being set up rather than open another.
    // Only over TLS, the one place HTTP/2 is asked for: over plain HTTP curl
    // learns a connection cannot multiplex only from its first answer, so
    // one slow answer held every other request to that host back.
    const bool tls = absl::StartsWithIgnoreCase(AsAbsl(req.url), "https:");
    set(curl_easy_setopt(e, CURLOPT_PIPEWAIT, tls ? 1L : 0L));
    set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody));
    set(curl_easy_setopt(e, CURLOPT_WRITEDATA, t));
    set(curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader));
    set(curl_easy_setopt(e, CURLOPT_HEADERDATA, t));
    // Pooled handles keep options: set both ways. A one-shot connection is
    // also closed after its answer: kept, it could only serve idempotent
    // requests later, and each create would leave one more idle socket.
    set(curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, req.fresh_connection ? 1L : 0L));
    set(curl_easy_setopt(e, CURLOPT_FORBID_REUSE, req.fresh_connection ? 1L : 0L));
    set(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(req.connect_timeout)));
    if (req.read_timeout > absl::ZeroDuration() && req.read_timeout < absl::InfiniteDuration()) {
      // Below 1 byte/s for that long = nothing arrived: the SDKs' read timeout.
      set(curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L));
      set(curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                           static_cast<long>(absl::ToInt64Seconds(
                               absl::Ceil(req.read_timeout, absl::Seconds(1))))));
    }
    if (req.deadline != absl::InfiniteFuture()) {
      set(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ToMillis(req.deadline - absl::Now())));
    }
    if (!options_.source_ip.empty()) {
      set(curl_easy_setopt(e, CURLOPT_INTERFACE, options_.source_ip.c_str()));
    }
    if (!options_.ca_file.empty()) {
      set(curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str()));
    }
    if (options_.accept_compressed && !req.body_sink) {
      set(curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""));
    }
    if (req.body_sink) {
      // Streamed bodies are large: read in bigger gulps than curl's 16 KiB.
      set(curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024));
    }

    const std::string& method = req.method;
    if (method == "GET") {
      set(curl_easy_setopt(e, CURLOPT_HTTPGET, 1L));
    } else if (method == "HEAD") {
      set(curl_easy_setopt(e, CURLOPT_NOBODY, 1L));
    } else {
      // POST, PUT and PATCH always carry a length (0 for an empty part PUT).
      const std::string_view body =
          req.shared_view != nullptr ? *req.shared_view : std::string_view(req.body);
      if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(body.size())));
        // Never null: curl would read the body from stdin instead.
        set(curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data() != nullptr ? body.data() : ""));
      }
      if (method != "POST") set(curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str()));
    }

    bool has_content_type = false;
    curl_slist* list = nullptr;
    auto append = [&list, &ok](const std::string& line) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next == nullptr) {
        ok = false;
        return;
      }
      list = next;
    };
    for (const auto& [name, value] : req.headers) {
      has_content_type = has_content_type || absl::EqualsIgnoreCase(name, "content-type");
      // "Name;" is curl's spelling of a header with an empty value.
      append(value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value));
    }
    // Expect: 100-continue costs a round trip (or a 1 s stall) per large body.
    append("Expect:");
    // Without this curl labels bodies application/x-www-form-urlencoded.
    if (!has_content_type) append("Content-Type:");
    t->headers.reset(list);
    set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, list));
    return ok;
  }

  static long ToMillis(absl::Duration d) {
    if (d >= absl::Milliseconds(LONG_MAX)) return LONG_MAX;
    // 0 means "no timeout" to curl: a spent budget must still time out.
    int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
    return ms < 1 ? 1L : static_cast<long>(ms);
  }

  void Begin(std::unique_ptr<Transfer> t) {
    if (t->request.deadline <= absl::Now()) {
      return Finish(std::move(t), absl::DeadlineExceededError("deadline passed before sending"),
                    /*request_sent=*/false);
    }
    t->easy = TakeEasy();
    if (t->easy == nullptr || !Configure(t.get())) {
      return Finish(std::move(t), absl::InternalError("curl: cannot set up the request"), false);
    }
    if (curl_multi_add_handle(multi_, t->easy.get()) != CURLM_OK) {
      return Finish(std::move(t), absl::InternalError("curl: cannot start the request"), false);
    }
    uint64_t id = t->id;
    active_.emplace(id, std::move(t));
  }

  void Complete(uint64_t id, CURLcode code) {
    auto it = active_.find(id);
    if (it == active_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, t->easy.get());
    if (t->sink_aborted) return Finish(std::move(t), absl::CancelledError("body sink aborted"), true);
    if (code != CURLE_OK) {
      bool sent = !NeverSent(code, t->easy.get());
      return Finish(std::move(t), CurlCodeToStatus(code), sent);
    }
    long status = 0;
    curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &status);
    t->response.status = static_cast<int>(status);
    Finish(std::move(t), absl::OkStatus(), /*request_sent=*/true);
  }

  void Abort(uint64_t id, absl::Status status) {
    auto it = active_.find(id);
    if (it == active_.end()) return;  // already finished: Cancel is idempotent
    std::unique_ptr<Transfer> t = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, t->easy.get());
    curl_off_t sent = 0;
    curl_easy_getinfo(t->easy.get(), CURLINFO_REQUEST_SIZE, &sent);
    Finish(std::move(t), std::move(status), sent > 0);
  }

  void Finish(std::unique_ptr<Transfer> t, absl::Status status, bool request_sent) {
    HttpResult result;
    result.transport = std::move(status);
    result.request_sent = request_sent;
    if (result.transport.ok()) result.response = std::move(t->response);
    HttpCallback done = std::move(t->done);
    ReleaseEasy(std::move(t->easy));
    t.reset();
    done(std::move(result));
  }

  static constexpr size_t kPoolSize = 32;

  const CurlTransportOptions options_;
  CURLM* multi_ = nullptr;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Transfer>> adds_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> cancels_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> resumes_ ABSL_GUARDED_BY(mu_);

  // Loop thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> active_;
  std::vector<EasyPtr> pool_;
};

class CurlCall : public HttpCall {
 public:
  CurlCall(std::weak_ptr<Loop> loop, uint64_t id) : loop_(std::move(loop)), id_(id) {}
  void Cancel() override {
    if (std::shared_ptr<Loop> loop = loop_.lock()) loop->PostCancel(id_);
  }
  void Resume() override {
    if (std::shared_ptr<Loop> loop = loop_.lock()) loop->PostResume(id_);
  }

 private:
  std::weak_ptr<Loop> loop_;
  uint64_t id_;
};

class NoopCall : public HttpCall {
 public:
  void Cancel() override {}
};

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options)
      : loop_(std::make_shared<Loop>(std::move(options))),
        thread_([loop = loop_] { loop->Run(); }) {}

  ~CurlTransport() override {
    loop_->Stop();
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();  // destroyed from a callback: the thread owns the loop
    } else {
      thread_.join();
    }
  }

  std::shared_ptr<HttpCall> Start(HttpRequest request, HttpCallback done) override {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    uint64_t id = loop_->Post(t);
    if (id == 0) {
      HttpResult result;
      result.transport = absl::CancelledError("transport shut down");
      t->done(std::move(result));
      return std::make_shared<NoopCall>();
    }
    return std::make_shared<CurlCall>(loop_, id);
  }

 private:
  std::shared_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace

std::shared_ptr<HttpTransport> MakeCurlTransport(CurlTransportOptions options) {
  return std::make_shared<CurlTransport>(std::move(options));
}

}  // namespace filesgw::client_core
