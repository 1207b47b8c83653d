#include "client_core/files_client.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "client_core/fake_scheduler.h"
#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

HttpResult Answer(int status, HeaderList headers = {}, std::string body = "") {
  HttpResult r;
  r.transport = absl::OkStatus();
  r.request_sent = true;
  r.response.status = status;
  r.response.headers = std::move(headers);
  r.response.body = std::move(body);
  return r;
}

HttpResult ConnectFailure() {
  HttpResult r;
  r.transport = absl::UnavailableError("connection refused");
  r.request_sent = false;
  return r;
}

// Replays canned results, one per Start, synchronously; records every request.
// With hold(), Start keeps the callback until the test answers or cancels.
class FakeTransport : public HttpTransport {
 public:
  class Call : public HttpCall {
   public:
    explicit Call(FakeTransport* owner) : owner_(owner) {}
    void Cancel() override { owner_->CancelHeld(); }

   private:
    FakeTransport* owner_;
  };

  void Push(HttpResult r) { script_.push_back(std::move(r)); }
  void hold() { hold_ = true; }

  std::shared_ptr<HttpCall> Start(HttpRequest request, HttpCallback done) override {
    requests.push_back(std::move(request));
    if (hold_) {
      held_ = std::move(done);
      return std::make_shared<Call>(this);
    }
    HttpResult r = script_.empty() ? Answer(599) : std::move(script_.front());
    if (!script_.empty()) script_.pop_front();
    done(std::move(r));
    return std::make_shared<Call>(this);
  }

  void CancelHeld() {
    ++cancels;
    if (!held_) return;
    HttpCallback done = std::move(held_);
    held_ = nullptr;
    HttpResult r;
    r.transport = absl::CancelledError("cancelled");
    r.request_sent = true;
    done(std::move(r));
  }

  std::vector<HttpRequest> requests;
  int cancels = 0;

 private:
  std::deque<HttpResult> script_;
  bool hold_ = false;
  HttpCallback held_;
};

class FilesClientTest : public ::testing::Test {
 protected:
  FilesClientTest() {
    options_.base_url = "https://acme.files.com";
    options_.api_key = "key-123";
  }

  // Runs one call to completion, advancing the fake clock through every wait.
  ApiResult Run(ApiRequest request) {
    FilesClient client(transport_, scheduler_, options_);
    std::optional<ApiResult> out;
    int calls = 0;
    call_ = client.Call(std::move(request), [&](ApiResult r) {
      ++calls;
      out = std::move(r);
    });
    while (!out.has_value() && scheduler_->RunNext()) {
    }
    EXPECT_EQ(calls, 1);
    return out.has_value() ? *out : ApiResult{};
  }

  static ApiRequest Get(std::string path = "/users/1") {
    ApiRequest r;
    r.method = "GET";
    r.path_and_query = std::move(path);
    return r;
  }

  static ApiRequest Post(std::string body = R"({"name":"x"})") {
    ApiRequest r;
    r.method = "POST";
    r.path_and_query = "/users";
    r.body = std::move(body);
    r.content_type = "application/json";
    r.idempotency = Idempotency::kNonIdempotent;
    return r;
  }

  static const std::string* Find(const HeaderList& headers, const std::string& name) {
    for (const auto& [k, v] : headers) {
      if (k == name) return &v;
    }
    return nullptr;
  }

  ClientOptions options_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeScheduler> scheduler_ = std::make_shared<FakeScheduler>();
  std::shared_ptr<ApiCall> call_;
};

TEST_F(FilesClientTest, RetriesTwo503sThenSucceeds) {
  transport_->Push(Answer(503));
  transport_->Push(Answer(503));
  transport_->Push(Answer(200, {}, R"({"id":1})"));
  ApiResult r = Run(Get());
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, R"({"id":1})");
  EXPECT_FALSE(r.error.has_value());
  ASSERT_EQ(scheduler_->waits().size(), 2u);
  // Equal jitter: attempt 1 waits within [0.25, 0.5] s, attempt 2 within [0.5, 1] s.
  EXPECT_GE(scheduler_->waits()[0], absl::Milliseconds(250));
  EXPECT_LE(scheduler_->waits()[0], absl::Milliseconds(500));
  EXPECT_GE(scheduler_->waits()[1], absl::Milliseconds(500));
  EXPECT_LE(scheduler_->waits()[1], absl::Seconds(1));
}

