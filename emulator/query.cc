#include "emulator/query.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "emulator/params.h"
#include "emulator/reply.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

const FieldDescriptor* ModelField(const Descriptor* model, absl::string_view key) {
  return ParamField(model, key);
}

int Rank(const JsonValue& v) {
  if (v.IsNull()) return 0;
  if (v.IsBool()) return 1;
  if (v.IsNumber()) return 2;
  if (v.IsString()) return 3;
  return 4;
}

const JsonValue& NullValue() {
  static const JsonValue* const null = new JsonValue();
  return *null;
}

const JsonValue& KeyOf(const JsonValue& record, const std::string& key) {
  const JsonValue* v = Member(record, key);
  return v == nullptr ? NullValue() : *v;
}

int64_t IdOf(const JsonValue& record) {
  const JsonValue* v = Member(record, "id");
  if (v == nullptr) return 0;
  return AsInt64(*v).value_or(0);
}

std::string EncodeCursor(const ListQuery& q, const JsonValue& key, int64_t id) {
  JsonValue c(rapidjson::kObjectType);
  c.AddMember("s", JsonString(q.sort_key), Alloc());
  c.AddMember("d", JsonString(q.descending ? "desc" : "asc"), Alloc());
  c.AddMember("k", JsonValue(key, Alloc()), Alloc());
  c.AddMember("i", JsonValue(static_cast<int64_t>(id)), Alloc());
  return absl::WebSafeBase64Escape(ToJson(c));
}

absl::Status DecodeCursor(const std::string& cursor, ListQuery* q) {
  auto bad = [] { return ApiError("bad-request/invalid-cursor", "Invalid cursor."); };
  std::string json;
  if (!absl::WebSafeBase64Unescape(cursor, &json)) return bad();
  JsonDoc doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad();
  const JsonValue* s = Member(doc, "s");
  const JsonValue* d = Member(doc, "d");
  const JsonValue* k = Member(doc, "k");
  const JsonValue* i = Member(doc, "i");
  if (s == nullptr || !s->IsString() || d == nullptr || !d->IsString() || k == nullptr ||
      i == nullptr || !i->IsInt64()) {
    return bad();
  }
  if (q->sort_key != s->GetString() || (q->descending ? "desc" : "asc") != std::string(d->GetString())) {
    return ApiError("bad-request/invalid-cursor-type-for-sort",
                    "The cursor was made for a different sort_by.");
  }
  q->has_cursor = true;
  q->after_key.CopyFrom(*k, Alloc());
  q->after_id = i->GetInt64();
  return absl::OkStatus();
}

// -1/0/1 in the query's order: sort key (direction applied), then id ascending.
int Order(const ListQuery& q, const JsonValue& key_a, int64_t id_a, const JsonValue& key_b,
          int64_t id_b) {
  int c = CompareJson(key_a, key_b);
  if (q.descending) c = -c;
  if (c != 0) return c;
  return id_a < id_b ? -1 : (id_a > id_b ? 1 : 0);
}

}  // namespace

int CompareJson(const JsonValue& a, const JsonValue& b) {
  int ra = Rank(a), rb = Rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (a.IsBool()) return static_cast<int>(a.GetBool()) - static_cast<int>(b.GetBool());
  if (a.IsNumber()) {
    if (a.IsInt64() && b.IsInt64()) {
      return a.GetInt64() < b.GetInt64() ? -1 : (a.GetInt64() > b.GetInt64() ? 1 : 0);
    }
    double x = a.GetDouble(), y = b.GetDouble();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.IsString()) {
    absl::string_view x(a.GetString(), a.GetStringLength()), y(b.GetString(), b.GetStringLength());
    int c = x.compare(y);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return 0;
}

absl::StatusOr<Filter> MakeFilter(Filter::Op op, const FieldDescriptor* field,
                                  const JsonValue& text) {
  Filter filter;
  filter.op = op;
  filter.key = WireKey(field);
  if (op == Filter::Op::kPrefix) {
    auto s = AsText(text);
    if (!s) return ApiError("bad-request/invalid-filter-param-value", "Invalid filter value.");
    filter.value = JsonString(*s);
    return filter;
  }
  filter.value.CopyFrom(text, Alloc());
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE || !CoerceScalar(field, &filter.value)) {
    return ApiError("bad-request/invalid-filter-param-value",
                    absl::StrCat("Invalid filter value for ", filter.key, "."));
  }
  return filter;
}

const files::v1::ListFields* DocumentedListFields(
    const google::protobuf::MethodDescriptor* method) {
  if (method == nullptr || !method->options().HasExtension(files::v1::list_fields)) return nullptr;
  return &method->options().GetExtension(files::v1::list_fields);
}

