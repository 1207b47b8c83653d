// Shared by the fuzz targets: a check that aborts (so libFuzzer, the sanitizers
// and the replay driver all see a failure with the message), and the input
// layout every target uses: a selector line, then the payload.
#ifndef FILESGW_TESTS_FUZZ_FUZZ_UTIL_H_
#define FILESGW_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, detail)                                                              \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(detail).c_str());                                              \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace filesgw::fuzz {

struct Input {
  std::string_view selector;  // the first line (without '\n')
  std::string_view payload;   // everything after it
};

// "files.v1.User\n{...}" -> {"files.v1.User", "{...}"}; no '\n': all selector.
inline Input Split(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nl = all.find('\n');
  if (nl == std::string_view::npos) return {all, {}};
  return {all.substr(0, nl), all.substr(nl + 1)};
}

// Picks one of `count` targets: the one named by the selector when it names
// one (readable seeds), else by a hash of it (so mutations reach every target).
template <typename NameOf>
size_t Pick(std::string_view selector, size_t count, NameOf name_of) {
  for (size_t i = 0; i < count; ++i) {
    if (name_of(i) == selector) return i;
  }
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : selector) hash = (hash ^ c) * 1099511628211ull;
  return static_cast<size_t>(hash % count);
}

// For messages: a short, printable rendering of bytes.
inline std::string Printable(std::string_view bytes, size_t max = 300) {
  std::string out;
  for (unsigned char c : bytes.substr(0, max)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace filesgw::fuzz

#endif  // FILESGW_TESTS_FUZZ_FUZZ_UTIL_H_
