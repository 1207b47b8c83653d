// One RPC's REST mapping, derived from its descriptor's (files.v1.rest) and
// (files.v1.sdk) options. Built once at start-up for every method; no
// per-resource code exists anywhere.
#ifndef FILESGW_SERVER_ROUTE_H_
#define FILESGW_SERVER_ROUTE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace filesgw::server {

enum class ResponseKind {
  kEmpty,          // google.protobuf.Empty: the REST answer has no body
  kMessage,        // the REST answer is one JSON object of the response type
  kList,           // a JSON array, wrapped as `items` (field 1)
  kPaginatedList,  // as kList, plus `next_cursor` (field 2) from X-Files-Cursor
};

struct PathSegment {
  std::string literal;                                  // text before the field (may be empty)
  const google::protobuf::FieldDescriptor* field = nullptr;  // null for the trailing literal
};

struct Route {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string full_method;  // "/files.v1.UserService/FindUser"
  std::string http_method;  // "GET", ...
  std::string path_template;  // "/users/{id}"
  std::vector<PathSegment> path;
  // Request fields that are not path params (sent in the query or the body).
  std::vector<const google::protobuf::FieldDescriptor*> params;
  // The request's `unmapped_fields` (extra params sent as top-level keys), or null.
  const google::protobuf::FieldDescriptor* unmapped = nullptr;
  bool params_in_query = false;  // GET/HEAD/DELETE
  bool idempotent = false;       // GET/HEAD/PUT/DELETE
  bool send_auth = true;         // false for POST /sessions (login)
  ResponseKind response_kind = ResponseKind::kMessage;
  const google::protobuf::Descriptor* request_type = nullptr;
  const google::protobuf::Descriptor* response_type = nullptr;
  // For kList / kPaginatedList: the element type of `items`.
  const google::protobuf::Descriptor* item_type = nullptr;
};

// Fails (INVALID_ARGUMENT, naming the method) when the binding is missing or
// names a field the request does not have.
absl::StatusOr<Route> BuildRoute(const google::protobuf::MethodDescriptor* method);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_ROUTE_H_
