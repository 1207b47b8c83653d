#include "client_core/path_util.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "client_core/internal/string_view.h"

namespace filesgw::client_core {
namespace {

// Letters NFD cannot take apart but that Files.com compares as ASCII. Þ, Ŋ
// and Ŧ are deliberately absent: the reference keeps them (lower-cased).
const char* SpecialLatin(UChar32 c) {
  switch (c) {
    case 0x00C6: return "AE";  // Æ
    case 0x00E6: return "ae";
    case 0x0152: return "OE";  // Œ
    case 0x0153: return "oe";
    case 0x00D0: return "D";  // Ð
    case 0x00F0: return "d";
    case 0x0110: return "D";  // Đ
    case 0x0111: return "d";
    case 0x0126: return "H";  // Ħ
    case 0x0127: return "h";
    case 0x0141: return "L";  // Ł
    case 0x0142: return "l";
    case 0x013F: return "L";  // Ŀ
    case 0x0140: return "l";
    case 0x00D8: return "O";  // Ø
    case 0x00F8: return "o";
    case 0x00DF: return "ss";  // ß
    case 0x0131: return "i";  // ı
    default: return nullptr;
  }
}

bool IsLatinWithMarks(UChar32 c) { return c >= 0x00C0 && c <= 0x024F; }

}  // namespace

absl::Status CheckRemotePath(std::string_view path) {
  const size_t nul = path.find('\0');
  if (nul != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "path contains a NUL byte (at byte ", nul, "); Files.com paths cannot hold one"));
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "path has a \"", internal::AsAbsl(segment), "\" segment (at byte ", start,
          "); name the folder itself: Files.com paths are absolute and are not resolved"));
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

std::string Normalize(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  std::string segment;
  auto flush = [&] {
    if (!segment.empty() && segment != "." && segment != "..") {
      if (!out.empty()) out.push_back('/');
      out += segment;
    }
    segment.clear();
  };
  for (char ch : path) {
    if (ch == '\0') continue;
    if (ch == '/' || ch == '\\') {
      flush();
    } else {
      segment.push_back(ch);
    }
  }
  flush();
  return out;
}

std::string NormalizeForComparison(std::string_view path) {
  std::string normalized = Normalize(path);
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(err);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(err);
  if (U_FAILURE(err)) return normalized;  // ICU data missing: compare as-is
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(normalized.data(), static_cast<int32_t>(normalized.size())));
  icu::UnicodeString composed = nfkc->normalize(text, err);
  if (U_FAILURE(err)) return normalized;

  icu::UnicodeString out;
  for (int32_t i = 0; i < composed.length();) {
    UChar32 c = composed.char32At(i);
    i += U16_LENGTH(c);
    if (const char* ascii = SpecialLatin(c)) {
      out.append(icu::UnicodeString(ascii));
    } else if (IsLatinWithMarks(c)) {
      icu::UnicodeString parts;
      nfd->normalize(icu::UnicodeString(c), parts, err);
      // Keep the base letters, drop the combining marks.
      for (int32_t j = 0; j < parts.length();) {
        UChar32 p = parts.char32At(j);
        j += U16_LENGTH(p);
        if (u_getCombiningClass(p) == 0 && u_charType(p) != U_NON_SPACING_MARK) out.append(p);
      }
    } else {
      out.append(c);
    }
  }
  icu::UnicodeString lower;
  for (int32_t i = 0; i < out.length();) {
    UChar32 c = out.char32At(i);
    i += U16_LENGTH(c);
    lower.append(u_tolower(c));  // simple mapping: no "i̇" for İ
  }
  int32_t end = lower.length();
  while (end > 0) {
    UChar32 c = lower.char32At(end - 1);
    if (!u_isUWhiteSpace(c)) break;
    end -= U16_LENGTH(c);
  }
  lower.truncate(end);
  std::string result;
  lower.toUTF8String(result);
  return result;
}

bool IsSame(std::string_view a, std::string_view b) {
  return NormalizeForComparison(a) == NormalizeForComparison(b);
}

}  // namespace filesgw::client_core
