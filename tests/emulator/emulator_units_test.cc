// Units of the emulator without HTTP: params folding, the list engine, fault
// rules and globs, the router's choice between templates, the error catalogue.
#include <optional>
#include <string>
#include <vector>

#include "emulator/faults.h"
#include "emulator/params.h"
#include "emulator/query.h"
#include "emulator/reply.h"
#include "emulator/router.h"
#include "emulator/sample.h"
#include "gtest/gtest.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

const google::protobuf::Descriptor* Type(const std::string& name) {
  return proto::Api().pool->FindMessageTypeByName("files.v1." + name);
}

TEST(Params, FoldsBracketsArraysAndRepeatedKeys) {
  FlatParams flat = {{"sort_by[username]", "asc"}, {"filter[not_site_admin]", "true"},
                     {"ids[1]", "9"},              {"ids[0]", "8"},
                     {"per_page", "5"}};
  JsonValue params = ParamsFromFlat(flat, Type("ListUsersRequest"));
  EXPECT_EQ(ToJson(params),
            R"({"sort_by":{"username":"asc"},"filter":{"not_site_admin":"true"},"per_page":"5","ids":["8","9"]})");
  JsonValue appended = ParamsFromFlat({{"x[]", "1"}, {"x[]", "2"}}, nullptr);
  EXPECT_EQ(ToJson(appended), R"({"x":["1","2"]})");
  JsonValue repeated = ParamsFromFlat({{"x", "1"}, {"x", "2"}}, nullptr);
  EXPECT_EQ(ToJson(repeated), R"({"x":["1","2"]})");
}

TEST(Params, CoercesToFieldTypesAndNamesMissingRequired) {
  JsonValue params = ParamsFromFlat({{"id", "7"}}, Type("FindUserRequest"));
  ASSERT_TRUE(CoerceParams(Type("FindUserRequest"), &params).ok());
  EXPECT_EQ(ToJson(params), R"({"id":7})");
  JsonValue bad = ParamsFromFlat({{"id", "seven"}}, Type("FindUserRequest"));
  EXPECT_EQ(ErrorTypeOf(CoerceParams(Type("FindUserRequest"), &bad)),
            "bad-request/request-params-invalid");
  absl::Status missing = CheckRequired(Type("CreateGroupRequest"), JsonValue(rapidjson::kObjectType));
  EXPECT_EQ(ErrorTypeOf(missing), "bad-request/request-params-required");
  EXPECT_NE(missing.message().find("name"), absl::string_view::npos);
}

TEST(Params, BooleansAndIntegersReadTheRailsWay) {
  for (const char* yes : {"true", "True", "TRUE", "t", "T", "1", "yes", "Yes", "on", "ON", " true "}) {
    EXPECT_EQ(ParseBoolParam(yes), std::optional<bool>(true)) << yes;
  }
  for (const char* no : {"false", "False", "f", "F", "0", "no", "NO", "off", "Off"}) {
    EXPECT_EQ(ParseBoolParam(no), std::optional<bool>(false)) << no;
  }
  for (const char* neither : {"", "maybe", "2", "tru", "nope"}) {
    EXPECT_EQ(ParseBoolParam(neither), std::nullopt) << neither;
  }
  EXPECT_EQ(ParseIntParam(" 42 "), std::optional<int64_t>(42));
  EXPECT_EQ(ParseIntParam("-7"), std::optional<int64_t>(-7));
  EXPECT_EQ(ParseIntParam("4x"), std::nullopt);
  // The same reading wherever a boolean field is coerced: query, form, JSON string.
  JsonValue params = ParamsFromFlat({{"recursive", "Yes"}}, Type("DeleteFileRequest"));
  ASSERT_TRUE(CoerceParams(Type("DeleteFileRequest"), &params).ok());
  EXPECT_EQ(ToJson(params), R"({"recursive":true})");
  JsonValue bad = ParamsFromFlat({{"recursive", "sure"}}, Type("DeleteFileRequest"));
  EXPECT_EQ(ErrorTypeOf(CoerceParams(Type("DeleteFileRequest"), &bad)),
            "bad-request/request-params-invalid");
}

TEST(Params, WireKeysKeepFilesComSpelling) {
  const auto* file = Type("File");
  EXPECT_EQ(WireKey(file->FindFieldByName("subfolders_locked")), "subfolders_locked?");
  EXPECT_EQ(WireKey(file->FindFieldByName("display_name")), "display_name");
}

std::vector<JsonValue> Records() {
  std::vector<JsonValue> out;
  const char* names[] = {"carol", "alice", "bob", "alice"};
  for (int i = 0; i < 4; ++i) {
    JsonDoc doc;
    std::string json = "{\"id\":" + std::to_string(i + 1) + ",\"username\":\"" + names[i] +
                       "\",\"site_admin\":" + (i % 2 ? "true" : "false") + "}";
    doc.Parse(json.c_str());
    out.emplace_back(doc, Alloc());
  }
  return out;
}

std::vector<int64_t> Ids(const PageResult& page) {
  std::vector<int64_t> ids;
  for (const auto* r : page.items) ids.push_back((*r)["id"].GetInt64());
  return ids;
}

