// Observability end to end (gateway + emulator over loopback): Prometheus
// metrics scraped over HTTP after a scripted workload, request ids and W3C
// trace context from the caller to the upstream request (seen through a
// recording transport), health following the upstream credential, and a scan
// of every debug log line for secrets. Plus unit checks of the parsers.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client_core/files_client.h"
#include "files/v1/transfer.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "proto/api_pool.h"
#include "rapidjson/document.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/request_context.h"
#include "server/telemetry.h"
#include "server/config.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kCallerSpan[] = "00f067aa0ba902b7";
constexpr char kTraceParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kUuidRegex[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

// ---------------------------------------------------------------- helpers --

// What the gateway sent upstream.
struct Sent {
  std::string method;
  std::string url;
  client_core::HeaderList headers;

  const std::string* Header(absl::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (absl::EqualsIgnoreCase(k, name)) return &v;
    }
    return nullptr;
  }
  bool ToApi() const { return absl::StrContains(url, "/api/rest/v1/"); }
};

// Records each outgoing request; can swap the API key for a wrong one.
class RecordingTransport : public client_core::HttpTransport {
 public:
  explicit RecordingTransport(std::shared_ptr<client_core::HttpTransport> inner)
      : inner_(std::move(inner)) {}

  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
    if (wrong_key.load()) {
      for (auto& [k, v] : request.headers) {
        if (absl::EqualsIgnoreCase(k, "X-FilesAPI-Key")) v = "not-the-key";
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back({request.method, request.url, request.headers});
    }
    return inner_->Start(std::move(request), std::move(done));
  }

  std::vector<Sent> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(sent_, {});
  }

  std::atomic<bool> wrong_key{false};

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
  std::mutex mu_;
  std::vector<Sent> sent_;
};

