// Files.com path rules (client_core/path_util.cc). Input: one path, any bytes.
//
// Checked: Normalize gives no empty, "." or ".." segment, no leading or
// trailing '/', no '\\' or NUL, and is idempotent; NormalizeForComparison gives
// valid UTF-8 and is idempotent, except where dropping trailing whitespace
// uncovers a last segment "." or ".." ("a/.. " -> "a/.."), as the SDKs'
// reference algorithm does too (it strips after normalizing the segments).
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
  const std::string twice = filesgw::client_core::NormalizeForComparison(compared);
  FUZZ_CHECK(ValidUtf8(compared), Printable(path) + " -> " + Printable(compared));
  const std::string_view last = std::string_view(compared).substr(compared.rfind('/') + 1);
  const bool uncovered_dots = last == "." || last == "..";
  FUZZ_CHECK(uncovered_dots || twice == compared,
             "comparison form not idempotent: " + Printable(path) + " -> " + Printable(compared) +
                 " -> " + Printable(twice));
  FUZZ_CHECK(uncovered_dots || filesgw::client_core::IsSame(path, compared), Printable(path));
  return 0;
}
