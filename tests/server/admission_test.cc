// Admission before buffering and per-caller shares on the unary path, through
// the real gateway and emulator: what a caller (or a victim beside an abusive
// caller) notices, and what the gateway's memory does under a pre-auth flood.
#include <atomic>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/client_callback.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "proto/api_pool.h"
#include "server/api_service.h"
#include "server/config.h"
#include "server/route.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using server::CallerQuotas;

server::CallerOptions Caller(std::string name, std::string token, server::CallerLimits limits = {}) {
  server::CallerOptions c;
  c.name = std::move(name);
  c.token_sha256 = server::Sha256Hex(token);
  c.allow = {"*"};
  c.limits = limits;
  return c;
}

CallOptions Bearer(const std::string& token, absl::Duration timeout = absl::Seconds(30)) {
  CallOptions o;
  o.metadata.emplace_back("authorization", "Bearer " + token);
  o.timeout = timeout;
  return o;
}

std::string Reason(const CallResult& r) {
  google::rpc::ErrorInfo info;
  return r.ErrorInfo(&info) ? info.reason() : "";
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
int64_t ProcStatusBytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t kib = 0;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    if (absl::SimpleAtoi(digits, &kib)) return kib * 1024;
  }
  return -1;
}

// Resets VmHWM to the current RSS, so that it then records this test's peak.
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// A raw call on the wire: any number of request messages, then half-close,
// then the status. Unary on the server's side, so this is how a client that
// breaks the unary contract looks.
class RawCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Starts the call; with `half_close` false it stays open (holding whatever
  // the gateway gave it) until Cancel.
  RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
          std::vector<std::string> messages, bool half_close,
          std::vector<std::pair<std::string, std::string>> metadata = {})
      : messages_(std::move(messages)), half_close_(half_close) {
    for (const auto& [k, v] : metadata) context_.AddMetadata(k, v);
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    grpc::GenericStub stub(channel);
    stub.PrepareBidiStreamingCall(&context_, method, grpc::StubOptions(), this);
    StartRead(&response_);
    AddHold();  // for the writes
    WriteNext();
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }
  grpc::Status Wait() { return done_.get_future().get(); }
  int responses() const { return responses_; }

  void OnWriteDone(bool ok) override {
    if (!ok) return RemoveHold();
    WriteNext();
  }
  void OnReadDone(bool ok) override {
    if (ok) {
      ++responses_;
      StartRead(&response_);
    }
  }
  void OnDone(const grpc::Status& s) override { done_.set_value(s); }

 private:
  void WriteNext() {
    if (next_ < messages_.size()) {
      slice_ = grpc::Slice(messages_[next_]);
      request_ = grpc::ByteBuffer(&slice_, 1);
      ++next_;
      return StartWrite(&request_);
    }
    if (half_close_) StartWritesDone();
    RemoveHold();
  }

  grpc::ClientContext context_;
  std::vector<std::string> messages_;
  bool half_close_;
  size_t next_ = 0;
  grpc::Slice slice_;
  grpc::ByteBuffer request_, response_;
  int responses_ = 0;
  std::promise<grpc::Status> done_;
};

std::string FindUserBytes(int id) {
  // FindUserRequest{id}: field 1, varint.
  return std::string{'\x08', static_cast<char>(id)};
}

// Waits (bounded) until the gateway holds `want` of a caller's resource.
bool WaitForInUse(GatewayHarness& h, const std::string& key, CallerQuotas::Resource r,
                  int64_t want) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (h.gateway().quotas().InUse(key, r) != want) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

int64_t Scraped(GatewayHarness& h, const std::string& series) {
  const std::string text = h.gateway().metrics().Scrape();
  const size_t at = text.find(series + " ");
  if (at == std::string::npos) return 0;
  int64_t n = 0;
  const size_t start = at + series.size() + 1;
  (void)absl::SimpleAtoi(text.substr(start, text.find('\n', start) - start), &n);
  return n;
}

