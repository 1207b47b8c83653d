// A JSON-like value: what request params are given as and what model fields
// are read as. Params are keyed by the Files.com names (the proto field names,
// or their json_name such as "subfolders_locked?"):
//
//   Params params{{"sort_by", Params{{"username", "asc"}}}, {"per_page", 1000}};
//   Value v = user.Get("id");                     // an int64
//   if (v.is_int()) std::cout << v.as_int();
#ifndef FILESGW_CLIENTS_CPP_VALUE_H_
#define FILESGW_CLIENTS_CPP_VALUE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace filesgw::client {

class Value;
using Array = std::vector<Value>;
using Params = std::map<std::string, Value, std::less<>>;

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}  // NOLINT: implicit by design (params read like JSON)
  Value(bool b) : data_(b) {}  // NOLINT
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T n) : data_(static_cast<int64_t>(n)) {}  // NOLINT
  Value(double d) : data_(d) {}  // NOLINT
  Value(const char* s) : data_(std::string(s)) {}  // NOLINT
  Value(std::string s) : data_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : data_(std::string(s)) {}  // NOLINT
  Value(Array a) : data_(std::move(a)) {}  // NOLINT
  Value(Params o) : data_(std::move(o)) {}  // NOLINT

  bool is_null() const { return data_.index() == 0; }
  bool is_bool() const { return data_.index() == 1; }
  bool is_int() const { return data_.index() == 2; }
  bool is_double() const { return data_.index() == 3; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return data_.index() == 4; }
  bool is_array() const { return data_.index() == 5; }
  bool is_object() const { return data_.index() == 6; }

  // Each throws InvalidParameterError when the value is of another kind
  // (as_double also takes an int).
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  const Params& as_object() const;

  // Compact JSON (object keys in byte order); FromJson throws InvalidParameterError.
  std::string ToJson() const;
  static Value FromJson(std::string_view json);

  // Numbers compare by value (1 == 1.0); everything else by kind and content.
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Params> data_;
};

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_VALUE_H_
