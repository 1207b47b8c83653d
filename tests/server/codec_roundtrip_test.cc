// Coverage by construction: for every message type of files.v1 (models,
// requests, responses, nested types), a JSON document with a non-default value
// in every field is generated from the descriptor, then
//   JSON -> JsonToBinary -> DynamicMessage::ParseFromString -> MessageToJson
// must give back the same document. Inputs vary the accepted spellings (int64
// as numbers and as strings, bools and doubles as strings, numbers in string
// maps); the expected document holds the canonical form.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "proto/api_pool.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/codec.h"
#include "server/codec_internal.h"

namespace filesgw::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using rapidjson::Value;

constexpr int kMaxDepth = 3;

std::string ToText(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

// Builds (input, expected) pairs side by side.
class Generator {
 public:
  explicit Generator(rapidjson::Document::AllocatorType* alloc) : alloc_(*alloc) {}

  void Message(const Descriptor* type, int depth, Value* in, Value* want) {
    in->SetObject();
    want->SetObject();
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      // A real oneof keeps one member: fill only its first.
      const auto* oneof = field->real_containing_oneof();
      if (oneof != nullptr && oneof->field(0) != field) continue;
      Value field_in, field_want;
      if (!Field(field, depth, &field_in, &field_want)) continue;
      if (proto::IsUnmappedFields(field)) {
        // Its JSON form is keys beside the others: ones the message lacks.
        for (auto& m : field_in.GetObject()) {
          const std::string key = std::string("extra_") + m.name.GetString();
          Value copy(m.value, alloc_);
          in->AddMember(Value(key.c_str(), alloc_), m.value, alloc_);
          want->AddMember(Value(key.c_str(), alloc_), copy, alloc_);
        }
        continue;
      }
      const std::string& key = codec_internal::FilesKey(field);
      in->AddMember(Value(key.c_str(), alloc_), field_in, alloc_);
      want->AddMember(Value(key.c_str(), alloc_), field_want, alloc_);
    }
  }

 private:
  bool Field(const FieldDescriptor* field, int depth, Value* in, Value* want) {
    if (field->is_map()) {
      in->SetObject();
      want->SetObject();
      const FieldDescriptor* value = field->message_type()->map_value();
      const char* keys[] = {"k1", "k2 \xC3\xBC/[x]"};
      for (const char* key : keys) {
        Value item_in, item_want;
        if (!Single(value, depth, &item_in, &item_want)) return false;
        in->AddMember(Value(key, alloc_), item_in, alloc_);
        want->AddMember(Value(key, alloc_), item_want, alloc_);
      }
      return true;
    }
    if (field->is_repeated()) {
      in->SetArray();
      want->SetArray();
      for (int i = 0; i < 2; ++i) {
        Value item_in, item_want;
        if (!Single(field, depth, &item_in, &item_want)) return false;
        in->PushBack(item_in, alloc_);
        want->PushBack(item_want, alloc_);
      }
      return true;
    }
    return Single(field, depth, in, want);
  }

  bool Single(const FieldDescriptor* field, int depth, Value* in, Value* want) {
    const bool as_string = (++counter_ % 2) == 0;  // alternate the accepted spellings
    auto numeric = [&](const std::string& text, Value canonical) {
      if (as_string) in->SetString(text.c_str(), alloc_);
      else in->CopyFrom(canonical, alloc_);
      *want = canonical;
    };
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64: {
        const int64_t v = (counter_ % 3 == 0) ? -9007199254740993LL - counter_
                                              : 9007199254740993LL + counter_;  // beyond 2^53
        numeric(std::to_string(v), Value(v));
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        const uint64_t v = 18446744073709551615ULL - counter_;
        numeric(std::to_string(v), Value(v));
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        const int32_t v = -2147483647 + counter_;
        numeric(std::to_string(v), Value(v));
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        const uint32_t v = 4294967295u - counter_;
        numeric(std::to_string(v), Value(v));
        return true;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        numeric("1234.5", Value(1234.5));
        return true;
      case FieldDescriptor::CPPTYPE_BOOL:
        if (as_string) in->SetString("true");
        else in->SetBool(true);
        want->SetBool(true);
        return true;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* type = field->enum_type();
        const auto* value = type->value(type->value_count() > 1 ? 1 : 0);
        in->SetString(value->name().c_str(), alloc_);
        want->SetString(value->name().c_str(), alloc_);
        return true;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        if (field->type() == FieldDescriptor::TYPE_BYTES) {
          const std::string raw("\x00\xff\x10 bytes \x80", 12);
          const std::string b64 = absl::Base64Escape(raw);
          in->SetString(b64.c_str(), alloc_);
          want->SetString(b64.c_str(), alloc_);
          return true;
        }
        if (field->containing_type()->options().map_entry() && as_string) {
          // map<string,string> values that are not strings are stringified.
          in->SetInt(42);
          want->SetString("42");
          return true;
        }
        const std::string text = "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89 "
                                 "\"q\" \\ \n\t/<x>#" + std::to_string(counter_);
        in->SetString(text.c_str(), alloc_);
        want->SetString(text.c_str(), alloc_);
        return true;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return MessageValue(field->message_type(), depth, in, want);
    }
    return false;
  }

  bool MessageValue(const Descriptor* type, int depth, Value* in, Value* want) {
    const std::string& name = type->full_name();
    const char* json = nullptr;
    if (name == "google.protobuf.Struct") {
      json = R"({"a":{"b":[1,"x",true,null,{"c":2.5}],"e":{}},"n":-3.25,"s":"\u00fc","z":null})";
    } else if (name == "google.protobuf.ListValue") {
      json = R"([1,"two",{"three":3},[4,[]],null,false])";
    } else if (name == "google.protobuf.Value") {
      json = R"({"v":[1,{"k":"v"}]})";
    }
    if (json != nullptr) {
      rapidjson::Document doc(&alloc_);
      doc.Parse(json);
      in->CopyFrom(doc, alloc_);
      want->CopyFrom(doc, alloc_);
      return true;
    }
    if (depth >= kMaxDepth) return false;
    Message(type, depth + 1, in, want);
    return true;
  }

  rapidjson::Document::AllocatorType& alloc_;
  int counter_ = 0;
};

