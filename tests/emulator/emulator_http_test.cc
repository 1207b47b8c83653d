// The emulator over loopback: one in-process instance on port 0, driven by an
// httplib client exactly as the gateway's transport would drive it.
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/emulator.h"
#include "emulator/params.h"
#include "emulator/router.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

using google::protobuf::FieldDescriptor;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kKey[] = "test-key";
constexpr char kApi[] = "/api/rest/v1";

JsonDoc Parse(const std::string& body) {
  JsonDoc doc;
  doc.Parse(body.c_str());
  return doc;
}

std::string TypeOf(const httplib::Result& res) {
  if (!res) return "<no response>";
  JsonDoc doc = Parse(res->body);
  const JsonValue* type = Member(doc, "type");
  return type != nullptr && type->IsString() ? type->GetString() : "<no type>";
}

class EmulatorHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::signal(SIGPIPE, SIG_IGN);
    EmulatorOptions options;
    options.api_key = kKey;
    emulator_ = new Emulator(options);
    ASSERT_TRUE(emulator_->Start().ok());
  }
  static void TearDownTestSuite() {
    delete emulator_;
    emulator_ = nullptr;
  }
  void SetUp() override {
    emulator_->Reset();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", emulator_->port());
    client_->set_keep_alive(true);
    client_->set_tcp_nodelay(true);
    client_->set_default_headers({{"X-FilesAPI-Key", kKey}});
  }

  httplib::Result Get(const std::string& path) { return client_->Get((kApi + path).c_str()); }
  httplib::Result Post(const std::string& path, const std::string& json) {
    return client_->Post((kApi + path).c_str(), json, "application/json");
  }
  httplib::Result Patch(const std::string& path, const std::string& json) {
    return client_->Patch((kApi + path).c_str(), json, "application/json");
  }
  httplib::Result Delete(const std::string& path) { return client_->Delete((kApi + path).c_str()); }

  int64_t CreateUser(const std::string& username) {
    auto res = Post("/users", absl::StrCat(R"({"username":")", username, "\"}"));
    EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no response");
    if (!res || res->status != 201) return 0;
    JsonDoc doc = Parse(res->body);
    return doc["id"].GetInt64();
  }

  static Emulator* emulator_;
  std::unique_ptr<httplib::Client> client_;
};
Emulator* EmulatorHttpTest::emulator_ = nullptr;

// A value of the field's type that every generic action accepts.
std::string SampleParam(const FieldDescriptor* f) {
  if (f->name() == "path" || f->name() == "destination") return "demo";
  if (f->name() == "id" || absl::EndsWith(f->name(), "_id")) return "1";
  if (f->name().find("email") != std::string::npos) return "someone@example.com";
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_UINT32: return "1";
    case FieldDescriptor::CPPTYPE_BOOL: return "true";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: return "1.5";
    default: return "sample";
  }
}

