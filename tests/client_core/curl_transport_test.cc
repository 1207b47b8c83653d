// The libcurl transport against a real HTTP server on 127.0.0.1, port 0.
#include "client_core/curl_transport.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client_core/files_client.h"
#include "client_core/scheduler.h"
#include "client_core/status_reason.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace filesgw::client_core {
namespace {

constexpr absl::Duration kWait = absl::Seconds(20);  // only bounds a broken test

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One thread per connection: enough for the bursts below to be parallel.
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    server_.set_keep_alive_max_count(1000);
    server_.set_tcp_nodelay(true);
    // Record the client port of every request: one port per TCP connection.
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      absl::MutexLock lock(&mu_);
      ports_.insert(req.remote_port);
      return httplib::Server::HandlerResponse::Unhandled;
    });
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      res.status = req.has_param("status") ? std::stoi(req.get_param_value("status")) : 200;
      res.set_header("X-Echo-Method", req.method);
      res.set_header("X-Echo-Test", req.get_header_value("X-Test"));
      res.set_header("X-Echo-Content-Type", req.get_header_value("Content-Type"));
      res.set_header("X-Files-Cursor", "next-page");
      res.set_header("Set-Cookie", "a=1");
      res.set_header("Set-Cookie", "b=2");
      res.set_content(absl::StrCat(req.method, ":", req.body), "text/plain");
    };
    server_.Get("/echo", echo);
    server_.Post("/echo", echo);
    server_.Put("/echo", echo);
    server_.Patch("/echo", echo);
    server_.Delete("/echo", echo);
    // Holds each request until kBurst have arrived (so that many connections
    // are open at once), then answers them all.
    server_.Get("/hold", [this](const httplib::Request&, httplib::Response& res) {
      if (held_.fetch_add(1) + 1 == kBurst) all_held_.Notify();
      all_held_.WaitForNotificationWithTimeout(kWait);
      res.set_content("held", "text/plain");
    });
    server_.Post("/api/rest/v1/users", [](const httplib::Request&, httplib::Response& res) {
      res.status = 201;
      res.set_content(R"({"id":1})", "application/json");
    });
    server_.Get("/stall", [this](const httplib::Request&, httplib::Response& res) {
      stalled_.fetch_add(1);
      release_.WaitForNotificationWithTimeout(kWait);
      res.set_content("late", "text/plain");
    });
    // 64 MiB of a known pattern, produced as the client reads it.
    server_.Get("/big", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(
          kBig, "application/octet-stream",
          [this](size_t offset, size_t length, httplib::DataSink& sink) {
            std::string block(std::min<size_t>(length, 65536), '\0');
            for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>((offset + i) % 251);
            served_.store(offset + block.size());
            return sink.write(block.data(), block.size());
          });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    // bind_to_any_port already listens: connections queue until this thread accepts.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs: a test that ends before
    // then would leave TearDown joining a server that never stops.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void TearDown() override {
    release_.Notify();
    transport_.reset();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Url(const std::string& path) {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

  HttpRequest Request(std::string method, const std::string& path, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.url = Url(path);
    r.body = std::move(body);
    return r;
  }

  // Starts and waits for the one callback; fails if it never comes.
  HttpResult Fetch(HttpRequest request) {
    absl::Notification done;
    HttpResult out;
    transport_->Start(std::move(request), [&](HttpResult r) {
      out = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(kWait));
    return out;
  }

  size_t Connections() {
    absl::MutexLock lock(&mu_);
    return ports_.size();
  }

  // Client-side TCP connections to the server that are still open (the
  // kernel's table: ESTABLISHED, remote port = the server's). A connection
  // curl closed is in FIN_WAIT or TIME_WAIT at once, so this needs no wait.
  int OpenClientConnections() const {
    std::ifstream in("/proc/net/tcp");
    EXPECT_TRUE(in.good());
    std::string line;
    std::getline(in, line);  // header
    int open = 0;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const size_t colon = remote.find(':');
      if (colon == std::string::npos || state != "01") continue;
      if (std::stoi(remote.substr(colon + 1), nullptr, 16) == port_) ++open;
    }
    return open;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification release_;
  std::atomic<int> stalled_{0};
  static constexpr int kBurst = 24;
  std::atomic<int> held_{0};
  absl::Notification all_held_;
  static constexpr size_t kBig = 64 << 20;
  std::atomic<size_t> served_{0};
  absl::Mutex mu_;
  std::set<int> ports_;
  std::shared_ptr<HttpTransport> transport_ = MakeCurlTransport();
};

TEST_F(CurlTransportTest, MethodsRoundTripHeadersAndBody) {
  const struct {
    const char* method;
    const char* body;
  } cases[] = {
      {"GET", ""}, {"POST", R"({"a":1})"}, {"PUT", "part-bytes"}, {"PATCH", R"({"b":2})"},
      {"DELETE", ""},
  };
  for (const auto& c : cases) {
    HttpRequest req = Request(c.method, "/echo", c.body);
    req.headers = {{"X-Test", "yes"}, {"Accept", "application/json"}};
    if (*c.body != '\0') req.headers.emplace_back("Content-Type", "application/json");
    HttpResult r = Fetch(std::move(req));
    ASSERT_TRUE(r.transport.ok()) << c.method << ": " << r.transport;
    EXPECT_TRUE(r.request_sent);
    EXPECT_EQ(r.response.status, 200) << c.method;
    EXPECT_EQ(r.response.body, absl::StrCat(c.method, ":", c.body));
    ASSERT_NE(r.response.Header("X-Echo-Method"), nullptr);
    EXPECT_EQ(*r.response.Header("x-echo-method"), c.method);
    EXPECT_EQ(*r.response.Header("x-echo-test"), "yes");
    // No body, no Content-Type: curl must not invent a form encoding.
    EXPECT_EQ(*r.response.Header("x-echo-content-type"), *c.body ? "application/json" : "")
        << c.method;
    EXPECT_EQ(*r.response.Header("x-files-cursor"), "next-page");
    EXPECT_EQ(r.response.HeaderValues("set-cookie").size(), 2u);
    for (const auto& [name, value] : r.response.headers) {
      EXPECT_EQ(name, absl::AsciiStrToLower(name)) << "header names are lower-cased";
    }
  }
}

TEST_F(CurlTransportTest, NonSuccessStatusIsStillATransportSuccess) {
  HttpResult r = Fetch(Request("GET", "/echo?status=503"));
  EXPECT_TRUE(r.transport.ok()) << r.transport;
  EXPECT_EQ(r.response.status, 503);
}

TEST_F(CurlTransportTest, SequentialRequestsReuseTheConnection) {
  for (int i = 0; i < 20; ++i) {
    HttpResult r = Fetch(Request("GET", "/echo"));
    ASSERT_TRUE(r.transport.ok()) << r.transport;
  }
  EXPECT_GE(Connections(), 1u);
  EXPECT_LE(Connections(), 2u);
}

// A request that must not be replayed (a create, an upload's `end`) goes on
// a new connection; kept afterwards, each one left an idle socket behind (64
// of them held the emulator's 64 workers and another client waited 30 s).
TEST_F(CurlTransportTest, OneShotRequestsCloseTheirConnection) {
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) {
    HttpRequest req = Request("POST", "/echo", absl::StrCat("create ", i));
    req.fresh_connection = true;
    HttpResult r = Fetch(std::move(req));
    ASSERT_TRUE(r.transport.ok()) << r.transport;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(OpenClientConnections(), 0) << "after request " << i;
  }
  EXPECT_EQ(Connections(), static_cast<size_t>(kCount));  // each on its own connection
  // An ordinary request afterwards is still pooled.
  ASSERT_TRUE(Fetch(Request("GET", "/echo")).transport.ok());
  EXPECT_EQ(OpenClientConnections(), 1);
}

TEST_F(CurlTransportTest, CreatesThroughTheFilesClientLeaveNoConnectionOpen) {
  ClientOptions options;
  options.base_url = Url("");
  options.api_key = "key";
  FilesClient client(transport_, MakeRealScheduler(), options);
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    ApiResult result;
    ApiRequest create;
    create.method = "POST";
    create.path_and_query = "/users";
    create.body = R"({"username":"u"})";
    create.content_type = "application/json";
    create.idempotency = Idempotency::kNonIdempotent;
    client.Call(std::move(create), [&](ApiResult r) {
                  result = std::move(r);
                  done.Notify();
                });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
    ASSERT_TRUE(result.status.ok()) << result.status;
  }
  EXPECT_EQ(OpenClientConnections(), 0);
}