// Every log line the gateway wrote.
class LogCapture {
 public:
  server::Logger::Sink sink() {
    return [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::vector<std::string> With(absl::string_view needle) {
    std::vector<std::string> out;
    for (auto& l : lines()) {
      if (absl::StrContains(l, needle)) out.push_back(l);
    }
    return out;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

struct Observed {
  // Owned by the gateway (which must not outlive it: its pooled connections
  // keep the emulator from stopping).
  RecordingTransport* transport = nullptr;
  std::shared_ptr<LogCapture> logs = std::make_shared<LogCapture>();
};

HarnessOptions ObservedOptions(Observed* out, const std::string& api_key = "") {
  HarnessOptions options;
  options.log_level = server::LogLevel::kDebug;
  options.log_sink = out->logs->sink();
  options.wrap_transport = [out](std::shared_ptr<client_core::HttpTransport> inner) {
    auto recorder = std::make_shared<RecordingTransport>(std::move(inner));
    out->transport = recorder.get();
    return recorder;
  };
  options.gateway_setup = [api_key](server::GatewayOptions* gw) {
    gw->metrics_listen = "127.0.0.1:0";
    gw->metrics_required = true;
    if (!api_key.empty()) gw->api_key = api_key;
  };
  options.emulator_setup = [api_key](emulator::EmulatorOptions* emu) {
    emu->part_size = 64 << 10;
    if (!api_key.empty()) emu->api_key = api_key;
  };
  return options;
}

struct UnaryOutcome {
  grpc::Status status;
  std::multimap<std::string, std::string> initial_metadata;
  std::string response_json;
};

// A unary files.v1 call with the caller's metadata; keeps the server's
// initial metadata.
UnaryOutcome CallWithMetadata(GatewayHarness& harness, const std::string& method,
                              const std::string& request_json,
                              const std::vector<std::pair<std::string, std::string>>& metadata) {
  UnaryOutcome out;
  auto slash = method.find('/');
  const auto* rpc = proto::Api()
                        .pool->FindServiceByName(method.substr(0, slash))
                        ->FindMethodByName(method.substr(slash + 1));
  std::unique_ptr<google::protobuf::Message> request(proto::Prototype(rpc->input_type())->New());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(request_json, request.get()).ok());
  const std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1), response_buffer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
  grpc::GenericStub stub(harness.channel());
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/" + method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  out.status = done.get_future().get();
  for (const auto& [k, v] : context.GetServerInitialMetadata()) {
    out.initial_metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  if (out.status.ok()) {
    std::unique_ptr<google::protobuf::Message> response(
        proto::Prototype(rpc->output_type())->New());
    grpc::ProtoBufferReader reader(&response_buffer);
    EXPECT_TRUE(response->ParseFromZeroCopyStream(&reader));
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(*response, &out.response_json).ok());
  }
  return out;
}

std::string RequestIdOf(const UnaryOutcome& o) {
  auto it = o.initial_metadata.find("x-request-id");
  return it == o.initial_metadata.end() ? "" : it->second;
}

using Metadata = std::vector<std::pair<std::string, std::string>>;

grpc::Status Upload(GatewayHarness& harness, const std::string& path, const std::string& data,
                    const Metadata& metadata = {}, std::string* request_id = nullptr) {
  auto stub = files::v1::TransferService::NewStub(harness.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
  files::v1::UploadResponse response;
  auto writer = stub->Upload(&context, &response);
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path(path);
  first.mutable_spec()->set_mkdir_parents(true);
  bool ok = writer->Write(first);
  for (size_t at = 0; ok && at < data.size(); at += 30000) {
    files::v1::UploadRequest m;
    m.set_data(data.substr(at, 30000));
    ok = writer->Write(m);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (request_id != nullptr) {
    auto md = context.GetServerInitialMetadata();
    auto it = md.find("x-request-id");
    *request_id = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  }
  return status;
}

grpc::Status Download(GatewayHarness& harness, const std::string& path, std::string* data,
                      const Metadata& metadata = {}, std::string* request_id = nullptr) {
  auto stub = files::v1::TransferService::NewStub(harness.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
  files::v1::DownloadRequest request;
  request.set_path(path);
  auto reader = stub->Download(&context, request);
  files::v1::DownloadResponse m;
  data->clear();
  while (reader->Read(&m)) data->append(m.data());
  grpc::Status status = reader->Finish();
  if (request_id != nullptr) {
    auto md = context.GetServerInitialMetadata();
    auto it = md.find("x-request-id");
    *request_id = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  }
  return status;
}

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// One scrape, read as "name{labels}" -> value.
class Scrape {
 public:
  explicit Scrape(std::string text) : text_(std::move(text)) {
    for (absl::string_view line : absl::StrSplit(text_, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      size_t space = line.rfind(' ');
      if (space == absl::string_view::npos) continue;
      double value = 0;
      if (!absl::SimpleAtod(line.substr(space + 1), &value)) continue;
      absl::string_view key = line.substr(0, space);
      Series s;
      size_t brace = key.find('{');
      s.name = std::string(key.substr(0, brace));
      if (brace != absl::string_view::npos) {
        absl::string_view labels = key.substr(brace + 1, key.size() - brace - 2);
        for (absl::string_view pair : absl::StrSplit(labels, "\",", absl::SkipEmpty())) {
          size_t eq = pair.find("=\"");
          if (eq == absl::string_view::npos) continue;
          absl::string_view v = pair.substr(eq + 2);
          if (!v.empty() && v.back() == '"') v.remove_suffix(1);
          s.labels[std::string(pair.substr(0, eq))] = std::string(v);
        }
      }
      s.value = value;
      series_.push_back(std::move(s));
    }
  }

  // The sum over series named `name` whose labels include `labels`; nullopt
  // when none matches.
  std::optional<double> Value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> sum;
    for (const auto& s : series_) {
      if (s.name != name) continue;
      bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
        auto it = s.labels.find(kv.first);
        return it != s.labels.end() && it->second == kv.second;
      });
      if (match) sum = sum.value_or(0) + s.value;
    }
    return sum;
  }
  double Get(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    return Value(name, labels).value_or(-1);
  }
  const std::string& text() const { return text_; }

 private:
  struct Series {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
  };
  std::string text_;
  std::vector<Series> series_;
};

Scrape ScrapeMetrics(GatewayHarness& harness) {
  httplib::Client client("127.0.0.1", harness.gateway().metrics_port());
  auto res = client.Get("/metrics");
  EXPECT_TRUE(res) << "no answer from the metrics listener";
  if (!res) return Scrape("");
  EXPECT_EQ(res->status, 200);
  return Scrape(res->body);
}

// Health as grpc.health.v1.Health/Check answers it for the whole server:
// 1 SERVING, 2 NOT_SERVING (0 when the call failed).
int HealthStatus(GatewayHarness& harness) {
  grpc::GenericStub stub(harness.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  if (!done.get_future().get().ok()) return 0;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return 0;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse { ServingStatus status = 1; }: 0x08 <varint>.
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return bytes.empty() ? 0 : -1;
}

std::string SpanOf(const std::string& traceparent) {
  std::vector<std::string> parts = absl::StrSplit(traceparent, '-');
  return parts.size() == 4 ? parts[2] : "";
}

// ------------------------------------------------------------- unit tests --

TEST(TraceParentTest, AcceptsW3cExamples) {
  std::string why;
  auto tp = server::ParseTraceParent(kTraceParent, &why);
  ASSERT_TRUE(tp.has_value()) << why;
  EXPECT_EQ(tp->trace_id, kTraceId);
  EXPECT_EQ(tp->parent_id, kCallerSpan);
  EXPECT_EQ(tp->flags, "01");
  EXPECT_EQ(tp->ToHeader(), kTraceParent);
  // Unsampled, and a future version with an extra field (read as version 00).
  EXPECT_TRUE(server::ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  auto future = server::ParseTraceParent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
  ASSERT_TRUE(future.has_value());
  EXPECT_EQ(future->ToHeader(), kTraceParent);
}

TEST(TraceParentTest, RejectsMalformed) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 with more
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",    // separators
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // short version
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // future, no dash
       }) {
    std::string why;
    EXPECT_FALSE(server::ParseTraceParent(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(RequestIdTest, SanityAndGeneration) {
  EXPECT_TRUE(server::IsSaneRequestId("abc-123"));
  EXPECT_TRUE(server::IsSaneRequestId(std::string(128, 'x')));
  EXPECT_FALSE(server::IsSaneRequestId(std::string(129, 'x')));
  EXPECT_FALSE(server::IsSaneRequestId(""));
  EXPECT_FALSE(server::IsSaneRequestId("tab\there"));
  EXPECT_FALSE(server::IsSaneRequestId(" padded"));
  EXPECT_FALSE(server::IsSaneRequestId("caf\xc3\xa9"));
  std::string a = server::NewRequestId(), b = server::NewRequestId();
  EXPECT_THAT(a, MatchesRegex(kUuidRegex));
  EXPECT_NE(a, b);
  EXPECT_THAT(server::NewSpanId(), MatchesRegex("[0-9a-f]{16}"));
}

TEST(RequestContextTest, ChildSpanKeepsTraceAndFlags) {
  auto rc = server::RequestContext::Make("rid-1", server::ParseTraceParent(kTraceParent),
                                         "congo=t61rcWkgMzE", "/files.v1.UserService/FindUser");
  client_core::HeaderList h1, h2;
  rc->AddUpstreamHeaders(&h1);
  rc->AddUpstreamHeaders(&h2);
  Sent s1{"GET", "", h1}, s2{"GET", "", h2};
  ASSERT_NE(s1.Header("traceparent"), nullptr);
  EXPECT_EQ(*s1.Header("X-Request-Id"), "rid-1");
  EXPECT_EQ(*s1.Header("tracestate"), "congo=t61rcWkgMzE");
  auto child = server::ParseTraceParent(*s1.Header("traceparent"));
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(child->trace_id, kTraceId);
  EXPECT_EQ(child->flags, "01");
  EXPECT_NE(child->parent_id, kCallerSpan);
  EXPECT_NE(SpanOf(*s1.Header("traceparent")), SpanOf(*s2.Header("traceparent")));

  auto plain = server::RequestContext::Make("rid-2", std::nullopt, "ignored", "/x.Y/Z");
  client_core::HeaderList h3;
  plain->AddUpstreamHeaders(&h3);
  ASSERT_EQ(h3.size(), 1u);
  EXPECT_EQ(h3[0].first, "X-Request-Id");
}

TEST(LoggerTest, SinkAndAmbientRequestId) {
  std::vector<std::string> lines;
  server::Logger log(server::LogLevel::kDebug,
                     [&lines](std::string_view l) { lines.emplace_back(l); });
  log.Info("outside");
  {
    server::ScopedLogFields ids("rid-7", "trace-7");
    log.Info("inside", {{"n", 1}});
    log.Info("own id", {{"request_id", "explicit"}});
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], Not(HasSubstr("request_id")));
  EXPECT_THAT(lines[1], HasSubstr(R"("request_id":"rid-7","trace_id":"trace-7")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("request_id":"explicit")"));
  EXPECT_THAT(lines[2], Not(HasSubstr("rid-7")));
}

TEST(MetricsListenerTest, LoopbackOnlyUnlessAllowed) {
  EXPECT_TRUE(server::IsLoopbackAddress("127.0.0.1:9464"));
  EXPECT_TRUE(server::IsLoopbackAddress("127.1.2.3:0"));
  EXPECT_TRUE(server::IsLoopbackAddress("[::1]:9464"));
  EXPECT_TRUE(server::IsLoopbackAddress("localhost:9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("0.0.0.0:9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("10.0.0.1:9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("[::]:9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("127.0.0:9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("127.0.0.1.5:9464"));
  EXPECT_FALSE(server::IsLoopbackAddress("127.0.0.1:http"));

  server::Metrics refused;
  absl::Status s = refused.Serve("0.0.0.0:0", /*allow_remote=*/false);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(refused.port(), 0);

  server::Metrics remote;
  ASSERT_TRUE(remote.Serve("0.0.0.0:0", /*allow_remote=*/true).ok());
  EXPECT_GT(remote.port(), 0);

  server::Metrics local;
  ASSERT_TRUE(local.Serve("localhost:0", false).ok());
  httplib::Client client("127.0.0.1", local.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("# TYPE filesgw_grpc_inflight_calls gauge"));
}

TEST(MetricsOptionsTest, FlagsAndEnvironment) {
  auto none = [](const char*) -> const char* { return nullptr; };
  auto o = server::ParseOptions({}, none);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->metrics_listen, "127.0.0.1:9464");
  EXPECT_FALSE(o->metrics_required);
  EXPECT_FALSE(o->metrics_allow_remote);

  o = server::ParseOptions({"--metrics-listen=off"}, none);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->metrics_listen, "");

  o = server::ParseOptions({"--metrics-listen", "0.0.0.0:9100", "--metrics-allow-remote"}, none);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->metrics_listen, "0.0.0.0:9100");
  EXPECT_TRUE(o->metrics_required);
  EXPECT_TRUE(o->metrics_allow_remote);

  auto env = [](const char* name) -> const char* {
    if (std::string(name) == "FILESGW_METRICS_LISTEN") return "127.0.0.1:9999";
    if (std::string(name) == "FILESGW_METRICS_ALLOW_REMOTE") return "false";
    return nullptr;
  };
  o = server::ParseOptions({}, env);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->metrics_listen, "127.0.0.1:9999");
  EXPECT_FALSE(o->metrics_allow_remote);

  EXPECT_FALSE(server::ParseOptions({"--metrics-allow-remote=perhaps"}, none).ok());
}

TEST(MetricsOptionsTest, GatewayRefusesRemoteMetricsAddress) {
  server::Logger log(server::LogLevel::kError, [](std::string_view) {});
  server::GatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.base_url = "http://127.0.0.1:1";
  options.api_key = "k";
  options.metrics_listen = "0.0.0.0:0";
  auto gw = server::Gateway::Start(options, &log);
  ASSERT_FALSE(gw.ok());
  EXPECT_THAT(std::string(gw.status().message()), HasSubstr("--metrics-allow-remote"));
}

TEST(HealthReporterTest, CredentialRejectionAndRecovery) {
  std::vector<std::string> lines;
  server::Logger log(server::LogLevel::kDebug,
                     [&lines](std::string_view l) { lines.emplace_back(l); });
  server::HealthReporter health(&log, nullptr);
  client_core::ApiResult rejected;
  rejected.status = absl::UnauthenticatedError("Invalid API key.");
  rejected.http_status = 401;
  rejected.error = client_core::FilesError{};
  rejected.error->type = "not-authenticated/invalid-credentials";
  client_core::ApiResult not_found;
  not_found.status = absl::NotFoundError("no");
  not_found.http_status = 404;
  not_found.error = client_core::FilesError{};
  not_found.error->type = "not-found";
  client_core::ApiResult ok;

  EXPECT_TRUE(health.serving());
  health.ObserveUpstream(rejected);
  health.ObserveUpstream(rejected);
  EXPECT_FALSE(health.serving());
  EXPECT_TRUE(health.credential_rejected());
  health.ObserveUpstream(not_found);  // says nothing either way
  EXPECT_FALSE(health.serving());
  health.ObserveUpstream(ok);
  EXPECT_TRUE(health.serving());
  int errors = 0;
  for (const auto& l : lines) errors += absl::StrContains(l, R"("level":"error")") ? 1 : 0;
  EXPECT_EQ(errors, 1);

  health.SetDraining();
  health.ObserveUpstream(ok);
  EXPECT_FALSE(health.serving());  // draining wins
}

// ------------------------------------------------------ end-to-end tests --

TEST(ObservabilityTest, MetricsMoveWithAScriptedWorkload) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  ASSERT_GT(harness.gateway().metrics_port(), 0);

  for (int i = 0; i < 3; ++i) {
    auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":1})");
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  }
  auto missing = harness.Call("files.v1.UserService/FindUser", R"({"id":987654})");
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  // One 503 then success: one retry.
  harness.ControlPost("/__emulator/faults",
                      R"({"method":"GET","path":"/users/1","status":503,"times":1})");
  ASSERT_TRUE(harness.Call("files.v1.UserService/FindUser", R"({"id":1})").status.ok());

  const std::string content = Bytes(200000);  // 4 parts of 64 KiB
  ASSERT_TRUE(Upload(harness, "obs/metrics.bin", content).ok());
  std::string back;
  ASSERT_TRUE(Download(harness, "obs/metrics.bin", &back).ok());
  EXPECT_EQ(back, content);

  // Unary calls leave the in-flight gauge when gRPC is done with them, a
  // moment after the caller has its answer.
  Scrape m = ScrapeMetrics(harness);
  for (int i = 0; i < 100 && m.Get("filesgw_grpc_inflight_calls") != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    m = ScrapeMetrics(harness);
  }
  SCOPED_TRACE(m.text());
  const std::map<std::string, std::string> find_user = {{"service", "files.v1.UserService"},
                                                        {"method", "FindUser"}};
  auto with = [](std::map<std::string, std::string> labels, const char* k, const char* v) {
    labels[k] = v;
    return labels;
  };
  EXPECT_EQ(m.Get("filesgw_grpc_calls_total", with(find_user, "code", "OK")), 4);
  EXPECT_EQ(m.Get("filesgw_grpc_calls_total", with(find_user, "code", "NOT_FOUND")), 1);
  EXPECT_EQ(m.Get("filesgw_grpc_call_duration_seconds_count", find_user), 5);
  EXPECT_GT(m.Get("filesgw_grpc_call_duration_seconds_sum", find_user), 0);
  EXPECT_EQ(m.Get("filesgw_grpc_call_duration_seconds_bucket", with(find_user, "le", "+Inf")), 5);
  EXPECT_EQ(m.Get("filesgw_grpc_calls_total", {{"service", "files.v1.TransferService"},
                                               {"method", "Upload"},
                                               {"code", "OK"}}),
            1);
  EXPECT_EQ(m.Get("filesgw_grpc_calls_total", {{"service", "files.v1.TransferService"},
                                               {"method", "Download"},
                                               {"code", "OK"}}),
            1);
  EXPECT_EQ(m.Get("filesgw_grpc_call_duration_seconds_count",
                  {{"service", "files.v1.TransferService"}, {"method", "Upload"}}),
            1);

  EXPECT_EQ(m.Get("filesgw_upstream_retries_total", find_user), 1);
  EXPECT_GE(m.Get("filesgw_upstream_responses_total",
                  {{"target", "api"}, {"class", "2xx"}, {"status", "200"}}),
            4 + 2);  // FindUser, plus begin_upload/end/GET /files
  EXPECT_EQ(m.Get("filesgw_upstream_responses_total",
                  {{"target", "api"}, {"class", "4xx"}, {"status", "404"}}),
            1);
  EXPECT_EQ(m.Get("filesgw_upstream_responses_total",
                  {{"target", "api"}, {"class", "5xx"}, {"status", "503"}}),
            1);
  // Four part PUTs and one download GET went to presigned URLs.
  EXPECT_EQ(m.Get("filesgw_upstream_responses_total", {{"target", "storage"}, {"class", "2xx"}}),
            5);
  EXPECT_GE(m.Get("filesgw_upstream_request_duration_seconds_count", {{"target", "api"}}), 9);

  const double size = static_cast<double>(content.size());
  EXPECT_EQ(m.Get("filesgw_transfer_bytes_total", {{"direction", "upload"}}), size);
  EXPECT_EQ(m.Get("filesgw_transfer_bytes_total", {{"direction", "download"}}), size);
  EXPECT_EQ(m.Get("filesgw_transfer_inflight_streams", {{"direction", "upload"}}), 0);
  EXPECT_EQ(m.Get("filesgw_transfer_inflight_streams", {{"direction", "download"}}), 0);
  EXPECT_EQ(m.Get("filesgw_grpc_inflight_calls"), 0);
  EXPECT_EQ(m.Get("filesgw_health_serving"), 1);
  EXPECT_EQ(m.Get("filesgw_upstream_credential_rejected"), 0);

  // The governor's families are there (the default governor caps concurrency)
  // and saw every granted API call.
  EXPECT_THAT(m.text(), HasSubstr("# TYPE filesgw_governor_wait_seconds histogram"));
  EXPECT_THAT(m.text(), HasSubstr("# TYPE filesgw_governor_rejections_total counter"));
  EXPECT_GE(m.Get("filesgw_governor_wait_seconds_count", {{"profile", "default"}}), 8);
  EXPECT_EQ(m.Get("filesgw_governor_rejections_total", {{"profile", "default"}}), 0);

  // Never a path, URL or id in a label.
  EXPECT_THAT(m.text(), Not(HasSubstr("obs/metrics.bin")));
  EXPECT_THAT(m.text(), Not(HasSubstr("987654")));
}

TEST(ObservabilityTest, StreamsInFlightShowWhileTheyRun) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  auto stub = files::v1::TransferService::NewStub(harness.channel());
  grpc::ClientContext context;
  files::v1::UploadResponse response;
  auto writer = stub->Upload(&context, &response);
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path("obs/open.bin");
  first.mutable_spec()->set_mkdir_parents(true);
  ASSERT_TRUE(writer->Write(first));
  files::v1::UploadRequest data;
  data.set_data(Bytes(1000));
  ASSERT_TRUE(writer->Write(data));
  double open = -1;
  for (int i = 0; i < 100 && open != 1; ++i) {
    open = ScrapeMetrics(harness).Get("filesgw_transfer_inflight_streams",
                                      {{"direction", "upload"}});
    if (open != 1) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(open, 1);
  writer->WritesDone();
  grpc::Status finished = writer->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(ScrapeMetrics(harness).Get("filesgw_transfer_inflight_streams",
                                       {{"direction", "upload"}}),
            0);
}

TEST(ObservabilityTest, CallerRequestIdGoesUpstreamAndBack) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  obs.transport->Take();
  auto r = CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})",
                            {{"x-request-id", "caller-req-42"}});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(RequestIdOf(r), "caller-req-42");
  auto sent = obs.transport->Take();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_NE(sent[0].Header("X-Request-Id"), nullptr);
  EXPECT_EQ(*sent[0].Header("X-Request-Id"), "caller-req-42");
  EXPECT_EQ(sent[0].Header("traceparent"), nullptr);  // the caller sent none
  // The call's log line carries it.
  auto lines = obs.logs->With(R"("msg":"call")");
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), HasSubstr(R"("request_id":"caller-req-42")"));

  // Errors carry it too (and are logged at info).
  auto missing = CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":987654})",
                                  {{"x-request-id", "caller-req-43"}});
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RequestIdOf(missing), "caller-req-43");
  EXPECT_EQ(obs.logs->With("caller-req-43").size(), 1u);
}

