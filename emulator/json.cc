#include "emulator/json.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "emulator/params.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::emulator {

JsonAllocator& Alloc() {
  static JsonAllocator* const allocator = new JsonAllocator();
  return *allocator;
}

std::string ToJson(const JsonValue& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

JsonValue JsonString(absl::string_view s) {
  return JsonValue(s.data(), static_cast<rapidjson::SizeType>(s.size()), Alloc());
}

const JsonValue* Member(const JsonValue& object, absl::string_view key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(
      JsonValue(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

JsonValue* Member(JsonValue& object, absl::string_view key) {
  return const_cast<JsonValue*>(Member(static_cast<const JsonValue&>(object), key));
}

void SetMember(JsonValue& object, absl::string_view key, JsonValue value) {
  if (JsonValue* existing = Member(object, key)) {
    *existing = std::move(value);
    return;
  }
  object.AddMember(JsonString(key), std::move(value), Alloc());
}

std::optional<int64_t> AsInt64(const JsonValue& value) {
  if (value.IsInt64()) return value.GetInt64();
  if (value.IsDouble()) {
    double d = value.GetDouble();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
    return std::nullopt;
  }
  if (value.IsString()) {
    return ParseIntParam(absl::string_view(value.GetString(), value.GetStringLength()));
  }
  return std::nullopt;
}

std::optional<double> AsDouble(const JsonValue& value) {
  if (value.IsNumber()) return value.GetDouble();
  if (value.IsString()) {
    double out = 0;
    if (absl::SimpleAtod(absl::string_view(value.GetString(), value.GetStringLength()), &out)) {
      return out;
    }
  }
  return std::nullopt;
}

std::optional<bool> AsBool(const JsonValue& value) {
  if (value.IsBool()) return value.GetBool();
  if (value.IsInt64()) return value.GetInt64() != 0;
  if (value.IsString()) {
    return ParseBoolParam(absl::string_view(value.GetString(), value.GetStringLength()));
  }
  return std::nullopt;
}

std::optional<std::string> AsText(const JsonValue& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsNumber() || value.IsBool()) return ToJson(value);
  return std::nullopt;
}

}  // namespace filesgw::emulator
