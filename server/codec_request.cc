// Request message -> Files.com REST request: the path from the route's
// segments, then the other params as a query string (GET/HEAD/DELETE), a JSON
// body, or multipart/form-data when a bytes param is set (file uploads such
// as a user's avatar). Everything is read through reflection and the route.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client_core/path_util.h"
#include "client_core/status_reason.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/codec_internal.h"

namespace filesgw::server {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsSet(const Message& message, const FieldDescriptor* field) {
  const Reflection* reflection = message.GetReflection();
  if (field->is_repeated()) return reflection->FieldSize(message, field) > 0;
  // With presence: set. proto3 implicit scalars: non-default (default = not sent).
  return reflection->HasField(message, field);
}

// The text of a scalar value as it appears in a path, query or form field.
std::string ScalarText(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return codec_internal::DoubleText(rep ? r->GetRepeatedDouble(message, field, index)
                                            : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return codec_internal::DoubleText(rep ? r->GetRepeatedFloat(message, field, index)
                                            : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field)) ? "true"
                                                                                           : "false";
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          rep ? r->GetRepeatedEnumValue(message, field, index) : r->GetEnumValue(message, field);
      const auto* value = field->enum_type()->FindValueByNumber(number);
      return value != nullptr ? value->name() : absl::StrCat(number);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text = rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
      // Bytes outside multipart (a query string) travel as base64.
      if (field->type() == FieldDescriptor::TYPE_BYTES) return absl::Base64Escape(text);
      return text;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return std::string();
}

// Flattens params into (bracketed name, text) pairs, Rails style:
// `sort_by[username]`, `ids[0]` (query) or `ids[]` (form), `data[a][b]`.
class Flattener {
 public:
  using Emit = std::function<void(const std::string& name, std::string value)>;
  Flattener(bool indexed_arrays, Emit emit)
      : indexed_arrays_(indexed_arrays), emit_(std::move(emit)) {}

  void Field(const std::string& name, const Message& message, const FieldDescriptor* field) {
    const Reflection* r = message.GetReflection();
    if (field->is_map()) {
      std::vector<std::pair<std::string, const Message*>> entries;
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        const Message& entry = r->GetRepeatedMessage(message, field, i);
        entries.emplace_back(ScalarText(entry, entry.GetDescriptor()->map_key(), -1), &entry);
      }
      // Sorted for a deterministic query string (and cache keys upstream).
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [key, entry] : entries) {
        One(absl::StrCat(name, "[", key, "]"), *entry, entry->GetDescriptor()->map_value(), -1);
      }
      return;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(message, field); ++i) One(Element(name, i), message, field, i);
      return;
    }
    One(name, message, field, -1);
  }

 private:
  std::string Element(const std::string& name, int index) const {
    return indexed_arrays_ ? absl::StrCat(name, "[", index, "]") : absl::StrCat(name, "[]");
  }

  void One(const std::string& name, const Message& message, const FieldDescriptor* field,
           int index) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      emit_(name, ScalarText(message, field, index));
      return;
    }
    const Reflection* r = message.GetReflection();
    const Message& child = index >= 0 ? r->GetRepeatedMessage(message, field, index)
                                      : r->GetMessage(message, field);
    MessageValue(name, child);
  }

  void MessageValue(const std::string& name, const Message& message) {
    const auto* type = message.GetDescriptor();
    const Reflection* r = message.GetReflection();
    const std::string& type_name = type->full_name();
    if (type_name == "google.protobuf.Struct") {
      Field(name, message, type->FindFieldByNumber(1));
      return;
    }
    if (type_name == "google.protobuf.ListValue") {
      const FieldDescriptor* values = type->FindFieldByNumber(1);
      for (int i = 0; i < r->FieldSize(message, values); ++i) {
        MessageValue(Element(name, i), r->GetRepeatedMessage(message, values, i));
      }
      return;
    }
    if (type_name == "google.protobuf.Value") {
      for (int number = 2; number <= 6; ++number) {
        const FieldDescriptor* kind = type->FindFieldByNumber(number);
        if (r->HasField(message, kind)) return One(name, message, kind, -1);
      }
      emit_(name, std::string());  // null: the key with an empty value
      return;
    }
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(message, &fields);
    for (const FieldDescriptor* field : fields) {
      if (field->is_extension()) continue;
      if (proto::IsUnmappedFields(field)) {
        // Extra keys of a nested param, beside its other keys: name[key].
        const Message& bag = r->GetMessage(message, field);
        Field(name, bag, bag.GetDescriptor()->FindFieldByNumber(1));
        continue;
      }
      Field(absl::StrCat(name, "[", codec_internal::FilesKey(field), "]"), message, field);
    }
  }

  bool indexed_arrays_;
  Emit emit_;
};