TEST_F(FilesClientTest, GivesUpAfterMaxRetries) {
  for (int i = 0; i < 10; ++i) transport_->Push(Answer(502));
  ApiResult r = Run(Get());
  EXPECT_EQ(r.attempts, options_.max_retries + 1);
  EXPECT_EQ(r.http_status, 502);
  EXPECT_FALSE(r.status.ok());
  ASSERT_TRUE(r.error.has_value());
}

TEST_F(FilesClientTest, Post500IsNotRetried) {
  transport_->Push(Answer(500, {}, R"({"type":"x","error":"boom"})"));
  ApiResult r = Run(Post());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(transport_->requests.size(), 1u);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(r.status.message(), "boom");
}

TEST_F(FilesClientTest, PostConnectFailureIsRetried) {
  transport_->Push(ConnectFailure());
  transport_->Push(Answer(201, {}, "{}"));
  ApiResult r = Run(Post());
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(transport_->requests[1].body, R"({"name":"x"})");
}

TEST_F(FilesClientTest, PostResetAfterSendIsNotRetried) {
  HttpResult reset;
  reset.transport = absl::UnavailableError("connection reset");
  reset.request_sent = true;
  transport_->Push(reset);
  ApiResult r = Run(Post());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(r.error.has_value());
}

TEST_F(FilesClientTest, RetryAfterWithinCapIsTheWait) {
  transport_->Push(Answer(429, {{"retry-after", "1"}}));
  transport_->Push(Answer(200));
  ApiResult r = Run(Post());
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(scheduler_->waits(), std::vector<absl::Duration>{absl::Seconds(1)});
}

TEST_F(FilesClientTest, RetryAfterOverCapIsIgnoredForOwnBackoff) {
  transport_->Push(Answer(429, {{"retry-after", "60"}}));
  transport_->Push(Answer(200));
  ApiResult r = Run(Get());
  EXPECT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(scheduler_->waits().size(), 1u);
  EXPECT_GE(scheduler_->waits()[0], absl::Milliseconds(250));
  EXPECT_LE(scheduler_->waits()[0], absl::Milliseconds(500));
}

TEST_F(FilesClientTest, FinalRetryAfterIsReported) {
  options_.max_retries = 0;
  transport_->Push(Answer(429, {{"retry-after", "7"}},
                          R"({"type":"rate-limited/too-many-requests","error":"slow down"})"));
  ApiResult r = Run(Get());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.retry_after, absl::Seconds(7));
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->type, "rate-limited/too-many-requests");
}

TEST_F(FilesClientTest, BuildsUrlAndHeaders) {
  transport_->Push(Answer(200));
  ApiRequest req = Post();
  req.extra_headers.emplace_back("x-request-id", "r1");
  Run(std::move(req));
  ASSERT_EQ(transport_->requests.size(), 1u);
  const HttpRequest& h = transport_->requests[0];
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.url, "https://acme.files.com/api/rest/v1/users");
  EXPECT_EQ(h.body, R"({"name":"x"})");
  EXPECT_EQ(h.connect_timeout, options_.open_timeout);
  EXPECT_EQ(h.read_timeout, options_.read_timeout);
  ASSERT_NE(Find(h.headers, "X-FilesAPI-Key"), nullptr);
  EXPECT_EQ(*Find(h.headers, "X-FilesAPI-Key"), "key-123");
  EXPECT_EQ(Find(h.headers, "X-FilesAPI-Auth"), nullptr);
  EXPECT_EQ(*Find(h.headers, "Content-Type"), "application/json");
  EXPECT_EQ(*Find(h.headers, "Accept"), "application/json");
  EXPECT_EQ(*Find(h.headers, "User-Agent"), "files-gateway/0.1");
  EXPECT_EQ(*Find(h.headers, "x-request-id"), "r1");
}

TEST_F(FilesClientTest, AuthHeaderTable) {
  const struct {
    const char* name;
    std::string key, session;
    bool send_auth;
    const char* want_key;
    const char* want_session;
  } cases[] = {
      {"key", "k", "", true, "k", nullptr},
      {"key wins over session", "k", "s", true, "k", nullptr},
      {"session when no key", "", "s", true, nullptr, "s"},
      {"neither", "", "", true, nullptr, nullptr},
      {"send_auth false (POST /sessions)", "k", "s", false, nullptr, nullptr},
  };
  for (const auto& c : cases) {
    transport_ = std::make_shared<FakeTransport>();
    transport_->Push(Answer(200));
    options_.api_key = c.key;
    options_.session_id = c.session;
    ApiRequest req = Get();
    req.send_auth = c.send_auth;
    Run(std::move(req));
    ASSERT_EQ(transport_->requests.size(), 1u) << c.name;
    const HeaderList& h = transport_->requests[0].headers;
    const std::string* key = Find(h, "X-FilesAPI-Key");
    const std::string* session = Find(h, "X-FilesAPI-Auth");
    if (key && c.want_key) {
      EXPECT_EQ(*key, c.want_key) << c.name;
    }
    EXPECT_EQ(key != nullptr, c.want_key != nullptr) << c.name;
    EXPECT_EQ(session != nullptr, c.want_session != nullptr) << c.name;
    if (session && c.want_session) {
      EXPECT_EQ(*session, c.want_session) << c.name;
    }
    EXPECT_EQ(Find(h, "Content-Type"), nullptr) << "GET without a body: " << c.name;
  }
}

