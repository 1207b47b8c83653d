// End to end over loopback: gRPC caller -> gateway -> libcurl -> emulator.
#include <algorithm>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "proto/api_pool.h"
#include "rapidjson/document.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using google::protobuf::FieldDescriptor;
using ::testing::StartsWith;

std::string SampleValue(const FieldDescriptor* f) {
  std::string value;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_UINT32: value = "1"; break;
    case FieldDescriptor::CPPTYPE_BOOL: value = "true"; break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: value = "1.5"; break;
    case FieldDescriptor::CPPTYPE_MESSAGE: value = "{}"; break;
    case FieldDescriptor::CPPTYPE_ENUM: value = "0"; break;
    case FieldDescriptor::CPPTYPE_STRING:
      if (f->type() == FieldDescriptor::TYPE_BYTES) value = "\"aGVsbG8=\"";
      else if (f->name() == "path" || f->name() == "destination") value = "\"demo\"";
      else if (f->name() == "id" || absl::EndsWith(f->name(), "_id")) value = "\"1\"";  // string ids
      else if (f->name().find("email") != std::string::npos) value = "\"someone@example.com\"";
      else value = "\"sample\"";
      break;
  }
  if (f->is_map()) return "{}";
  if (f->is_repeated()) return "[" + value + "]";
  return value;
}

std::string RequiredOnly(const google::protobuf::Descriptor* request) {
  std::string json = "{";
  for (int i = 0; i < request->field_count(); ++i) {
    const auto* f = request->field(i);
    if (!proto::IsRequired(f)) continue;
    if (json.size() > 1) json += ",";
    json += absl::StrCat("\"", f->name(), "\":", SampleValue(f));
  }
  return json + "}";
}

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { harness_ = new GatewayHarness(); }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }
  void SetUp() override { harness_->ResetEmulator(); }
  static GatewayHarness* harness_;
};
GatewayHarness* GatewayTest::harness_ = nullptr;

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  return doc;
}

std::string ErrorType(const CallResult& r) {
  google::rpc::ErrorInfo info;
  if (!r.ErrorInfo(&info)) return "<no ErrorInfo>";
  auto it = info.metadata().find("type");
  return it == info.metadata().end() ? "<no type>" : it->second;
}

TEST_F(GatewayTest, EveryRpcAnswersOkWithRequiredParamsOnly) {
  std::vector<const google::protobuf::MethodDescriptor*> methods, deletes;
  for (const auto* service : proto::Api().services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      (proto::SdkMethodOf(m)->action().rfind("delete", 0) == 0 ? deletes : methods).push_back(m);
    }
  }
  methods.insert(methods.end(), deletes.begin(), deletes.end());
  ASSERT_EQ(methods.size(), 419u);
  std::vector<std::string> failures;
  for (const auto* m : methods) {
    std::string request = RequiredOnly(m->input_type());
    if (m->full_name() == "files.v1.SessionService.CreateSession") {
      // Nothing is required by the spec, but a session needs someone to log in as: the demo
      // site's user 1 with the emulator's default password.
      CallResult user = harness_->Call("files.v1.UserService/FindUser", R"({"id":1})");
      ASSERT_TRUE(user.status.ok()) << user.status.error_message();
      request = absl::StrCat(R"({"username":")", Parse(user.json)["username"].GetString(),
                             R"(","password":"password"})");
    }
    CallResult r = harness_->Call(absl::StrCat(m->service()->full_name(), "/", m->name()), request);
    if (!r.status.ok()) {
      failures.push_back(absl::StrCat(m->full_name(), " ", request, " -> ", r.status.error_code(),
                                      " ", r.status.error_message()));
    }
  }
  EXPECT_THAT(failures, ::testing::IsEmpty());
}

