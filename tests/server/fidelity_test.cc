// Issue 15 through real gRPC, the real gateway and the emulator over HTTP:
// - answers shaped as Files.com sends them but our emulator never makes
//   (served by an emulator fault rule with status 200 and a crafted body):
//   keys the protos lack and values whose shape does not fit reach the caller
//   in unmapped_fields, the rest of the answer intact, counted and logged
//   without values; Auto carries any JSON value;
// - per-request workspace and language metadata: forwarded on API requests,
//   never on presigned storage URLs, honoured by the emulator.
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "files/v1/transfer.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "server/codec.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using google::protobuf::Message;
using ::testing::HasSubstr;

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

class RecordingTransport : public client_core::HttpTransport {
 public:
  explicit RecordingTransport(std::shared_ptr<client_core::HttpTransport> inner)
      : inner_(std::move(inner)) {}
  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
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

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
  std::mutex mu_;
  std::vector<Sent> sent_;
};

class Lines {
 public:
  server::Logger::Sink sink() {
    return [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> With(absl::string_view needle) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& l : lines_) {
      if (absl::StrContains(l, needle)) out.push_back(l);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class FidelityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HarnessOptions options;
    options.log_level = server::LogLevel::kDebug;
    options.log_sink = lines_.sink();
    options.max_retries = 0;
    options.wrap_transport = [this](std::shared_ptr<client_core::HttpTransport> inner) {
      auto recorder = std::make_shared<RecordingTransport>(std::move(inner));
      transport_ = recorder.get();
      return recorder;
    };
    options.emulator_setup = [](emulator::EmulatorOptions* emu) { emu->part_size = 64 << 10; };
    harness_ = std::make_unique<GatewayHarness>(std::move(options));
  }

  // The next `method` request to `path` (after /api/rest/v1) is answered 200
  // with `body`, as Files.com would answer it.
  void Answer(const std::string& method, const std::string& path, const std::string& body) {
    std::string rule;
    rule += R"({"method":")" + method + R"(","path":")" + path + R"(","status":200,"times":1,"body":)";
    // The body travels as a JSON string inside the rule.
    std::string quoted = "\"";
    for (char c : body) {
      if (c == '\n') {
        quoted += "\\n";
        continue;
      }
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    quoted += "\"";
    rule += quoted + "}";
    EXPECT_THAT(harness_->ControlPost("/__emulator/faults", rule),
                ::testing::Not(HasSubstr("bad-request")));
  }

  static std::string UnmappedJson(const Message& message) {
    const auto* field = message.GetDescriptor()->FindFieldByName("unmapped_fields");
    EXPECT_NE(field, nullptr);
    std::string out;
    EXPECT_TRUE(
        server::MessageToJson(message.GetReflection()->GetMessage(message, field), &out).ok());
    return out;
  }
  static const Message& Child(const Message& m, const std::string& name, int index = -1) {
    const auto* field = m.GetDescriptor()->FindFieldByName(name);
    return index < 0 ? m.GetReflection()->GetMessage(m, field)
                     : m.GetReflection()->GetRepeatedMessage(m, field, index);
  }
  static bool Has(const Message& m, const std::string& name) {
    const auto* field = m.GetDescriptor()->FindFieldByName(name);
    if (field->is_repeated()) return m.GetReflection()->FieldSize(m, field) > 0;
    return m.GetReflection()->HasField(m, field);
  }
  double Counter(const std::string& series) {
    const std::string text = harness_->gateway().metrics().Scrape();
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StartsWith(line, series + " ")) {
        double value = 0;
        if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
      }
    }
    return -1;
  }

  Lines lines_;
  RecordingTransport* transport_ = nullptr;  // owned by the gateway
  std::unique_ptr<GatewayHarness> harness_;
};

TEST_F(FidelityTest, SiteSessionWithExtraKeysAndAUrlWhereAnImageIsDeclared) {
  Answer("GET", "/site", R"({"id":1,"name":"acme","domain":"acme.example",
      "logo":"https://cdn.example/logo.png",
      "icon16":{"name":"i16","uri":"https://cdn.example/16.png"},
      "session":{"id":"sess","language":"de","read_only":false,"login_token":"lt",
                 "login_token_domain":"acme.example","max_dir_listing_size":10000,
                 "multiple_regions":false,"read_only_sites":[1,2]},
      "a_key_from_next_year":{"nested":[1,{"two":2}]}})");
  auto r = harness_->Call("files.v1.SiteService/GetSite", "{}");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const Message& site = *r.response;
  EXPECT_TRUE(Has(site, "name"));
  EXPECT_TRUE(Has(site, "icon16"));
  EXPECT_FALSE(Has(site, "logo"));
  EXPECT_EQ(UnmappedJson(site),
            R"({"a_key_from_next_year":{"nested":[1,{"two":2}]},)"
            R"("logo":"https://cdn.example/logo.png"})");
  const Message& session = Child(site, "session");
  EXPECT_TRUE(Has(session, "id"));
  EXPECT_TRUE(Has(session, "language"));
  EXPECT_EQ(UnmappedJson(session),
            R"({"login_token":"lt","login_token_domain":"acme.example",)"
            R"("max_dir_listing_size":10000,"multiple_regions":false,"read_only_sites":[1,2]})");
  EXPECT_EQ(Counter(R"(filesgw_upstream_unmapped_fields_total{kind="misfit"})"), 1);
  EXPECT_EQ(Counter(R"(filesgw_upstream_unmapped_fields_total{kind="unknown"})"), 6);
  // Logged at debug with the RPC and the paths, never a value.
  auto logged = lines_.With("unmapped fields");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr("/files.v1.SiteService/GetSite"));
  EXPECT_THAT(logged[0], HasSubstr("files.v1.Site.session.login_token"));
  EXPECT_THAT(logged[0], HasSubstr("files.v1.Site.logo"));
  EXPECT_THAT(logged[0], ::testing::Not(HasSubstr("cdn.example")));
  EXPECT_THAT(logged[0], ::testing::Not(HasSubstr("acme.example")));
}

