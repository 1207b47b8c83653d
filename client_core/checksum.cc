#include "client_core/checksum.h"

// MD5_CTX: see Md5::State.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <array>
#include <cstdio>
#include <cstring>

namespace filesgw::client_core {
namespace {

// Byte-at-a-time tables for the software path (reflected polynomial 0x82F63B78),
// sliced by 8 for speed.
struct Crc32cTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};

uint32_t Crc32cSoftware(uint32_t crc, const unsigned char* p, size_t n) {
  static const Crc32cTables tables;
  const auto& t = tables.t;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    word ^= crc;
    crc = t[7][word & 0xff] ^ t[6][(word >> 8) & 0xff] ^ t[5][(word >> 16) & 0xff] ^
          t[4][(word >> 24) & 0xff] ^ t[3][(word >> 32) & 0xff] ^ t[2][(word >> 40) & 0xff] ^
          t[1][(word >> 48) & 0xff] ^ t[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, const unsigned char* p,
                                                         size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

}  // namespace

uint32_t Crc32c(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  crc = ~crc;
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  crc = hardware ? Crc32cHardware(crc, p, data.size()) : Crc32cSoftware(crc, p, data.size());
#else
  crc = Crc32cSoftware(crc, p, data.size());
#endif
  return ~crc;
}

namespace {

#if defined(__x86_64__)
// CRC-32 by carry-less multiplication (PCLMULQDQ), about 5x zlib's crc32 here.
//
// Bit order: a 16-byte block loaded little-endian has bit k standing for
// x^(127-k) (CRC-32 is bit-reflected), so the low 64-bit half holds the
// higher-degree terms. For reflected 64-bit values a, b (bit i = x^(63-i)),
// clmul(a, b) read the same way is x*a(x)*b(x): the constants below are taken
// one power of x lower to cancel that x.
//
// Folding a block X forward over D bits (to XOR it into the block D bits
// later) needs X*x^D mod P = lo(X)*x^(D+64) + hi(X)*x^D (mod P), so the
// constant pair for distance D is x^(D+63) and x^(D-1) mod P, each a 32-bit
// value placed bit-reflected in the top half of a 64-bit lane.
struct FoldConstants {
  __m128i by512;  // four blocks in parallel
  __m128i by128;  // one block
  FoldConstants() {
    by512 = Pair(512);
    by128 = Pair(128);
  }
  // x^n mod P (P = x^32 + 0x04C11DB7), normal bit order.
  static uint32_t XPowMod(int n) {
    uint64_t r = 1;
    for (int i = 0; i < n; ++i) {
      r <<= 1;
      if (r & (uint64_t{1} << 32)) r ^= 0x104C11DB7ull;
    }
    return static_cast<uint32_t>(r);
  }
  static uint64_t Lane(uint32_t normal) {
    uint32_t reflected = 0;
    for (int i = 0; i < 32; ++i) {
      if (normal & (1u << i)) reflected |= 1u << (31 - i);
    }
    return uint64_t{reflected} << 32;
  }
  static __m128i Pair(int d) {
    return _mm_set_epi64x(static_cast<long long>(Lane(XPowMod(d - 1))),
                          static_cast<long long>(Lane(XPowMod(d + 63))));
  }
};

__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)),
                       next);
}

// `reg` is the CRC register (already inverted); returns the register.
__attribute__((target("pclmul,sse4.1"))) uint32_t Crc32Pclmul(uint32_t reg, const unsigned char* p,
                                                              size_t n) {
  static const FoldConstants k;
  auto load = [](const unsigned char* at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  };
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(reg)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  n -= 64;
  while (n >= 64) {
    x0 = Fold(x0, k.by512, load(p));
    x1 = Fold(x1, k.by512, load(p + 16));
    x2 = Fold(x2, k.by512, load(p + 32));
    x3 = Fold(x3, k.by512, load(p + 48));
    p += 64;
    n -= 64;
  }
  __m128i x = Fold(Fold(Fold(x0, k.by128, x1), k.by128, x2), k.by128, x3);
  while (n >= 16) {
    x = Fold(x, k.by128, load(p));
    p += 16;
    n -= 16;
  }
  // The last block and the tail through zlib (register in, register out).
  alignas(16) unsigned char last[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(last), x);
  uLong c = crc32(0xFFFFFFFFul, last, 16);  // register 0 over `last`
  if (n > 0) c = crc32(c, p, static_cast<uInt>(n));
  return ~static_cast<uint32_t>(c);
}
#endif

uint32_t Crc32Zlib(uint32_t crc, const unsigned char* p, size_t n) {
  uLong c = crc;
  while (n > 0) {  // zlib takes uInt lengths
    uInt step = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    c = crc32(c, p, step);
    p += step;
    n -= step;
  }
  return static_cast<uint32_t>(c);
}

}  // namespace

uint32_t Crc32(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
#if defined(__x86_64__)
  static const bool pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  if (pclmul && data.size() >= 256) return ~Crc32Pclmul(~crc, p, data.size());
#endif
  return Crc32Zlib(crc, p, data.size());
}

uint32_t Crc32ForTesting(uint32_t crc, std::string_view data, bool vector) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
#if defined(__x86_64__)
  if (vector && data.size() >= 64) return ~Crc32Pclmul(~crc, p, data.size());
#else
  (void)vector;
#endif
  return Crc32Zlib(crc, p, data.size());
}

std::string Crc32Hex(uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", crc);
  return buf;
}

// OpenSSL's low-level MD5 (deprecated in 3.0, same assembly as EVP's): its
// state is a plain struct, so a resumable upload's running MD5 can be saved
// at a part boundary and continued by another replica (Export/Import).
struct Md5::State {
  MD5_CTX ctx;
  State() { MD5_Init(&ctx); }
};

Md5::Md5() : state_(std::make_unique<State>()) {}
Md5::~Md5() = default;
Md5::Md5(const Md5& other) : state_(std::make_unique<State>(*other.state_)) {}
Md5& Md5::operator=(const Md5& other) {
  if (this != &other) *state_ = *other.state_;
  return *this;
}

void Md5::Update(std::string_view data) { MD5_Update(&state_->ctx, data.data(), data.size()); }

std::string Md5::Export() const {
  return std::string(reinterpret_cast<const char*>(&state_->ctx), sizeof(MD5_CTX));
}

bool Md5::Import(std::string_view bytes) {
  if (bytes.size() != sizeof(MD5_CTX)) return false;
  std::memcpy(&state_->ctx, bytes.data(), sizeof(MD5_CTX));
  return state_->ctx.num < MD5_CBLOCK;
}

std::string Checksums::Export() const {
  std::string out;
  auto put = [&out](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(1, 1);  // format version
  put(which_, 1);
  put(crc32_, 4);
  put(crc32c_, 4);
  put(static_cast<uint64_t>(bytes_), 8);
  out += md5_.Export();
  return out;
}

bool Checksums::Import(std::string_view in) {
  if (in.size() < 18 || in[0] != 1) return false;
  auto get = [&in](size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
    return v;
  };
  which_ = static_cast<unsigned>(get(1, 1));
  crc32_ = static_cast<uint32_t>(get(2, 4));
  crc32c_ = static_cast<uint32_t>(get(6, 4));
  bytes_ = static_cast<int64_t>(get(10, 8));
  return md5_.Import(in.substr(18));
}

std::string Md5::Hex() const {
  MD5_CTX copy = state_->ctx;
  unsigned char digest[MD5_DIGEST_LENGTH];
  const unsigned int len = MD5_DIGEST_LENGTH;
  MD5_Final(digest, &copy);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace filesgw::client_core