namespace {

// The entry of `documented` for `param`; null when the action lists none.
const files::v1::ListParamFields* DocumentedParam(const files::v1::ListFields* documented,
                                                  absl::string_view param) {
  if (documented == nullptr) return nullptr;
  for (const auto& p : documented->params()) {
    if (p.param() == param) return &p;
  }
  return nullptr;
}

bool Lists(const files::v1::ListParamFields* entry, absl::string_view key) {
  if (entry == nullptr) return false;
  for (const auto& f : entry->fields()) {
    if (f == key) return true;
  }
  return false;
}

// True when the keys given together in one filter param form an allowed set.
bool AllowedTogether(const files::v1::ListParamFields& entry, std::vector<std::string> keys) {
  if (keys.size() < 2 || entry.any_combination()) return true;
  std::sort(keys.begin(), keys.end());
  for (const auto& set : entry.combinations()) {
    std::vector<std::string> allowed(set.fields().begin(), set.fields().end());
    std::sort(allowed.begin(), allowed.end());
    if (allowed == keys) return true;
  }
  return false;
}

bool IsScalar(const FieldDescriptor* field) {
  return field != nullptr && !field->is_repeated() &&
         field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
}

// A documented filter field the model lacks. `not_<flag>` means "<flag> is
// the opposite" (users' not_site_admin); any other name compares the record's
// key of that name, as a number when the value reads as one.
absl::StatusOr<Filter> MakeAliasFilter(Filter::Op op, const Descriptor* model,
                                       const std::string& key, const JsonValue& value) {
  absl::string_view base = key;
  if (absl::ConsumePrefix(&base, "not_") && op == Filter::Op::kEq) {
    const FieldDescriptor* flag = ModelField(model, base);
    if (IsScalar(flag) && flag->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
      auto b = AsBool(value);
      if (!b) {
        return ApiError("bad-request/invalid-filter-param-value",
                        absl::StrCat("Invalid filter value for ", key, "."));
      }
      return MakeFilter(op, flag, JsonValue(!*b));
    }
  }
  Filter filter;
  filter.op = op;
  filter.key = key;
  auto text = AsText(value);
  if (!text) {
    return ApiError("bad-request/invalid-filter-param-value",
                    absl::StrCat("Invalid filter value for ", key, "."));
  }
  auto number = op == Filter::Op::kPrefix ? std::nullopt : AsInt64(value);
  filter.value = number ? JsonValue(*number) : JsonString(*text);
  return filter;
}

}  // namespace

absl::StatusOr<ListQuery> ParseListQuery(const JsonValue& params, const Descriptor* model,
                                         bool paginated,
                                         const files::v1::ListFields* documented) {
  ListQuery q;
  q.paginated = paginated;
  if (const JsonValue* per_page = Member(params, "per_page"); per_page != nullptr && !per_page->IsNull()) {
    auto n = AsInt64(*per_page);
    if (!n || *n < 1 || *n > kMaxPerPage) {
      return ApiError("bad-request/request-params-invalid",
                      absl::StrCat("per_page must be between 1 and ", kMaxPerPage, "."));
    }
    q.per_page = *n;
  }
  if (const JsonValue* sort = Member(params, "sort_by"); sort != nullptr && !sort->IsNull()) {
    if (!sort->IsObject()) {
      return ApiError("bad-request/request-params-invalid", "sort_by must be a map field -> asc|desc.");
    }
    if (sort->MemberCount() > 1) {
      return ApiError("bad-request/multiple-sort-params-not-allowed",
                      "Only one sort_by field is allowed.");
    }
    const files::v1::ListParamFields* sortable = DocumentedParam(documented, "sort_by");
    for (const auto& m : sort->GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      const FieldDescriptor* field = ModelField(model, key);
      bool allowed = documented != nullptr ? Lists(sortable, key) : IsScalar(field);
      if (!allowed) {
        return ApiError("bad-request/invalid-sort-field",
                        absl::StrCat("Cannot sort by ", key, "."));
      }
      std::string dir = AsText(m.value).value_or("");
      if (dir != "asc" && dir != "desc") {
        return ApiError("bad-request/request-params-invalid",
                        absl::StrCat("sort_by[", key, "] must be asc or desc."));
      }
      // A documented field the model lacks sorts on the record's key of that name.
      q.sort_key = IsScalar(field) ? WireKey(field) : key;
      q.descending = dir == "desc";
    }
  }
  static const std::pair<const char*, Filter::Op> kFilterParams[] = {
      {"filter", Filter::Op::kEq},        {"filter_prefix", Filter::Op::kPrefix},
      {"filter_gt", Filter::Op::kGt},     {"filter_gteq", Filter::Op::kGteq},
      {"filter_lt", Filter::Op::kLt},     {"filter_lteq", Filter::Op::kLteq},
  };
  for (const auto& [name, op] : kFilterParams) {
    const JsonValue* map = Member(params, name);
    if (map == nullptr || map->IsNull()) continue;
    if (!map->IsObject()) {
      return ApiError("bad-request/invalid-filter-param-format",
                      absl::StrCat(name, " must be a map field -> value."));
    }
    const files::v1::ListParamFields* entry = DocumentedParam(documented, name);
    std::vector<std::string> keys;
    for (const auto& m : map->GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      const FieldDescriptor* field = ModelField(model, key);
      bool allowed = documented != nullptr ? Lists(entry, key) : IsScalar(field);
      if (!allowed) {
        return ApiError("bad-request/invalid-filter-field",
                        absl::StrCat("Cannot filter by ", key, " with ", name, "."));
      }
      auto filter = IsScalar(field) ? MakeFilter(op, field, m.value)
                                    : MakeAliasFilter(op, model, key, m.value);
      if (!filter.ok()) return filter.status();
      q.filters.push_back(std::move(*filter));
      keys.push_back(std::move(key));
    }
    if (entry != nullptr && !AllowedTogether(*entry, keys)) {
      return ApiError("bad-request/invalid-filter-alias-combination",
                      absl::StrCat("These ", name, " fields cannot be combined: ",
                                   absl::StrJoin(keys, ", "), "."));
    }
  }
  if (const JsonValue* cursor = Member(params, "cursor"); cursor != nullptr && !cursor->IsNull()) {
    auto text = AsText(*cursor);
    if (!text) return ApiError("bad-request/invalid-cursor", "Invalid cursor.");
    if (!text->empty()) {
      if (absl::Status s = DecodeCursor(*text, &q); !s.ok()) return s;
    }
  }
  return q;
}