TEST_F(GatewayTest, UsersCreateFindUpdateListDelete) {
  auto created = harness_->Call("files.v1.UserService/CreateUser",
                                R"({"username":"crud-user","email":"crud@example.com"})");
  ASSERT_TRUE(created.status.ok()) << created.status.error_message();
  auto doc = Parse(created.json);
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("id") && doc["id"].IsInt64()) << created.json;
  int64_t id = doc["id"].GetInt64();
  EXPECT_STREQ(doc["username"].GetString(), "crud-user");

  auto found = harness_->Call("files.v1.UserService/FindUser", absl::StrCat(R"({"id":)", id, "}"));
  ASSERT_TRUE(found.status.ok()) << found.status.error_message();
  EXPECT_EQ(Parse(found.json)["email"].GetString(), std::string("crud@example.com"));

  auto updated = harness_->Call("files.v1.UserService/UpdateUser",
                                absl::StrCat(R"({"id":)", id, R"(,"name":"Crud Person"})"));
  ASSERT_TRUE(updated.status.ok()) << updated.status.error_message();
  EXPECT_EQ(Parse(updated.json)["name"].GetString(), std::string("Crud Person"));

  auto listed = harness_->Call("files.v1.UserService/ListUsers",
                               R"({"filter":{"username":"crud-user"}})");
  ASSERT_TRUE(listed.status.ok()) << listed.status.error_message();
  auto list = Parse(listed.json);
  ASSERT_TRUE(list.HasMember("items") && list["items"].IsArray()) << listed.json;
  ASSERT_EQ(list["items"].Size(), 1u);
  EXPECT_EQ(list["items"][0]["id"].GetInt64(), id);

  auto deleted = harness_->Call("files.v1.UserService/DeleteUser", absl::StrCat(R"({"id":)", id, "}"));
  ASSERT_TRUE(deleted.status.ok()) << deleted.status.error_message();
  auto gone = harness_->Call("files.v1.UserService/FindUser", absl::StrCat(R"({"id":)", id, "}"));
  EXPECT_EQ(gone.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayTest, GroupsCreateFindUpdateListDelete) {
  auto created = harness_->Call("files.v1.GroupService/CreateGroup", R"({"name":"crud-group","notes":"n"})");
  ASSERT_TRUE(created.status.ok()) << created.status.error_message();
  int64_t id = Parse(created.json)["id"].GetInt64();
  auto updated = harness_->Call("files.v1.GroupService/UpdateGroup",
                                absl::StrCat(R"({"id":)", id, R"(,"notes":"changed"})"));
  ASSERT_TRUE(updated.status.ok()) << updated.status.error_message();
  auto found = harness_->Call("files.v1.GroupService/FindGroup", absl::StrCat(R"({"id":)", id, "}"));
  ASSERT_TRUE(found.status.ok());
  EXPECT_EQ(Parse(found.json)["notes"].GetString(), std::string("changed"));
  auto listed = harness_->Call("files.v1.GroupService/ListGroups", R"({"filter":{"name":"crud-group"}})");
  ASSERT_TRUE(listed.status.ok()) << listed.status.error_message();
  EXPECT_EQ(Parse(listed.json)["items"].Size(), 1u);
  ASSERT_TRUE(harness_->Call("files.v1.GroupService/DeleteGroup", absl::StrCat(R"({"id":)", id, "}"))
                  .status.ok());
  EXPECT_EQ(harness_->Call("files.v1.GroupService/FindGroup", absl::StrCat(R"({"id":)", id, "}"))
                .status.error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Pages through every user with `sort_by` in one direction; returns usernames.
std::vector<std::string> ListAll(GatewayHarness* h, const std::string& direction, int* pages) {
  std::vector<std::string> names;
  std::string cursor;
  *pages = 0;
  do {
    std::string req = absl::StrCat(R"({"per_page":1000,"sort_by":{"username":")", direction, "\"}");
    if (!cursor.empty()) req += absl::StrCat(R"(,"cursor":")", cursor, "\"");
    req += "}";
    auto r = h->Call("files.v1.UserService/ListUsers", req);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    if (!r.status.ok()) break;
    ++*pages;
    auto doc = Parse(r.json);
    if (doc.HasMember("items")) {
      for (const auto& u : doc["items"].GetArray()) names.push_back(u["username"].GetString());
    }
    std::string next = doc.HasMember("next_cursor") ? doc["next_cursor"].GetString() : "";
    EXPECT_NE(next, cursor) << "cursor did not advance";
    cursor = next;
  } while (!cursor.empty() && *pages < 10);
  return names;
}