TEST_F(EmulatorHttpTest, EveryRouteResolvesToItsRpcAndSucceedsWithRequiredParams) {
  // Its own instance: the walk deletes demo records.
  EmulatorOptions options;
  options.api_key = kKey;
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  auto client = std::make_unique<httplib::Client>("127.0.0.1", emulator.port());
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_default_headers({{"X-FilesAPI-Key", kKey}});
  std::vector<const Route*> routes, deletes;
  for (const Route& r : Router::Default().routes()) {
    (r.sdk.action() == "delete" ? deletes : routes).push_back(&r);
  }
  routes.insert(routes.end(), deletes.begin(), deletes.end());  // deletes last: they remove id 1
  ASSERT_EQ(routes.size(), 419u);
  std::vector<std::string> failures;
  for (const Route* route : routes) {
    std::string path = route->rest.path();
    httplib::Params query;
    JsonValue body(rapidjson::kObjectType);
    const auto* request = route->method->input_type();
    for (int i = 0; i < request->field_count(); ++i) {
      const FieldDescriptor* f = request->field(i);
      std::string placeholder = absl::StrCat("{", f->name(), "}");
      if (size_t at = path.find(placeholder); at != std::string::npos) {
        path.replace(at, placeholder.size(), SampleParam(f));
        continue;
      }
      if (!proto::IsRequired(f)) continue;
      std::string key = WireKey(f) + (f->is_repeated() ? "[]" : "");
      if (f->is_map() || f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        // Free-form objects: an empty one (a list of one for repeated).
        JsonValue object(rapidjson::kObjectType);
        if (f->is_repeated()) {
          JsonValue list(rapidjson::kArrayType);
          list.PushBack(std::move(object), Alloc());
          SetMember(body, WireKey(f), std::move(list));
        } else {
          SetMember(body, WireKey(f), std::move(object));
        }
        continue;
      }
      query.emplace(key, SampleParam(f));
      JsonValue value = JsonString(SampleParam(f));
      if (f->is_repeated()) {
        JsonValue list(rapidjson::kArrayType);
        list.PushBack(std::move(value), Alloc());
        value = std::move(list);
      }
      SetMember(body, WireKey(f), std::move(value));
    }
    std::string url = kApi + path;
    const std::string& m = route->rest.method();
    httplib::Headers none;
    auto send = [&]() -> httplib::Result {
      if (m == "GET") return client->Get(url.c_str(), query, none);
      if (m == "DELETE") {
        return client->Delete(httplib::append_query_params(url.c_str(), query).c_str());
      }
      if (m == "POST") return client->Post(url.c_str(), ToJson(body), "application/json");
      if (m == "PATCH") return client->Patch(url.c_str(), ToJson(body), "application/json");
      return client->Put(url.c_str(), ToJson(body), "application/json");
    };
    httplib::Result res = send();
    std::string name = route->method->full_name();
    if (!res) {
      failures.push_back(name + ": no response");
      continue;
    }
    if (res->get_header_value("X-Emulator-Rpc") != name) {
      failures.push_back(absl::StrCat(name, ": ", m, " ", url, " routed to '",
                                      res->get_header_value("X-Emulator-Rpc"), "' ", res->status));
      continue;
    }
    bool login = route->sdk.resource() == "Session" && route->sdk.action() == "create";
    int expected = login ? 401 : route->sdk.success_status();  // no username: refused
    if (res->status != expected) {
      failures.push_back(absl::StrCat(name, ": ", m, " ", url, " -> ", res->status, " ", res->body));
    }
  }
  EXPECT_THAT(failures, IsEmpty());
}

