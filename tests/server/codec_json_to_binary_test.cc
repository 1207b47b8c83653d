// The Files.com JSON quirks JsonToBinary accepts, the shapes it rejects (and
// how it names the field), MessageToJson's output form, and DecodeResponse
// for each response kind. Coverage of every type is codec_roundtrip_test.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/codec_internal.h"
#include "server/route.h"

namespace filesgw::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;
using ::testing::HasSubstr;

const Descriptor* Type(const std::string& name) {
  const Descriptor* type = proto::Api().pool->FindMessageTypeByName("files.v1." + name);
  EXPECT_NE(type, nullptr) << name;
  return type;
}

std::unique_ptr<Message> Decode(const Descriptor* type, const std::string& json) {
  std::string binary;
  absl::Status status = JsonToBinary(type, json, &binary);
  EXPECT_TRUE(status.ok()) << status;
  std::unique_ptr<Message> message(proto::Prototype(type)->New());
  EXPECT_TRUE(message->ParseFromString(binary));
  return message;
}

std::string Json(const std::string& type, const std::string& json) {
  std::string out;
  EXPECT_TRUE(MessageToJson(*Decode(Type(type), json), &out).ok());
  return out;
}

absl::Status Error(const std::string& type, const std::string& json) {
  std::string binary;
  return JsonToBinary(Type(type), json, &binary);
}

TEST(FilesKey, IsTheFilesComKey) {
  EXPECT_EQ(codec_internal::FilesKey(Type("User")->FindFieldByName("workspace_id")),
            "workspace_id");
  EXPECT_EQ(codec_internal::FilesKey(Type("File")->FindFieldByName("subfolders_locked")),
            "subfolders_locked?");
  // A Files.com key that happens to be lowerCamel (protoc's default spelling).
  EXPECT_EQ(codec_internal::FilesKey(Type("FtpActionLog")->FindFieldByName("response_code")),
            "responseCode");
  EXPECT_EQ(codec_internal::FilesKey(Type("User")->FindFieldByName("id")), "id");
}

// Found by tests/fuzz/codec_json_fuzzer.cc under UBSan: an empty view with a
// null data() went to memchr. Malformed JSON, not undefined behaviour.
TEST(JsonToBinary, EmptyViewIsMalformedJson) {
  std::string binary = "stale";
  const absl::Status status = JsonToBinary(Type("User"), std::string_view(), &binary);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(binary, "");
}

// A deeply nested answer is parsed without recursion: 300,000 levels used to
// overflow the stack (found with the codec_json fuzz target).
TEST(JsonToBinary, DeepNestingDoesNotExhaustTheStack) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  EXPECT_EQ(Json("User", R"({"id":1,"unknown":)" + deep + "}"), R"({"id":1})");
  EXPECT_EQ(Error("User", R"({"id":1,"unknown":)" + std::string(300000, '[') + "}").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JsonToBinary, IgnoresUnknownKeysAtAnyDepth) {
  EXPECT_EQ(Json("User", R"({"zzz":{"a":[1,{"b":null}]},"id":1,"new_thing":[[]],"x":"y"})"),
            R"({"id":1})");
}

TEST(JsonToBinary, NullIsAbsent) {
  EXPECT_EQ(Json("User", R"({"id":null,"username":"a","admin_group_ids":[1,null,2]})"),
            R"({"username":"a","admin_group_ids":[1,2]})");
  EXPECT_EQ(Json("ListUsersRequest", R"({"sort_by":{"a":null,"b":"asc"}})"),
            R"({"sort_by":{"b":"asc"}})");
  EXPECT_EQ(Json("User", "null"), "{}");
}

TEST(JsonToBinary, KeysSpelledWithQuestionMark) {
  auto file = Decode(Type("File"), R"({"subfolders_locked?":true,"path":"a"})");
  const auto* field = file->GetDescriptor()->FindFieldByName("subfolders_locked");
  EXPECT_TRUE(file->GetReflection()->HasField(*file, field));
  EXPECT_TRUE(file->GetReflection()->GetBool(*file, field));
  std::string out;
  ASSERT_TRUE(MessageToJson(*file, &out).ok());
  EXPECT_THAT(out, HasSubstr(R"("subfolders_locked?":true)"));
}

