// Files.com path rules, as the SDKs' path_util: `Normalize` gives the form the
// API expects (no NUL, '/' separators, no empty, "." or ".." segments), and
// `NormalizeForComparison` / `IsSame` decide whether two paths name the same
// file on Files.com (NFKC, Latin letters with diacritics transliterated to
// ASCII, lower case, trailing whitespace dropped). Both pass the SDKs'
// conformance vectors (normalization_for_comparison_test_data.json).
//
//   Normalize("/../../remote\\path//./to/file.txt") == "remote/path/to/file.txt"
//   IsSame("FÎŁĘÑÂMÉ.TXT", "filename.txt") == true
#ifndef FILESGW_CLIENT_CORE_PATH_UTIL_H_
#define FILESGW_CLIENT_CORE_PATH_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace filesgw::client_core {

// OK when `path` may be sent as a Files.com path; INVALID_ARGUMENT (saying
// what is wrong and where) for a NUL byte or a "." or ".." segment ('/' and
// '\\' both separate segments, as in Normalize). Normalize would silently
// drop these, so "a/../b" would reach "a/b" and "x\0y" would reach "xy":
// a caller that meant something else is told instead. Empty segments
// ("a//b", a leading or trailing '/') are fine: they carry no meaning.
//
//   CheckRemotePath("reports/2024/q1.csv").ok() == true
//   CheckRemotePath("reports/../secrets")  -> INVALID_ARGUMENT
absl::Status CheckRemotePath(std::string_view path);

std::string Normalize(std::string_view path);
std::string NormalizeForComparison(std::string_view path);
bool IsSame(std::string_view a, std::string_view b);

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_PATH_UTIL_H_
