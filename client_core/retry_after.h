// Retry-After as Files.com's reference client reads it: only the first value
// counts; delta-seconds or an HTTP-date (time until it, rounded up to a whole
// second); anything unparseable or above the cap is ignored, so the caller
// falls back to its own backoff.
//
//   ParseRetryAfter({"5"}, now, absl::Seconds(10)) == absl::Seconds(5)
//   ParseRetryAfter({"60"}, now, absl::Seconds(10)) == std::nullopt
#ifndef FILESGW_CLIENT_CORE_RETRY_AFTER_H_
#define FILESGW_CLIENT_CORE_RETRY_AFTER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace filesgw::client_core {

std::optional<absl::Duration> ParseRetryAfter(const std::vector<std::string_view>& values,
                                              absl::Time now, absl::Duration cap);

// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (for tests and fakes).
std::string FormatHttpDate(absl::Time t);

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_RETRY_AFTER_H_
