#include "emulator/router.h"

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::vector<std::string> SplitPath(absl::string_view path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

bool IsPlaceholder(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::optional<Route> BuildRoute(const google::protobuf::MethodDescriptor* method) {
  const auto* rest = proto::RestBindingOf(method);
  const auto* sdk = proto::SdkMethodOf(method);
  if (rest == nullptr || sdk == nullptr) return std::nullopt;
  Route route;
  route.method = method;
  route.rest = *rest;
  route.sdk = *sdk;
  route.segments = SplitPath(rest->path());
  for (const auto& segment : route.segments) {
    if (!IsPlaceholder(segment)) continue;
    route.path_param = segment.substr(1, segment.size() - 2);
    route.path_param_is_rest = route.path_param == "path";
  }
  const Descriptor* out = method->output_type();
  route.model = out;
  if (out->full_name() == "google.protobuf.Empty") {
    route.shape = ResponseShape::kEmpty;
    route.model = nullptr;
  } else if (const FieldDescriptor* items = out->FindFieldByName("items");
             items != nullptr && items->is_repeated() &&
             items->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
             absl::EndsWith(out->name(), "Response")) {
    route.shape = ResponseShape::kList;
    route.model = items->message_type();
  }
  return route;
}

const Router& Router::Default() {
  static const Router* const router = [] {
    std::vector<Route> routes;
    for (const auto* service : proto::Api().services) {
      for (int i = 0; i < service->method_count(); ++i) {
        if (auto route = BuildRoute(service->method(i))) routes.push_back(std::move(*route));
      }
    }
    return new Router(std::move(routes));
  }();
  return *router;
}

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

const Route* Router::FindByMethod(absl::string_view full_method_name) const {
  for (const auto& route : routes_) {
    if (route.method->full_name() == full_method_name) return &route;
  }
  return nullptr;
}

std::optional<RouteMatch> Router::Match(absl::string_view http_method,
                                        absl::string_view path) const {
  std::vector<std::string> segments = SplitPath(path);
  std::optional<RouteMatch> best;
  int best_literals = -1;
  for (const auto& route : routes_) {
    if (route.rest.method() != http_method) continue;
    const auto& tmpl = route.segments;
    RouteMatch match;
    match.route = &route;
    int literals = 0;
    bool ok = true;
    size_t i = 0;
    for (; i < tmpl.size() && ok; ++i) {
      if (!IsPlaceholder(tmpl[i])) {
        ok = i < segments.size() && segments[i] == tmpl[i];
        ++literals;
        continue;
      }
      std::string name = tmpl[i].substr(1, tmpl[i].size() - 2);
      if (route.path_param_is_rest && i + 1 == tmpl.size()) {
        // "{path}" takes the rest, slashes included; it may be empty (the root).
        std::vector<std::string> rest(segments.begin() + std::min(i, segments.size()),
                                      segments.end());
        match.path_params.emplace_back(name, PercentDecode(absl::StrJoin(rest, "/")));
        i = segments.size();
        break;
      }
      ok = i < segments.size() && !segments[i].empty();
      if (ok) match.path_params.emplace_back(name, PercentDecode(segments[i]));
    }
    if (!ok) continue;
    if (!(route.path_param_is_rest && !tmpl.empty() && IsPlaceholder(tmpl.back())) &&
        tmpl.size() != segments.size()) {
      continue;
    }
    if (literals > best_literals) {
      best_literals = literals;
      best = std::move(match);
    }
  }
  return best;
}

}  // namespace filesgw::emulator