// The request's unmapped_fields entries (key, map entry), sorted by key:
// extra params sent as top-level keys, for params the protos lack.
std::vector<std::pair<std::string, const Message*>> ExtraParams(const Route& route,
                                                                 const Message& request) {
  std::vector<std::pair<std::string, const Message*>> extra;
  if (route.unmapped == nullptr || !IsSet(request, route.unmapped)) return extra;
  const Message& bag = request.GetReflection()->GetMessage(request, route.unmapped);
  const FieldDescriptor* fields = bag.GetDescriptor()->FindFieldByNumber(1);
  const Reflection* r = bag.GetReflection();
  for (int i = 0; i < r->FieldSize(bag, fields); ++i) {
    const Message& entry = r->GetRepeatedMessage(bag, fields, i);
    extra.emplace_back(ScalarText(entry, entry.GetDescriptor()->map_key(), -1), &entry);
  }
  std::stable_sort(extra.begin(), extra.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return extra;
}

// An extra param may not be empty nor name a field the request has: set the
// field instead (two values for one param would leave Files.com to pick).
absl::Status CheckExtraParams(const Route& route, const Message& request) {
  for (const auto& [key, entry] : ExtraParams(route, request)) {
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(route.full_method, ": unmapped_fields has an empty key"));
    }
    const auto* type = route.request_type;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (field == route.unmapped) continue;
      if (codec_internal::FilesKey(field) == key || field->name() == key) {
        return absl::InvalidArgumentError(absl::StrCat(
            route.full_method, ": unmapped_fields key `", key, "` is a field of ",
            type->full_name(), "; set the field `", field->name(), "` instead"));
      }
    }
  }
  return absl::OkStatus();
}

std::string EncodeQuery(const Route& route, const Message& request) {
  std::string query;
  Flattener flattener(/*indexed_arrays=*/true, [&query](const std::string& name, std::string value) {
    query.push_back(query.empty() ? '?' : '&');
    codec_internal::PercentEncode(name, /*keep_slash=*/false, &query);
    query.push_back('=');
    codec_internal::PercentEncode(value, /*keep_slash=*/false, &query);
  });
  for (const FieldDescriptor* field : route.params) {
    if (IsSet(request, field)) flattener.Field(codec_internal::FilesKey(field), request, field);
  }
  for (const auto& [key, entry] : ExtraParams(route, request)) {
    flattener.Field(key, *entry, entry->GetDescriptor()->map_value());
  }
  return query;
}

std::string EncodeJsonBody(const Route& route, const Message& request) {
  rapidjson::StringBuffer buffer;
  codec_internal::JsonWriter writer(buffer);
  writer.StartObject();
  for (const FieldDescriptor* field : route.params) {
    if (!IsSet(request, field)) continue;
    const std::string& key = codec_internal::FilesKey(field);
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    codec_internal::WriteFieldJson(request, field, &writer);
  }
  for (const auto& [key, entry] : ExtraParams(route, request)) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    codec_internal::WriteFieldJson(*entry, entry->GetDescriptor()->map_value(), &writer);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool HasBytesParam(const Route& route, const Message& request) {
  for (const FieldDescriptor* field : route.params) {
    if (field->type() == FieldDescriptor::TYPE_BYTES && !field->is_map() && IsSet(request, field)) {
      return true;
    }
  }
  return false;
}

// Form field names are quoted; keep them on one line and inside the quotes.
std::string QuoteName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '"') out += "%22";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out.push_back(c);
  }
  return out;
}

struct Part {
  std::string name;
  std::string value;
  bool file = false;
};

EncodedRequest EncodeMultipart(const Route& route, const Message& request) {
  std::vector<Part> parts;
  Flattener flattener(/*indexed_arrays=*/false, [&parts](const std::string& name, std::string value) {
    parts.push_back(Part{name, std::move(value), false});
  });
  const Reflection* r = request.GetReflection();
  for (const FieldDescriptor* field : route.params) {
    if (!IsSet(request, field)) continue;
    const std::string& key = codec_internal::FilesKey(field);
    if (field->type() != FieldDescriptor::TYPE_BYTES) {
      flattener.Field(key, request, field);
    } else if (field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(request, field); ++i) {
        parts.push_back(Part{absl::StrCat(key, "[]"), r->GetRepeatedString(request, field, i), true});
      }
    } else {
      parts.push_back(Part{key, r->GetString(request, field), true});
    }
  }
  for (const auto& [key, entry] : ExtraParams(route, request)) {
    flattener.Field(key, *entry, entry->GetDescriptor()->map_value());
  }

  // A boundary derived from the content (deterministic, so requests are
  // reproducible) and checked against it, since the parts are arbitrary bytes.
  uint64_t hash = 1469598103934665603ull;
  for (const Part& part : parts) {
    for (unsigned char c : part.value) hash = (hash ^ c) * 1099511628211ull;
  }
  std::string boundary;
  for (uint64_t salt = 0;; ++salt) {
    boundary = absl::StrFormat("filesgw-%016x%04x", hash, salt);
    bool clash = false;
    for (const Part& part : parts) clash = clash || part.value.find(boundary) != std::string::npos;
    if (!clash) break;
  }

  EncodedRequest encoded;
  std::string& body = encoded.body;
  for (const Part& part : parts) {
    absl::StrAppend(&body, "--", boundary, "\r\nContent-Disposition: form-data; name=\"",
                    QuoteName(part.name), "\"");
    if (part.file) {
      // Files.com reads the upload from the part; the name is only a label.
      absl::StrAppend(&body, "; filename=\"", QuoteName(part.name),
                      "\"\r\nContent-Type: application/octet-stream");
    }
    absl::StrAppend(&body, "\r\n\r\n", part.value, "\r\n");
  }
  absl::StrAppend(&body, "--", boundary, "--\r\n");
  encoded.content_type = absl::StrCat("multipart/form-data; boundary=", boundary);
  return encoded;
}

