// Request params as one JSON object, whatever way the caller sent them:
// query strings with bracketed names (`sort_by[username]=asc`,
// `ids[0]=1`, `ids[]=1`, repeated `ids=1`), multipart form fields with the same
// names, or a JSON body. Values are then coerced to the request message's field
// types (query values arrive as strings) and required params are checked.
#ifndef FILESGW_EMULATOR_PARAMS_H_
#define FILESGW_EMULATOR_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "emulator/json.h"
#include "google/protobuf/descriptor.h"

namespace filesgw::emulator {

using FlatParams = std::vector<std::pair<std::string, std::string>>;

// Folds bracketed names into nested objects and arrays; `request` (may be
// null) tells which plain names repeat into arrays.
JsonValue ParamsFromFlat(const FlatParams& flat, const google::protobuf::Descriptor* request);

// A JSON object body (empty body -> {}); anything else is bad-request/invalid-body.
absl::StatusOr<JsonValue> ParamsFromJsonBody(absl::string_view body);

// The Files.com JSON key of a field ("subfolders_locked?"). protoc fills
// json_name on every field of a descriptor set (lowerCamelCase by default), so
// only a json_name that differs from that default is an explicit one.
const std::string& WireKey(const google::protobuf::FieldDescriptor* field);

// The request field a param key names (Files.com JSON key or proto name); null if none.
const google::protobuf::FieldDescriptor* ParamField(const google::protobuf::Descriptor* request,
                                                    absl::string_view key);

// Converts string scalars to the field's type and wraps lone values of
// repeated fields; bad-request/request-params-invalid when a value cannot be
// read as its field's type. Unknown keys are kept as they are.
absl::Status CoerceParams(const google::protobuf::Descriptor* request, JsonValue* params);

// bad-request/request-params-required naming every absent required param.
absl::Status CheckRequired(const google::protobuf::Descriptor* request, const JsonValue& params);

// Rails' reading of a boolean param (ActiveModel::Type::Boolean, as Files.com
// does): true/false, t/f, 1/0, yes/no, on/off in any case, surrounding spaces
// ignored; nullopt for anything else. Every boolean the emulator reads from a
// query string, form or JSON string goes through here.
std::optional<bool> ParseBoolParam(absl::string_view text);

// Rails' reading of an integer param: an optional sign and digits, spaces
// around ignored; nullopt otherwise.
std::optional<int64_t> ParseIntParam(absl::string_view text);

// Converts one value to `field`'s scalar type (in place); false when it cannot.
bool CoerceScalar(const google::protobuf::FieldDescriptor* field, JsonValue* value);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_PARAMS_H_