TEST_F(CurlTransportTest, ABurstLeavesAtMostTheIdleBoundOpen) {
  CurlTransportOptions options;
  options.max_idle_connections = 4;
  transport_ = MakeCurlTransport(options);
  struct Tally {
    absl::Mutex mu;
    int done = 0, ok = 0;
  };
  auto tally = std::make_shared<Tally>();  // outlives an early return
  for (int i = 0; i < kBurst; ++i) {
    transport_->Start(Request("GET", "/hold"), [tally](HttpResult r) {
      absl::MutexLock lock(&tally->mu);
      ++tally->done;
      if (r.transport.ok() && r.response.status == 200) ++tally->ok;
    });
  }
  // All were in flight together, kBurst connections open at once: over
  // plain HTTP curl does not hold requests back waiting for the first answer
  // (to learn whether the connection multiplexes), which let one slow answer
  // stall every other request to the host.
  ASSERT_TRUE(all_held_.WaitForNotificationWithTimeout(kWait)) << held_.load() << " arrived";
  {
    absl::MutexLock lock(&tally->mu);
    auto all_done = [&tally] { return tally->done == kBurst; };
    ASSERT_TRUE(tally->mu.AwaitWithTimeout(absl::Condition(&all_done), kWait)) << tally->done;
    EXPECT_EQ(tally->ok, kBurst);
  }
  EXPECT_EQ(Connections(), static_cast<size_t>(kBurst));
  EXPECT_LE(OpenClientConnections(), 4);
  EXPECT_GE(OpenClientConnections(), 1);  // still a keep-alive pool
}

