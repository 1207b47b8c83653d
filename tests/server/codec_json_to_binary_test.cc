// The Files.com JSON quirks JsonToBinary accepts, the shapes it rejects (and
// how it names the field), MessageToJson's output form, and DecodeResponse
// for each response kind. Coverage of every type is codec_roundtrip_test.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "google/protobuf/struct.pb.h"
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
  // Kept in unmapped_fields as its JSON text: too deep for any protobuf parser.
  auto user = Decode(Type("User"), R"({"id":1,"unknown":)" + deep + "}");
  const auto* unmapped = user->GetDescriptor()->FindFieldByName("unmapped_fields");
  google::protobuf::Struct bag;
  bag.CopyFrom(user->GetReflection()->GetMessage(*user, unmapped));
  ASSERT_EQ(bag.fields().count("unknown"), 1u);
  EXPECT_EQ(bag.fields().at("unknown").string_value(), deep);
  EXPECT_EQ(Error("User", R"({"id":1,"unknown":)" + std::string(300000, '[') + "}").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JsonToBinary, KeepsUnknownKeysInUnmappedFields) {
  // MessageToJson writes them back as keys beside the others (sorted).
  EXPECT_EQ(Json("User", R"({"zzz":{"a":[1,{"b":null}]},"id":1,"new_thing":[[]],"x":"y"})"),
            R"({"id":1,"new_thing":[[]],"x":"y","zzz":{"a":[1,{"b":null}]}})");
  // Messages without unmapped_fields (list wrappers) still skip them.
  EXPECT_EQ(Json("ListUsersResponse", R"({"zzz":{"a":[1]},"items":[{"id":1}]})"),
            R"({"items":[{"id":1}]})");
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
  // Whole numbers are written as integers, as protobuf's JSON mapping does.
  EXPECT_EQ(Json("SyncRun", R"({"runtime":3})"), R"({"runtime":3})");
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
                     R"({"a":{"b":[1.5,"x",true,null,{"c":[]}],"d":{}},"e":"ü🎉","f":-2}})");
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
  // Only where no unmapped_fields can hold the value (list wrappers, the
  // document itself); in models a misfit is kept (MisfitsKeepTheirRawValue).
  const Case cases[] = {
      {"ListUsersResponse", R"({"items":"x"})",
       "files.v1.ListUsersResponse.items: expected an object, got a string"},
      {"ListUsersResponse", R"({"next_cursor":{"a":1}})",
       "files.v1.ListUsersResponse.next_cursor: expected a string, got an object"},
      {"ListUsersResponse", R"({"items":[{"id":1},[]]})",
       "files.v1.ListUsersResponse.items[1]: expected a single value per element"},
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

// ---- unmapped_fields (issue 15 items 9-11) ----

// The Struct of `message`'s unmapped_fields as JSON ("{}" when unset).
std::string UnmappedJson(const Message& message) {
  const auto* field = message.GetDescriptor()->FindFieldByName("unmapped_fields");
  EXPECT_NE(field, nullptr) << message.GetDescriptor()->full_name();
  std::string out;
  EXPECT_TRUE(MessageToJson(message.GetReflection()->GetMessage(message, field), &out).ok());
  return out;
}

bool Has(const Message& message, const std::string& name) {
  const auto* field = message.GetDescriptor()->FindFieldByName(name);
  EXPECT_NE(field, nullptr) << name;
  if (field->is_repeated()) return message.GetReflection()->FieldSize(message, field) > 0;
  return message.GetReflection()->HasField(message, field);
}

const Message& Child(const Message& message, const std::string& name, int index = -1) {
  const auto* field = message.GetDescriptor()->FindFieldByName(name);
  return index < 0 ? message.GetReflection()->GetMessage(message, field)
                   : message.GetReflection()->GetRepeatedMessage(message, field, index);
}

TEST(Unmapped, EveryModelHasTheFieldNumberedHigh) {
  for (const char* name : {"User", "Site", "Session", "Image", "File", "Group"}) {
    const auto* field = Type(name)->FindFieldByName("unmapped_fields");
    ASSERT_NE(field, nullptr) << name;
    EXPECT_EQ(field->number(), 500000);
    EXPECT_EQ(field->message_type()->full_name(), "google.protobuf.Struct");
  }
  EXPECT_EQ(Type("Auto")->FindFieldByName("unmapped_fields"), nullptr);
}

TEST(Unmapped, MisfitsKeepTheirRawValueAndTheRestOfTheAnswer) {
  struct Case {
    const char* type;
    const char* json;
    const char* field;     // typed field left unset
    const char* unmapped;  // unmapped_fields as JSON
  };
  const Case cases[] = {
      {"User", R"({"id":7,"username":{"first":"a"},"name":"N"})", "username",
       R"({"username":{"first":"a"}})"},
      {"User", R"({"id":7,"site_admin":"sometimes","name":"N"})", "site_admin",
       R"({"site_admin":"sometimes"})"},
      {"User", R"({"id":7,"admin_group_ids":[1,{"x":1},3],"name":"N"})", "admin_group_ids",
       R"({"admin_group_ids":[1,{"x":1},3]})"},
      {"User", R"({"id":7,"admin_group_ids":[1,2,[3]],"name":"N"})", "admin_group_ids",
       R"({"admin_group_ids":[1,2,[3]]})"},
      {"User", R"({"id":7,"avatar_file":"***","name":"N"})", "avatar_file",
       R"({"avatar_file":"***"})"},
      {"User", R"({"id":7,"created_at":["2024"],"name":"N"})", "created_at",
       R"({"created_at":["2024"]})"},
      {"Site", R"({"id":7,"logo":"https://cdn.example/logo.png","name":"N"})", "logo",
       R"({"logo":"https://cdn.example/logo.png"})"},
      {"Site", R"({"id":7,"icon16":[{"uri":"x"}],"name":"N"})", "icon16",
       R"({"icon16":[{"uri":"x"}]})"},
      {"Automation", R"({"id":7,"schedule":[1],"name":"N"})", "schedule", R"({"schedule":[1]})"},
      {"SyncRun", R"({"id":7,"runtime":"fast"})", "runtime", R"({"runtime":"fast"})"},
      {"ListUsersRequest", R"({"sort_by":"name","per_page":5})", "sort_by",
       R"({"sort_by":"name"})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    UnmappedReport report;
    std::string binary;
    ASSERT_TRUE(JsonToBinary(Type(c.type), c.json, &binary, &report).ok());
    std::unique_ptr<Message> message(proto::Prototype(Type(c.type))->New());
    ASSERT_TRUE(message->ParseFromString(binary));
    EXPECT_FALSE(Has(*message, c.field));
    EXPECT_EQ(UnmappedJson(*message), c.unmapped);
    EXPECT_EQ(report.misfit, 1);
    EXPECT_EQ(report.unknown, 0);
    if (message->GetDescriptor()->FindFieldByName("name") != nullptr &&
        std::string(c.json).find("\"name\"") != std::string::npos) {
      EXPECT_TRUE(Has(*message, "name"));
    }
    // Written back, the answer is what Files.com sent (keys sorted).
    std::string again;
    ASSERT_TRUE(MessageToJson(*message, &again).ok());
    EXPECT_THAT(again, HasSubstr(std::string(c.unmapped).substr(1, std::string(c.unmapped).size() - 2)));
  }
}

TEST(Unmapped, NestedModelsKeepTheirOwn) {
  // Site.session with keys files.v1.Session lacks, and a nested misfit.
  auto site = Decode(Type("Site"), R"({"id":1,"name":"acme",
      "session":{"id":"s","language":"en","sftp_insecure_ciphers":false,
                 "login_token":"t","login_token_domain":"d","max_dir_listing_size":0,
                 "multiple_regions":true,"read_only":"maybe"},
      "brand_new":{"a":1}})");
  EXPECT_EQ(UnmappedJson(*site), R"({"brand_new":{"a":1}})");
  const Message& session = Child(*site, "session");
  EXPECT_TRUE(Has(session, "id"));
  EXPECT_TRUE(Has(session, "language"));
  EXPECT_FALSE(Has(session, "read_only"));  // "maybe" does not fit a bool
  EXPECT_EQ(UnmappedJson(session),
            R"({"login_token":"t","login_token_domain":"d","max_dir_listing_size":0,)"
            R"("multiple_regions":true,"read_only":"maybe"})");
}

TEST(Unmapped, RepeatedElementsKeepTheirOwnAndTheReportNamesPathsOnly) {
  auto route = BuildRoute(proto::Api().pool->FindMethodByName("files.v1.UserService.ListUsers"));
  ASSERT_TRUE(route.ok());
  std::string json = "[";
  for (int i = 1; i <= 1000; ++i) {
    if (i > 1) json += ",";
    json += R"({"id":)" + std::to_string(i) + R"(,"username":"u)" + std::to_string(i) +
            R"(","secret_new_key":"value)" + std::to_string(i) + R"("})";
  }
  json += R"(,{"id":1001,"username":{"oops":true},"name":"last"}])";
  UnmappedReport report;
  std::string binary;
  ASSERT_TRUE(DecodeResponse(*route, json, "next", &binary, &report).ok());
  std::unique_ptr<Message> list(proto::Prototype(route->response_type)->New());
  ASSERT_TRUE(list->ParseFromString(binary));
  ASSERT_EQ(list->GetReflection()->FieldSize(*list, route->response_type->FindFieldByName("items")),
            1001);
  EXPECT_EQ(UnmappedJson(Child(*list, "items", 0)), R"({"secret_new_key":"value1"})");
  EXPECT_EQ(UnmappedJson(Child(*list, "items", 999)), R"({"secret_new_key":"value1000"})");
  const Message& last = Child(*list, "items", 1000);
  EXPECT_FALSE(Has(last, "username"));
  EXPECT_TRUE(Has(last, "name"));
  EXPECT_EQ(UnmappedJson(last), R"({"username":{"oops":true}})");
  EXPECT_EQ(report.unknown, 1000);
  EXPECT_EQ(report.misfit, 1);
  EXPECT_THAT(report.paths,
              ::testing::ElementsAre("files.v1.ListUsersResponse.items[].secret_new_key",
                                     "files.v1.ListUsersResponse.items[].username"));
  for (const std::string& path : report.paths) EXPECT_EQ(path.find("value"), std::string::npos);
}

