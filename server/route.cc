#include "server/route.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "proto/api_pool.h"

namespace filesgw::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

// List RPCs answer `<Rpc>Response { repeated Model items = 1; string next_cursor = 2; }`;
// the REST answer is then a bare JSON array (and the cursor comes from a header).
ResponseKind KindOf(const MethodDescriptor* method, const FieldDescriptor** items) {
  const Descriptor* output = method->output_type();
  *items = nullptr;
  if (output->full_name() == "google.protobuf.Empty") return ResponseKind::kEmpty;
  if (output->name() != absl::StrCat(method->name(), "Response")) return ResponseKind::kMessage;
  const FieldDescriptor* field = output->FindFieldByName("items");
  if (field == nullptr || !field->is_repeated() ||
      field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_map()) {
    return ResponseKind::kMessage;
  }
  *items = field;
  const FieldDescriptor* cursor = output->FindFieldByName("next_cursor");
  const bool paginated = cursor != nullptr && !cursor->is_repeated() &&
                         cursor->type() == FieldDescriptor::TYPE_STRING;
  return paginated ? ResponseKind::kPaginatedList : ResponseKind::kList;
}

}  // namespace

absl::StatusOr<Route> BuildRoute(const MethodDescriptor* method) {
  if (method == nullptr) return absl::InvalidArgumentError("BuildRoute: null method");
  const auto* rest = proto::RestBindingOf(method);
  if (rest == nullptr || rest->method().empty() || rest->path().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(method->full_name(), ": no (files.v1.rest) binding"));
  }
  Route route;
  route.method = method;
  route.full_method = absl::StrCat("/", method->service()->full_name(), "/", method->name());
  route.http_method = rest->method();
  route.path_template = rest->path();
  route.request_type = method->input_type();
  route.response_type = method->output_type();

  const absl::string_view path = route.path_template;
  absl::string_view::size_type pos = 0;
  while (pos < path.size()) {
    const auto open = path.find('{', pos);
    if (open == absl::string_view::npos) {
      route.path.push_back(PathSegment{std::string(path.substr(pos)), nullptr});
      break;
    }
    const auto close = path.find('}', open);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(method->full_name(), ": unterminated '{' in path ", path));
    }
    const std::string name(path.substr(open + 1, close - open - 1));
    const FieldDescriptor* field = route.request_type->FindFieldByName(name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": path ", path,
                                                     " names {", name, "}, which ",
                                                     route.request_type->full_name(),
                                                     " does not have"));
    }
    if (field->is_repeated() || field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": path param {",
                                                     name, "} is not a scalar field"));
    }
    route.path.push_back(PathSegment{std::string(path.substr(pos, open - pos)), field});
    pos = close + 1;
  }

  for (int i = 0; i < route.request_type->field_count(); ++i) {
    const FieldDescriptor* field = route.request_type->field(i);
    bool in_path = false;
    for (const auto& segment : route.path) in_path = in_path || segment.field == field;
    if (proto::IsUnmappedFields(field)) {
      route.unmapped = field;
    } else if (!in_path) {
      route.params.push_back(field);
    }
  }

  const std::string& verb = route.http_method;
  route.params_in_query = verb == "GET" || verb == "HEAD" || verb == "DELETE";
  route.idempotent = route.params_in_query || verb == "PUT";
  // Logging in must not carry a (possibly different) API key or session along.
  route.send_auth = !(verb == "POST" && route.path_template == "/sessions");

  const FieldDescriptor* items = nullptr;
  route.response_kind = KindOf(method, &items);
  if (items != nullptr) route.item_type = items->message_type();
  return route;
}

}  // namespace filesgw::server