TEST_F(GatewayTest, PagesThrough2500UsersBothDirections) {
  auto before = harness_->Call("files.v1.UserService/ListUsers", R"({"per_page":10000})");
  ASSERT_TRUE(before.status.ok());
  size_t existing = Parse(before.json)["items"].Size();
  std::set<std::string> created;
  for (int i = 0; i < 2500; ++i) {
    std::string name = absl::StrCat("pager-", 100000 + (i * 7919) % 2500);
    auto r = harness_->Call("files.v1.UserService/CreateUser", absl::StrCat(R"({"username":")", name, "\"}"));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    created.insert(name);
  }
  for (const std::string dir : {"asc", "desc"}) {
    int pages = 0;
    auto names = ListAll(harness_, dir, &pages);
    EXPECT_EQ(names.size(), existing + 2500) << dir;
    EXPECT_EQ(pages, static_cast<int>((existing + 2500 + 999) / 1000)) << dir;
    auto sorted = names;
    if (dir == "asc") std::sort(sorted.begin(), sorted.end());
    else std::sort(sorted.rbegin(), sorted.rend());
    EXPECT_EQ(names, sorted) << dir;
    std::set<std::string> seen(names.begin(), names.end());
    for (const auto& n : created) ASSERT_TRUE(seen.count(n)) << n << " missing (" << dir << ")";
  }
}

TEST_F(GatewayTest, EachFilterType) {
  int days = 10;
  for (const char* name : {"filt-a1", "filt-a2", "filt-b1"}) {
    auto r = harness_->Call("files.v1.UserService/CreateUser",
                            absl::StrCat(R"({"username":")", name, R"(","password_validity_days":)",
                                         days, "}"));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    days += 10;
  }
  auto count = [&](const std::string& req) -> int {
    auto r = harness_->Call("files.v1.UserService/ListUsers", req);
    EXPECT_TRUE(r.status.ok()) << req << ": " << r.status.error_message();
    auto doc = Parse(r.json);
    return doc.HasMember("items") ? static_cast<int>(doc["items"].Size()) : 0;
  };
  // Fields Files.com documents for GET /users (the emulator refuses others).
  const std::string mine = R"("filter_prefix":{"username":"filt-"})";
  EXPECT_EQ(count(R"({"filter":{"username":"filt-a2"}})"), 1);
  EXPECT_EQ(count(R"({"filter_prefix":{"username":"filt-a"}})"), 2);
  EXPECT_EQ(count(absl::StrCat(R"({"filter_gt":{"password_validity_days":"10"},)", mine, "}")), 2);
  EXPECT_EQ(count(absl::StrCat(R"({"filter_gteq":{"password_validity_days":"10"},)", mine, "}")), 3);
  EXPECT_EQ(count(absl::StrCat(R"({"filter_lt":{"password_validity_days":"30"},)", mine, "}")), 2);
  EXPECT_EQ(count(absl::StrCat(R"({"filter_lteq":{"password_validity_days":"30"},)", mine, "}")), 3);
}

TEST_F(GatewayTest, NotFoundCarriesFilesComType) {
  auto r = harness_->Call("files.v1.UserService/FindUser", R"({"id":987654321})");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(r.ErrorInfo(&info));
  EXPECT_EQ(info.domain(), "files.com");
  EXPECT_THAT(info.metadata().at("type"), StartsWith("not-found"));
  EXPECT_EQ(info.metadata().at("group"), "NotFoundError");
  EXPECT_FALSE(info.reason().empty());
}

TEST_F(GatewayTest, MissingRequiredParamIsInvalidArgumentNamingIt) {
  auto r = harness_->Call("files.v1.GroupService/CreateGroup", R"({"notes":"no name"})");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), ::testing::HasSubstr("name"));
  EXPECT_THAT(ErrorType(r), StartsWith("bad-request"));
}

