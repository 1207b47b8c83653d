#include "client_core/utf8.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace filesgw::client_core {
namespace {

// Length of the well-formed sequence at `at`, or 0 with `*bad` set to the
// length of its maximal ill-formed subpart (at least 1). Table 3-7 of the
// Unicode standard: the second byte's range depends on the lead byte.
size_t Sequence(std::string_view text, size_t at, size_t* bad) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(at);
  if (lead < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *bad = 1;
    return 0;
  }
  for (size_t i = 1; i <= need; ++i) {
    const bool ok = at + i < text.size() &&
                    (i == 1 ? byte(at + i) >= lo && byte(at + i) <= hi
                            : byte(at + i) >= 0x80 && byte(at + i) <= 0xBF);
    if (!ok) {
      *bad = i;
      return 0;
    }
  }
  return need + 1;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t bad = 0;
  for (size_t at = 0; at < text.size();) {
    // JSON and paths are mostly ASCII: skip it eight bytes at a time.
    uint64_t word;
    if (at + sizeof(word) <= text.size()) {
      std::memcpy(&word, text.data() + at, sizeof(word));
      if ((word & 0x8080808080808080ULL) == 0) {
        at += sizeof(word);
        continue;
      }
    }
    const size_t n = Sequence(text, at, &bad);
    if (n == 0) return false;
    at += n;
  }
  return true;
}

std::string ValidUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  size_t bad = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t n = Sequence(text, at, &bad);
    if (n > 0) {
      out.append(text.data() + at, n);
      at += n;
    } else {
      out += "\xEF\xBF\xBD";
      at += bad;
    }
  }
  return out;
}

std::string CutUtf8(std::string text, size_t max, std::string_view marker) {
  if (text.size() <= max) return text;
  size_t cut = max > marker.size() ? max - marker.size() : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text.append(marker.data(), marker.size());
  return text;
}

}  // namespace filesgw::client_core
