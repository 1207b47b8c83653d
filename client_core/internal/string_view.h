// Debian's Abseil is built with its own absl::string_view rather than an alias
// of std::string_view, so the two need explicit, free conversions at the seams.
#ifndef FILESGW_CLIENT_CORE_INTERNAL_STRING_VIEW_H_
#define FILESGW_CLIENT_CORE_INTERNAL_STRING_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace filesgw::client_core::internal {

inline absl::string_view AsAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view AsStd(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace filesgw::client_core::internal

#endif  // FILESGW_CLIENT_CORE_INTERNAL_STRING_VIEW_H_