TEST(Admission, UnauthenticatedFloodIsRefusedWithoutReadingItsMessages) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) { g->callers = {Caller("app", "tok-app")}; };
  GatewayHarness harness(options);
  ASSERT_TRUE(harness.CallWith(Bearer("tok-app"), "files.v1.UserService/FindUser", R"({"id":1})")
                  .status.ok());

  // One 32 MiB payload, shared by every call (slices are reference counted),
  // so the client side adds nothing per call.
  constexpr int kCalls = 64;
  constexpr size_t kSize = 32 << 20;
  static std::string* payload = new std::string(kSize, 'x');
  grpc::Slice slice(payload->data(), payload->size(), grpc::Slice::STATIC_SLICE);
  const grpc::ByteBuffer request(&slice, 1);
  ResetPeakRss();
  const int64_t before = ProcStatusBytes("VmRSS");

  grpc::GenericStub stub(harness.channel());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::ByteBuffer> requests(kCalls, request), responses(kCalls);
  std::vector<std::promise<grpc::Status>> done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    stub.UnaryCall(contexts.back().get(), "/files.v1.UserService/CreateUser", grpc::StubOptions(),
                   &requests[i], &responses[i],
                   [&done, i](grpc::Status s) { done[i].set_value(std::move(s)); });
  }
  for (int i = 0; i < kCalls; ++i) {
    CallResult r;
    r.status = done[i].get_future().get();
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << r.status.error_message();
    EXPECT_EQ(Reason(r), "CALLER_UNAUTHENTICATED");
  }
  const int64_t peak = ProcStatusBytes("VmHWM");
  const int64_t after = ProcStatusBytes("VmRSS");
  std::printf("pre-auth flood of %d x %zu MiB: RSS %.1f MiB before, %.1f peak, %.1f after\n",
              kCalls, kSize >> 20, before / 1048576.0, peak / 1048576.0, after / 1048576.0);
  // Before admission came first, gRPC buffered every message: 2 GiB here.
  EXPECT_LT(peak - before, int64_t{96} << 20);
  EXPECT_EQ(harness.RequestCount("POST /api/rest/v1/users"), 0);
  // The gateway still serves its caller.
  EXPECT_TRUE(harness.CallWith(Bearer("tok-app"), "files.v1.UserService/FindUser", R"({"id":1})")
                  .status.ok());
}

TEST(Admission, OverShareCallerIsRefusedWhileOthersAreServed) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    server::CallerLimits small;
    small.max_calls = 2;
    g->callers = {Caller("a", "tok-a", small), Caller("b", "tok-b")};
  };
  GatewayHarness harness(options);
  harness.ResetEmulator();
  // Two calls of "a" that never send their request hold its whole share.
  std::vector<std::unique_ptr<RawCall>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<RawCall>(harness.channel(), "/files.v1.UserService/FindUser",
                                             std::vector<std::string>{}, false,
                                             Bearer("tok-a").metadata));
  }
  ASSERT_TRUE(WaitForInUse(harness, "caller:a", CallerQuotas::kCall, 2));

  auto refused = harness.CallWith(Bearer("tok-a"), "files.v1.UserService/FindUser", R"({"id":1})");
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();
  EXPECT_EQ(Reason(refused), "CALLER_QUOTA_EXCEEDED");
  google::rpc::RetryInfo retry;
  EXPECT_TRUE(refused.RetryInfo(&retry));
  EXPECT_EQ(Scraped(harness, R"(filesgw_limit_rejections_total{limit="caller_calls"})"), 1);

  for (int i = 0; i < 3; ++i) {
    auto other = harness.CallWith(Bearer("tok-b"), "files.v1.UserService/FindUser", R"({"id":1})");
    EXPECT_TRUE(other.status.ok()) << other.status.error_message();
  }
  for (auto& call : held) call->Cancel();
  for (auto& call : held) EXPECT_EQ(call->Wait().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(WaitForInUse(harness, "caller:a", CallerQuotas::kCall, 0));
  auto again = harness.CallWith(Bearer("tok-a"), "files.v1.UserService/FindUser", R"({"id":1})");
  EXPECT_TRUE(again.status.ok()) << again.status.error_message();
}