TEST_F(FidelityTest, UnknownKeyOnEveryUserOfA1000EntryListing) {
  std::string body = "[";
  for (int i = 1; i <= 1000; ++i) {
    absl::StrAppend(&body, i > 1 ? "," : "", R"({"id":)", i, R"(,"username":"user)", i,
                    R"(","site_admin":false,"tomorrows_flag":{"on":true,"since":)", i, "}}");
  }
  body += "]";
  Answer("GET", "/users", body);
  auto r = harness_->Call("files.v1.UserService/ListUsers", R"({"per_page":1000})");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const auto* items = r.response->GetDescriptor()->FindFieldByName("items");
  ASSERT_EQ(r.response->GetReflection()->FieldSize(*r.response, items), 1000);
  for (int i : {0, 499, 999}) {
    const Message& user = Child(*r.response, "items", i);
    EXPECT_TRUE(Has(user, "username"));
    EXPECT_EQ(UnmappedJson(user), absl::StrCat(R"({"tomorrows_flag":{"on":true,"since":)", i + 1,
                                               "}}"));
  }
  EXPECT_EQ(Counter(R"(filesgw_upstream_unmapped_fields_total{kind="unknown"})"), 1000);
}

TEST_F(FidelityTest, AutoCarriesObjectsArraysAndScalars) {
  for (const char* raw : {R"({"status":"ok","tries":[1,2]})", R"([1,"two",null])",
                          R"("plain text")", "12"}) {
    const std::string data(raw);
    SCOPED_TRACE(data);
    Answer("POST", "/webhook_tests",
           R"({"code":200,"message":"sent","status":"ok","success":true,"data":)" + data + "}");
    auto r = harness_->Call("files.v1.WebhookTestService/CreateWebhookTest",
                            R"({"url":"https://hooks.example/x"})");
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    const Message& auto_value = Child(*r.response, "data");
    std::string value;
    ASSERT_TRUE(server::MessageToJson(Child(auto_value, "value"), &value).ok());
    EXPECT_EQ(value, data);
    EXPECT_EQ(Has(auto_value, "dynamic"), data.front() == '{');
    EXPECT_TRUE(Has(*r.response, "success"));
  }
}

TEST_F(FidelityTest, NestedAndRepeatedMisfitsKeepTheRest) {
  Answer("GET", "/users", R"([{"id":1,"username":"a","admin_group_ids":[1,"two",3]},
      {"id":2,"username":{"first":"b"},"name":"Bee"},{"id":3,"username":"c"}])");
  auto r = harness_->Call("files.v1.UserService/ListUsers", "{}");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_FALSE(Has(Child(*r.response, "items", 0), "admin_group_ids"));
  EXPECT_EQ(UnmappedJson(Child(*r.response, "items", 0)), R"({"admin_group_ids":[1,"two",3]})");
  EXPECT_FALSE(Has(Child(*r.response, "items", 1), "username"));
  EXPECT_TRUE(Has(Child(*r.response, "items", 1), "name"));
  EXPECT_EQ(UnmappedJson(Child(*r.response, "items", 1)), R"({"username":{"first":"b"}})");
  EXPECT_EQ(UnmappedJson(Child(*r.response, "items", 2)), "{}");
  EXPECT_EQ(Counter(R"(filesgw_upstream_unmapped_fields_total{kind="misfit"})"), 2);
}

TEST_F(FidelityTest, RequestUnmappedFieldsGoUpstreamAsParams) {
  transport_->Take();
  auto r = harness_->Call("files.v1.UserService/ListUsers",
                          R"({"per_page":2,"unmapped_fields":{"future_param":"x y"}})");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  bool seen = false;
  for (const Sent& s : transport_->Take()) {
    seen = seen || (s.ToApi() && absl::StrContains(s.url, "future_param=x%20y"));
  }
  EXPECT_TRUE(seen);
}

// The emulator's `search` on users, as Files.com's: partial, any case, over
// username, name, email and company.
TEST_F(FidelityTest, UserSearchFindsPartialMatches) {
  auto r = harness_->Call("files.v1.UserService/ListUsers", R"({"search":"CAR"})");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_THAT(r.json, HasSubstr(R"("username":"carol")"));
  EXPECT_THAT(r.json, ::testing::Not(HasSubstr(R"("username":"alice")")));
  auto none = harness_->Call("files.v1.UserService/ListUsers", R"({"search":"nobody-like-this"})");
  ASSERT_TRUE(none.status.ok());
  EXPECT_EQ(none.json, "{}");
}

