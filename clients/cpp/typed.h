// What the generated typed layer (typed_gen.h, see typegen.cc) stands on:
// the base of the request builders, the typed list and the conversions the
// generated accessors use. Included by clients/cpp/client.h after Resource
// and ListObj; include client.h, not this file.
//
//   auto user = client.Users().Find(1);              // models::User
//   std::string name = user.username();
//   for (const auto& u : client.Users().List(requests::ListUsers().set_per_page(100)))
//     std::cout << u.id() << " " << u.username() << "\n";
#ifndef FILESGW_CLIENTS_CPP_TYPED_H_
#define FILESGW_CLIENTS_CPP_TYPED_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clients/cpp/api.h"
#include "clients/cpp/value.h"

namespace filesgw::client {

class ListObj;
class Resource;

// The base of every requests::<Action>: the params set so far, by Files.com key.
class RequestParams {
 public:
  const Params& params() const { return params_; }
  // Any param by its Files.com key, also one the typed setters do not know yet.
  void Set(std::string key, Value value) { params_[std::move(key)] = std::move(value); }
 private:
  Params params_;
};

namespace internal {

inline Value ToValue(Value v) { return v; }
template <typename T>
Value ToValue(const std::vector<T>& items) {
  Array out;
  out.reserve(items.size());
  for (const auto& item : items) out.emplace_back(item);
  return out;
}
inline Value ToValue(const std::vector<bool>& items) {
  Array out;
  for (bool b : items) out.emplace_back(b);
  return out;
}

inline double DoubleOf(const Value& v) { return v.is_number() ? v.as_double() : 0.0; }
std::vector<std::string> StringsOf(const Value& v);
std::vector<int64_t> IntsOf(const Value& v);
std::vector<double> DoublesOf(const Value& v);
std::vector<bool> BoolsOf(const Value& v);

template <typename T>
std::vector<T> ModelsOf(std::vector<Model> models) {
  std::vector<T> out;
  out.reserve(models.size());
  for (auto& m : models) out.emplace_back(std::move(m));
  return out;
}

// MissingParameterError unless `object` has every one of `keys`.
void RequireFields(const Model& object, std::string_view action,
                   std::initializer_list<std::string_view> keys);

}  // namespace internal

// A ListObj whose items are typed models: iterate it (auto paging), or page
// by hand with Page / HasNextPage / LoadNextPage.
template <typename T>
class TypedList {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    iterator() = default;
    explicit iterator(typename ListObj::iterator it) : it_(std::move(it)) { Load(); }
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    iterator& operator++() {
      ++it_;
      Load();
      return *this;
    }
    bool operator==(const iterator& other) const { return it_ == other.it_; }
    bool operator!=(const iterator& other) const { return it_ != other.it_; }

   private:
    void Load() {
      if (it_ != typename ListObj::iterator()) current_ = T(*it_);
    }
    typename ListObj::iterator it_;
    T current_;
  };

  explicit TypedList(ListObj list) : list_(std::move(list)) {}
  iterator begin() { return iterator(list_.begin()); }
  iterator end() { return iterator(); }
  std::vector<T> Page() const { return internal::ModelsOf<T>(list_.Page()); }
  bool HasNextPage() const { return list_.HasNextPage(); }
  void LoadNextPage() { list_.LoadNextPage(); }
  const std::string& cursor() const { return list_.cursor(); }
  // Every remaining item of every page.
  std::vector<T> All() { return internal::ModelsOf<T>(list_.All()); }
  // The untyped list underneath.
  ListObj& untyped() { return list_; }

 private:
  ListObj list_;
};

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_TYPED_H_