TEST(ObservabilityTest, GeneratedRequestIdWhenMissingOrInsane) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  for (const Metadata& md : {Metadata{}, Metadata{{"x-request-id", std::string(129, 'r')}},
                             Metadata{{"x-request-id", " spaced "}}}) {
    obs.transport->Take();
    auto r = CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})", md);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    const std::string id = RequestIdOf(r);
    EXPECT_THAT(id, MatchesRegex(kUuidRegex));
    auto sent = obs.transport->Take();
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_NE(sent[0].Header("X-Request-Id"), nullptr);
    EXPECT_EQ(*sent[0].Header("X-Request-Id"), id);
    EXPECT_FALSE(obs.logs->With(id).empty());
  }
}

TEST(ObservabilityTest, TransferRequestIdOnApiCallsNotOnPresignedUrls) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  obs.transport->Take();
  std::string id;
  ASSERT_TRUE(Upload(harness, "obs/rid.bin", Bytes(150000), {{"x-request-id", "up-rid-1"}}, &id)
                  .ok());
  EXPECT_EQ(id, "up-rid-1");
  int api = 0, storage = 0;
  for (const auto& s : obs.transport->Take()) {
    if (s.ToApi()) {
      ++api;
      ASSERT_NE(s.Header("X-Request-Id"), nullptr) << s.url;
      EXPECT_EQ(*s.Header("X-Request-Id"), "up-rid-1");
    } else {
      ++storage;
      EXPECT_EQ(s.Header("X-Request-Id"), nullptr) << "presigned request carries it";
    }
  }
  EXPECT_GE(api, 2);      // begin_upload, end
  EXPECT_EQ(storage, 3);  // three 64 KiB parts

  std::string data;
  ASSERT_TRUE(Download(harness, "obs/rid.bin", &data, {}, &id).ok());
  EXPECT_THAT(id, MatchesRegex(kUuidRegex));
  for (const auto& s : obs.transport->Take()) {
    if (s.ToApi()) {
      ASSERT_NE(s.Header("X-Request-Id"), nullptr);
      EXPECT_EQ(*s.Header("X-Request-Id"), id);
    } else {
      EXPECT_EQ(s.Header("X-Request-Id"), nullptr);
    }
  }
}

