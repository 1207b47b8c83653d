// Files.com path rules (client_core/path_util.cc). Input: one path, any bytes.
//
// Checked: Normalize gives no empty, "." or ".." segment, no leading or
// trailing '/', no '\\' or NUL, and is idempotent; NormalizeForComparison gives
// valid UTF-8 and calls a path the same as itself. The comparison form is not
// idempotent, as in the SDKs' reference algorithm: NFKC runs after the segments
// are split (fullwidth U+FF0F / U+FF3C become '/' and '\\') and trailing
// whitespace is dropped last ("a/.. " -> "a/..").
#include <string>
#include <string_view>

#include "absl/strings/str_split.h"
#include "client_core/path_util.h"
#include "fuzz_util.h"

namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using filesgw::fuzz::Printable;
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const std::string normal = filesgw::client_core::Normalize(path);
  const std::string what = Printable(path) + " -> " + Printable(normal);
  FUZZ_CHECK(normal.find('\0') == std::string::npos, what);
  FUZZ_CHECK(normal.find('\\') == std::string::npos, what);
  if (!normal.empty()) {
    for (absl::string_view segment : absl::StrSplit(normal, '/')) {
      FUZZ_CHECK(!segment.empty() && segment != "." && segment != "..", what);
    }
  }
  FUZZ_CHECK(filesgw::client_core::Normalize(normal) == normal, "not idempotent: " + what);

  const std::string compared = filesgw::client_core::NormalizeForComparison(path);
  FUZZ_CHECK(ValidUtf8(compared), Printable(path) + " -> " + Printable(compared));
  FUZZ_CHECK(filesgw::client_core::IsSame(path, path), Printable(path));
  return 0;
}
