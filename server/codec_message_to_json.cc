// Message -> Files.com JSON by reflection. Used for request bodies (small and
// per call), so clarity wins over speed here; the hot direction is the other
// one (codec_json_to_binary.cc).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/codec_internal.h"

namespace filesgw::server {
namespace codec_internal {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void WriteString(std::string_view text, JsonWriter* writer) {
  writer->String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteDouble(double value, JsonWriter* writer) {
  // JSON has no NaN/Infinity; write them the way protobuf's JSON mapping does.
  if (!std::isfinite(value)) return WriteString(DoubleText(value), writer);
  // Whole numbers as integers ("5", not "5.0"), as protobuf's JSON mapping
  // does: Struct numbers are doubles, and a param Files.com reads as an
  // integer must look like one.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    writer->Int64(static_cast<int64_t>(value));
    return;
  }
  writer->Double(value);
}

void WriteStructJson(const Message& message, JsonWriter* writer);
void WriteListValueJson(const Message& message, JsonWriter* writer);

void WriteValueJson(const Message& value, JsonWriter* writer) {
  const auto* type = value.GetDescriptor();
  const Reflection* reflection = value.GetReflection();
  const FieldDescriptor* number = type->FindFieldByNumber(2);
  const FieldDescriptor* text = type->FindFieldByNumber(3);
  const FieldDescriptor* boolean = type->FindFieldByNumber(4);
  const FieldDescriptor* object = type->FindFieldByNumber(5);
  const FieldDescriptor* list = type->FindFieldByNumber(6);
  if (reflection->HasField(value, number)) return WriteDouble(reflection->GetDouble(value, number), writer);
  if (reflection->HasField(value, text)) return WriteString(reflection->GetString(value, text), writer);
  if (reflection->HasField(value, boolean)) {
    writer->Bool(reflection->GetBool(value, boolean));
    return;
  }
  if (reflection->HasField(value, object)) return WriteStructJson(reflection->GetMessage(value, object), writer);
  if (reflection->HasField(value, list)) return WriteListValueJson(reflection->GetMessage(value, list), writer);
  writer->Null();  // null_value, or no kind at all
}

// Map entries sorted by key, so that equal messages give equal JSON.
std::vector<std::pair<std::string, const Message*>> SortedEntries(const Message& message,
                                                                   const FieldDescriptor* map) {
  const Reflection* reflection = message.GetReflection();
  const int count = reflection->FieldSize(message, map);
  std::vector<std::pair<std::string, const Message*>> entries;
  entries.reserve(count);
  for (int i = 0; i < count; ++i) {
    const Message& entry = reflection->GetRepeatedMessage(message, map, i);
    const FieldDescriptor* key = entry.GetDescriptor()->map_key();
    const Reflection* entry_reflection = entry.GetReflection();
    std::string text;
    switch (key->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: text = entry_reflection->GetString(entry, key); break;
      case FieldDescriptor::CPPTYPE_INT32: text = absl::StrCat(entry_reflection->GetInt32(entry, key)); break;
      case FieldDescriptor::CPPTYPE_INT64: text = absl::StrCat(entry_reflection->GetInt64(entry, key)); break;
      case FieldDescriptor::CPPTYPE_UINT32: text = absl::StrCat(entry_reflection->GetUInt32(entry, key)); break;
      case FieldDescriptor::CPPTYPE_UINT64: text = absl::StrCat(entry_reflection->GetUInt64(entry, key)); break;
      case FieldDescriptor::CPPTYPE_BOOL: text = entry_reflection->GetBool(entry, key) ? "true" : "false"; break;
      default: break;
    }
    entries.emplace_back(std::move(text), &entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Later duplicates win, as when parsing; keep the last of each key.
  std::vector<std::pair<std::string, const Message*>> unique;
  for (auto& entry : entries) {
    if (!unique.empty() && unique.back().first == entry.first) unique.back() = std::move(entry);
    else unique.push_back(std::move(entry));
  }
  return unique;
}

void WriteStructJson(const Message& message, JsonWriter* writer) {
  writer->StartObject();
  const FieldDescriptor* fields = message.GetDescriptor()->FindFieldByNumber(1);
  for (const auto& [key, entry] : SortedEntries(message, fields)) {
    WriteString(key, writer);
    const FieldDescriptor* value = entry->GetDescriptor()->map_value();
    WriteValueJson(entry->GetReflection()->GetMessage(*entry, value), writer);
  }
  writer->EndObject();
}

void WriteListValueJson(const Message& message, JsonWriter* writer) {
  writer->StartArray();
  const FieldDescriptor* values = message.GetDescriptor()->FindFieldByNumber(1);
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < reflection->FieldSize(message, values); ++i) {
    WriteValueJson(reflection->GetRepeatedMessage(message, values, i), writer);
  }
  writer->EndArray();
}

// files.v1.Auto is any JSON value: `value` when set, else the `dynamic` object.
bool WriteAutoJson(const Message& message, JsonWriter* writer) {
  const auto* type = message.GetDescriptor();
  if (type->full_name() != "files.v1.Auto") return false;
  const FieldDescriptor* dynamic = type->FindFieldByNumber(1);
  const FieldDescriptor* value = type->FindFieldByNumber(2);
  if (dynamic == nullptr || value == nullptr || dynamic->message_type() == nullptr ||
      value->message_type() == nullptr ||
      value->message_type()->full_name() != "google.protobuf.Value") {
    return false;
  }
  const Reflection* reflection = message.GetReflection();
  if (reflection->HasField(message, value)) {
    WriteValueJson(reflection->GetMessage(message, value), writer);
  } else if (reflection->HasField(message, dynamic)) {
    WriteStructJson(reflection->GetMessage(message, dynamic), writer);
  } else {
    writer->StartObject();
    writer->EndObject();
  }
  return true;
}

void WriteMessageOrWellKnown(const Message& message, JsonWriter* writer) {
  const std::string& name = message.GetDescriptor()->full_name();
  if (name == "google.protobuf.Struct") return WriteStructJson(message, writer);
  if (name == "google.protobuf.Value") return WriteValueJson(message, writer);
  if (name == "google.protobuf.ListValue") return WriteListValueJson(message, writer);
  if (WriteAutoJson(message, writer)) return;
  WriteMessageJson(message, writer);
}

// One value of `field`: element `index` when repeated, else the singular value.
void WriteOne(const Message& message, const FieldDescriptor* field, int index,
              JsonWriter* writer) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      writer->Int(rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      writer->Int64(rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      writer->Uint(rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      writer->Uint64(rep ? r->GetRepeatedUInt64(message, field, index)
                         : r->GetUInt64(message, field));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      WriteDouble(rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field),
                  writer);
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      WriteDouble(rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field),
                  writer);
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      writer->Bool(rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field));
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          rep ? r->GetRepeatedEnumValue(message, field, index) : r->GetEnumValue(message, field);
      const auto* value = field->enum_type()->FindValueByNumber(number);
      if (value != nullptr) WriteString(value->name(), writer);
      else writer->Int(number);
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = rep ? r->GetRepeatedStringReference(message, field, index, &scratch)
                                    : r->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        WriteString(absl::Base64Escape(text), writer);
      } else {
        WriteString(text, writer);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      WriteMessageOrWellKnown(rep ? r->GetRepeatedMessage(message, field, index)
                                  : r->GetMessage(message, field),
                              writer);
      return;
  }
}

}  // namespace

