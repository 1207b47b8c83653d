// Path-template expansion and request encoding (server/route.cc,
// server/codec_request.cc), checked against the emulator's router
// (emulator/router.cc), which reads the same bindings from the other side.
// Input: a selector line naming an RPC ("files.v1.FileService.DownloadFile"),
// then its request message in protobuf text format ('path: "a/b.txt"').
//
// Checked on every request that encodes: the path starts with the template's
// first literal and holds no "." / ".." segment (HTTP clients fold those, so
// "../users/1" would reach another endpoint), no '?', '#', space or control
// byte; the emulator routes it to the same RPC with the same path parameter;
// a JSON body is one JSON object; a multipart body ends with its boundary.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client_core/path_util.h"
#include "emulator/params.h"
#include "emulator/router.h"
#include "fuzz_util.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/route.h"

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

class Silent : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string&) override {}
  void AddWarning(int, int, const std::string&) override {}
};

const std::vector<filesgw::server::Route>& Routes() {
  static const auto* routes = [] {
    auto* out = new std::vector<filesgw::server::Route>;
    for (const auto* service : filesgw::proto::Api().services) {
      for (int i = 0; i < service->method_count(); ++i) {
        auto route = filesgw::server::BuildRoute(service->method(i));
        if (route.ok()) out->push_back(std::move(*route));
      }
    }
    return out;
  }();
  return *routes;
}

std::string FieldText(const Message& message, const FieldDescriptor* field) {
  const auto* r = message.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(message, field);
    default:
      return "<other>";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using filesgw::fuzz::Printable;
  const auto input = filesgw::fuzz::Split(data, size);
  const auto& routes = Routes();
  const auto& route = routes[filesgw::fuzz::Pick(
      input.selector, routes.size(), [&](size_t i) { return routes[i].method->full_name(); })];

  std::unique_ptr<Message> request(filesgw::proto::Prototype(route.request_type)->New());
  google::protobuf::TextFormat::Parser parser;
  Silent silent;
  parser.RecordErrorsTo(&silent);
  if (!parser.ParseFromString(std::string(input.payload), request.get())) return 0;

  auto encoded = filesgw::server::EncodeRequest(route, *request);
  if (!encoded.ok()) return 0;
  const std::string& pq = encoded->path_and_query;
  const std::string what =
      absl::StrCat(route.full_method, " ", request->ShortDebugString(), " -> ", Printable(pq));
  const std::string path = pq.substr(0, pq.find('?'));
  FUZZ_CHECK(!route.path.empty() && absl::StartsWith(path, route.path.front().literal), what);
  for (unsigned char c : path) {
    FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#' && c != '?', what);
  }
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    FUZZ_CHECK(segment != "." && segment != "..", "dot segment in " + what);
  }

  const auto match = filesgw::emulator::Router::Default().Match(route.http_method, path);
  FUZZ_CHECK(match.has_value(), "the emulator routes nowhere: " + what);
  FUZZ_CHECK(match->route->method == route.method,
             "the emulator routes to " + match->route->method->full_name() + ": " + what);
  for (const auto& [name, value] : match->path_params) {
    const FieldDescriptor* field = route.request_type->FindFieldByName(name);
    FUZZ_CHECK(field != nullptr, what);
    const std::string sent = FieldText(*request, field);
    if (match->route->path_param_is_rest) {
      FUZZ_CHECK(filesgw::client_core::Normalize(value) == filesgw::client_core::Normalize(sent),
                 "path param " + name + " arrives as " + Printable(value) + ": " + what);
    } else {
      FUZZ_CHECK(value == sent, "param " + name + " arrives as " + Printable(value) + ": " + what);
    }
  }

  if (encoded->content_type == "application/json") {
    FUZZ_CHECK(filesgw::emulator::ParamsFromJsonBody(encoded->body).ok(),
               "body is not a JSON object: " + Printable(encoded->body) + " for " + what);
  } else if (!encoded->content_type.empty()) {
    const std::string prefix = "multipart/form-data; boundary=";
    FUZZ_CHECK(absl::StartsWith(encoded->content_type, prefix), encoded->content_type);
    const std::string boundary = encoded->content_type.substr(prefix.size());
    FUZZ_CHECK(absl::EndsWith(encoded->body, absl::StrCat("--", boundary, "--\r\n")), what);
  }
  return 0;
}
