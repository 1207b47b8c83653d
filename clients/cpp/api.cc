#include "clients/cpp/api.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "clients/cpp/errors.h"
#include "clients/cpp/internal/names.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "proto/api_pool.h"

namespace filesgw::client {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Index {
  std::map<std::string, std::map<std::string, Method, std::less<>>, std::less<>> resources;
  std::map<std::string, std::string, std::less<>> attributes;  // "users" / "user" -> "User"
  std::vector<std::string> names;
};

using names::PathParams;
using names::Plural;
using names::SnakeCase;

const Index& GetIndex() {
  static const Index* index = [] {
    auto* idx = new Index;
    for (const auto* service : proto::Api().services) {
      for (int i = 0; i < service->method_count(); ++i) {
        const auto* md = service->method(i);
        const auto* sdk = proto::SdkMethodOf(md);
        const auto* rest = proto::RestBindingOf(md);
        if (sdk == nullptr || rest == nullptr || md->client_streaming() || md->server_streaming()) {
          continue;
        }
        Method m;
        m.resource = sdk->resource();
        m.action = sdk->action();
        m.full_method = "/" + service->full_name() + "/" + md->name();
        m.descriptor = md;
        m.input = md->input_type();
        m.output = md->output_type();
        m.path_params = PathParams(rest->path());
        m.paginated = sdk->paginated();
        m.http_method = rest->method();
        m.http_path = rest->path();
        idx->resources[m.resource][m.action] = std::move(m);
      }
    }
    std::map<std::string, std::set<std::string>> claims;
    for (const auto& [name, actions] : idx->resources) {
      idx->names.push_back(name);
      std::string single = SnakeCase(name);
      claims[single].insert(name);
      claims[Plural(single)].insert(name);
    }
    // A name two resources could claim belongs to neither.
    for (const auto& [attr, owners] : claims) {
      if (owners.size() == 1) idx->attributes[attr] = *owners.begin();
    }
    return idx;
  }();
  return *index;
}

[[noreturn]] void Invalid(const std::string& where, const std::string& what) {
  ThrowError("InvalidParameterError", where + ": " + what);
}

std::string ScalarText(const Value& v, const std::string& where) {
  if (v.is_string()) return v.as_string();
  if (v.is_bool()) return v.as_bool() ? "true" : "false";
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_double()) {
    double d = v.as_double();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
    std::string json = v.ToJson();
    return json;
  }
  Invalid(where, "expected a string or a scalar, got " + v.ToJson());
}

int64_t IntegerOf(const Value& v, const std::string& where) {
  if (v.is_int()) return v.as_int();
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() &&
      std::fabs(v.as_double()) < 9.2e18) {
    return static_cast<int64_t>(v.as_double());
  }
  if (v.is_string() && !v.as_string().empty()) {
    errno = 0;
    char* end = nullptr;
    long long n = std::strtoll(v.as_string().c_str(), &end, 10);
    if (errno == 0 && end != nullptr && *end == '\0') return n;
  }
  Invalid(where, "expected an integer, got " + v.ToJson());
}

double DoubleOf(const Value& v, const std::string& where) {
  if (v.is_number()) return v.as_double();
  if (v.is_string() && !v.as_string().empty()) {
    char* end = nullptr;
    double d = std::strtod(v.as_string().c_str(), &end);
    if (end != nullptr && *end == '\0') return d;
  }
  Invalid(where, "expected a number, got " + v.ToJson());
}

bool BoolOf(const Value& v, const std::string& where) {
  if (v.is_bool()) return v.as_bool();
  if (v.is_int() && (v.as_int() == 0 || v.as_int() == 1)) return v.as_int() == 1;
  if (v.is_string() && (v.as_string() == "true" || v.as_string() == "false")) {
    return v.as_string() == "true";
  }
  Invalid(where, "expected a boolean, got " + v.ToJson());
}

void Fill(Message* message, const Params& params, const std::string& where);