void WriteFieldJson(const Message& message, const FieldDescriptor* field, JsonWriter* writer) {
  if (field->is_map()) {
    writer->StartObject();
    const FieldDescriptor* value = field->message_type()->map_value();
    for (const auto& [key, entry] : SortedEntries(message, field)) {
      WriteString(key, writer);
      WriteOne(*entry, value, -1, writer);
    }
    writer->EndObject();
    return;
  }
  if (field->is_repeated()) {
    writer->StartArray();
    const int count = message.GetReflection()->FieldSize(message, field);
    for (int i = 0; i < count; ++i) WriteOne(message, field, i, writer);
    writer->EndArray();
    return;
  }
  WriteOne(message, field, -1, writer);
}

void WriteMessageJson(const Message& message, JsonWriter* writer) {
  writer->StartObject();
  std::vector<const FieldDescriptor*> fields;
  // ListFields is exactly "set": HasField for fields with presence, non-empty
  // for repeated, non-default for proto3 implicit scalars.
  message.GetReflection()->ListFields(message, &fields);
  const FieldDescriptor* unmapped = nullptr;
  for (const FieldDescriptor* field : fields) {
    if (field->is_extension()) continue;
    if (proto::IsUnmappedFields(field)) {
      unmapped = field;
      continue;
    }
    WriteString(FilesKey(field), writer);
    WriteFieldJson(message, field, writer);
  }
  // unmapped_fields are Files.com keys again, beside the others. A key that
  // is also a set field (Files.com sent it twice, once misfit) is written
  // twice, as it came, so the JSON converts back to the same message.
  if (unmapped != nullptr) {
    const Message& bag = message.GetReflection()->GetMessage(message, unmapped);
    for (const auto& [key, entry] : SortedEntries(bag, bag.GetDescriptor()->FindFieldByNumber(1))) {
      WriteString(key, writer);
      const FieldDescriptor* value = entry->GetDescriptor()->map_value();
      WriteValueJson(entry->GetReflection()->GetMessage(*entry, value), writer);
    }
  }
  writer->EndObject();
}

std::string DoubleText(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buf, end);
}

}  // namespace codec_internal

absl::Status MessageToJson(const google::protobuf::Message& message, std::string* out) {
  if (out == nullptr) return absl::InvalidArgumentError("MessageToJson: null output");
  rapidjson::StringBuffer buffer;
  codec_internal::JsonWriter writer(buffer);
  const std::string& name = message.GetDescriptor()->full_name();
  if (name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
      name == "google.protobuf.ListValue") {
    codec_internal::WriteMessageOrWellKnown(message, &writer);
  } else {
    codec_internal::WriteMessageJson(message, &writer);
  }
  if (!writer.IsComplete()) return absl::InternalError("MessageToJson: incomplete document");
  out->assign(buffer.GetString(), buffer.GetSize());
  return absl::OkStatus();
}

}  // namespace filesgw::server
