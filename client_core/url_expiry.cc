#include "client_core/url_expiry.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "client_core/internal/string_view.h"

namespace filesgw::client_core {
namespace {

using internal::AsAbsl;

// "20220101T120000Z" (Azure also writes "2022-01-01T12:00:00Z").
std::optional<absl::Time> ParseCompactDate(absl::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != '-' && c != ':') compact.push_back(c);
  }
  if (compact.size() != 16 || compact[8] != 'T' || compact[15] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && !absl::ascii_isdigit(static_cast<unsigned char>(compact[i]))) return std::nullopt;
  }
  // absl's %Y would swallow every digit: split the fields by position.
  auto field = [&compact](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (compact[i] - '0');
    return v;
  };
  absl::CivilSecond civil(field(0, 4), field(4, 2), field(6, 2), field(9, 2), field(11, 2),
                          field(13, 2));
  // CivilSecond normalises out-of-range fields (month 13): reject those.
  if (civil.month() != field(4, 2) || civil.day() != field(6, 2) || civil.hour() != field(9, 2) ||
      civil.minute() != field(11, 2) || civil.second() != field(13, 2)) {
    return std::nullopt;
  }
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

// Values of `name` (case-insensitive) among `params`; nullopt when the query
// is malformed (an empty "&&" segment).
struct Query {
  bool malformed = false;
  std::vector<std::pair<absl::string_view, absl::string_view>> params;
};

Query ParseQuery(absl::string_view url) {
  Query q;
  size_t mark = url.find('?');
  if (mark == absl::string_view::npos) return q;
  absl::string_view query = url.substr(mark + 1);
  if (size_t hash = query.find('#'); hash != absl::string_view::npos) query = query.substr(0, hash);
  for (absl::string_view part : absl::StrSplit(query, '&')) {
    if (part.empty()) {
      q.malformed = true;
      continue;
    }
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      q.params.emplace_back(part, absl::string_view());
    } else {
      q.params.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    }
  }
  return q;
}

// The single value of `name`; nullopt when absent or repeated.
std::optional<absl::string_view> Single(const Query& q, absl::string_view name) {
  std::optional<absl::string_view> found;
  for (const auto& [key, value] : q.params) {
    if (!absl::EqualsIgnoreCase(key, name)) continue;
    if (found) return std::nullopt;
    found = value;
  }
  return found;
}

bool Has(const Query& q, absl::string_view name) {
  for (const auto& [key, value] : q.params) {
    if (absl::EqualsIgnoreCase(key, name)) return true;
  }
  return false;
}

}  // namespace

std::optional<absl::Time> UrlExpiry(std::string_view url_in) {
  absl::string_view url = AsAbsl(url_in);
  Query q = ParseQuery(url);
  if (q.malformed) return std::nullopt;
  for (absl::string_view vendor : {"X-Amz", "X-Files", "X-Goog"}) {
    const std::string date_key = absl::StrCat(vendor, "-Date");
    const std::string expires_key = absl::StrCat(vendor, "-Expires");
    if (!Has(q, date_key) && !Has(q, expires_key)) continue;
    auto date = Single(q, date_key);
    auto expires = Single(q, expires_key);
    if (!date || !expires) return std::nullopt;
    auto start = ParseCompactDate(*date);
    int64_t seconds = 0;
    if (!start || !absl::SimpleAtoi(*expires, &seconds) || seconds < 0) return std::nullopt;
    return *start + absl::Seconds(seconds);
  }
  // Azure SAS: the expiry is "se=<time>", which may also sit inside another
  // parameter's value ("sp=se=..."): find every "se=" at a segment start.
  std::optional<absl::string_view> se;
  int count = 0;
  size_t mark = url.find('?');
  if (mark == absl::string_view::npos) return std::nullopt;
  absl::string_view query = url.substr(mark + 1);
  for (size_t at = query.find("se="); at != absl::string_view::npos; at = query.find("se=", at + 3)) {
    if (at != 0 && query[at - 1] != '&' && query[at - 1] != '=') continue;
    size_t end = query.find('&', at);
    se = query.substr(at + 3, end == absl::string_view::npos ? absl::string_view::npos : end - at - 3);
    ++count;
  }
  if (count != 1) return std::nullopt;
  return ParseCompactDate(*se);
}

bool UrlExpired(std::string_view url, absl::Time now, absl::Duration margin) {
  auto at = UrlExpiry(url);
  return at.has_value() && *at - margin <= now;
}

}  // namespace filesgw::client_core