void CollectTypes(const Descriptor* type, std::vector<const Descriptor*>* out) {
  if (type->options().map_entry()) return;
  out->push_back(type);
  for (int i = 0; i < type->nested_type_count(); ++i) CollectTypes(type->nested_type(i), out);
}

std::vector<const Descriptor*> AllTypes() {
  std::vector<const Descriptor*> types;
  for (const auto* file : proto::Api().files) {
    if (file->package() != "files.v1") continue;
    for (int i = 0; i < file->message_type_count(); ++i) CollectTypes(file->message_type(i), &types);
  }
  return types;
}

TEST(CodecRoundTrip, TablesBuildSafelyFromManyThreads) {
  // Lazily built tables are shared; racing first uses must all see complete ones.
  const auto types = AllTypes();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&types, &failures, t] {
      for (size_t i = t; i < types.size(); i += 1) {
        std::string out;
        if (!JsonToBinary(types[(i * 7 + t) % types.size()], R"({"unknown_key":[{"x":1}],"other":null})", &out).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(CodecRoundTrip, EveryMessageTypeSurvivesJsonToBinaryToJson) {
  const auto types = AllTypes();
  ASSERT_GT(types.size(), 500u);  // 149 models, 419 requests, the list responses, ...
  int fields = 0;
  for (const Descriptor* type : types) {
    SCOPED_TRACE(type->full_name());
    rapidjson::Document in, want;
    Generator generator(&in.GetAllocator());
    generator.Message(type, 0, &in, &want);
    fields += type->field_count();

    const std::string input = ToText(in);
    std::string binary;
    absl::Status status = JsonToBinary(type, input, &binary);
    ASSERT_TRUE(status.ok()) << status << "\n" << input;

    std::unique_ptr<google::protobuf::Message> message(proto::Prototype(type)->New());
    ASSERT_TRUE(message->ParseFromString(binary)) << input;
    EXPECT_TRUE(message->GetReflection()->GetUnknownFields(*message).empty());

    std::string output;
    ASSERT_TRUE(MessageToJson(*message, &output).ok());
    rapidjson::Document got;
    ASSERT_FALSE(got.Parse(output.c_str()).HasParseError()) << output;
    // Semantic comparison: members in any order, int vs double by value.
    EXPECT_TRUE(got == want) << "input:    " << input << "\nexpected: " << ToText(want)
                             << "\ngot:      " << output;
  }
  EXPECT_GT(fields, 5000);
}

}  // namespace
}  // namespace filesgw::server