TEST(Unmapped, AutoCarriesAnyJsonValue) {
  struct Case {
    const char* data;
    const char* value_json;  // Auto.value as JSON
    bool dynamic;            // Auto.dynamic set (objects only)
  };
  const Case cases[] = {
      {R"({"a":1,"b":[true,null]})", R"({"a":1,"b":[true,null]})", true},
      {R"({"dynamic":{"x":1}})", R"({"dynamic":{"x":1}})", true},
      {R"([1,"two",{"three":3}])", R"([1,"two",{"three":3}])", false},
      {R"("text")", R"("text")", false},
      {"42.5", "42.5", false},
      {"false", "false", false},
      {"null", "null", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.data);
    auto test = Decode(Type("WebhookTest"), std::string(R"({"code":200,"data":)") + c.data + "}");
    EXPECT_TRUE(Has(*test, "code"));
    ASSERT_TRUE(Has(*test, "data"));
    const Message& data = Child(*test, "data");
    EXPECT_EQ(Has(data, "dynamic"), c.dynamic);
    std::string value;
    ASSERT_TRUE(MessageToJson(Child(data, "value"), &value).ok());
    EXPECT_EQ(value, c.value_json);
    if (c.dynamic) {
      std::string dynamic;
      ASSERT_TRUE(MessageToJson(Child(data, "dynamic"), &dynamic).ok());
      EXPECT_EQ(dynamic, c.value_json);
    }
    // Written back, `data` is the value itself.
    std::string again;
    ASSERT_TRUE(MessageToJson(*test, &again).ok());
    EXPECT_THAT(again, HasSubstr(std::string(R"("data":)") + c.value_json));
    EXPECT_EQ(UnmappedJson(*test), "{}");
  }
}

