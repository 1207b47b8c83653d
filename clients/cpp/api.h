// The Files.com API as the C++ client sees it, read from the descriptors
// embedded at build time (proto/api_pool.h): every RPC that carries the
// (files.v1.sdk) and (files.v1.rest) options is an SDK action of a resource
// ("User" / "list" -> /files.v1.UserService/ListUsers). Nothing here is written
// per resource; requests and results are dynamic messages.
//
//   const Method* m = LookupMethod("users", "find");   // "User", "user" too
//   auto request = BuildRequest(*m, {42}, {});          // FindUserRequest{id: 42}
//   Model user(std::move(response));  user.GetString("username");
#ifndef FILESGW_CLIENTS_CPP_API_H_
#define FILESGW_CLIENTS_CPP_API_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/cpp/value.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace filesgw::client {

// One RPC seen as an SDK action.
struct Method {
  std::string resource;     // SDK class, e.g. "User"
  std::string action;       // SDK function, e.g. "list", "find", "unlock"
  std::string full_method;  // "/files.v1.UserService/ListUsers"
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  const google::protobuf::Descriptor* input = nullptr;
  const google::protobuf::Descriptor* output = nullptr;
  std::vector<std::string> path_params;  // request fields the REST path names, in order
  bool paginated = false;                // answers {items, next_cursor}
  std::string http_method;               // "GET", ...
  std::string http_path;                 // "/users/{id}"
  bool ReturnsNothing() const;           // google.protobuf.Empty
};

// The SDK resource names ("ActionLog", ..., "User", ...), sorted.
const std::vector<std::string>& Resources();
// "User", "users" or "user" -> "User"; nullopt for no resource.
std::optional<std::string> ResolveResource(std::string_view name);
// The actions of a resource, sorted ("create", "delete", "find", "list", ...).
std::vector<std::string> ActionsOf(std::string_view resource);
// nullptr when the resource or the action does not exist.
const Method* LookupMethod(std::string_view resource, std::string_view action);

// The request of `method`: `args` fill its path params in order, then
// `params` (Files.com keys) fill the rest. Coercions: integers from numbers
// and numeric strings, booleans from "true"/"false"/0/1, map<string,string>
// values (sort_by, filter, ...) from any scalar, Struct fields from objects,
// enums from their value names. Throws InvalidParameterError for an unknown
// key or a value that does not fit, before anything is sent.
std::unique_ptr<google::protobuf::Message> BuildRequest(const Method& method,
                                                        const std::vector<Value>& args,
                                                        const Params& params);

// A result: a Files.com object (User, File, ...) read by Files.com key.
class Model {
 public:
  Model() = default;
  explicit Model(std::shared_ptr<const google::protobuf::Message> message)
      : message_(std::move(message)) {}

  bool valid() const { return message_ != nullptr; }
  // True when the field is set (present for optional scalars and messages,
  // non-empty for repeated fields and maps).
  bool Has(std::string_view key) const;
  // Null when unset or unknown; int64 for integers, double, bool, string,
  // enum value names, objects for messages, maps and Struct fields, arrays.
  Value Get(std::string_view key) const;
  std::string GetString(std::string_view key) const;  // "" unless a string
  int64_t GetInt(std::string_view key) const;        // 0 unless an integer
  bool GetBool(std::string_view key) const;           // false unless a boolean
  Model GetModel(std::string_view key) const;         // a sub-message
  std::vector<Model> GetModels(std::string_view key) const;  // a repeated message field
  // Every set field by Files.com key, and the same as JSON.
  Params ToMap() const;
  std::string ToJson() const;
  // The dynamic message (of the pool in proto/api_pool.h).
  const google::protobuf::Message& proto() const { return *message_; }

 private:
  const google::protobuf::FieldDescriptor* Field(std::string_view key) const;
  std::shared_ptr<const google::protobuf::Message> message_;
};

// A message field by Files.com key: the json_name when the proto sets one, else the name.
const google::protobuf::FieldDescriptor* FieldForKey(const google::protobuf::Descriptor* type,
                                                     std::string_view key);
// Every set field of a message as a Value object (Files.com keys).
Value MessageToValue(const google::protobuf::Message& message);

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_API_H_