bool ContainsNoCase(absl::string_view haystack, absl::string_view needle) {
  return absl::StrContains(absl::AsciiStrToLower(haystack), absl::AsciiStrToLower(needle));
}

bool MatchesFilters(const std::vector<Filter>& filters, const JsonValue& record) {
  for (const auto& f : filters) {
    if (f.op == Filter::Op::kSearch) {
      const absl::string_view needle(f.value.GetString(), f.value.GetStringLength());
      bool found = false;
      for (size_t i = 0; i <= f.also_keys.size() && !found; ++i) {
        const JsonValue* v = Member(record, i == 0 ? f.key : f.also_keys[i - 1]);
        if (v == nullptr || !v->IsString()) continue;
        found = ContainsNoCase(absl::string_view(v->GetString(), v->GetStringLength()), needle);
      }
      if (!found) return false;
      continue;
    }
    const JsonValue* v = Member(record, f.key);
    if (v == nullptr || v->IsNull()) return false;
    if (f.op == Filter::Op::kPrefix) {
      auto text = AsText(*v);
      if (!text || !absl::StartsWith(*text, absl::string_view(f.value.GetString(),
                                                              f.value.GetStringLength()))) {
        return false;
      }
      continue;
    }
    int c = CompareJson(*v, f.value);
    bool ok = false;
    switch (f.op) {
      case Filter::Op::kEq: ok = c == 0; break;
      case Filter::Op::kGt: ok = c > 0; break;
      case Filter::Op::kGteq: ok = c >= 0; break;
      case Filter::Op::kLt: ok = c < 0; break;
      case Filter::Op::kLteq: ok = c <= 0; break;
      case Filter::Op::kPrefix: case Filter::Op::kSearch: break;
    }
    if (!ok) return false;
  }
  return true;
}

PageResult RunQuery(const ListQuery& q, const std::vector<const JsonValue*>& records) {
  std::vector<const JsonValue*> matches;
  matches.reserve(records.size());
  for (const JsonValue* r : records) {
    if (!MatchesFilters(q.filters, *r)) continue;
    if (q.has_cursor &&
        Order(q, KeyOf(*r, q.sort_key), IdOf(*r), q.after_key, q.after_id) <= 0) {
      continue;
    }
    matches.push_back(r);
  }
  auto less = [&q](const JsonValue* a, const JsonValue* b) {
    return Order(q, KeyOf(*a, q.sort_key), IdOf(*a), KeyOf(*b, q.sort_key), IdOf(*b)) < 0;
  };
  PageResult page;
  if (!q.paginated || static_cast<int64_t>(matches.size()) <= q.per_page) {
    std::sort(matches.begin(), matches.end(), less);
    page.items = std::move(matches);
    return page;
  }
  // Only the first per_page matter: a partial sort keeps big lists cheap.
  auto cut = matches.begin() + q.per_page;
  std::partial_sort(matches.begin(), cut, matches.end(), less);
  matches.erase(cut, matches.end());
  const JsonValue* last = matches.back();
  page.next_cursor = EncodeCursor(q, KeyOf(*last, q.sort_key), IdOf(*last));
  page.items = std::move(matches);
  return page;
}

}  // namespace filesgw::emulator
