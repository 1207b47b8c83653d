// JSON vocabulary of the emulator: records, params and bodies are RapidJSON
// values on the plain malloc allocator, so each value owns its memory and a
// record can be dropped or replaced without growing a shared pool.
#ifndef FILESGW_EMULATOR_JSON_H_
#define FILESGW_EMULATOR_JSON_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace filesgw::emulator {

using JsonAllocator = rapidjson::CrtAllocator;
using JsonValue = rapidjson::GenericValue<rapidjson::UTF8<>, JsonAllocator>;
using JsonDoc = rapidjson::GenericDocument<rapidjson::UTF8<>, JsonAllocator>;

// CrtAllocator is stateless: one instance serves every value.
JsonAllocator& Alloc();

// Compact serialisation.
std::string ToJson(const JsonValue& value);

// A string value copied into its own memory.
JsonValue JsonString(absl::string_view s);

// The member `key` of `object`, or nullptr when absent or `object` is not an object.
const JsonValue* Member(const JsonValue& object, absl::string_view key);
JsonValue* Member(JsonValue& object, absl::string_view key);

// Sets (replacing) `object[key] = value`; `object` must be an object.
void SetMember(JsonValue& object, absl::string_view key, JsonValue value);

// Reads scalars leniently: numbers, or strings holding them (query params are
// all strings). nullopt when the value has another shape.
std::optional<int64_t> AsInt64(const JsonValue& value);
std::optional<double> AsDouble(const JsonValue& value);
std::optional<bool> AsBool(const JsonValue& value);
// Strings as they are, numbers and bools as their JSON text.
std::optional<std::string> AsText(const JsonValue& value);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_JSON_H_