// One value of a field (an element for repeated fields): added when repeated.
void SetOne(Message* message, const FieldDescriptor* fd, const Value& v, const std::string& where) {
  const Reflection* r = message->GetReflection();
  const bool rep = fd->is_repeated();
  switch (fd->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int64_t n = IntegerOf(v, where);
      if (n < INT32_MIN || n > INT32_MAX) Invalid(where, "out of range for int32");
      rep ? r->AddInt32(message, fd, static_cast<int32_t>(n))
          : r->SetInt32(message, fd, static_cast<int32_t>(n));
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t n = IntegerOf(v, where);
      rep ? r->AddInt64(message, fd, n) : r->SetInt64(message, fd, n);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      int64_t n = IntegerOf(v, where);
      if (n < 0 || n > UINT32_MAX) Invalid(where, "out of range for uint32");
      rep ? r->AddUInt32(message, fd, static_cast<uint32_t>(n))
          : r->SetUInt32(message, fd, static_cast<uint32_t>(n));
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      int64_t n = IntegerOf(v, where);
      if (n < 0) Invalid(where, "out of range for uint64");
      rep ? r->AddUInt64(message, fd, static_cast<uint64_t>(n))
          : r->SetUInt64(message, fd, static_cast<uint64_t>(n));
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double d = DoubleOf(v, where);
      rep ? r->AddDouble(message, fd, d) : r->SetDouble(message, fd, d);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      auto f = static_cast<float>(DoubleOf(v, where));
      rep ? r->AddFloat(message, fd, f) : r->SetFloat(message, fd, f);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool b = BoolOf(v, where);
      rep ? r->AddBool(message, fd, b) : r->SetBool(message, fd, b);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = fd->type() == FieldDescriptor::TYPE_BYTES && v.is_string()
                          ? v.as_string()
                          : ScalarText(v, where);
      rep ? r->AddString(message, fd, std::move(s)) : r->SetString(message, fd, std::move(s));
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = fd->enum_type();
      const google::protobuf::EnumValueDescriptor* ev = nullptr;
      if (v.is_string()) {
        ev = e->FindValueByName(v.as_string());
      } else if (v.is_int()) {
        ev = e->FindValueByNumber(static_cast<int>(v.as_int()));
      }
      if (ev == nullptr) Invalid(where, "no value " + v.ToJson() + " in " + e->full_name());
      rep ? r->AddEnum(message, fd, ev) : r->SetEnum(message, fd, ev);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* sub = rep ? r->AddMessage(message, fd) : r->MutableMessage(message, fd);
      const std::string& type = fd->message_type()->full_name();
      if (type == "google.protobuf.Struct" || type == "google.protobuf.Value" ||
          type == "google.protobuf.ListValue") {
        if (type == "google.protobuf.Struct" && !v.is_object()) {
          Invalid(where, "expected an object, got " + v.ToJson());
        }
        if (!google::protobuf::util::JsonStringToMessage(v.ToJson(), sub).ok()) {
          Invalid(where, "cannot hold " + v.ToJson());
        }
      } else if (v.is_object()) {
        Fill(sub, v.as_object(), where);
      } else {
        Invalid(where, "expected an object for " + type + ", got " + v.ToJson());
      }
      break;
    }
  }
}

void SetField(Message* message, const FieldDescriptor* fd, const Value& v,
              const std::string& where) {
  if (v.is_null()) return;
  const Reflection* r = message->GetReflection();
  if (fd->is_map()) {
    if (!v.is_object()) Invalid(where, "expected an object, got " + v.ToJson());
    const auto* entry = fd->message_type();
    for (const auto& [key, item] : v.as_object()) {
      if (item.is_null()) continue;
      Message* e = r->AddMessage(message, fd);
      SetOne(e, entry->map_key(), Value(key), where + "." + key);
      SetOne(e, entry->map_value(), item, where + "." + key);
    }
  } else if (fd->is_repeated()) {
    if (v.is_array()) {
      for (const auto& item : v.as_array()) SetOne(message, fd, item, where);
    } else {
      SetOne(message, fd, v, where);
    }
  } else {
    SetOne(message, fd, v, where);
  }
}

