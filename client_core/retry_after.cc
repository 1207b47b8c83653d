#include "client_core/retry_after.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "client_core/internal/string_view.h"

namespace filesgw::client_core {

using internal::AsAbsl;
namespace {

// RFC 9110 section 5.6.7: IMF-fixdate must be accepted, and the two obsolete
// forms should be.
constexpr const char* kHttpDateFormats[] = {
    "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
    "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
    "%a %b %d %H:%M:%S %Y",       // asctime
};

std::optional<absl::Time> ParseHttpDate(std::string_view text) {
  for (const char* format : kHttpDateFormats) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(format, AsAbsl(text), absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(const std::vector<std::string_view>& values,
                                              absl::Time now, absl::Duration cap) {
  if (values.empty()) return std::nullopt;
  std::string_view text = internal::AsStd(absl::StripAsciiWhitespace(AsAbsl(values.front())));
  if (text.empty()) return std::nullopt;
  std::optional<absl::Duration> wait;
  if (absl::ascii_isdigit(static_cast<unsigned char>(text.front()))) {
    int64_t seconds = 0;
    bool all_digits = true;
    for (char c : text) all_digits = all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!all_digits || !absl::SimpleAtoi(AsAbsl(text), &seconds)) return std::nullopt;
    wait = absl::Seconds(seconds);
  } else {
    std::optional<absl::Time> when = ParseHttpDate(text);
    if (!when) return std::nullopt;
    // The date has whole seconds while `now` does not: round up so that we
    // never come back before the server asked.
    absl::Duration until = *when - now;
    if (until < absl::ZeroDuration()) until = absl::ZeroDuration();
    wait = absl::Ceil(until, absl::Seconds(1));
  }
  if (*wait > cap) return std::nullopt;
  return wait;
}

std::string FormatHttpDate(absl::Time t) {
  return absl::FormatTime(kHttpDateFormats[0], t, absl::UTCTimeZone());
}

}  // namespace filesgw::client_core