TEST(Admission, AUnaryCallTakesExactlyOneRequestMessage) {
  GatewayHarness harness;
  harness.ResetEmulator();
  const std::string method = "/files.v1.UserService/FindUser";
  RawCall one(harness.channel(), method, {FindUserBytes(1)}, true);
  EXPECT_TRUE(one.Wait().ok());
  EXPECT_EQ(one.responses(), 1);

  RawCall none(harness.channel(), method, {}, true);
  const grpc::Status zero = none.Wait();
  EXPECT_EQ(zero.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << zero.error_message();
  EXPECT_EQ(none.responses(), 0);

  RawCall twice(harness.channel(), method, {FindUserBytes(1), FindUserBytes(1)}, true);
  const grpc::Status two = twice.Wait();
  EXPECT_EQ(two.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << two.error_message();
  EXPECT_EQ(twice.responses(), 0);
  EXPECT_EQ(harness.RequestCount("GET /api/rest/v1/users/1"), 1) << "only the good call went up";
}

TEST(Admission, OversizedRequestIsRefusedWithMessageTooLarge) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) { g->max_request_bytes = 256 << 10; };
  GatewayHarness harness(options);
  harness.ResetEmulator();
  const std::string big(300 << 10, 'n');
  auto r = harness.Call("files.v1.GroupService/CreateGroup",
                        absl::StrCat(R"({"name":")", big, R"("})"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << r.status.error_message();
  EXPECT_EQ(Reason(r), "MESSAGE_TOO_LARGE");
  EXPECT_EQ(harness.RequestCount("POST /api/rest/v1/groups"), 0);
  EXPECT_EQ(Scraped(harness, R"(filesgw_limit_rejections_total{limit="request_size"})"), 1);
  auto fits = harness.Call("files.v1.GroupService/CreateGroup", R"({"name":"small"})");
  EXPECT_TRUE(fits.status.ok()) << fits.status.error_message();
  // CreateUser carries a binary param (avatar_file): the same size passes.
  auto binary = harness.Call("files.v1.UserService/CreateUser",
                             absl::StrCat(R"({"username":"big","name":")", big, R"("})"));
  EXPECT_NE(Reason(binary), "MESSAGE_TOO_LARGE") << binary.status.error_message();
  EXPECT_EQ(harness.RequestCount("POST /api/rest/v1/users"), 1);
}

TEST(Admission, RpcsWithBinaryParamsMayCarryLargerRequests) {
  // Found from the descriptors, as the gateway does: every such RPC gets the
  // binary limit, every other RPC the plain one.
  server::RequestLimits limits;
  int binary = 0, plain = 0;
  for (const auto* service : proto::Api().services) {
    for (int i = 0; i < service->method_count(); ++i) {
      auto route = server::BuildRoute(service->method(i));
      ASSERT_TRUE(route.ok());
      const int64_t limit = server::RequestLimitFor(*route, limits);
      if (server::CarriesBytes(route->request_type)) {
        ++binary;
        EXPECT_EQ(limit, limits.max_binary_request_bytes) << route->full_method;
      } else {
        ++plain;
        EXPECT_EQ(limit, limits.max_request_bytes) << route->full_method;
      }
    }
  }
  EXPECT_GT(binary, 0);
  EXPECT_GT(plain, 100);
  const auto* update_site = proto::Api().pool->FindMethodByName("files.v1.SiteService.UpdateSite");
  ASSERT_NE(update_site, nullptr);
  EXPECT_TRUE(server::CarriesBytes(update_site->input_type()));
}

TEST(Admission, UpstreamShareWaitsForTheCallersOwnSlotsOnly) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    server::CallerLimits one;
    one.max_upstream_requests = 1;
    g->callers = {Caller("a", "tok-a", one), Caller("b", "tok-b", one)};
  };
  GatewayHarness harness(options);
  harness.ResetEmulator();
  // A first answer on the upstream connection: curl holds a new request back
  // (CURLOPT_PIPEWAIT) while the only connection has not yet answered once.
  ASSERT_TRUE(harness.CallWith(Bearer("tok-b"), "files.v1.UserService/FindUser", R"({"id":2})")
                  .status.ok());
  harness.ControlPost("/__emulator/faults", R"({"method":"GET","path":"/users/1","delay_ms":1500})");
  auto slow = std::async(std::launch::async, [&] {
    return harness.CallWith(Bearer("tok-a"), "files.v1.UserService/FindUser", R"({"id":1})");
  });
  ASSERT_TRUE(WaitForInUse(harness, "caller:a", CallerQuotas::kUpstream, 1));

  // "a" has no upstream slot free: a call whose deadline comes first is told
  // why before that deadline; one that can wait goes when the slot comes back.
  auto patient = std::async(std::launch::async, [&] {
    return harness.CallWith(Bearer("tok-a"), "files.v1.UserService/FindUser", R"({"id":2})");
  });
  auto hurried = harness.CallWith(Bearer("tok-a", absl::Milliseconds(400)),
                                  "files.v1.UserService/FindUser", R"({"id":2})");
  EXPECT_EQ(hurried.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << hurried.status.error_message();
  EXPECT_EQ(Reason(hurried), "CALLER_QUOTA_EXCEEDED");
  google::rpc::RetryInfo retry;
  EXPECT_TRUE(hurried.RetryInfo(&retry));

  // "b" has a share of its own.
  const absl::Time start = absl::Now();
  auto other = harness.CallWith(Bearer("tok-b"), "files.v1.UserService/FindUser", R"({"id":2})");
  EXPECT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "b waited for a's upstream slot";

  EXPECT_TRUE(slow.get().status.ok());
  auto waited = patient.get();
  EXPECT_TRUE(waited.status.ok()) << waited.status.error_message();
  EXPECT_EQ(harness.RequestCount("GET /api/rest/v1/users/2"), 3) << "b's two and a's patient call";
}

TEST(Admission, AFullConnectionWaitsInItsClientInsteadOfBeingRefused) {
  // Without callers each connection is a caller; its HTTP/2 stream limit is
  // not above its call share, so one channel's 1,000 concurrent calls queue
  // in the client and all succeed.
  GatewayHarness harness;
  harness.ResetEmulator();
  constexpr int kCalls = 1000;
  grpc::GenericStub stub(harness.channel());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::ByteBuffer> requests, responses(kCalls);
  std::vector<std::promise<grpc::Status>> done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    grpc::Slice slice(FindUserBytes(1));
    requests.emplace_back(&slice, 1);
  }
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    stub.UnaryCall(contexts.back().get(), "/files.v1.UserService/FindUser", grpc::StubOptions(),
                   &requests[i], &responses[i],
                   [&done, i](grpc::Status s) { done[i].set_value(std::move(s)); });
  }
  int failed = 0;
  for (auto& d : done) failed += d.get_future().get().ok() ? 0 : 1;
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(Scraped(harness, R"(filesgw_limit_rejections_total{limit="caller_calls"})"), 0);
}