TEST(Unmapped, MisfitArraysNestedInElementsAndLongValues) {
  // A misfit array inside a repeated element, with 128+ byte elements before
  // the bad one (wider length prefixes that must be cut off again).
  const std::string long_name(300, 'n');
  auto route = BuildRoute(proto::Api().pool->FindMethodByName("files.v1.UserService.ListUsers"));
  ASSERT_TRUE(route.ok());
  const std::string json = R"([{"id":1,"admin_group_ids":[1,2,"three",4],"name":")" + long_name +
                           R"("},{"id":2,"group_ids":"1,2","admin_group_ids":[5]}])";
  std::string binary;
  ASSERT_TRUE(DecodeResponse(*route, json, "", &binary).ok());
  std::unique_ptr<Message> list(proto::Prototype(route->response_type)->New());
  ASSERT_TRUE(list->ParseFromString(binary));
  const Message& first = Child(*list, "items", 0);
  EXPECT_FALSE(Has(first, "admin_group_ids"));
  EXPECT_EQ(UnmappedJson(first), R"({"admin_group_ids":[1,2,"three",4]})");
  std::string out;
  ASSERT_TRUE(MessageToJson(*list, &out).ok());
  EXPECT_THAT(out, HasSubstr(R"("name":")" + long_name));
  const Message& second = Child(*list, "items", 1);
  EXPECT_TRUE(Has(second, "admin_group_ids"));
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
