// EncodeRequest: paths, query strings, JSON bodies and multipart bodies, on
// real files.v1 routes, plus a test-only message for the shapes no files.v1
// query request has yet (repeated params, Structs, nested messages in a query).
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/api_pool.h"
#include "rapidjson/document.h"
#include "client_core/status_reason.h"
#include "server/codec.h"
#include "server/route.h"

namespace filesgw::server {
namespace {

using google::protobuf::Message;
using ::testing::HasSubstr;

Route RouteOf(const std::string& method) {
  auto route = BuildRoute(proto::Api().pool->FindMethodByName("files.v1." + method));
  EXPECT_TRUE(route.ok()) << method;
  return *route;
}

// A request built from JSON through the codec itself (JsonToBinary is tested
// on its own); keeps the cases short.
std::unique_ptr<Message> Request(const Route& route, const std::string& json) {
  std::string binary;
  EXPECT_TRUE(JsonToBinary(route.request_type, json, &binary).ok()) << json;
  std::unique_ptr<Message> message(proto::Prototype(route.request_type)->New());
  EXPECT_TRUE(message->ParseFromString(binary));
  return message;
}

EncodedRequest Encode(const Route& route, const std::string& json) {
  auto encoded = EncodeRequest(route, *Request(route, json));
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return encoded.ok() ? *encoded : EncodedRequest{};
}

std::string PercentDecode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

TEST(EncodeRequest, IdPath) {
  const EncodedRequest encoded = Encode(RouteOf("UserService.FindUser"), R"({"id":1})");
  EXPECT_EQ(encoded.path_and_query, "/users/1");
  EXPECT_EQ(encoded.body, "");
  EXPECT_EQ(encoded.content_type, "");
}

TEST(EncodeRequest, ListQueryString) {
  const EncodedRequest encoded =
      Encode(RouteOf("UserService.ListUsers"),
             R"({"per_page":10,"cursor":"c/1=","sort_by":{"username":"asc"},
                 "filter_prefix":{"username":"a b&c"},"ids":"1,2","include_parent_site_users":false})");
  EXPECT_EQ(encoded.path_and_query,
            "/users?cursor=c%2F1%3D&per_page=10&sort_by%5Busername%5D=asc"
            "&filter_prefix%5Busername%5D=a%20b%26c&ids=1%2C2&include_parent_site_users=false");
  EXPECT_EQ(encoded.body, "");
}

TEST(EncodeRequest, MapsInTheQueryAreSorted) {
  const EncodedRequest encoded =
      Encode(RouteOf("UserService.ListUsers"), R"({"filter":{"z":"1","a":"2"}})");
  EXPECT_EQ(encoded.path_and_query, "/users?filter%5Ba%5D=2&filter%5Bz%5D=1");
}

TEST(EncodeRequest, FilePathRoundTripsAndKeepsSlashes) {
  const std::string path = "dir one/\xC3\xBC #1?%.txt+&=~_-";
  const Route route = RouteOf("FileService.DownloadFile");
  const EncodedRequest encoded =
      Encode(route, std::string(R"({"path":")") + "dir one/\\u00fc #1?%.txt+&=~_-" + "\"}");
  EXPECT_EQ(encoded.path_and_query, "/files/dir%20one/%C3%BC%20%231%3F%25.txt%2B%26%3D~_-");
  EXPECT_EQ(PercentDecode(encoded.path_and_query.substr(7)), path);
}

// Caught by the dot-segment check of tests/fuzz/route_expand_fuzzer.cc: libcurl
// folds dot segments, so DeleteFile("../users/5") went out as
// DELETE /api/rest/v1/users/5. Such paths are now refused before encoding
// (client_core::CheckRemotePath), as are NUL bytes that Files.com would drop.
TEST(EncodeRequest, DotSegmentsAndNulInAPathAreRefused) {
  const Route route = RouteOf("FileService.DeleteFile");
  for (const char* json : {R"({"path":"../users/5"})", R"({"path":"a/./b/.."})",
                           R"({"path":".."})", R"({"path":"a\\..\\b"})",
                           R"({"path":"x\u0000y"})"}) {
    auto encoded = EncodeRequest(route, *Request(route, json));
    EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(encoded.status().message()), HasSubstr("`path`")) << json;
  }
  // Dots inside a name are just characters.
  EXPECT_EQ(Encode(route, R"({"path":"a..b/.c/..."})").path_and_query, "/files/a..b/.c/...");
}

// A 1 MB cursor used to reach curl and come back as "Out of memory"
// (RESOURCE_EXHAUSTED); now it is the caller's argument, named as such.
TEST(EncodeRequest, OverlongUrlIsRefusedAsRequestTooLarge) {
  const Route list = RouteOf("FolderService.ListForFolder");
  const std::string cursor(1 << 20, 'c');
  auto encoded =
      EncodeRequest(list, *Request(list, R"({"path":"a","cursor":")" + cursor + R"("})"));
  EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_core::ReasonOf(encoded.status()), "REQUEST_TOO_LARGE");
  EXPECT_THAT(std::string(encoded.status().message()), HasSubstr("16384"));