// curl refuses a request head over 1 MiB as "Out of memory". It was
// RESOURCE_EXHAUSTED, which the gateway reported as its own rate limit.
TEST_F(CurlTransportTest, CurlOutOfMemoryIsALocalInternalError) {
  HttpResult r = Fetch(Request("GET", "/echo?cursor=" + std::string(3 << 19, 'c')));
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kInternal) << r.transport;
  EXPECT_EQ(ReasonOf(r.transport), "LOCAL_OUT_OF_MEMORY");
  EXPECT_FALSE(r.request_sent);
  EXPECT_EQ(Connections(), 0u);
}

TEST_F(CurlTransportTest, TwoHundredConcurrentRequestsAllComplete) {
  CurlTransportOptions options;
  options.max_total_connections = 6;  // the rest queue inside curl, not in threads
  transport_ = MakeCurlTransport(options);
  constexpr int kCount = 200;
  absl::Mutex mu;
  int done = 0;
  std::vector<std::string> bodies(kCount);
  std::vector<int> statuses(kCount, 0);
  for (int i = 0; i < kCount; ++i) {
    transport_->Start(Request("POST", "/echo", absl::StrCat("n", i)), [&, i](HttpResult r) {
      absl::MutexLock lock(&mu);
      statuses[i] = r.transport.ok() ? r.response.status : -1;
      bodies[i] = r.response.body;
      ++done;
    });
  }
  absl::MutexLock lock(&mu);
  auto all_done = [&done] { return done == kCount; };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_done), kWait)) << done << " done";
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(statuses[i], 200) << i;
    EXPECT_EQ(bodies[i], absl::StrCat("POST:n", i));
  }
  EXPECT_LE(Connections(), 6u);
}

TEST_F(CurlTransportTest, CancelOfABlockedRequestAnswersCancelledPromptly) {
  absl::Notification done;
  HttpResult out;
  int calls = 0;
  auto call = transport_->Start(Request("GET", "/stall"), [&](HttpResult r) {
    ++calls;
    out = std::move(r);
    done.Notify();
  });
  // Cancel once the server holds the request, so the cancel hits a live transfer.
  while (stalled_.load() == 0 && !done.HasBeenNotified()) std::this_thread::yield();
  const absl::Time start = absl::Now();
  call->Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(out.transport.code(), absl::StatusCode::kCancelled) << out.transport;
  call->Cancel();  // idempotent, and the callback does not run again
  transport_.reset();
  EXPECT_EQ(calls, 1);
}

TEST_F(CurlTransportTest, ConnectionRefusedIsUnavailableAndNotSent) {
  // A port that was free a moment ago and has no listener.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  HttpRequest req;
  req.method = "POST";
  req.url = absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/echo");
  req.body = "x";
  HttpResult r = Fetch(std::move(req));
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kUnavailable) << r.transport;
  EXPECT_FALSE(r.request_sent);
}

TEST_F(CurlTransportTest, StalledResponseHitsTheReadTimeout) {
  HttpRequest req = Request("GET", "/stall");
  req.read_timeout = absl::Seconds(1);
  const absl::Time start = absl::Now();
  HttpResult r = Fetch(std::move(req));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.transport) || absl::IsUnavailable(r.transport))
      << r.transport;
  EXPECT_TRUE(r.request_sent);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(CurlTransportTest, DeadlineEndsAStalledRequest) {
  HttpRequest req = Request("GET", "/stall");
  req.deadline = absl::Now() + absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  HttpResult r = Fetch(std::move(req));
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kDeadlineExceeded) << r.transport;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(CurlTransportTest, PassedDeadlineFailsWithoutSending) {
  HttpRequest req = Request("GET", "/echo");
  req.deadline = absl::Now() - absl::Seconds(1);
  HttpResult r = Fetch(std::move(req));
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(r.request_sent);
  EXPECT_EQ(Connections(), 0u);
}