TEST(Query, SortsWithIdTieBreakAndPagesByCursor) {
  auto records = Records();
  std::vector<const JsonValue*> all;
  for (const auto& r : records) all.push_back(&r);
  JsonValue params = ParamsFromFlat({{"sort_by[username]", "asc"}, {"per_page", "2"}}, nullptr);
  auto q = ParseListQuery(params, Type("User"), true);
  ASSERT_TRUE(q.ok()) << q.status();
  PageResult first = RunQuery(*q, all);
  EXPECT_EQ(Ids(first), (std::vector<int64_t>{2, 4}));
  ASSERT_FALSE(first.next_cursor.empty());
  SetMember(params, "cursor", JsonString(first.next_cursor));
  auto q2 = ParseListQuery(params, Type("User"), true);
  ASSERT_TRUE(q2.ok());
  PageResult second = RunQuery(*q2, all);
  EXPECT_EQ(Ids(second), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(second.next_cursor.empty());
}

TEST(Query, FiltersAreTypeAware) {
  auto records = Records();
  std::vector<const JsonValue*> all;
  for (const auto& r : records) all.push_back(&r);
  auto run = [&](FlatParams flat) {
    auto q = ParseListQuery(ParamsFromFlat(flat, nullptr), Type("User"), true);
    EXPECT_TRUE(q.ok()) << q.status();
    return q.ok() ? Ids(RunQuery(*q, all)) : std::vector<int64_t>{};
  };
  EXPECT_EQ(run({{"filter[site_admin]", "true"}}), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(run({{"filter_gt[id]", "2"}}), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(run({{"filter_lteq[id]", "2"}}), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(run({{"filter_prefix[username]", "al"}}), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(run({{"filter_gteq[username]", "bob"}}), (std::vector<int64_t>{1, 3}));
}

TEST(Query, RejectsBadInput) {
  auto type = [](FlatParams flat) {
    return ErrorTypeOf(ParseListQuery(ParamsFromFlat(flat, nullptr), Type("User"), true).status());
  };
  EXPECT_EQ(type({{"per_page", "10001"}}), "bad-request/request-params-invalid");
  EXPECT_EQ(type({{"per_page", "0"}}), "bad-request/request-params-invalid");
  EXPECT_EQ(type({{"cursor", "not-a-cursor!"}}), "bad-request/invalid-cursor");
  EXPECT_EQ(type({{"filter[nope]", "1"}}), "bad-request/invalid-filter-field");
  EXPECT_EQ(type({{"sort_by[nope]", "asc"}}), "bad-request/invalid-sort-field");
  EXPECT_EQ(type({{"filter_gt[id]", "abc"}}), "bad-request/invalid-filter-param-value");
}

TEST(Faults, GlobAndRuleLimits) {
  EXPECT_TRUE(GlobMatch("/users/*", "/users/1"));
  EXPECT_TRUE(GlobMatch("/users/*", "/users/1/unlock"));
  EXPECT_FALSE(GlobMatch("/users/*", "/groups/1"));
  EXPECT_TRUE(GlobMatch("/files/?.txt", "/files/a.txt"));
  FaultSet faults;
  auto rule = ParseFaultRule(R"({"method":"GET","path":"/users/*","status":503,"times":2})");
  ASSERT_TRUE(rule.ok()) << rule.status();
  faults.Add(*rule);
  EXPECT_FALSE(faults.Take("POST", "/api/rest/v1/users/1"));
  EXPECT_TRUE(faults.Take("GET", "/api/rest/v1/users/1"));
  EXPECT_TRUE(faults.Take("GET", "/api/rest/v1/users/1"));
  EXPECT_FALSE(faults.Take("GET", "/api/rest/v1/users/1"));
  EXPECT_FALSE(ParseFaultRule(R"({"path":"/x"})").ok()) << "a rule must do something";
  EXPECT_FALSE(ParseFaultRule(R"({"status":503,"bogus":1})").ok());
  auto list = ParseFaultRules(R"([{"status":500},{"drop":true}])");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST(Router, LiteralSegmentsWinAndPathTakesTheRest) {
  const Router& router = Router::Default();
  auto schema = router.Match("GET", "/automations/authoring_schema");
  ASSERT_TRUE(schema);
  EXPECT_EQ(schema->route->sdk.action(), "get_authoring_schema");
  auto file = router.Match("GET", "/files/a/b%20c/d.txt");
  ASSERT_TRUE(file);
  ASSERT_EQ(file->path_params.size(), 1u);
  EXPECT_EQ(file->path_params[0].second, "a/b c/d.txt");
  auto begin = router.Match("POST", "/file_actions/begin_upload/x/y.bin");
  ASSERT_TRUE(begin);
  EXPECT_EQ(begin->route->sdk.action(), "begin_upload");
  EXPECT_FALSE(router.Match("GET", "/no_such_thing"));
  EXPECT_FALSE(router.Match("GET", "/users/1/2/3"));
}

TEST(Reply, ErrorBodyHasFilesComShape) {
  HttpReply reply = ErrorReply("not-found/user-not-found", "User Not Found");
  EXPECT_EQ(reply.status, 404);
  JsonDoc doc;
  doc.Parse(reply.body.c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["type"].GetString(), "not-found/user-not-found");
  EXPECT_STREQ(doc["title"].GetString(), "User Not Found");
  EXPECT_STREQ(doc["error"].GetString(), "User Not Found");
  EXPECT_EQ(doc["http-code"].GetInt(), 404);
  EXPECT_TRUE(doc["instance"].IsString());
  EXPECT_EQ(ErrorReply("not-authenticated", "x").status, 401);
}

TEST(Sample, FollowsFieldNamesAndTypes) {
  JsonValue user = SampleRecord(Type("User"), 3, "alice");
  EXPECT_EQ(user["id"].GetInt64(), 3);
  EXPECT_STREQ(user["username"].GetString(), "alice");
  EXPECT_STREQ(user["email"].GetString(), "alice@example.com");
  EXPECT_EQ(std::string(user["created_at"].GetString()).size(), 20u);  // 2024-01-15T13:00:00Z
  EXPECT_EQ(Member(user, "password"), nullptr);
}

}  // namespace
}  // namespace filesgw::emulator