TEST_F(FilesClientTest, CursorHeaders) {
  const struct {
    HeaderList headers;
    std::string want;
  } cases[] = {
      {{{"x-files-cursor", "abc"}}, "abc"},
      {{{"x-files-cursor-next", "def"}}, "def"},
      {{{"x-files-cursor-next", "def"}, {"x-files-cursor", "abc"}}, "abc"},
      {{{"x-files-cursor-prev", "zzz"}}, ""},
      {{}, ""},
  };
  for (const auto& c : cases) {
    transport_->Push(Answer(200, c.headers, "[]"));
    ApiResult r = Run(Get("/users?per_page=1"));
    EXPECT_TRUE(r.status.ok());
    EXPECT_EQ(r.next_cursor, c.want);
  }
}

TEST_F(FilesClientTest, ErrorBodyBecomesFilesErrorAndStatus) {
  transport_->Push(Answer(404, {},
                          R"({"type":"not-found/user-not-found","error":"User Not Found",
                              "http-code":"404"})"));
  ApiResult r = Run(Get());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status.message(), "User Not Found");
  EXPECT_EQ(r.attempts, 1);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->type, "not-found/user-not-found");
  EXPECT_EQ(r.error->http_code, 404);
}

TEST_F(FilesClientTest, CancelDuringBackoffEndsCancelledWithoutMoreAttempts) {
  transport_->Push(Answer(503));
  transport_->Push(Answer(200));
  FilesClient client(transport_, scheduler_, options_);
  std::optional<ApiResult> out;
  int calls = 0;
  auto call = client.Call(Get(), [&](ApiResult r) {
    ++calls;
    out = std::move(r);
  });
  ASSERT_EQ(transport_->requests.size(), 1u);
  ASSERT_EQ(scheduler_->waits().size(), 1u);  // waiting to retry
  call->Cancel();
  EXPECT_EQ(calls, 0) << "done must not run on the cancelling thread";
  scheduler_->Advance(absl::Seconds(10));
  call->Cancel();  // idempotent
  scheduler_->Advance(absl::Seconds(10));
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(out->attempts, 1);
  EXPECT_EQ(transport_->requests.size(), 1u);
}

TEST_F(FilesClientTest, CancelInFlightAbortsTheTransfer) {
  transport_->hold();
  FilesClient client(transport_, scheduler_, options_);
  std::optional<ApiResult> out;
  auto call = client.Call(Get(), [&](ApiResult r) { out = std::move(r); });
  EXPECT_FALSE(out.has_value());
  call->Cancel();
  EXPECT_EQ(transport_->cancels, 1);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(scheduler_->pending(), 0u);
}

TEST_F(FilesClientTest, DeadlineShorterThanBackoffStopsWithLastAnswer) {
  transport_->Push(Answer(503, {}, R"({"type":"service-unavailable","error":"busy"})"));
  transport_->Push(Answer(200));
  ApiRequest req = Get();
  req.deadline = scheduler_->Now() + absl::Milliseconds(100);  // backoff is >= 250 ms
  ApiResult r = Run(std::move(req));
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(scheduler_->waits().empty());
  EXPECT_EQ(transport_->requests[0].deadline, scheduler_->Now() + absl::Milliseconds(100));
}

TEST_F(FilesClientTest, RetryAfterBeyondDeadlineStops) {
  transport_->Push(Answer(429, {{"retry-after", "5"}}));
  ApiRequest req = Get();
  req.deadline = scheduler_->Now() + absl::Seconds(2);
  ApiResult r = Run(std::move(req));
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.retry_after, absl::Seconds(5));
}

TEST_F(FilesClientTest, PassedDeadlineSendsNothing) {
  ApiRequest req = Get();
  req.deadline = scheduler_->Now() - absl::Seconds(1);
  ApiResult r = Run(std::move(req));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_TRUE(transport_->requests.empty());
}