TEST(ObservabilityTest, TraceParentForwardedAsAChildSpan) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  obs.transport->Take();
  auto r = CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})",
                            {{"traceparent", kTraceParent}, {"tracestate", "congo=t61rcWkgMzE"}});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  auto sent = obs.transport->Take();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_NE(sent[0].Header("traceparent"), nullptr);
  const std::string& tp = *sent[0].Header("traceparent");
  EXPECT_THAT(tp, MatchesRegex(absl::StrCat("00-", kTraceId, "-[0-9a-f]{16}-01")));
  EXPECT_NE(SpanOf(tp), kCallerSpan);
  EXPECT_NE(SpanOf(tp), "0000000000000000");
  ASSERT_NE(sent[0].Header("tracestate"), nullptr);
  EXPECT_EQ(*sent[0].Header("tracestate"), "congo=t61rcWkgMzE");
  // Logs name the trace.
  EXPECT_FALSE(obs.logs->With(absl::StrCat(R"("trace_id":")", kTraceId)).empty());

  // TransferService: begin_upload, end and GET /files carry it; presigned URLs do not.
  const Metadata trace = {{"traceparent", kTraceParent}};
  ASSERT_TRUE(Upload(harness, "obs/traced.bin", Bytes(70000), trace).ok());
  std::string data;
  ASSERT_TRUE(Download(harness, "obs/traced.bin", &data, trace).ok());
  int begin = 0, end = 0, get = 0;
  for (const auto& s : obs.transport->Take()) {
    if (!s.ToApi()) {
      EXPECT_EQ(s.Header("traceparent"), nullptr) << "presigned request carries traceparent";
      continue;
    }
    ASSERT_NE(s.Header("traceparent"), nullptr) << s.method << " " << s.url;
    EXPECT_THAT(*s.Header("traceparent"),
                MatchesRegex(absl::StrCat("00-", kTraceId, "-[0-9a-f]{16}-01")));
    EXPECT_NE(SpanOf(*s.Header("traceparent")), kCallerSpan);
    EXPECT_EQ(s.Header("tracestate"), nullptr);  // none was sent
    if (absl::StrContains(s.url, "/file_actions/begin_upload/")) ++begin;
    if (s.method == "POST" && absl::StrContains(s.url, "/api/rest/v1/files/")) ++end;
    if (s.method == "GET" && absl::StrContains(s.url, "/api/rest/v1/files/")) ++get;
  }
  EXPECT_GE(begin, 1);
  EXPECT_EQ(end, 1);
  EXPECT_EQ(get, 1);
}

TEST(ObservabilityTest, InvalidTraceParentIsDropped) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  for (const char* bad : {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "garbage"}) {
    obs.transport->Take();
    obs.logs->Clear();
    auto r = CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})",
                              {{"traceparent", bad}, {"tracestate", "congo=t61rcWkgMzE"}});
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    auto sent = obs.transport->Take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].Header("traceparent"), nullptr) << bad;
    EXPECT_EQ(sent[0].Header("tracestate"), nullptr) << bad;
    EXPECT_NE(sent[0].Header("X-Request-Id"), nullptr);
    auto dropped = obs.logs->With("trace context dropped");
    ASSERT_EQ(dropped.size(), 1u) << bad;
    EXPECT_THAT(dropped[0], HasSubstr(R"("level":"debug")"));
    EXPECT_THAT(dropped[0], HasSubstr(RequestIdOf(r)));
  }
}