TEST(Admission, RefusalsAreCountedAllButLoggedAtMostOnceASecond) {
  auto lines = std::make_shared<std::atomic<int>>(0);
  HarnessOptions options;
  options.log_level = server::LogLevel::kInfo;
  options.log_sink = [lines](std::string_view line) {
    if (line.find(R"("msg":"call")") != std::string_view::npos) lines->fetch_add(1);
  };
  options.gateway_setup = [](server::GatewayOptions* g) { g->callers = {Caller("app", "tok-app")}; };
  GatewayHarness harness(options);
  const absl::Time start = absl::Now();
  constexpr int kCalls = 200;
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(harness.Call("files.v1.UserService/FindUser", R"({"id":1})").status.error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  const int64_t seconds = absl::ToInt64Seconds(absl::Now() - start) + 1;
  EXPECT_GE(lines->load(), 1);
  EXPECT_LE(lines->load(), seconds + 1) << "one line a second at most";
  EXPECT_NE(harness.gateway().metrics().Scrape().find("UNAUTHENTICATED"), std::string::npos);
}

TEST(Admission, ReflectionAnswersOnAStreamThatMayStayOpen) {
  // Callback reflection: the stream holds no thread while it waits, so it is
  // answered request by request for as long as the client keeps it open.
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) { g->callers = {Caller("app", "tok-app")}; };
  GatewayHarness harness(options);
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(harness.channel());
  grpc::ClientContext context;  // no credentials: reflection stays open
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1::ServerReflectionRequest request;
  grpc::reflection::v1::ServerReflectionResponse response;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  bool users = false;
  for (const auto& s : response.list_services_response().service()) {
    users = users || s.name() == "files.v1.UserService";
  }
  EXPECT_TRUE(users);
  request.set_file_containing_symbol("files.v1.UserService");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_GT(response.file_descriptor_response().file_descriptor_proto_size(), 0);
  request.set_file_by_filename("no/such.proto");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace filesgw::testing