// HTTP clients fold "." and ".." path segments (RFC 3986 5.2.4; libcurl
// does), so a path param such as "../users/5" would send the request to
// another endpoint (DeleteFile -> DELETE /users/5). Such segments go out with
// their dots percent-encoded: a name for Files.com to judge, never a step.
void EscapeDotSegments(std::string* path) {
  std::string out;
  out.reserve(path->size());
  size_t pos = 0;
  while (true) {
    const size_t slash = path->find('/', pos);
    const size_t end = slash == std::string::npos ? path->size() : slash;
    const std::string_view segment(path->data() + pos, end - pos);
    if (segment == ".") {
      out += "%2E";
    } else if (segment == "..") {
      out += "%2E%2E";
    } else {
      out.append(segment);
    }
    if (slash == std::string::npos) break;
    out.push_back('/');
    pos = slash + 1;
  }
  *path = std::move(out);
}

}  // namespace

namespace codec_internal {

void PercentEncode(std::string_view in, bool keep_slash, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->reserve(out->size() + in.size());
  for (unsigned char c : in) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

}  // namespace codec_internal

// Refused here, before anything is sent, with a reason the caller can act on:
// past a few KiB a front end answers 414, and past 1 MiB curl fails with a
// misleading "Out of memory".
absl::Status CheckRequestUrlSize(std::string_view what, std::string_view path_and_query) {
  if (path_and_query.size() <= kMaxPathAndQueryBytes) return absl::OkStatus();
  return client_core::WithReason(
      absl::InvalidArgumentError(absl::StrCat(
          absl::string_view(what.data(), what.size()), ": the request URL would be ",
          path_and_query.size(),
          " bytes (path and query string, percent-encoded), over the gateway's limit of ",
          kMaxPathAndQueryBytes, "; shorten the path, the cursor or the filters")),
      "REQUEST_TOO_LARGE");
}

absl::StatusOr<EncodedRequest> EncodeRequest(const Route& route, const Message& request) {
  if (request.GetDescriptor() != route.request_type) {
    return absl::InvalidArgumentError(absl::StrCat(route.full_method, " takes ",
                                                   route.request_type->full_name(), ", not ",
                                                   request.GetDescriptor()->full_name()));
  }
  std::string path;
  for (const PathSegment& segment : route.path) {
    path += segment.literal;
    if (segment.field == nullptr) continue;
    const FieldDescriptor* field = segment.field;
    std::string text;
    if (IsSet(request, field)) text = ScalarText(request, field, -1);
    if (text.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          route.full_method, ": path parameter `", field->name(), "` is required"));
    }
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      // A Files.com path: refused rather than sent with ".." or NUL, which
      // Files.com (and Normalize) would drop, reaching another file.
      if (absl::Status checked = client_core::CheckRemotePath(text); !checked.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(route.full_method, ": `", field->name(), "`: ", checked.message()));
      }
    }
    // Files.com paths hold slashes; ids and other params are one segment.
    codec_internal::PercentEncode(text, field->type() == FieldDescriptor::TYPE_STRING, &path);
  }
  EscapeDotSegments(&path);
  if (absl::Status extra = CheckExtraParams(route, request); !extra.ok()) return extra;

  EncodedRequest encoded;
  if (route.params_in_query) {
    encoded.path_and_query = path + EncodeQuery(route, request);
    absl::Status size = CheckRequestUrlSize(route.full_method, encoded.path_and_query);
    if (!size.ok()) return size;
    return encoded;
  }
  if (absl::Status size = CheckRequestUrlSize(route.full_method, path); !size.ok()) return size;
  if (HasBytesParam(route, request)) {
    encoded = EncodeMultipart(route, request);
  } else {
    encoded.body = EncodeJsonBody(route, request);
    encoded.content_type = "application/json";
  }
  encoded.path_and_query = std::move(path);
  return encoded;
}

}  // namespace filesgw::server