void Fill(Message* message, const Params& params, const std::string& where) {
  for (const auto& [key, value] : params) {
    const FieldDescriptor* fd = FieldForKey(message->GetDescriptor(), key);
    if (fd == nullptr) {
      Invalid(where, "unknown parameter \"" + key + "\" for " +
                         message->GetDescriptor()->full_name());
    }
    SetField(message, fd, value, where + "." + key);
  }
}

Value ScalarValue(const Message& m, const FieldDescriptor* fd, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (fd->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, fd, index) : r->GetInt32(m, fd);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(m, fd, index) : r->GetInt64(m, fd);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, fd, index) : r->GetUInt32(m, fd);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<int64_t>(rep ? r->GetRepeatedUInt64(m, fd, index) : r->GetUInt64(m, fd));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, fd, index) : r->GetDouble(m, fd);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return static_cast<double>(rep ? r->GetRepeatedFloat(m, fd, index) : r->GetFloat(m, fd));
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, fd, index) : r->GetBool(m, fd);
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, fd, index) : r->GetString(m, fd);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, fd, index) : r->GetEnum(m, fd))->name();
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(m, fd, index) : r->GetMessage(m, fd);
      const std::string& type = fd->message_type()->full_name();
      if (type == "google.protobuf.Struct" || type == "google.protobuf.Value" ||
          type == "google.protobuf.ListValue") {
        std::string json;
        if (google::protobuf::util::MessageToJsonString(sub, &json).ok()) {
          return Value::FromJson(json);
        }
        return Value();
      }
      return MessageToValue(sub);
    }
  }
  return Value();
}

bool FieldIsSet(const Message& m, const FieldDescriptor* fd) {
  const Reflection* r = m.GetReflection();
  if (fd->is_repeated()) return r->FieldSize(m, fd) > 0;
  if (fd->has_presence()) return r->HasField(m, fd);
  // Implicit presence: proto3 cannot tell a zero value from an absent one.
  return true;
}

Value FieldValue(const Message& m, const FieldDescriptor* fd) {
  const Reflection* r = m.GetReflection();
  if (fd->is_map()) {
    Params out;
    const auto* entry = fd->message_type();
    for (int i = 0; i < r->FieldSize(m, fd); ++i) {
      const Message& e = r->GetRepeatedMessage(m, fd, i);
      Value key = ScalarValue(e, entry->map_key(), -1);
      out[key.is_string() ? key.as_string() : key.ToJson()] = ScalarValue(e, entry->map_value(), -1);
    }
    return out;
  }
  if (fd->is_repeated()) {
    Array out;
    for (int i = 0; i < r->FieldSize(m, fd); ++i) out.push_back(ScalarValue(m, fd, i));
    return out;
  }
  return ScalarValue(m, fd, -1);
}

}  // namespace

bool Method::ReturnsNothing() const { return output->full_name() == "google.protobuf.Empty"; }

const std::vector<std::string>& Resources() { return GetIndex().names; }