  // A long path in a POST (params in the body) is measured too.
  const Route create = RouteOf("FolderService.CreateFolder");
  auto long_path = EncodeRequest(
      create, *Request(create, R"({"path":")" + std::string(kMaxPathAndQueryBytes, 'p') + R"("})"));
  EXPECT_EQ(client_core::ReasonOf(long_path.status()), "REQUEST_TOO_LARGE");

  // Just under the limit still goes out.
  const std::string prefix = "/folders/a?cursor=";
  auto fits = EncodeRequest(
      list, *Request(list, R"({"path":"a","cursor":")" +
                               std::string(kMaxPathAndQueryBytes - prefix.size(), 'c') + R"("})"));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->path_and_query.size(), kMaxPathAndQueryBytes);
}

// For code that builds API paths itself (the transfer service).
TEST(CheckRequestUrlSize, NamesTheCallAndTheLimit) {
  EXPECT_TRUE(CheckRequestUrlSize("Upload", std::string(kMaxPathAndQueryBytes, 'a')).ok());
  absl::Status s = CheckRequestUrlSize("Upload", std::string(kMaxPathAndQueryBytes + 1, 'a'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_core::ReasonOf(s), "REQUEST_TOO_LARGE");
  EXPECT_THAT(std::string(s.message()), HasSubstr("Upload: the request URL would be 16385 bytes"));
}

TEST(EncodeRequest, DeleteParamsGoInTheQuery) {
  const EncodedRequest encoded =
      Encode(RouteOf("FileService.DeleteFile"), R"({"path":"a/b","recursive":true})");
  EXPECT_EQ(encoded.path_and_query, "/files/a/b?recursive=true");
  EXPECT_EQ(encoded.body, "");
}

TEST(EncodeRequest, JsonBodyWithFilesKeys) {
  const Route route = RouteOf("UserService.CreateUser");
  const EncodedRequest encoded = Encode(
      route, R"({"email":"a@b.c","group_id":9007199254740993,"site_admin":false,"name":"\u00fc"})");
  EXPECT_EQ(encoded.path_and_query, "/users");
  EXPECT_EQ(encoded.content_type, "application/json");
  rapidjson::Document body;
  ASSERT_FALSE(body.Parse(encoded.body.c_str()).HasParseError()) << encoded.body;
  rapidjson::Document want;
  want.Parse(R"({"email":"a@b.c","group_id":9007199254740993,"site_admin":false,"name":"ü"})");
  EXPECT_TRUE(body == want) << encoded.body;
  EXPECT_THAT(encoded.body, HasSubstr(R"("group_id":9007199254740993)"));  // a number, exact
}

TEST(EncodeRequest, EmptyBodyIsAnEmptyObject) {
  const EncodedRequest encoded = Encode(RouteOf("UserService.UnlockUser"), R"({"id":4})");
  EXPECT_EQ(encoded.path_and_query, "/users/4/unlock");
  EXPECT_EQ(encoded.body, "{}");
  EXPECT_EQ(encoded.content_type, "application/json");
}

TEST(EncodeRequest, PathParamsAreNotRepeatedInTheBody) {
  const EncodedRequest encoded = Encode(
      RouteOf("FileService.CreateFile"),
      R"({"path":"f.txt","action":"end","ref":"put-1","etags":[{"etag":"e1","part":"1"}],"size":3})");
  EXPECT_EQ(encoded.path_and_query, "/files/f.txt");
  rapidjson::Document body, want;
  body.Parse(encoded.body.c_str());
  want.Parse(R"({"action":"end","etags":[{"etag":"e1","part":1}],"ref":"put-1","size":3})");
  EXPECT_TRUE(body == want) << encoded.body;
}

TEST(EncodeRequest, BytesParamMakesMultipart) {
  const Route route = RouteOf("UserService.UpdateUser");
  auto request = Request(route, R"({"id":7,"name":"N","avatar_delete":false})");
  const auto* avatar = route.request_type->FindFieldByName("avatar_file");
  ASSERT_NE(avatar, nullptr);
  const std::string image("\x89PNG\r\n\x1a\n\0\x01--", 12);
  request->GetReflection()->SetString(request.get(), avatar, image);
  auto encoded = EncodeRequest(route, *request);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(encoded->path_and_query, "/users/7");
  const std::string prefix = "multipart/form-data; boundary=";
  ASSERT_EQ(encoded->content_type.substr(0, prefix.size()), prefix);
  const std::string boundary = encoded->content_type.substr(prefix.size());
  const std::string d = "--" + boundary + "\r\n";
  EXPECT_EQ(encoded->body,
            d + "Content-Disposition: form-data; name=\"avatar_file\"; filename=\"avatar_file\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" + image + "\r\n" +
            d + "Content-Disposition: form-data; name=\"avatar_delete\"\r\n\r\nfalse\r\n" +
            d + "Content-Disposition: form-data; name=\"name\"\r\n\r\nN\r\n" +
            "--" + boundary + "--\r\n");
  EXPECT_EQ(encoded->body.find(boundary, encoded->body.find(image)),
            encoded->body.find(image) + image.size() + 4);  // no clash with the content
}

TEST(EncodeRequest, MissingPathParamIsInvalidArgument) {
  for (const auto& [method, json] : std::initializer_list<std::pair<const char*, const char*>>{
           {"UserService.FindUser", "{}"},
           {"FileService.DownloadFile", R"({"path":""})"},
           {"FileService.CreateFile", R"({"action":"end"})"}}) {
    const Route route = RouteOf(method);
    auto encoded = EncodeRequest(route, *Request(route, json));
    EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument) << method;
    EXPECT_THAT(std::string(encoded.status().message()),
                HasSubstr(route.path.front().field->name()));
  }
}

