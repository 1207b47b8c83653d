// The emulator's routing table: every RPC's (files.v1.rest) binding, matched by
// HTTP method and path template. Built from the descriptors in proto/api_pool.h,
// so a new resource in the protos is routed without code here.
//
//   const Router& router = Router::Default();
//   if (auto m = router.Match("GET", "/users/7")) {
//     m->route->method->full_name();  // "files.v1.UserService.FindUser"
//     m->path_params;                 // {{"id", "7"}}
//   }
#ifndef FILESGW_EMULATOR_ROUTER_H_
#define FILESGW_EMULATOR_ROUTER_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "files/v1/options.pb.h"
#include "google/protobuf/descriptor.h"

namespace filesgw::emulator {

enum class ResponseShape {
  kEmpty,  // google.protobuf.Empty: no body
  kModel,  // one JSON object
  kList,   // a JSON array (response message with `repeated items`)
};

struct Route {
  const google::protobuf::MethodDescriptor* method = nullptr;
  files::v1::RestBinding rest;
  files::v1::SdkMethod sdk;
  // "/users/{id}/unlock" as {"users", "{id}", "unlock"}.
  std::vector<std::string> segments;
  ResponseShape shape = ResponseShape::kModel;
  // The object type answered: the response message, or the element of `items`.
  const google::protobuf::Descriptor* model = nullptr;
  // The placeholder's name ("id", "path", "user_id"); empty when none.
  std::string path_param;
  bool path_param_is_rest = false;  // "{path}": the rest of the path, slashes included
};

struct RouteMatch {
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> path_params;  // percent-decoded
};

class Router {
 public:
  // Every binding of proto::Api(); built once.
  static const Router& Default();

  explicit Router(std::vector<Route> routes);

  // `path` is relative to /api/rest/v1, still percent-encoded. Literal segments
  // win over placeholders ("/automations/authoring_schema" over "/automations/{id}").
  std::optional<RouteMatch> Match(absl::string_view http_method, absl::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }
  const Route* FindByMethod(absl::string_view full_method_name) const;

 private:
  std::vector<Route> routes_;
};

// Builds one route from a method's options; nullopt when it has no binding.
std::optional<Route> BuildRoute(const google::protobuf::MethodDescriptor* method);

// Percent-decoding ("%2F" -> "/", "+" kept as is).
std::string PercentDecode(absl::string_view s);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_ROUTER_H_
