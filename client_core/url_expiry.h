// When a presigned URL (a Files.com download_uri or part upload_uri) stops
// working, read from its query: X-Amz-Date + X-Amz-Expires, X-Files-Date +
// X-Files-Expires, X-Goog-Date + X-Goog-Expires (date YYYYMMDDTHHMMSSZ,
// expiry in seconds), or Azure's se=. A URL whose parameters are missing,
// doubled or malformed has no known expiry (it counts as not expired), as
// vectors/url_test_data.json requires.
//
//   if (auto at = UrlExpiry(uri); at && *at - absl::Seconds(5) <= absl::Now()) Refresh();
#ifndef FILESGW_CLIENT_CORE_URL_EXPIRY_H_
#define FILESGW_CLIENT_CORE_URL_EXPIRY_H_

#include <optional>
#include <string_view>

#include "absl/time/time.h"

namespace filesgw::client_core {

std::optional<absl::Time> UrlExpiry(std::string_view url);

// True when the URL's expiry is known and at most `margin` away from `now`.
bool UrlExpired(std::string_view url, absl::Time now, absl::Duration margin = absl::ZeroDuration());

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_URL_EXPIRY_H_
