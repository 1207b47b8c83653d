#include "emulator/params.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "emulator/reply.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// "etags[0][part]" -> base "etags", subs {"0", "part"}.
void SplitKey(absl::string_view key, std::string* base, std::vector<std::string>* subs) {
  size_t open = key.find('[');
  *base = std::string(key.substr(0, open));
  while (open != absl::string_view::npos) {
    size_t close = key.find(']', open);
    if (close == absl::string_view::npos) {
      // Malformed bracket: keep the whole key as a plain name.
      *base = std::string(key);
      subs->clear();
      return;
    }
    subs->emplace_back(key.substr(open + 1, close - open - 1));
    open = key.find('[', close);
  }
}

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

// Sets `node[subs...] = value`, making objects on the way; an empty sub appends.
void InsertNested(JsonValue* node, const std::vector<std::string>& subs, size_t at,
                  const std::string& value) {
  if (at == subs.size()) {
    *node = JsonString(value);
    return;
  }
  const std::string& key = subs[at];
  if (key.empty()) {
    if (!node->IsArray()) node->SetArray();
    node->PushBack(JsonValue(), Alloc());
    InsertNested(&(*node)[node->Size() - 1], subs, at + 1, value);
    return;
  }
  if (!node->IsObject()) node->SetObject();
  JsonValue* child = Member(*node, key);
  if (child == nullptr) {
    node->AddMember(JsonString(key), JsonValue(), Alloc());
    child = Member(*node, key);
  }
  InsertNested(child, subs, at + 1, value);
}

}  // namespace

std::optional<bool> ParseBoolParam(absl::string_view text) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  for (const char* yes : {"true", "t", "1", "yes", "on"}) {
    if (s == yes) return true;
  }
  for (const char* no : {"false", "f", "0", "no", "off"}) {
    if (s == no) return false;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseIntParam(absl::string_view text) {
  int64_t out = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &out)) return std::nullopt;
  return out;
}

const std::string& WireKey(const FieldDescriptor* field) { return proto::FilesJsonKey(field); }


const FieldDescriptor* ParamField(const Descriptor* request, absl::string_view key) {
  if (request == nullptr) return nullptr;
  std::string name(key);
  if (const FieldDescriptor* f = request->FindFieldByName(name)) return f;
  for (int i = 0; i < request->field_count(); ++i) {
    if (WireKey(request->field(i)) == name) return request->field(i);
  }
  return nullptr;
}

JsonValue ParamsFromFlat(const FlatParams& flat, const Descriptor* request) {
  JsonValue params(rapidjson::kObjectType);
  // Indexed array elements ("ids[3]", "etags[0][part]") are placed in index order.
  std::map<std::string, std::map<long long, JsonValue>> indexed;
  for (const auto& [key, value] : flat) {
    std::string base;
    std::vector<std::string> subs;
    SplitKey(key, &base, &subs);
    if (base.empty()) continue;
    const FieldDescriptor* field = ParamField(request, base);
    bool repeated = field != nullptr && field->is_repeated() && !field->is_map();
    if (!subs.empty() && AllDigits(subs[0]) && (field == nullptr || !field->is_map())) {
      auto& slot = indexed[base][std::stoll(subs[0].substr(0, 15))];
      std::vector<std::string> rest(subs.begin() + 1, subs.end());
      InsertNested(&slot, rest, 0, value);
      continue;
    }
    JsonValue* existing = Member(params, base);
    if (subs.empty()) {
      if (existing == nullptr) {
        if (repeated) {
          JsonValue array(rapidjson::kArrayType);
          array.PushBack(JsonString(value), Alloc());
          params.AddMember(JsonString(base), std::move(array), Alloc());
        } else {
          params.AddMember(JsonString(base), JsonString(value), Alloc());
        }
      } else if (existing->IsArray()) {
        existing->PushBack(JsonString(value), Alloc());
      } else if (field == nullptr) {
        // A repeated unknown name: keep every value.
        JsonValue array(rapidjson::kArrayType);
        array.PushBack(std::move(*existing), Alloc());
        array.PushBack(JsonString(value), Alloc());
        *existing = std::move(array);
      } else {
        *existing = JsonString(value);  // last one wins for scalars
      }
      continue;
    }
    if (existing == nullptr) {
      params.AddMember(JsonString(base), JsonValue(), Alloc());
      existing = Member(params, base);
    }
    InsertNested(existing, subs, 0, value);
  }
  for (auto& [base, elements] : indexed) {
    JsonValue* existing = Member(params, base);
    if (existing == nullptr || !existing->IsArray()) {
      SetMember(params, base, JsonValue(rapidjson::kArrayType));
      existing = Member(params, base);
    }
    for (auto& [index, element] : elements) existing->PushBack(std::move(element), Alloc());
  }
  return params;
}