using Metadata = std::vector<std::pair<std::string, std::string>>;

CallOptions With(Metadata metadata) {
  CallOptions options;
  options.metadata = std::move(metadata);
  return options;
}

TEST_F(FidelityTest, WorkspaceScopesCreatesAndListings) {
  auto made = harness_->CallWith(With({{"x-files-workspace-id", "7"}}),
                                 "files.v1.GroupService/CreateGroup", R"({"name":"ws7-group"})");
  ASSERT_TRUE(made.status.ok()) << made.status.error_message();
  EXPECT_THAT(made.json, HasSubstr(R"("workspace_id":7)"));
  auto outside = harness_->Call("files.v1.GroupService/CreateGroup", R"({"name":"ws0-group"})");
  ASSERT_TRUE(outside.status.ok()) << outside.status.error_message();

  auto in7 = harness_->CallWith(With({{"x-files-workspace-id", "7"}}),
                                "files.v1.GroupService/ListGroups", "{}");
  ASSERT_TRUE(in7.status.ok()) << in7.status.error_message();
  EXPECT_THAT(in7.json, HasSubstr("ws7-group"));
  EXPECT_THAT(in7.json, ::testing::Not(HasSubstr("ws0-group")));
  auto all = harness_->Call("files.v1.GroupService/ListGroups", "{}");
  ASSERT_TRUE(all.status.ok());
  EXPECT_THAT(all.json, HasSubstr("ws7-group"));
  EXPECT_THAT(all.json, HasSubstr("ws0-group"));
}

TEST_F(FidelityTest, MalformedWorkspaceOrLanguageIsRefusedBeforeAnythingGoesUpstream) {
  const Metadata bad[] = {{{"x-files-workspace-id", "seven"}},
                          {{"x-files-workspace-id", "-1"}},
                          {{"x-files-workspace-id", "99999999999999999999"}},
                          {{"x-files-language", std::string(65, 'a')}},
                          {{"x-files-language", ""}}};  // gRPC itself refuses non-printable
  for (const Metadata& metadata : bad) {
    transport_->Take();
    auto r = harness_->CallWith(With(metadata), "files.v1.UserService/FindUser", R"({"id":1})");
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << metadata[0].first;
    EXPECT_THAT(r.status.error_message(), HasSubstr(metadata[0].first));
    EXPECT_TRUE(transport_->Take().empty());
  }
}

TEST_F(FidelityTest, LanguageIsForwardedAndEchoed) {
  auto r = harness_->CallWith(With({{"x-files-language", "de-CH"}}),
                              "files.v1.UserService/FindUser", R"({"id":424242})");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  // The emulator's stand-in for a localised message.
  EXPECT_THAT(r.status.error_message(), HasSubstr("[de-CH]"));
}

TEST_F(FidelityTest, TransfersSendBothOnApiRequestsAndNeverToStorageUrls) {
  const Metadata metadata = {{"x-files-workspace-id", "12"}, {"x-files-language", "fr"}};
  auto stub = files::v1::TransferService::NewStub(harness_->channel());
  const std::string content(200 << 10, 'w');  // several 64 KiB parts
  {
    grpc::ClientContext context;
    for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
    files::v1::UploadResponse response;
    auto writer = stub->Upload(&context, &response);
    files::v1::UploadRequest first;
    first.mutable_spec()->set_path("ws/file.bin");
    first.mutable_spec()->set_mkdir_parents(true);
    ASSERT_TRUE(writer->Write(first));
    files::v1::UploadRequest data;
    data.set_data(content);
    ASSERT_TRUE(writer->Write(data));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  {
    grpc::ClientContext context;
    for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
    files::v1::DownloadRequest request;
    request.set_path("ws/file.bin");
    auto reader = stub->Download(&context, request);
    files::v1::DownloadResponse m;
    std::string back;
    while (reader->Read(&m)) back += m.data();
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(back, content);
  }
  int api = 0, storage = 0;
  for (const Sent& s : transport_->Take()) {
    if (s.ToApi()) {
      ++api;
      ASSERT_NE(s.Header("X-Files-Workspace-Id"), nullptr) << s.method << " " << s.url;
      EXPECT_EQ(*s.Header("X-Files-Workspace-Id"), "12");
      ASSERT_NE(s.Header("Accept-Language"), nullptr) << s.url;
      EXPECT_EQ(*s.Header("Accept-Language"), "fr");
    } else {
      ++storage;
      EXPECT_EQ(s.Header("X-Files-Workspace-Id"), nullptr) << s.method;
      EXPECT_EQ(s.Header("Accept-Language"), nullptr) << s.method;
    }
  }
  EXPECT_GE(api, 3);      // begin_upload, end, the download's GET /files
  EXPECT_GE(storage, 4);  // part PUTs and the download GET
}

}  // namespace
}  // namespace filesgw::testing