TEST(JsonToBinary, DecimalsKeepTheirTextInStringFields) {
  // User.notes is a string; Files.com sends decimals as numbers or strings.
  EXPECT_EQ(Json("User", R"({"notes":12.50})"), R"({"notes":"12.50"})");
  EXPECT_EQ(Json("User", R"({"notes":"12.50"})"), R"({"notes":"12.50"})");
  EXPECT_EQ(Json("User", R"({"notes":1.0E+300})"), R"({"notes":"1.0E+300"})");
  EXPECT_EQ(Json("User", R"({"notes":true})"), R"({"notes":"true"})");
}

TEST(JsonToBinary, DoublesFromNumbersAndStrings) {
  EXPECT_EQ(Json("SyncRun", R"({"runtime":1.25})"), R"({"runtime":1.25})");
  EXPECT_EQ(Json("SyncRun", R"({"runtime":"1.25"})"), R"({"runtime":1.25})");
  EXPECT_EQ(Json("SyncRun", R"({"runtime":3})"), R"({"runtime":3.0})");
}

TEST(JsonToBinary, Int64FromNumbersAndStringsExactly) {
  EXPECT_EQ(Json("User", R"({"id":"9223372036854775807"})"), R"({"id":9223372036854775807})");
  EXPECT_EQ(Json("User", R"({"id":-9223372036854775808})"), R"({"id":-9223372036854775808})");
  EXPECT_EQ(Json("User", R"({"id":9007199254740993})"), R"({"id":9007199254740993})");
  EXPECT_EQ(Json("User", R"({"id":"-5"})"), R"({"id":-5})");
  EXPECT_EQ(Json("User", R"({"id":2.0e3})"), R"({"id":2000})");
}

TEST(JsonToBinary, OptionalZeroValuesArePresent) {
  auto user = Decode(Type("User"), R"({"id":0,"username":"","site_admin":false})");
  const auto* reflection = user->GetReflection();
  for (const char* name : {"id", "username", "site_admin"}) {
    EXPECT_TRUE(reflection->HasField(*user, user->GetDescriptor()->FindFieldByName(name))) << name;
  }
  std::string out;
  ASSERT_TRUE(MessageToJson(*user, &out).ok());
  EXPECT_EQ(out, R"({"id":0,"username":"","site_admin":false})");
}

TEST(JsonToBinary, BoolsFromStrings) {
  EXPECT_EQ(Json("User", R"({"site_admin":"true","disabled":"false"})"),
            R"({"disabled":false,"site_admin":true})");
}

TEST(JsonToBinary, ScalarWhereArrayExpectedIsOneElement) {
  EXPECT_EQ(Json("User", R"({"admin_group_ids":7})"), R"({"admin_group_ids":[7]})");
}

TEST(JsonToBinary, StringMapsStringifyOtherValues) {
  EXPECT_EQ(Json("ListUsersRequest", R"({"filter":{"n":5,"b":true,"o":{"x":[1,"y"]},"a":[]}})"),
            R"({"filter":{"a":"[]","b":"true","n":"5","o":"{\"x\":[1,\"y\"]}"}})");
}

TEST(JsonToBinary, StructsFromArbitraryJson) {
  const std::string doc =
      R"({"a":{"b":[1.5,"x",true,null,{"c":[]}],"d":{}},"e":"\u00fc\ud83c\udf89","f":-2.0})";
  std::string out = Json("Automation", std::string(R"({"schedule":)") + doc + "}");
  EXPECT_EQ(out, std::string(R"({"schedule":)") +
                     R"({"a":{"b":[1.5,"x",true,null,{"c":[]}],"d":{}},"e":"ü🎉","f":-2.0}})");
}

