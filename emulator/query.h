// The list engine: Files.com's `per_page`, opaque `cursor`, one `sort_by`
// field and the six filter maps, applied to a collection of JSON records of one
// model. Type-aware (numbers numerically, strings lexically, bools), with the
// model's descriptor telling the field types; ties are broken by id.
//
// Cursors are keyset positions (sort field, direction, last key, last id),
// base64url-encoded, so records created or deleted between pages neither
// repeat nor vanish.
#ifndef FILESGW_EMULATOR_QUERY_H_
#define FILESGW_EMULATOR_QUERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "emulator/json.h"
#include "files/v1/options.pb.h"
#include "google/protobuf/descriptor.h"

namespace filesgw::emulator {

inline constexpr int64_t kDefaultPerPage = 1000;
inline constexpr int64_t kMaxPerPage = 10000;

struct Filter {
  // kSearch: Files.com's `search` param: the string value (ASCII case
  // folded) is part of the record's `key` or of any of `also_keys`.
  enum class Op { kEq, kPrefix, kGt, kGteq, kLt, kLteq, kSearch };
  Op op = Op::kEq;
  std::string key;  // JSON key in the record
  JsonValue value;  // of the field's type (string for kPrefix and kSearch)
  std::vector<std::string> also_keys;  // kSearch only
};

// True when `needle` is part of `haystack`, ASCII letters compared without case.
bool ContainsNoCase(absl::string_view haystack, absl::string_view needle);

struct ListQuery {
  int64_t per_page = kDefaultPerPage;
  bool paginated = true;  // false: every match, no cursor
  std::string sort_key = "id";
  bool descending = false;
  std::vector<Filter> filters;
  bool has_cursor = false;
  JsonValue after_key;  // position of the last record of the previous page
  int64_t after_id = 0;
};

// Reads per_page, cursor, sort_by and filter* from `params` against `model`.
// Errors are Files.com bad-request types (invalid-cursor, invalid-filter-field,
// invalid-sort-field, invalid-filter-alias-combination, request-params-invalid, ...).
// `documented` (the RPC's (files.v1.list_fields); null when it has none): only
// the fields it lists are taken, in the combinations it allows, including
// fields that are not model fields: `not_<flag>` filters on a boolean model
// field's opposite, any other one on the record's key of that name. Without
// it, any scalar model field is taken.
absl::StatusOr<ListQuery> ParseListQuery(const JsonValue& params,
                                         const google::protobuf::Descriptor* model,
                                         bool paginated,
                                         const files::v1::ListFields* documented = nullptr);

// The (files.v1.list_fields) option of `method`, or null.
const files::v1::ListFields* DocumentedListFields(const google::protobuf::MethodDescriptor* method);

// An equality filter on `key` with `text` read as `field`'s type.
absl::StatusOr<Filter> MakeFilter(Filter::Op op, const google::protobuf::FieldDescriptor* field,
                                  const JsonValue& text);

struct PageResult {
  std::vector<const JsonValue*> items;
  std::string next_cursor;  // empty on the last page
};

// Filters, sorts and pages `records` (any order); pointers stay owned by the caller.
PageResult RunQuery(const ListQuery& query, const std::vector<const JsonValue*>& records);

// True when `record` passes every filter.
bool MatchesFilters(const std::vector<Filter>& filters, const JsonValue& record);

// Total order on JSON scalars: null < bool < number < string < others.
int CompareJson(const JsonValue& a, const JsonValue& b);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_QUERY_H_