TEST_F(CurlTransportTest, DestroyingTheTransportCancelsWhatRuns) {
  absl::Notification done;
  HttpResult out;
  transport_->Start(Request("GET", "/stall"), [&](HttpResult r) {
    out = std::move(r);
    done.Notify();
  });
  while (stalled_.load() == 0) std::this_thread::yield();
  transport_.reset();
  ASSERT_TRUE(done.HasBeenNotified()) << "the destructor waits for the last callback";
  EXPECT_EQ(out.transport.code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace filesgw::client_core

namespace filesgw::client_core {
namespace {

TEST_F(CurlTransportTest, StreamedBodyPausesTheServerAndResumes) {
  struct State {
    absl::Mutex mu;
    size_t received = 0;
    bool pause = false;
    bool bytes_ok = true;
  };
  auto state = std::make_shared<State>();
  HttpRequest r = Request("GET", "/big");
  r.body_sink = [state](const HttpResponse& head, std::string_view data) {
    absl::MutexLock lock(&state->mu);
    if (head.status != 200) return BodyAction::kAbort;
    if (state->received >= (4u << 20) && state->pause) return BodyAction::kPause;
    for (size_t i = 0; i < data.size(); i += 4099) {
      state->bytes_ok &= data[i] == static_cast<char>((state->received + i) % 251);
    }
    state->received += data.size();
    return BodyAction::kAccept;
  };
  {
    absl::MutexLock lock(&state->mu);
    state->pause = true;
  }
  absl::Notification done;
  HttpResult result;
  auto call = transport_->Start(std::move(r), [&](HttpResult res) {
    result = std::move(res);
    done.Notify();
  });
  // Paused after 4 MiB: the server can only run ahead by the socket buffers.
  absl::SleepFor(absl::Milliseconds(800));
  size_t served_while_paused = served_.load();
  EXPECT_LT(served_while_paused, size_t{40} << 20) << "the pause did not slow the server";
  EXPECT_FALSE(done.HasBeenNotified());
  {
    absl::MutexLock lock(&state->mu);
    EXPECT_GE(state->received, size_t{4} << 20);
    state->pause = false;
  }
  call->Resume();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(result.transport.ok()) << result.transport;
  EXPECT_EQ(result.response.status, 200);
  EXPECT_TRUE(result.response.body.empty()) << "streamed bodies are not also buffered";
  absl::MutexLock lock(&state->mu);
  EXPECT_EQ(state->received, kBig);
  EXPECT_TRUE(state->bytes_ok);
}

TEST_F(CurlTransportTest, SinkAbortEndsTheTransferCancelled) {
  HttpRequest r = Request("GET", "/big");
  r.body_sink = [](const HttpResponse&, std::string_view) { return BodyAction::kAbort; };
  HttpResult result = Fetch(std::move(r));
  EXPECT_TRUE(absl::IsCancelled(result.transport)) << result.transport;
}

TEST_F(CurlTransportTest, ErrorBodiesAreCollectedNotStreamed) {
  HttpRequest r = Request("GET", "/echo?status=404");
  bool called = false;
  r.body_sink = [&called](const HttpResponse&, std::string_view) {
    called = true;
    return BodyAction::kAccept;
  };
  HttpResult result = Fetch(std::move(r));
  ASSERT_TRUE(result.transport.ok());
  EXPECT_EQ(result.response.status, 404);
  EXPECT_EQ(result.response.body, "GET:");
  EXPECT_FALSE(called);
}

TEST_F(CurlTransportTest, SharedBodyIsSentWithoutCopy) {
  HttpRequest r = Request("PUT", "/echo");
  struct Part {
    std::string bytes = "part bytes";
    std::string_view view{bytes};
  };
  auto part = std::make_shared<Part>();
  r.shared_view = std::shared_ptr<const std::string_view>(part, &part->view);
  HttpResult result = Fetch(std::move(r));
  ASSERT_TRUE(result.transport.ok());
  EXPECT_EQ(result.response.body, "PUT:part bytes");
}

TEST_F(CurlTransportTest, SharedViewBodyIsSentAndKeptAlive) {
  struct Owner {
    std::string bytes = "viewed part bytes";
    std::string_view view{bytes.data() + 7, 10};  // "part bytes"
  };
  auto owner = std::make_shared<Owner>();
  HttpRequest r = Request("PUT", "/echo");
  r.shared_view = std::shared_ptr<const std::string_view>(owner, &owner->view);
  std::weak_ptr<Owner> watch = owner;
  owner.reset();  // the request alone keeps the bytes
  HttpResult result = Fetch(std::move(r));
  ASSERT_TRUE(result.transport.ok());
  EXPECT_EQ(result.response.body, "PUT:part bytes");
  EXPECT_TRUE(watch.expired()) << "the transport let go of the body when done";

  HttpRequest empty = Request("PUT", "/echo");
  empty.shared_view = std::make_shared<const std::string_view>();  // null data, no bytes
  result = Fetch(std::move(empty));
  ASSERT_TRUE(result.transport.ok());
  EXPECT_EQ(result.response.body, "PUT:");
}

}  // namespace
}  // namespace filesgw::client_core
