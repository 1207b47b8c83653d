// UTF-8 repair for text that came from outside (error pages, upstream bodies)
// before it goes into a protobuf `string` field or a gRPC status message: a
// proto3 string must be valid UTF-8, and a caller's stub refuses a message
// (or a google.rpc.Status) that carries anything else.
//
//   ValidUtf8("caf\xe9")   == "caf\uFFFD"   (Latin-1 from a proxy page)
//   ValidUtf8("\xed\xb0\x80") == "\uFFFD\uFFFD\uFFFD"   (a lone surrogate)
#ifndef FILESGW_CLIENT_CORE_UTF8_H_
#define FILESGW_CLIENT_CORE_UTF8_H_

#include <string>
#include <string_view>

namespace filesgw::client_core {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with each ill-formed byte sequence replaced by U+FFFD, one per
// maximal subpart (Unicode's "best practice", what browsers do); valid input
// comes back unchanged.
std::string ValidUtf8(std::string_view text);

// At most `max` bytes of `text`, cut at a character boundary (never inside a
// multi-byte sequence); with `marker` ("...") the cut is marked and the marker
// counts within `max`. Text of at most `max` bytes comes back unchanged.
std::string CutUtf8(std::string text, size_t max, std::string_view marker = {});

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_UTF8_H_