absl::StatusOr<JsonValue> ParamsFromJsonBody(absl::string_view body) {
  if (std::all_of(body.begin(), body.end(), [](char c) { return absl::ascii_isspace(c); })) {
    return JsonValue(rapidjson::kObjectType);
  }
  JsonDoc doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return ApiError("bad-request/invalid-body", "The request body is not a JSON object.");
  }
  return JsonValue(doc, Alloc());
}

bool CoerceScalar(const FieldDescriptor* field, JsonValue* value) {
  if (value->IsNull()) return true;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_UINT32: {
      auto v = AsInt64(*value);
      if (!v) return false;
      value->SetInt64(*v);
      return true;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      auto v = AsDouble(*value);
      if (!v) return false;
      value->SetDouble(*v);
      return true;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      auto v = AsBool(*value);
      if (!v) return false;
      value->SetBool(*v);
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      if (value->IsString()) return true;
      if (value->IsArray() && !field->is_repeated()) {
        // A list sent for a comma-separated string param ("ids").
        std::string joined;
        for (const auto& element : value->GetArray()) {
          auto text = AsText(element);
          if (!text) return false;
          if (!joined.empty()) joined += ',';
          joined += *text;
        }
        *value = JsonString(joined);
        return true;
      }
      auto text = AsText(*value);
      if (!text) return false;
      *value = JsonString(*text);
      return true;
    }
    default:
      return true;  // messages (Struct, nested models) and enums are taken as sent
  }
}

absl::Status CoerceParams(const Descriptor* request, JsonValue* params) {
  if (request == nullptr || !params->IsObject()) return absl::OkStatus();
  std::vector<std::string> bad;
  for (auto& member : params->GetObject()) {
    const FieldDescriptor* field =
        ParamField(request, absl::string_view(member.name.GetString(), member.name.GetStringLength()));
    if (field == nullptr || field->is_map()) continue;
    JsonValue& value = member.value;
    if (field->is_repeated()) {
      if (!value.IsArray() && !value.IsNull()) {
        JsonValue array(rapidjson::kArrayType);
        array.PushBack(std::move(value), Alloc());
        value = std::move(array);
      }
      if (value.IsArray()) {
        for (auto& element : value.GetArray()) {
          if (!CoerceScalar(field, &element)) bad.push_back(field->name());
        }
      }
      continue;
    }
    if (!CoerceScalar(field, &value)) bad.push_back(field->name());
  }
  if (!bad.empty()) {
    return ApiError("bad-request/request-params-invalid",
                    absl::StrCat("Invalid value for parameter(s): ", absl::StrJoin(bad, ", ")));
  }
  return absl::OkStatus();
}

absl::Status CheckRequired(const Descriptor* request, const JsonValue& params) {
  std::vector<std::string> missing;
  for (int i = 0; i < request->field_count(); ++i) {
    const FieldDescriptor* field = request->field(i);
    if (!proto::IsRequired(field)) continue;
    const JsonValue* value = Member(params, WireKey(field));
    if (value == nullptr) value = Member(params, field->name());
    if (value == nullptr || value->IsNull() || (value->IsString() && value->GetStringLength() == 0 &&
                                                field->name() != "path")) {
      missing.push_back(WireKey(field));
    }
  }
  if (missing.empty()) return absl::OkStatus();
  return ApiError("bad-request/request-params-required",
                  absl::StrCat(missing.size() == 1 ? "Missing required parameter: "
                                                   : "Missing required parameters: ",
                               absl::StrJoin(missing, ", ")));
}

}  // namespace filesgw::emulator
