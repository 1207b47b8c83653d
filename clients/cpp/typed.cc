// The conversions the generated typed accessors use (typed.h).
#include "clients/cpp/client.h"
#include "clients/cpp/errors.h"

namespace filesgw::client::internal {
namespace {

template <typename T, typename F>
std::vector<T> Each(const Value& v, F convert) {
  std::vector<T> out;
  if (!v.is_array()) return out;
  out.reserve(v.as_array().size());
  for (const Value& item : v.as_array()) out.push_back(convert(item));
  return out;
}

}  // namespace

std::vector<std::string> StringsOf(const Value& v) {
  return Each<std::string>(v, [](const Value& x) { return x.is_string() ? x.as_string() : std::string(); });
}

std::vector<int64_t> IntsOf(const Value& v) {
  return Each<int64_t>(v, [](const Value& x) { return x.is_int() ? x.as_int() : int64_t{0}; });
}

std::vector<double> DoublesOf(const Value& v) {
  return Each<double>(v, [](const Value& x) { return x.is_number() ? x.as_double() : 0.0; });
}

std::vector<bool> BoolsOf(const Value& v) {
  return Each<bool>(v, [](const Value& x) { return x.is_bool() && x.as_bool(); });
}

void RequireFields(const Model& object, std::string_view action,
                   std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    if (!object.valid() || !object.Has(key)) {
      ThrowError("MissingParameterError",
                 std::string(action) + " needs the object's " + std::string(key));
    }
  }
}

}  // namespace filesgw::client::internal
