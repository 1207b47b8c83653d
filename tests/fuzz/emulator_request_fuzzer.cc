// The emulator's request parsing, as Emulator::Impl::Api runs it: routing
// (emulator/router.cc), query and form params with bracketed names, the JSON
// body (emulator/params.cc), type coercion, required params and, for list
// RPCs, per_page / cursor / sort_by / filter (emulator/query.cc).
// Input: a request line ("GET /users?per_page=2&sort_by[id]=desc"), then the
// JSON body.
//
// Checked on every request that parses: coerced scalar params have their
// field's JSON type, and a list query's per_page is within 1..kMaxPerPage.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "emulator/json.h"
#include "emulator/params.h"
#include "emulator/query.h"
#include "emulator/router.h"
#include "fuzz_util.h"
#include "httplib.h"

namespace {

using filesgw::emulator::JsonValue;
using google::protobuf::FieldDescriptor;

bool HasJsonTypeOf(const FieldDescriptor* field, const JsonValue& value) {
  if (value.IsNull()) return true;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return value.IsNumber();
    case FieldDescriptor::CPPTYPE_BOOL:
      return value.IsBool();
    case FieldDescriptor::CPPTYPE_STRING:
      return value.IsString();
    default:
      return true;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using filesgw::fuzz::Printable;
  namespace emu = filesgw::emulator;
  const auto input = filesgw::fuzz::Split(data, size);
  const absl::string_view line(input.selector.data(), input.selector.size());
  const size_t space = line.find(' ');
  if (space == absl::string_view::npos) return 0;
  const std::string method(line.substr(0, space));
  const absl::string_view target = line.substr(space + 1);
  const size_t question = target.find('?');
  const absl::string_view path = target.substr(0, question);
  const std::string query =
      question == absl::string_view::npos ? "" : std::string(target.substr(question + 1));

  const auto match = emu::Router::Default().Match(method, path);
  if (!match) return 0;
  const auto* request_type = match->route->method->input_type();

  httplib::Params query_params;
  httplib::detail::parse_query_text(query, query_params);
  emu::FlatParams flat(query_params.begin(), query_params.end());
  JsonValue params = emu::ParamsFromFlat(flat, request_type);
  FUZZ_CHECK(params.IsObject(), Printable(input.selector));
  if (method != "GET" && method != "DELETE" && method != "HEAD") {
    auto body =
        emu::ParamsFromJsonBody(absl::string_view(input.payload.data(), input.payload.size()));
    if (!body.ok()) return 0;
    for (auto& m : body->GetObject()) {
      emu::SetMember(params, absl::string_view(m.name.GetString(), m.name.GetStringLength()),
                     std::move(m.value));
    }
  }
  for (const auto& [name, value] : match->path_params) {
    emu::SetMember(params, name, emu::JsonString(value));
  }
  if (!emu::CoerceParams(request_type, &params).ok()) return 0;
  for (const auto& m : params.GetObject()) {
    const auto* field = emu::ParamField(
        request_type, absl::string_view(m.name.GetString(), m.name.GetStringLength()));
    if (field == nullptr || field->is_repeated()) continue;
    FUZZ_CHECK(HasJsonTypeOf(field, m.value), "param " + field->name() + " coerced to " +
                                                  emu::ToJson(m.value) + " for " +
                                                  Printable(input.selector));
  }
  if (!emu::CheckRequired(request_type, params).ok()) return 0;
  if (match->route->shape == emu::ResponseShape::kList && match->route->model != nullptr) {
    auto list = emu::ParseListQuery(params, match->route->model, /*paginated=*/true);
    if (list.ok()) {
      FUZZ_CHECK(
          list->per_page >= 1 && list->per_page <= emu::kMaxPerPage,
          "per_page " + std::to_string(list->per_page) + " for " + Printable(input.selector));
    }
  }
  return 0;
}