TEST_F(FilesClientTest, TransportDeadlineIsReported) {
  HttpResult timeout;
  timeout.transport = absl::DeadlineExceededError("timed out");
  timeout.request_sent = true;
  transport_->Push(timeout);
  ApiRequest req = Post();
  ApiResult r = Run(std::move(req));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.attempts, 1);
}

// Answers on a real timer thread after a random few hundred microseconds, so
// transport callbacks, retry timers and Cancel really race.
class ThreadedTransport : public HttpTransport {
 public:
  class Call : public HttpCall {
   public:
    Call(std::shared_ptr<Scheduler> s, std::shared_ptr<HttpCallback> done, uint64_t timer)
        : scheduler_(std::move(s)), done_(std::move(done)), timer_(timer) {}
    void Cancel() override {
      if (!scheduler_->Cancel(timer_)) return;  // already answered
      scheduler_->RunAt(scheduler_->Now(), [done = done_] {
        HttpResult r;
        r.transport = absl::CancelledError("cancelled");
        (*done)(std::move(r));
      });
    }

   private:
    std::shared_ptr<Scheduler> scheduler_;
    std::shared_ptr<HttpCallback> done_;
    uint64_t timer_;
  };

  std::shared_ptr<HttpCall> Start(HttpRequest, HttpCallback done) override {
    int status;
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      status = absl::Bernoulli(gen_, 0.5) ? 503 : 200;
      delay = absl::Microseconds(absl::Uniform(gen_, 0, 300));
    }
    auto shared_done = std::make_shared<HttpCallback>(std::move(done));
    uint64_t timer = scheduler_->RunAt(scheduler_->Now() + delay, [shared_done, status] {
      (*shared_done)(Answer(status));
    });
    return std::make_shared<Call>(scheduler_, shared_done, timer);
  }

 private:
  std::shared_ptr<Scheduler> scheduler_ = MakeRealScheduler();
  absl::Mutex mu_;
  absl::BitGen gen_;
};

TEST(FilesClientRaces, EveryCallEndsExactlyOnceUnderRandomCancels) {
  ClientOptions options;
  options.initial_retry_delay = absl::Microseconds(100);
  options.max_retry_delay = absl::Microseconds(400);
  FilesClient client(std::make_shared<ThreadedTransport>(), MakeRealScheduler(), options);
  constexpr int kCalls = 400;
  absl::Mutex mu;
  std::vector<int> done(kCalls, 0);
  int finished = 0, cancelled = 0, ok = 0;
  absl::BitGen gen;
  std::vector<std::shared_ptr<ApiCall>> calls;
  for (int i = 0; i < kCalls; ++i) {
    ApiRequest req;
    req.method = "GET";
    req.path_and_query = "/users";
    calls.push_back(client.Call(std::move(req), [&, i](ApiResult r) {
      absl::MutexLock lock(&mu);
      ++done[i];
      ++finished;
      if (absl::IsCancelled(r.status)) ++cancelled;
      if (r.status.ok()) ++ok;
    }));
    // Cancel about half, some at once and some a few calls later.
    if (absl::Bernoulli(gen, 0.5)) calls[absl::Uniform(gen, 0, i + 1)]->Cancel();
  }
  absl::MutexLock lock(&mu);
  auto all = [&finished] { return finished == kCalls; };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30))) << finished;
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(done[i], 1) << i;
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace filesgw::client_core

namespace filesgw::client_core {
namespace {

TEST_F(FilesClientTest, KeySourceIsReadAtEveryAttempt) {
  auto key = SecretSource::Fixed("old-key");
  options_.api_key_source = key;
  transport_->Push(Answer(200));
  ASSERT_TRUE(Run(Get()).status.ok());
  // A rotation (here: a new fixed source) is used by the next call's attempts.
  options_.api_key_source = SecretSource::Fixed("new-key");
  transport_->Push(Answer(503));
  transport_->Push(Answer(200));
  ASSERT_TRUE(Run(Get()).status.ok());
  ASSERT_EQ(transport_->requests.size(), 3u);
  auto key_of = [](const HttpRequest& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "X-FilesAPI-Key") return value;
    }
    return std::string();
  };
  EXPECT_EQ(key_of(transport_->requests[0]), "old-key");
  EXPECT_EQ(key_of(transport_->requests[1]), "new-key");
  EXPECT_EQ(key_of(transport_->requests[2]), "new-key");
  for (const auto& r : transport_->requests) {
    int keys = 0;
    for (const auto& [name, value] : r.headers) keys += name == "X-FilesAPI-Key";
    EXPECT_EQ(keys, 1) << "the fixed api_key is not sent beside the source's";
  }
}

}  // namespace
}  // namespace filesgw::client_core