// Found by the codec_json fuzz target: "\udc00" (a lone low surrogate) is
// legal JSON, but RapidJSON decodes it to bytes that are not UTF-8, and the
// caller's stub refused the whole message. The character becomes U+FFFD, in
// values, in Struct keys and in stringified map values alike.
TEST(JsonToBinary, LoneSurrogatesBecomeReplacementCharacters) {
  EXPECT_EQ(Json("User", R"({"id":1,"name":"a\udc00b\udfff"})"),
            "{\"id\":1,\"name\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\"}");
  EXPECT_EQ(Json("Automation", R"({"schedule":{"k\udc00":"\udc00"}})"),
            "{\"schedule\":{\"k\xEF\xBF\xBD\":\"\xEF\xBF\xBD\"}}");
  EXPECT_EQ(Json("ListUsersRequest", R"({"filter":{"o":["\udc00"]}})"),
            "{\"filter\":{\"o\":\"[\\\"\xEF\xBF\xBD\\\"]\"}}");
  // A proper pair is one character, untouched.
  EXPECT_EQ(Json("User", R"({"name":"\ud83c\udf89"})"), R"({"name":"🎉"})");
}

// Also found by the fuzz target: protobuf parsers refuse messages nested
// more than 100 deep, and each JSON level in a Struct is two or three
// messages. Such an answer is refused with a clear error instead of reaching
// the caller as bytes it cannot parse; anything shallower still converts.
TEST(JsonToBinary, StructsTooDeepForProtobufParsersAreRefused) {
  const auto in_struct = [](int levels) {
    return R"({"schedule":{"k":)" + std::string(levels, '[') + std::string(levels, ']') + "}}";
  };
  // Every depth either converts to bytes that parse, or is refused by name.
  int deepest_converted = 0;
  for (int levels = 1; levels <= 60; ++levels) {
    std::string binary;
    const absl::Status status = JsonToBinary(Type("Automation"), in_struct(levels), &binary);
    if (status.ok()) {
      std::unique_ptr<Message> message(proto::Prototype(Type("Automation"))->New());
      EXPECT_TRUE(message->ParseFromString(binary)) << levels << " levels convert but do not parse";
      deepest_converted = levels;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(status.message()), HasSubstr("nested more than 100")) << levels;
    }
  }
  // Two messages per array level: about 48 levels fit under 100.
  EXPECT_GE(deepest_converted, 45);
  EXPECT_LT(deepest_converted, 60);
  // Wide is not deep: thousands of siblings in one Struct convert.
  std::string wide = R"({"schedule":{)";
  for (int i = 0; i < 5000; ++i) wide += "\"k" + std::to_string(i) + "\":{\"v\":[1]},";
  wide.back() = '}';
  wide += "}";
  std::string binary;
  EXPECT_TRUE(JsonToBinary(Type("Automation"), wide, &binary).ok());
}

TEST(JsonToBinary, LongNestedValuesNeedWiderLengthPrefixes) {
  // 1-, 2- and 3-byte length prefixes are backpatched in place.
  for (size_t size : {100u, 200u, 20000u, 3000000u}) {
    const std::string notes(size, 'n');
    std::string json = R"([{"id":1,"notes":")" + notes + R"("},{"id":2}])";
    std::string binary;
    auto route = BuildRoute(proto::Api().pool->FindMethodByName("files.v1.UserService.ListUsers"));
    ASSERT_TRUE(route.ok());
    ASSERT_TRUE(DecodeResponse(*route, json, "", &binary).ok());
    std::unique_ptr<Message> list(proto::Prototype(route->response_type)->New());
    ASSERT_TRUE(list->ParseFromString(binary)) << size;
    std::string out;
    ASSERT_TRUE(MessageToJson(*list, &out).ok());
    EXPECT_EQ(out, R"({"items":[{"id":1,"notes":")" + notes + R"("},{"id":2}]})");
  }
}

TEST(JsonToBinary, BytesFromBase64) {
  EXPECT_EQ(Json("User", R"({"avatar_file":"AP8Q"})"), R"({"avatar_file":"AP8Q"})");
  // The URL-safe alphabet is accepted too; output is standard base64.
  EXPECT_EQ(Json("User", R"({"avatar_file":"_-8"})"), R"({"avatar_file":"/+8="})");
}