TEST(EncodeRequest, WrongMessageTypeIsInvalidArgument) {
  const Route route = RouteOf("UserService.FindUser");
  auto other = Request(RouteOf("UserService.ListUsers"), "{}");
  EXPECT_EQ(EncodeRequest(route, *other).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- shapes files.v1 query requests do not have (yet) ----

constexpr char kTestProto[] = R"pb(
  name: "codec_test.proto"
  package: "codectest"
  dependency: "google/protobuf/struct.proto"
  syntax: "proto3"
  message_type {
    name: "Req"
    field { name: "path" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING
            proto3_optional: true oneof_index: 0 }
    field { name: "ids" number: 2 label: LABEL_REPEATED type: TYPE_INT64 }
    field { name: "data" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".google.protobuf.Struct" }
    field { name: "file" number: 4 label: LABEL_OPTIONAL type: TYPE_BYTES
            proto3_optional: true oneof_index: 1 }
    field { name: "inner" number: 5 label: LABEL_REPEATED type: TYPE_MESSAGE
            type_name: ".codectest.Req.Inner" }
    field { name: "ratio" number: 6 label: LABEL_OPTIONAL type: TYPE_DOUBLE
            proto3_optional: true oneof_index: 2 }
    nested_type {
      name: "Inner"
      field { name: "a" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
      field { name: "b" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
    }
    oneof_decl { name: "_path" }
    oneof_decl { name: "_file" }
    oneof_decl { name: "_ratio" }
  }
)pb";

struct TestApi {
  google::protobuf::DescriptorPool pool{google::protobuf::DescriptorPool::generated_pool()};
  google::protobuf::DynamicMessageFactory factory{&pool};
  const google::protobuf::Descriptor* type = nullptr;
};

// Lives for the process: the codec caches per-descriptor tables.
TestApi& Test() {
  static TestApi* api = [] {
    auto* out = new TestApi;
    out->factory.SetDelegateToGeneratedFactory(true);
    google::protobuf::FileDescriptorProto file;
    if (google::protobuf::TextFormat::ParseFromString(kTestProto, &file) &&
        out->pool.BuildFile(file) != nullptr) {
      out->type = out->pool.FindMessageTypeByName("codectest.Req");
    }
    return out;
  }();
  return *api;
}

Route TestRoute(const std::string& verb) {
  Route route;
  route.http_method = verb;
  route.full_method = "/codectest.Service/Do";
  route.request_type = Test().type;
  route.path.push_back(PathSegment{"/things/", Test().type->FindFieldByName("path")});
  for (int i = 1; i < Test().type->field_count(); ++i) route.params.push_back(Test().type->field(i));
  route.params_in_query = verb == "GET";
  return route;
}

EncodedRequest EncodeTest(const std::string& verb, const std::string& json) {
  EXPECT_NE(Test().type, nullptr);
  std::string binary;
  EXPECT_TRUE(JsonToBinary(Test().type, json, &binary).ok());
  std::unique_ptr<Message> message(Test().factory.GetPrototype(Test().type)->New());
  EXPECT_TRUE(message->ParseFromString(binary));
  auto encoded = EncodeRequest(TestRoute(verb), *message);
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return encoded.ok() ? *encoded : EncodedRequest{};
}

TEST(EncodeRequest, QueryArraysStructsAndNestedMessages) {
  const EncodedRequest encoded = EncodeTest(
      "GET", R"({"path":"p","ids":[1,2],"data":{"b":{"c":"v w"},"a":[true,null,1.5]},
                 "inner":[{"a":"x","b":3}],"ratio":0.1,"file":"AQI="})");
  EXPECT_EQ(encoded.path_and_query,
            "/things/p?ids%5B0%5D=1&ids%5B1%5D=2"
            "&data%5Ba%5D%5B0%5D=true&data%5Ba%5D%5B1%5D=&data%5Ba%5D%5B2%5D=1.5"
            "&data%5Bb%5D%5Bc%5D=v%20w"
            "&file=AQI%3D&inner%5B0%5D%5Ba%5D=x&inner%5B0%5D%5Bb%5D=3&ratio=0.1");
}

TEST(EncodeRequest, MultipartFieldsUseBracketNames) {
  const EncodedRequest encoded =
      EncodeTest("POST", R"({"path":"p","ids":[1,2],"data":{"k":"v"},"file":"AQI="})");
  EXPECT_EQ(encoded.path_and_query, "/things/p");
  for (const char* part : {"name=\"ids[]\"\r\n\r\n1\r\n", "name=\"ids[]\"\r\n\r\n2\r\n",
                           "name=\"data[k]\"\r\n\r\nv\r\n",
                           "name=\"file\"; filename=\"file\"\r\nContent-Type: "
                           "application/octet-stream\r\n\r\n\x01\x02\r\n"}) {
    EXPECT_THAT(encoded.body, HasSubstr(part));
  }
}

TEST(EncodeRequest, JsonBodyWithStructsArraysAndNestedMessages) {
  const EncodedRequest encoded = EncodeTest(
      "POST", R"({"path":"p","ids":["9007199254740993"],"data":{"a":{"b":[1,"x",null]}},
                  "inner":[{"a":"x"}],"ratio":2.5})");
  EXPECT_EQ(encoded.body,
            R"({"ids":[9007199254740993],"data":{"a":{"b":[1,"x",null]}},"inner":[{"a":"x"}],)"
            R"("ratio":2.5})");
}

// unmapped_fields on a request: params the protos do not know yet, sent as
// top-level keys (query or JSON body) beside the declared ones.
TEST(EncodeRequest, UnmappedFieldsAreExtraParams) {
  // JSON keys the request message lacks land in its unmapped_fields.
  const EncodedRequest query = Encode(RouteOf("UserService.ListUsers"),
                                      R"({"per_page":10,"new_param":"a b","flags":[1,true]})");
  EXPECT_EQ(PercentDecode(query.path_and_query),
            "/users?per_page=10&flags[0]=1&flags[1]=true&new_param=a b");
  const EncodedRequest body = Encode(RouteOf("GroupService.CreateGroup"),
                                     R"({"name":"g","new_option":{"deep":[1,"x"]}})");
  EXPECT_EQ(body.content_type, "application/json");
  EXPECT_EQ(body.body, R"({"name":"g","new_option":{"deep":[1,"x"]}})");
}

TEST(EncodeRequest, UnmappedFieldsMayNotNameADeclaredParam) {
  // A misfit value for per_page lands in unmapped_fields under "per_page":
  // refused rather than sent twice or silently dropped.
  const Route route = RouteOf("UserService.ListUsers");
  auto encoded = EncodeRequest(route, *Request(route, R"({"per_page":{"a":1}})"));
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(encoded.status().message()),
              HasSubstr("unmapped_fields key `per_page` is a field of files.v1.ListUsersRequest"));
}

}  // namespace
}  // namespace filesgw::server