TEST_F(GatewayTest, WrongApiKeyIsUnauthenticated) {
  server::GatewayOptions gw;
  gw.listen = "127.0.0.1:0";
  gw.base_url = harness_->emulator().base_url();
  gw.api_key = "not-the-key";
  server::Logger log(server::LogLevel::kError);
  auto gateway = server::Gateway::Start(gw, &log);
  ASSERT_TRUE(gateway.ok());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*gateway)->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  grpc::Slice empty_request("");  // an empty ListUsersRequest; a default ByteBuffer is no message at all
  grpc::ByteBuffer req(&empty_request, 1), resp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/files.v1.UserService/ListUsers", grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status s) { done.set_value(s); });
  CallResult r;
  r.status = done.get_future().get();
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(ErrorType(r), StartsWith("not-authenticated"));
}

TEST_F(GatewayTest, RetriesTwo503sToSuccess) {
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"GET","path":"/users/1","status":503,"times":2})");
  auto r = harness_->Call("files.v1.UserService/FindUser", R"({"id":1})");
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(harness_->RequestCount("GET /api/rest/v1/users/1"), 3);
}

TEST_F(GatewayTest, PostAnswered500IsNotRetried) {
  harness_->ControlPost("/__emulator/faults", R"({"method":"POST","path":"/groups","status":500,"times":1})");
  auto r = harness_->Call("files.v1.GroupService/CreateGroup", R"({"name":"once"})");
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(harness_->RequestCount("POST /api/rest/v1/groups"), 1);
}

TEST_F(GatewayTest, HonoursRetryAfterOn429) {
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"GET","path":"/users/2","status":429,"retry_after":"1","times":1})");
  absl::Time start = absl::Now();
  auto r = harness_->Call("files.v1.UserService/FindUser", R"({"id":2})");
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(harness_->RequestCount("GET /api/rest/v1/users/2"), 2);
  // The harness's own backoff is 10-50 ms: only Retry-After explains a 1 s wait.
  EXPECT_GE(took, absl::Milliseconds(950));
}

TEST_F(GatewayTest, RateLimitedAfterRetriesCarriesRetryInfo) {
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"GET","path":"/users/3","status":429,"retry_after":"1","times":0})");
  auto r = harness_->Call("files.v1.UserService/FindUser", R"({"id":3})", absl::Milliseconds(500));
  EXPECT_TRUE(r.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
              r.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << r.status.error_code();
}

// An upstream error far larger than a gRPC client accepts in trailers (8 KiB
// by default): the caller still gets the typed status, cut to fit, rather
// than a transport error that hides what Files.com said.
TEST_F(GatewayTest, HugeUpstreamErrorStillReachesTheCallerTyped) {
  std::string errors;
  for (int i = 0; i < 3000; ++i) errors += "\"field_" + std::to_string(i) + " is invalid\",";
  errors.pop_back();
  const std::string body = R"({"type":"bad-request/invalid-body","http-code":422,"title":"Invalid body","error":")" +
                           std::string(40000, 'e') + R"(","errors":[)" + errors + "]}";
  rapidjson::StringBuffer rule;
  rapidjson::Writer<rapidjson::StringBuffer> w(rule);
  w.StartObject();
  w.Key("method"); w.String("GET");
  w.Key("path"); w.String("/users/5");
  w.Key("status"); w.Int(422);
  w.Key("body"); w.String(body.c_str(), static_cast<rapidjson::SizeType>(body.size()));
  w.Key("times"); w.Int(1);
  w.EndObject();
  harness_->ControlPost("/__emulator/faults", rule.GetString());
  auto r = harness_->Call("files.v1.UserService/FindUser", R"({"id":5})");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_EQ(ErrorType(r), "bad-request/invalid-body");
  EXPECT_THAT(r.status.error_message(), StartsWith("eeee"));
  EXPECT_LE(r.status.error_message().size(), 512u);
}

TEST_F(GatewayTest, DeadlineBoundsTheUpstreamCall) {
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"GET","path":"/users/4","delay_ms":3000,"times":1})");
  absl::Time start = absl::Now();
  auto r = harness_->Call("files.v1.UserService/FindUser", R"({"id":4})", absl::Milliseconds(300));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

}  // namespace
}  // namespace filesgw::testing