TEST(JsonToBinary, WrongShapesNameTheField) {
  struct Case {
    const char* type;
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {"User", R"({"id":{}})", "files.v1.User.id: expected an int64, got an object"},
      {"User", R"({"id":"abc"})", "files.v1.User.id: expected an int64, got a string"},
      {"User", R"({"id":1.5})", "files.v1.User.id: expected an int64, got a number"},
      {"User", R"({"id":"9223372036854775808"})", "files.v1.User.id: expected an int64"},
      {"User", R"({"id":true})", "files.v1.User.id: expected an int64, got a boolean"},
      {"User", R"({"site_admin":"yes"})", "files.v1.User.site_admin: expected a boolean"},
      {"User", R"({"site_admin":1})", "files.v1.User.site_admin: expected a boolean"},
      {"User", R"({"username":{"a":1}})", "files.v1.User.username: expected a string"},
      {"User", R"({"admin_group_ids":[1,{"x":1}]})", "files.v1.User.admin_group_ids[1]"},
      {"User", R"({"admin_group_ids":[[1]]})", "files.v1.User.admin_group_ids[0]"},
      {"User", R"({"avatar_file":"***"})", "files.v1.User.avatar_file: invalid base64"},
      {"SyncRun", R"({"runtime":"fast"})", "files.v1.SyncRun.runtime: expected a number"},
      {"Automation", R"({"schedule":[1]})", "files.v1.Automation.schedule: expected an object"},
      {"ListUsersRequest", R"({"sort_by":"name"})", "files.v1.ListUsersRequest.sort_by"},
      {"ListUsersResponse", R"({"items":[{"id":1},{"id":[]}]})",
       "files.v1.ListUsersResponse.items[1].id: expected an int64, got an array"},
      {"User", R"([])", "files.v1.User: expected an object, got an array"},
      {"User", R"("x")", "files.v1.User: expected an object"},
  };
  for (const Case& c : cases) {
    absl::Status status = Error(c.type, c.json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message)) << c.json;
  }
}

TEST(JsonToBinary, MalformedJsonIsInvalidArgument) {
  for (const char* json : {"", "{", R"({"id":1,})", R"({"id":1} x)", "{\"a\":\"\xff\"}",
                           R"({"a":"\ud800"})"}) {
    absl::Status status = Error("User", json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(status.message()), HasSubstr("malformed JSON")) << json;
  }
  EXPECT_EQ(Error("User", std::string("{\"id\":1}\0", 9)).code(),
            absl::StatusCode::kInvalidArgument);
}

// Valid text skips RapidJSON's own UTF-8 check; what it lets through must be
// exactly what the check would have.
TEST(JsonToBinary, NonAsciiStringsOfEveryLengthKeepTheirBytes) {
  const std::string piece = "\xC3\xA9\xE5\x90\x8D\xF0\x9F\x93\x81";  // é 名 📁
  for (size_t length = 0; length <= 40; ++length) {
    std::string name;
    for (size_t i = 0; i < length; ++i) name += (i % 5 == 0) ? piece : std::string(1, 'a' + i % 26);
    // The closing quote lands at every offset of a 16-byte block, up to the
    // text's very end.
    const std::string json = "{\"name\":\"" + name + "\"}";
    auto user = Decode(Type("User"), json);
    EXPECT_EQ(user->GetReflection()->GetString(*user, Type("User")->FindFieldByName("name")), name)
        << length;
  }
}