TEST_F(EmulatorHttpTest, UnknownRouteIsFilesComNotFound) {
  auto res = Get("/no_such_resource/1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(TypeOf(res), "not-found");
  EXPECT_FALSE(res->has_header("X-Emulator-Rpc"));
}

TEST_F(EmulatorHttpTest, MissingOrWrongCredentialsAre401WithFilesComBody) {
  httplib::Client anonymous("127.0.0.1", emulator_->port());
  auto missing = anonymous.Get((std::string(kApi) + "/users").c_str());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  JsonDoc doc = Parse(missing->body);
  ASSERT_TRUE(doc.IsObject()) << missing->body;
  EXPECT_STREQ(doc["type"].GetString(), "not-authenticated/authentication-required");
  EXPECT_STREQ(doc["title"].GetString(), "Authentication Required");
  EXPECT_EQ(doc["http-code"].GetInt(), 401);
  EXPECT_TRUE(doc["error"].IsString());
  EXPECT_TRUE(doc["instance"].IsString());
  auto wrong = anonymous.Get((std::string(kApi) + "/users").c_str(), {{"X-FilesAPI-Key", "nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(TypeOf(wrong), "not-authenticated/invalid-credentials");
  EXPECT_EQ(wrong->body.find("nope"), std::string::npos) << "never echo credentials";
}

TEST_F(EmulatorHttpTest, SessionsLogInAndExpire) {
  httplib::Client anonymous("127.0.0.1", emulator_->port());
  std::string sessions = std::string(kApi) + "/sessions";
  auto bad = anonymous.Post(sessions.c_str(), R"({"username":"alice","password":"x"})",
                            "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(TypeOf(bad), "not-authenticated/invalid-username-or-password");
  auto login = anonymous.Post(sessions.c_str(), R"({"username":"alice","password":"password"})",
                              "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 201) << login->body;
  JsonDoc session = Parse(login->body);
  ASSERT_TRUE(session["id"].IsString());
  httplib::Headers auth = {{"X-FilesAPI-Auth", session["id"].GetString()}};
  auto me = anonymous.Get((std::string(kApi) + "/users/2").c_str(), auth);
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  emulator_->ExpireSessions();
  auto expired = anonymous.Get((std::string(kApi) + "/users/2").c_str(), auth);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  EXPECT_EQ(TypeOf(expired), "not-authenticated/invalid-session");
}

TEST_F(EmulatorHttpTest, SessionsExpireByClock) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  EmulatorOptions options;
  options.api_key = kKey;
  options.session_ttl = absl::Minutes(10);
  options.clock = [&now] { return now; };
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  httplib::Client c("127.0.0.1", emulator.port());
  auto login = c.Post((std::string(kApi) + "/sessions").c_str(),
                      R"({"username":"admin","password":"password"})", "application/json");
  ASSERT_TRUE(login && login->status == 201);
  httplib::Headers auth = {{"X-FilesAPI-Auth", Parse(login->body)["id"].GetString()}};
  EXPECT_EQ(c.Get((std::string(kApi) + "/site").c_str(), auth)->status, 200);
  now += absl::Minutes(11);
  EXPECT_EQ(c.Get((std::string(kApi) + "/site").c_str(), auth)->status, 401);
}

TEST_F(EmulatorHttpTest, UsersCrud) {
  auto created = Post("/users", R"({"username":"crud-user","email":"crud@example.com","password":"s3cret"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  JsonDoc doc = Parse(created->body);
  int64_t id = doc["id"].GetInt64();
  EXPECT_STREQ(doc["username"].GetString(), "crud-user");
  EXPECT_FALSE(doc.HasMember("password")) << "secrets are never echoed";
  auto found = Get(absl::StrCat("/users/", id));
  ASSERT_TRUE(found && found->status == 200);
  EXPECT_STREQ(Parse(found->body)["email"].GetString(), "crud@example.com");
  auto updated = Patch(absl::StrCat("/users/", id), R"({"name":"Crud Person","site_admin":true})");
  ASSERT_TRUE(updated && updated->status == 200);
  JsonDoc after = Parse(updated->body);
  EXPECT_STREQ(after["name"].GetString(), "Crud Person");
  EXPECT_TRUE(after["site_admin"].GetBool());
  auto listed = Get("/users?filter[username]=crud-user");
  ASSERT_TRUE(listed && listed->status == 200);
  JsonDoc list = Parse(listed->body);
  ASSERT_TRUE(list.IsArray());
  ASSERT_EQ(list.Size(), 1u);
  EXPECT_EQ(list[0]["id"].GetInt64(), id);
  // The password given at creation logs in.
  httplib::Client anonymous("127.0.0.1", emulator_->port());
  auto login = anonymous.Post((std::string(kApi) + "/sessions").c_str(),
                              R"({"username":"crud-user","password":"s3cret"})", "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 201);
  auto deleted = Delete(absl::StrCat("/users/", id));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204);
  EXPECT_TRUE(deleted->body.empty());
  auto gone = Get(absl::StrCat("/users/", id));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(TypeOf(gone), "not-found/user-not-found");
}

TEST_F(EmulatorHttpTest, GroupsCrudWithFormAndQueryParams) {
  httplib::MultipartFormDataItems form = {{"name", "crud-group", "", ""}, {"notes", "n", "", ""}};
  auto created = client_->Post((std::string(kApi) + "/groups").c_str(), form);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  int64_t id = Parse(created->body)["id"].GetInt64();
  auto updated = Patch(absl::StrCat("/groups/", id), R"({"notes":"changed"})");
  ASSERT_TRUE(updated && updated->status == 200);
  EXPECT_STREQ(Parse(Get(absl::StrCat("/groups/", id))->body)["notes"].GetString(), "changed");
  EXPECT_EQ(Parse(Get("/groups?filter[name]=crud-group")->body).Size(), 1u);
  EXPECT_EQ(Delete(absl::StrCat("/groups/", id))->status, 204);
  auto gone = Get(absl::StrCat("/groups/", id));
  EXPECT_EQ(TypeOf(gone), "not-found/group-not-found");
}

TEST_F(EmulatorHttpTest, MissingRequiredParamIsNamed) {
  auto res = Post("/groups", R"({"notes":"no name"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  EXPECT_EQ(TypeOf(res), "bad-request/request-params-required");
  EXPECT_THAT(Parse(res->body)["error"].GetString(), HasSubstr("name"));
}

std::vector<std::string> ListAll(httplib::Client* client, const std::string& dir, int* pages) {
  std::vector<std::string> names;
  std::string cursor;
  *pages = 0;
  do {
    std::string url = absl::StrCat(kApi, "/users?per_page=1000&sort_by[username]=", dir);
    if (!cursor.empty()) url += "&cursor=" + cursor;
    auto res = client->Get(url.c_str());
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
    if (!res || res->status != 200) break;
    ++*pages;
    JsonDoc page = Parse(res->body);
    for (const auto& u : page.GetArray()) names.push_back(u["username"].GetString());
    std::string next = res->get_header_value("X-Files-Cursor");
    EXPECT_EQ(next, res->get_header_value("X-Files-Cursor-Next"));
    EXPECT_NE(next, cursor);
    cursor = next;
  } while (!cursor.empty() && *pages < 10);
  return names;
}

TEST_F(EmulatorHttpTest, Pages2500UsersBothDirections) {
  auto before = Get("/users?per_page=10000");
  ASSERT_TRUE(before);
  size_t existing = Parse(before->body).Size();
  std::set<std::string> created;
  for (int i = 0; i < 2500; ++i) {
    std::string name = absl::StrCat("pager-", 100000 + (i * 7919) % 2500);
    ASSERT_NE(CreateUser(name), 0);
    created.insert(name);
  }
  for (const std::string dir : {"asc", "desc"}) {
    int pages = 0;
    auto names = ListAll(client_.get(), dir, &pages);
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

TEST_F(EmulatorHttpTest, EachFilterType) {
  int days = 10;
  for (const char* name : {"filt-a1", "filt-a2", "filt-b1"}) {
    auto res = Post("/users", absl::StrCat(R"({"username":")", name,
                                           R"(","password_validity_days":)", days, "}"));
    ASSERT_TRUE(res && res->status == 201) << (res ? res->body : "no response");
    days += 10;
  }
  auto count = [&](const std::string& query) -> int {
    auto res = Get("/users?" + query);
    EXPECT_TRUE(res && res->status == 200) << query << ": " << (res ? res->body : "");
    return res && res->status == 200 ? static_cast<int>(Parse(res->body).Size()) : -1;
  };
  // Only the fields Files.com documents for GET /users (api.json's
  // valid_fields, carried by the (files.v1.list_fields) option).
  EXPECT_EQ(count("filter[username]=filt-a2"), 1);
  EXPECT_EQ(count("filter_prefix[username]=filt-a"), 2);
  EXPECT_EQ(count("filter_gt[password_validity_days]=10&filter_prefix[username]=filt-"), 2);
  EXPECT_EQ(count("filter_gteq[password_validity_days]=10&filter_prefix[username]=filt-"), 3);
  EXPECT_EQ(count("filter_lt[password_validity_days]=30&filter_prefix[username]=filt-"), 2);
  EXPECT_EQ(count("filter_lteq[password_validity_days]=30&filter_prefix[username]=filt-"), 3);
  EXPECT_EQ(count("filter[username]=filt-a1&filter[site_admin]=false"), 1);
  auto bad = Get("/users?filter[no_such_field]=1");
  EXPECT_EQ(TypeOf(bad), "bad-request/invalid-filter-field");
}

// Issue 15: filter[not_site_admin] (the SDKs' README example) is documented
// though no model field has that name; undocumented fields are refused even
// when the model has them; fields go together only as documented.
TEST_F(EmulatorHttpTest, DocumentedSortAndFilterFieldsOnly) {
  ASSERT_EQ(Post("/users", R"({"username":"doc-admin","site_admin":true})")->status, 201);
  ASSERT_EQ(Post("/users", R"({"username":"doc-user","site_admin":false})")->status, 201);
  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    auto res = Get("/users?per_page=10000&" + query);  // other tests leave many users
    EXPECT_TRUE(res && res->status == 200) << query << ": " << (res ? res->body : "");
    if (!res || res->status != 200) return out;
    JsonDoc doc = Parse(res->body);
    for (const auto& u : doc.GetArray()) {
      std::string name = u["username"].GetString();
      if (absl::StartsWith(name, "doc-")) out.push_back(name);
    }
    return out;
  };
  EXPECT_EQ(names("filter[not_site_admin]=true"), std::vector<std::string>{"doc-user"});
  EXPECT_EQ(names("filter[not_site_admin]=False"), std::vector<std::string>{"doc-admin"});
  EXPECT_EQ(names("filter[not_site_admin]=true&filter[username]=doc-user"),
            std::vector<std::string>{"doc-user"});
  EXPECT_EQ(names("sort_by[username]=desc&filter_prefix[username]=doc-"),
            (std::vector<std::string>{"doc-user", "doc-admin"}));
  // `id` is a User field, but GET /users documents no sort or range filter on it.
  EXPECT_EQ(TypeOf(Get("/users?sort_by[id]=asc")), "bad-request/invalid-sort-field");
  EXPECT_EQ(TypeOf(Get("/users?filter_gt[id]=1")), "bad-request/invalid-filter-field");
  EXPECT_EQ(TypeOf(Get("/users?filter[email]=a@b.c&filter[username]=doc-user")),
            "bad-request/invalid-filter-alias-combination");
  EXPECT_EQ(TypeOf(Get("/users?filter[not_site_admin]=perhaps")),
            "bad-request/invalid-filter-param-value");
}

TEST_F(EmulatorHttpTest, BadPerPageAndBadCursorAre422) {
  auto big = Get("/users?per_page=10001");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 422);
  EXPECT_EQ(TypeOf(big), "bad-request/request-params-invalid");
  auto cursor = Get("/users?cursor=garbage");
  ASSERT_TRUE(cursor);
  EXPECT_EQ(cursor->status, 422);
  EXPECT_EQ(TypeOf(cursor), "bad-request/invalid-cursor");
}

TEST_F(EmulatorHttpTest, FaultTwice503ThenOkAndCounted) {
  auto added = client_->Post("/__emulator/faults",
                             R"({"method":"GET","path":"/users/*","status":503,"retry_after":"2","times":2})",
                             "application/json");
  ASSERT_TRUE(added && added->status == 201) << (added ? added->body : "");
  auto first = Get("/users/1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 503);
  EXPECT_EQ(first->get_header_value("Retry-After"), "2");
  EXPECT_EQ(TypeOf(first), "service-unavailable");
  EXPECT_EQ(Get("/users/1")->status, 503);
  EXPECT_EQ(Get("/users/1")->status, 200);
  EXPECT_EQ(Get("/groups/1")->status, 200);
  auto counts = client_->Get("/__emulator/requests");
  ASSERT_TRUE(counts);
  JsonDoc doc = Parse(counts->body);
  EXPECT_EQ(doc["requests"]["GET /api/rest/v1/users/1"].GetInt(), 3);
  EXPECT_EQ(emulator_->RequestCount("GET /api/rest/v1/groups/1"), 1);
  ASSERT_TRUE(client_->Post("/__emulator/reset", "{}", "application/json"));
  EXPECT_EQ(emulator_->RequestCount("GET /api/rest/v1/users/1"), 0);
}

TEST_F(EmulatorHttpTest, FaultsApplyBeforeAuth) {
  ASSERT_TRUE(emulator_->AddFault(R"({"path":"/site","status":429,"retry_after":"1"})").ok());
  httplib::Client anonymous("127.0.0.1", emulator_->port());
  auto res = anonymous.Get((std::string(kApi) + "/site").c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(TypeOf(res), "rate-limited/too-many-requests");
}

TEST_F(EmulatorHttpTest, ControlEndpointsNeedTheApiKey) {
  httplib::Client anonymous("127.0.0.1", emulator_->port());
  for (const httplib::Headers& headers :
       {httplib::Headers{}, httplib::Headers{{"X-FilesAPI-Key", "wrong"}},
        httplib::Headers{{kControlTokenHeader, "guess"}}}) {
    auto reset = anonymous.Post("/__emulator/reset", headers, "{}", "application/json");
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->status, 401);
    EXPECT_EQ(TypeOf(reset), "not-authenticated/authentication-required");
    auto faults = anonymous.Get("/__emulator/faults", headers);
    ASSERT_TRUE(faults);
    EXPECT_EQ(faults->status, 401);
  }
  auto with_key = anonymous.Get("/__emulator/faults", {{"X-FilesAPI-Key", kKey}});
  ASSERT_TRUE(with_key);
  EXPECT_EQ(with_key->status, 200);
}

TEST(EmulatorControl, AControlTokenAlsoOpensThem) {
  EmulatorOptions options;
  options.api_key = kKey;
  options.control_token = "control-secret";
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  httplib::Client client("127.0.0.1", emulator.port());
  auto by_token = client.Get("/__emulator/requests", {{kControlTokenHeader, "control-secret"}});
  ASSERT_TRUE(by_token);
  EXPECT_EQ(by_token->status, 200);
  auto by_key = client.Get("/__emulator/requests", {{"X-FilesAPI-Key", kKey}});
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->status, 200);
  auto wrong = client.Get("/__emulator/requests", {{kControlTokenHeader, "control-secrex"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
}

// The gateway's embedded emulator: no one may reset it or inject faults, not
// even with its key; the API and presigned URLs work as ever.
TEST(EmulatorControl, TurnedOffTheyAreNotFound) {
  EmulatorOptions options;
  options.api_key = kKey;
  options.control_endpoints = false;
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  httplib::Client client("127.0.0.1", emulator.port());
  client.set_default_headers({{"X-FilesAPI-Key", kKey}});
  for (const char* path : {"/__emulator/reset", "/__emulator/faults", "/__emulator/urls/expire"}) {
    auto res = client.Post(path, "{}", "application/json");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  auto users = client.Get((std::string(kApi) + "/users/1").c_str());
  ASSERT_TRUE(users);
  EXPECT_EQ(users->status, 200);
}

// cpp-httplib's default socket options include SO_REUSEPORT, with which a
// second emulator started on a busy port silently shared it.
TEST_F(EmulatorHttpTest, ASecondEmulatorOnABusyPortDoesNotStart) {
  EmulatorOptions options;
  options.api_key = kKey;
  options.port = emulator_->port();
  Emulator second(options);
  absl::Status started = second.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kUnavailable) << started;
  EXPECT_THAT(std::string(started.message()), HasSubstr(absl::StrCat(":", emulator_->port())));
  // The first still answers everything.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Get("/users/1")->status, 200);
}

TEST_F(EmulatorHttpTest, TheBinaryExitsWithAClearErrorOnABusyPort) {
  const std::string err = ::testing::TempDir() + "/emulator-busy-port.err";
  // `timeout`: a binary that wrongly starts would otherwise serve forever.
  const std::string command =
      absl::StrCat("timeout 20 ", FILESGW_EMULATOR_BINARY, " --listen 127.0.0.1:",
                   emulator_->port(), " >/dev/null 2>", err);
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "124 means it started anyway";
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(absl::StrCat("cannot listen on 127.0.0.1:", emulator_->port())));
}

TEST_F(EmulatorHttpTest, DropClosesTheConnectionWithoutAnswer) {
  ASSERT_TRUE(emulator_->AddFault(R"({"method":"GET","path":"/users/2","drop":true,"times":1})").ok());
  auto dropped = Get("/users/2");
  EXPECT_FALSE(dropped) << "status " << (dropped ? dropped->status : 0);
  auto again = Get("/users/2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(EmulatorHttpTest, DropAfterActionCreatesButNeverAnswers) {
  ASSERT_TRUE(
      emulator_->AddFault(R"({"method":"POST","path":"/groups","drop_after_action":true,"times":1})")
          .ok());
  auto lost = Post("/groups", R"({"name":"answer-lost"})");
  EXPECT_FALSE(lost) << "status " << (lost ? lost->status : 0);
  auto groups = Get("/groups?per_page=1000");
  ASSERT_TRUE(groups);
  EXPECT_NE(groups->body.find(R"("name":"answer-lost")"), std::string::npos)
      << "the create took effect: " << groups->body;
}

TEST_F(EmulatorHttpTest, StallSendsHalfTheBodyThenTheRest) {
  ASSERT_TRUE(emulator_->AddFault(R"({"path":"/users/3","stall_ms":50,"times":1})").ok());
  auto res = Get("/users/3");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(Parse(res->body).IsObject());
}

TEST_F(EmulatorHttpTest, DemoSiteHasIdOneForEveryResourceWithFind) {
  std::vector<std::string> missing;
  for (const Route& route : Router::Default().routes()) {
    if (route.sdk.action() != "find" || route.path_param != "id") continue;
    std::string path = route.rest.path();
    path.replace(path.find("{id}"), 4, "1");
    auto res = Get(path);
    if (!res || res->status != 200) {
      missing.push_back(absl::StrCat(route.method->full_name(), " ", res ? res->status : 0));
      continue;
    }
    JsonDoc doc = Parse(res->body);
    const JsonValue* id = Member(doc, "id");
    if (id == nullptr || AsInt64(*id).value_or(0) != 1) missing.push_back(route.method->full_name());
  }
  EXPECT_THAT(missing, IsEmpty());
}

TEST_F(EmulatorHttpTest, OverrideReplacesOneRpc) {
  emulator_->OverrideAction("files.v1.SiteService/GetUsageSite", [](const ActionRequest&) {
    return HttpReply::Json(200, R"({"id":42})");
  });
  // Any route works; pick the one for the name and check it.
  const Route* route = nullptr;
  for (const Route& r : Router::Default().routes()) {
    if (r.rest.path() == "/site/usage") route = &r;
  }
  ASSERT_NE(route, nullptr);
  emulator_->OverrideAction(route->method->full_name(), [](const ActionRequest&) {
    return HttpReply::Json(200, R"({"id":42})");
  });
  auto res = Get("/site/usage");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, R"({"id":42})");
}

// Files.com's per-key request rate (--rate-limit): over it, 429 with its error
// body and a Retry-After in whole seconds; each key has its own bucket; the
// refused request does nothing; control endpoints are not counted.
TEST(EmulatorRateLimit, PerKeyBucketAnswers429WithRetryAfter) {
  std::atomic<int64_t> now_ms{1700000000000};
  EmulatorOptions options;
  options.api_key = "";  // any key: two callers with their own keys
  options.rate_limit_per_second = 2;
  options.rate_limit_burst = 3;
  options.clock = [&now_ms] { return absl::FromUnixMillis(now_ms.load()); };
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  httplib::Client c("127.0.0.1", emulator.port());
  const std::string users = std::string(kApi) + "/users";
  httplib::Headers a = {{"X-FilesAPI-Key", "key-a"}}, b = {{"X-FilesAPI-Key", "key-b"}};
  for (int i = 0; i < 3; ++i) {
    auto ok = c.Get((users + "/1").c_str(), a);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << "burst of 3, request " << i;
  }
  auto limited = c.Post(users.c_str(), a, R"({"username":"not-made"})", "application/json");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "1");
  EXPECT_EQ(TypeOf(limited), "rate-limited/too-many-requests");
  // Another key is not slowed by key-a; control calls are not API calls.
  auto other = c.Get((users + "/1").c_str(), b);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  auto counts = c.Get("/__emulator/rate_limit", a);
  ASSERT_TRUE(counts && counts->status == 200);
  EXPECT_THAT(counts->body, HasSubstr(R"("allowed":4,"limited":1)"));
  // Half a second later one token is back (2/s): one more, not two.
  now_ms += 500;
  EXPECT_EQ(c.Get((users + "/1").c_str(), a)->status, 200);
  EXPECT_EQ(c.Get((users + "/1").c_str(), a)->status, 429);
  now_ms += 1000;
  auto made = c.Post(users.c_str(), a, R"({"username":"made-later"})", "application/json");
  ASSERT_TRUE(made);
  EXPECT_EQ(made->status, 201) << made->body;
  // The refused create did nothing.
  auto list = c.Get((users + "?per_page=1000").c_str(), b);
  ASSERT_TRUE(list && list->status == 200);
  EXPECT_THAT(list->body, Not(HasSubstr("not-made")));
  EXPECT_THAT(list->body, HasSubstr("made-later"));
  EXPECT_EQ(emulator.RateLimitCounts().limited, 2);
}

TEST(EmulatorRateLimit, BinaryRefusesABadRate) {
  for (const char* flags : {"--rate-limit 0", "--rate-limit abc", "--rate-limit-burst 5"}) {
    const std::string command = absl::StrCat("timeout 20 ", FILESGW_EMULATOR_BINARY,
                                             " --listen 127.0.0.1:0 ", flags, " >/dev/null 2>&1");
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << flags;
  }
}

}  // namespace
}  // namespace filesgw::emulator