TEST(ObservabilityTest, HealthFollowsTheUpstreamCredential) {
  Observed obs;
  GatewayHarness harness(ObservedOptions(&obs));
  EXPECT_EQ(HealthStatus(harness), 1);

  // A caller's wrong password (no gateway credential involved) changes nothing.
  auto login = harness.Call("files.v1.SessionService/CreateSession",
                            R"({"username":"nobody-here","password":"nope"})");
  EXPECT_EQ(login.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(HealthStatus(harness), 1);

  obs.transport->wrong_key = true;
  for (int i = 0; i < 3; ++i) {
    auto r = harness.Call("files.v1.UserService/FindUser", R"({"id":1})");
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(HealthStatus(harness), 2);
  EXPECT_EQ(ScrapeMetrics(harness).Get("filesgw_health_serving"), 0);
  EXPECT_EQ(ScrapeMetrics(harness).Get("filesgw_upstream_credential_rejected"), 1);
  auto errors = obs.logs->With(R"("level":"error")");
  ASSERT_EQ(errors.size(), 1u);  // once, not per call
  EXPECT_THAT(errors[0], HasSubstr("credential rejected"));

  // A NOT_FOUND says nothing about the credential; a success clears it.
  obs.transport->wrong_key = false;
  auto missing = harness.Call("files.v1.UserService/FindUser", R"({"id":987654})");
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(HealthStatus(harness), 2);
  auto ok = harness.Call("files.v1.UserService/FindUser", R"({"id":1})");
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(HealthStatus(harness), 1);
  EXPECT_EQ(ScrapeMetrics(harness).Get("filesgw_health_serving"), 1);

  // A TransferService API call (GET /files) counts as well.
  obs.transport->wrong_key = true;
  std::string data;
  EXPECT_EQ(Download(harness, "demo/hello.txt", &data).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(HealthStatus(harness), 2);
  obs.transport->wrong_key = false;
  EXPECT_TRUE(Download(harness, "demo/hello.txt", &data).ok());
  EXPECT_EQ(HealthStatus(harness), 1);

  // Draining: NOT_SERVING whatever upstream says.
  harness.gateway().Shutdown(absl::Seconds(1));
  EXPECT_FALSE(harness.gateway().health().serving());
}

TEST(ObservabilityTest, NoSecretInAnyLogLineAtDebugLevel) {
  const std::string key = "SECRET-API-KEY-7f3a9c2e5b1d4f60";
  const std::string bearer = "SECRET-BEARER-1b2c3d4e5f607182";
  Observed obs;
  HarnessOptions options = ObservedOptions(&obs, key);
  // The bearer token authenticates the caller; its profile lets callers send
  // their own Files.com key (the same key here), so both secrets are in play.
  options.gateway_setup = [base = options.gateway_setup, bearer](server::GatewayOptions* gw) {
    base(gw);
    server::ProfileOptions profile;
    profile.base_url = gw->base_url;
    profile.api_key = gw->api_key;
    profile.allow_caller_credentials = true;
    gw->profiles = {profile};
    server::CallerOptions caller;
    caller.name = "scanner";
    caller.token_sha256 = server::Sha256Hex(bearer);
    caller.allow = {"*"};
    gw->callers = {caller};
  };
  GatewayHarness harness(options);
  const Metadata auth = {{"authorization", absl::StrCat("Bearer ", bearer)},
                         {"x-files-api-key", key},
                         {"traceparent", "not-a-traceparent"}};

  // Successes and failures, unary and streams, with the secrets in metadata.
  EXPECT_TRUE(CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})", auth)
                  .status.ok());
  EXPECT_FALSE(CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":987654})", auth)
                   .status.ok());
  auto user = CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})", auth);
  ASSERT_TRUE(user.status.ok());
  rapidjson::Document doc;
  doc.Parse(user.response_json.c_str());
  auto session = CallWithMetadata(
      harness, "files.v1.SessionService/CreateSession",
      absl::StrCat(R"({"username":")", doc["username"].GetString(), R"(","password":"password"})"),
      auth);
  ASSERT_TRUE(session.status.ok()) << session.status.error_message();
  rapidjson::Document session_doc;
  session_doc.Parse(session.response_json.c_str());
  ASSERT_TRUE(session_doc.HasMember("id") && session_doc["id"].IsString()) << session.response_json;
  const std::string session_id = session_doc["id"].GetString();
  ASSERT_FALSE(session_id.empty());
  EXPECT_FALSE(CallWithMetadata(harness, "files.v1.SessionService/CreateSession",
                                R"({"username":"nobody","password":"SECRET-PASSWORD-x9"})", auth)
                   .status.ok());
  ASSERT_TRUE(Upload(harness, "obs/secret.bin", Bytes(140000), auth).ok());
  std::string data;
  ASSERT_TRUE(Download(harness, "obs/secret.bin", &data, auth).ok());
  // A failing part PUT (retried) and an expired download URL (refreshed).
  harness.ControlPost("/__emulator/faults",
                      R"({"method":"PUT","path":"/__emulator/upload/*","status":500,"times":1})");
  ASSERT_TRUE(Upload(harness, "obs/secret2.bin", Bytes(70000), auth).ok());
  harness.ControlPost("/__emulator/urls/expire", "{}");
  ASSERT_TRUE(Download(harness, "obs/secret.bin", &data, auth).ok());
  obs.transport->wrong_key = true;
  EXPECT_FALSE(CallWithMetadata(harness, "files.v1.UserService/FindUser", R"({"id":1})", auth)
                   .status.ok());
  EXPECT_FALSE(Download(harness, "obs/secret.bin", &data, auth).ok());
  obs.transport->wrong_key = false;

  const auto lines = obs.logs->lines();
  // The scan means something only if debug lines were written.
  EXPECT_GE(obs.logs->With(R"("level":"debug")").size(), 8u);
  for (const auto& line : lines) {
    SCOPED_TRACE(line);
    EXPECT_THAT(line, Not(HasSubstr(key)));
    EXPECT_THAT(line, Not(HasSubstr(key.substr(7, 16))));  // not even a part of it
    EXPECT_THAT(line, Not(HasSubstr(bearer)));
    EXPECT_THAT(line, Not(HasSubstr(session_id)));
    EXPECT_THAT(line, Not(HasSubstr("SECRET-PASSWORD")));
    EXPECT_THAT(line, Not(HasSubstr("not-the-key")));
    EXPECT_THAT(line, Not(HasSubstr("__emulator/upload")));    // presigned URLs
    EXPECT_THAT(line, Not(HasSubstr("__emulator/download")));
    EXPECT_THAT(line, Not(HasSubstr("Signature")));
    EXPECT_THAT(absl::AsciiStrToLower(line), Not(HasSubstr("authorization")));
    EXPECT_THAT(absl::AsciiStrToLower(line), Not(HasSubstr("x-filesapi")));
  }
}

}  // namespace
}  // namespace filesgw::testing