// RapidJSON's SSE2 string scan let 0x1A-0x1F through raw (found by the
// codec_json fuzz target): every control byte in a string is refused.
TEST(JsonToBinary, RawControlBytesInStringsAreRefused) {
  for (int c = 0x01; c < 0x20; ++c) {
    const std::string json = std::string("{\"id\":1,\"name\":\"abcdefghijklmnopqrst") +
                             static_cast<char>(c) + "uvwxyz0123456789\"}";
    absl::Status status = Error("User", json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c;
    EXPECT_THAT(std::string(status.message()), HasSubstr("malformed JSON")) << c;
  }
}

TEST(JsonToBinary, InvalidUtf8AnywhereInAStringIsRefusedWithItsOffset) {
  for (const char* bad : {"\xff", "\xC3", "\xE5\x90", "\xED\xA0\x80", "\xC0\xAF",
                          "\xF4\x90\x80\x80"}) {
    const std::string json = std::string("{\"id\":1,\"name\":\"abcdefghijklmnop") + bad + "q\"}";
    absl::Status status = Error("User", json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(status.message()), HasSubstr("at offset 32")) << json;
    EXPECT_THAT(std::string(status.message()), HasSubstr("Invalid encoding")) << json;
  }
}

TEST(MessageToJson, WritesOnlySetFieldsWithFilesKeys) {
  EXPECT_EQ(Json("User", R"({"workspace_id":3,"subscribe_to_newsletter":true})"),
            R"({"workspace_id":3,"subscribe_to_newsletter":true})");
  EXPECT_EQ(Json("FtpActionLog", R"({"responseCode":200})"), R"({"responseCode":200})");
  EXPECT_EQ(Json("User", "{}"), "{}");
}

// ---- DecodeResponse ----

Route RouteOf(const std::string& method) {
  auto route = BuildRoute(proto::Api().pool->FindMethodByName("files.v1." + method));
  EXPECT_TRUE(route.ok()) << method;
  return *route;
}

std::string DecodeToJson(const Route& route, const std::string& body, const std::string& cursor) {
  std::string binary;
  absl::Status status = DecodeResponse(route, body, cursor, &binary);
  EXPECT_TRUE(status.ok()) << status;
  std::unique_ptr<Message> message(proto::Prototype(route.response_type)->New());
  EXPECT_TRUE(message->ParseFromString(binary));
  std::string out;
  EXPECT_TRUE(MessageToJson(*message, &out).ok());
  return out;
}

TEST(DecodeResponse, EmptyIgnoresTheBody) {
  std::string binary = "stale";
  ASSERT_TRUE(DecodeResponse(RouteOf("UserService.DeleteUser"), "{\"x\":1}", "", &binary).ok());
  EXPECT_EQ(binary, "");
}

TEST(DecodeResponse, MessageIsOneObject) {
  const Route route = RouteOf("UserService.FindUser");
  EXPECT_EQ(DecodeToJson(route, R"({"id":5,"username":"u"})", ""), R"({"id":5,"username":"u"})");
  EXPECT_EQ(DecodeToJson(route, "  ", ""), "{}");
  std::string binary;
  EXPECT_EQ(DecodeResponse(route, "[]", "", &binary).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DecodeResponse, ListIsAnArrayOfItems) {
  const Route route = RouteOf("FileService.BeginUploadFile");
  ASSERT_EQ(route.response_kind, ResponseKind::kList);
  EXPECT_EQ(DecodeToJson(route,
                         R"([{"part_number":1,"upload_uri":"https://u/1","parallel_parts":true,
                              "headers":{},"send":{"partsize":"required-header Content-Length"}}])",
                         "ignored"),
            R"({"items":[{"send":{"partsize":"required-header Content-Length"},"headers":{},)"
            R"("parallel_parts":true,"part_number":1,"upload_uri":"https://u/1"}]})");
  EXPECT_EQ(DecodeToJson(route, "[]", ""), "{}");
}

TEST(DecodeResponse, PaginatedListCarriesTheCursor) {
  const Route route = RouteOf("UserService.ListUsers");
  ASSERT_EQ(route.response_kind, ResponseKind::kPaginatedList);
  EXPECT_EQ(DecodeToJson(route, R"([{"id":1},{"id":2}])", "c2"),
            R"({"items":[{"id":1},{"id":2}],"next_cursor":"c2"})");
  // An empty page may still carry a cursor.
  EXPECT_EQ(DecodeToJson(route, "[]", "c3"), R"({"next_cursor":"c3"})");
  EXPECT_EQ(DecodeToJson(route, R"([{"id":1}])", ""), R"({"items":[{"id":1}]})");
}

TEST(DecodeResponse, ListAnswerThatIsNotAnArrayIsInvalidArgument) {
  const Route route = RouteOf("UserService.ListUsers");
  for (const char* body : {R"({"id":1})", "null", "\"x\"", "[1]"}) {
    std::string binary;
    absl::Status status = DecodeResponse(route, body, "", &binary);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

}  // namespace
}  // namespace filesgw::server
