// Files.com path rules for callers of the C++ client, as the SDKs' path_util:
// Normalise gives the form the API expects, IsSame tells whether two paths
// name the same file on Files.com. The implementation is client_core's
// (client_core/path_util.h), which passes the SDKs' conformance vectors.
//
//   path_util::Normalise("/../../remote\\path//./to/file.txt") == "remote/path/to/file.txt"
//   path_util::IsSame("FÎŁĘÑÂMÉ.TXT", "filename.txt") == true
#ifndef FILESGW_CLIENTS_CPP_PATH_UTIL_H_
#define FILESGW_CLIENTS_CPP_PATH_UTIL_H_

#include <string>
#include <string_view>

#include "client_core/path_util.h"

namespace filesgw::client::path_util {

inline std::string Normalise(std::string_view path) { return client_core::Normalize(path); }
inline std::string Normalize(std::string_view path) { return client_core::Normalize(path); }
inline std::string NormaliseForComparison(std::string_view path) {
  return client_core::NormalizeForComparison(path);
}
inline bool IsSame(std::string_view a, std::string_view b) { return client_core::IsSame(a, b); }

}  // namespace filesgw::client::path_util

#endif  // FILESGW_CLIENTS_CPP_PATH_UTIL_H_