std::optional<std::string> ResolveResource(std::string_view name) {
  const Index& idx = GetIndex();
  if (idx.resources.find(name) != idx.resources.end()) return std::string(name);
  auto it = idx.attributes.find(name);
  if (it == idx.attributes.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ActionsOf(std::string_view resource) {
  std::vector<std::string> out;
  auto name = ResolveResource(resource);
  if (!name) return out;
  for (const auto& [action, m] : GetIndex().resources.find(*name)->second) out.push_back(action);
  return out;
}

const Method* LookupMethod(std::string_view resource, std::string_view action) {
  auto name = ResolveResource(resource);
  if (!name) return nullptr;
  const auto& actions = GetIndex().resources.find(*name)->second;
  auto it = actions.find(action);
  return it == actions.end() ? nullptr : &it->second;
}

const FieldDescriptor* FieldForKey(const Descriptor* type, std::string_view key) {
  for (int i = 0; i < type->field_count(); ++i) {
    const auto* fd = type->field(i);
    if (proto::FilesJsonKey(fd) == key) return fd;
  }
  return type->FindFieldByName(std::string(key));
}

std::unique_ptr<Message> BuildRequest(const Method& method, const std::vector<Value>& args,
                                      const Params& params) {
  const std::string where = method.resource + "." + method.action;
  if (args.size() > method.path_params.size()) {
    std::string names;
    for (const auto& p : method.path_params) names += (names.empty() ? "" : ", ") + p;
    Invalid(where, "takes " + std::to_string(method.path_params.size()) +
                       " positional argument(s) (" + names + ") and params, got " +
                       std::to_string(args.size()));
  }
  std::unique_ptr<Message> request(proto::Prototype(method.input)->New());
  Fill(request.get(), params, where);
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].is_null()) continue;
    const FieldDescriptor* fd = FieldForKey(method.input, method.path_params[i]);
    if (fd == nullptr) Invalid(where, "no request field " + method.path_params[i]);
    SetField(request.get(), fd, args[i], where + "." + method.path_params[i]);
  }
  return request;
}

Value MessageToValue(const Message& message) {
  Params out;
  const Descriptor* type = message.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const auto* fd = type->field(i);
    if (!FieldIsSet(message, fd)) continue;
    out[proto::FilesJsonKey(fd)] = FieldValue(message, fd);
  }
  return out;
}

const FieldDescriptor* Model::Field(std::string_view key) const {
  if (message_ == nullptr) return nullptr;
  return FieldForKey(message_->GetDescriptor(), key);
}

bool Model::Has(std::string_view key) const {
  const auto* fd = Field(key);
  if (fd == nullptr) return false;
  if (fd->is_repeated()) return message_->GetReflection()->FieldSize(*message_, fd) > 0;
  return !fd->has_presence() || message_->GetReflection()->HasField(*message_, fd);
}

Value Model::Get(std::string_view key) const {
  const auto* fd = Field(key);
  if (fd == nullptr || !Has(key)) return Value();
  return FieldValue(*message_, fd);
}

std::string Model::GetString(std::string_view key) const {
  Value v = Get(key);
  return v.is_string() ? v.as_string() : std::string();
}

int64_t Model::GetInt(std::string_view key) const {
  Value v = Get(key);
  return v.is_int() ? v.as_int() : 0;
}

bool Model::GetBool(std::string_view key) const {
  Value v = Get(key);
  return v.is_bool() && v.as_bool();
}

Model Model::GetModel(std::string_view key) const {
  const auto* fd = Field(key);
  if (fd == nullptr || fd->is_repeated() || fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
      !message_->GetReflection()->HasField(*message_, fd)) {
    return Model();
  }
  // Shares ownership of the parent, which owns the sub-message.
  std::shared_ptr<const Message> sub(message_, &message_->GetReflection()->GetMessage(*message_, fd));
  return Model(std::move(sub));
}

std::vector<Model> Model::GetModels(std::string_view key) const {
  std::vector<Model> out;
  const auto* fd = Field(key);
  if (fd == nullptr || !fd->is_repeated() || fd->is_map() ||
      fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return out;
  }
  const Reflection* r = message_->GetReflection();
  for (int i = 0; i < r->FieldSize(*message_, fd); ++i) {
    out.emplace_back(std::shared_ptr<const Message>(message_, &r->GetRepeatedMessage(*message_, fd, i)));
  }
  return out;
}

Params Model::ToMap() const {
  if (message_ == nullptr) return {};
  return MessageToValue(*message_).as_object();
}

std::string Model::ToJson() const { return Value(ToMap()).ToJson(); }

}  // namespace filesgw::client
