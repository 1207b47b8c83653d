#include "emulator/sample.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "emulator/params.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// 2024-01-15T10:00:00Z: demo timestamps sit around here, one hour per id.
constexpr int64_t kBaseTime = 1705312800;
constexpr int kMaxDepth = 2;

bool Has(absl::string_view name, absl::string_view part) { return absl::StrContains(name, part); }
bool Ends(absl::string_view name, absl::string_view suffix) { return absl::EndsWith(name, suffix); }

bool IsTimeName(absl::string_view n) {
  return Ends(n, "_at") || Ends(n, "_until") || n == "expires" || Ends(n, "_expires") ||
         Ends(n, "_date") || n == "date" || Ends(n, "_time") || n == "expires_at" ||
         Ends(n, "_on") || n == "lockout_expires" || n == "start" || n == "end";
}

JsonValue SampleString(absl::string_view n, const Descriptor* model, int64_t id,
                       absl::string_view hint) {
  std::string who = hint.empty() ? absl::StrCat("user", id) : std::string(hint);
  if (Has(n, "email")) return JsonString(absl::StrCat(who, "@example.com"));
  if (n == "username" || Ends(n, "_username") || n == "user_name") return JsonString(who);
  if (IsTimeName(n)) return JsonString(Rfc3339(kBaseTime + id * 3600));
  if (n == "time_zone") return JsonString("Pacific Time (US & Canada)");
  if (n == "language" || n == "locale") return JsonString("en");
  if (n == "path" || n == "destination" || n == "folder" || Ends(n, "_folder")) {
    return JsonString("demo");
  }
  if (Ends(n, "_path") || Ends(n, "_paths")) return JsonString("demo/sample.txt");
  if (n == "url" || Ends(n, "_url") || Ends(n, "_uri") || Has(n, "webhook")) {
    return JsonString(absl::StrCat("https://example.com/", model->name(), "/", id));
  }
  if (Has(n, "ip") && (Ends(n, "ip") || Ends(n, "ips") || Has(n, "ip_address"))) {
    return JsonString("127.0.0.1");
  }
  if (Has(n, "host") || Has(n, "domain")) return JsonString("files.example.com");
  if (Has(n, "color")) return JsonString("#0066cc");
  if (n == "name" || Ends(n, "_name") || n == "title" || n == "subject") {
    if (!hint.empty()) return JsonString(hint);
    return JsonString(absl::StrCat(model->name(), " ", id));
  }
  if (n == "status" || Ends(n, "_status")) return JsonString("active");
  if (Has(n, "md5")) return JsonString("d41d8cd98f00b204e9800998ecf8427e");
  if (Has(n, "sha256")) {
    return JsonString("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
  if (Has(n, "crc32")) return JsonString("00000000");
  if (Has(n, "key") || Has(n, "token") || Has(n, "secret")) {
    return JsonString(absl::StrCat("emulated-", n, "-", id));
  }
  return JsonString(absl::StrCat(n, " ", id));
}

}  // namespace

bool IsSecretField(absl::string_view key) {
  return key == "password" || key == "password_confirmation" || key == "change_password" ||
         key == "change_password_confirmation" || key == "imported_password_hash" ||
         key == "otp";
}

std::string Rfc3339(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

JsonValue SampleValue(const FieldDescriptor* field, int64_t id, absl::string_view hint,
                      int depth) {
  const std::string& n = WireKey(field);
  if (IsSecretField(n) || field->type() == FieldDescriptor::TYPE_BYTES) return JsonValue();
  // The gateway's own field for keys the protos lack: never a Files.com key.
  if (proto::IsUnmappedFields(field)) return JsonValue();
  if (field->is_map()) return JsonValue(rapidjson::kObjectType);
  JsonValue one;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_UINT32:
      if (n == "id") one.SetInt64(id);
      else if (n == "workspace_id") one.SetInt64(0);  // the default workspace
      else if (Ends(n, "_id") || Ends(n, "_ids")) one.SetInt64(1);
      else if (Has(n, "size") || Has(n, "bytes")) one.SetInt64(1024 * id);
      else one.SetInt64(id);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      one.SetDouble(1.5 * static_cast<double>(id));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      one.SetBool(n == "enabled" || n == "active" || Ends(n, "_enabled") || Has(n, "permission"));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      one.SetInt(0);
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      if (n == "id") {
        one = JsonString(absl::StrCat(id));
      } else {
        one = SampleString(n, field->containing_type(), id, hint);
      }
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Descriptor* type = field->message_type();
      if (type->file()->package() != "files.v1" || type->full_name() == "files.v1.Auto") {
        one.SetObject();  // google.protobuf.Struct, files.v1.Auto: free-form, empty
      } else if (depth >= kMaxDepth) {
        return JsonValue();
      } else {
        one.SetObject();
        for (int i = 0; i < type->field_count(); ++i) {
          JsonValue v = SampleValue(type->field(i), id, hint, depth + 1);
          if (!v.IsNull()) SetMember(one, WireKey(type->field(i)), std::move(v));
        }
      }
      break;
    }
  }
  if (!field->is_repeated()) return one;
  JsonValue array(rapidjson::kArrayType);
  array.PushBack(std::move(one), Alloc());
  return array;
}

JsonValue SampleRecord(const Descriptor* model, int64_t id, absl::string_view hint) {
  JsonValue record(rapidjson::kObjectType);
  for (int i = 0; i < model->field_count(); ++i) {
    JsonValue v = SampleValue(model->field(i), id, hint, 0);
    if (!v.IsNull()) SetMember(record, WireKey(model->field(i)), std::move(v));
  }
  return record;
}

}  // namespace filesgw::emulator
