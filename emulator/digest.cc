#include "emulator/digest.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace filesgw::emulator {
namespace {

constexpr size_t kParallelBytes = 512 << 10;

}  // namespace

struct HashStream::Ctx {
  const EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
};

HashStream::HashStream(const char* algorithm) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_get_digestbyname(algorithm);
  ctx_->ctx = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || ctx_->ctx == nullptr ||
      EVP_DigestInit_ex(ctx_->ctx, ctx_->md, nullptr) != 1) {
    std::abort();  // OpenSSL without MD5/SHA-1/SHA-256: a broken installation.
  }
}

HashStream::~HashStream() { EVP_MD_CTX_free(ctx_->ctx); }

void HashStream::Update(absl::string_view data) {
  if (!data.empty()) EVP_DigestUpdate(ctx_->ctx, data.data(), data.size());
}

std::string HashStream::FinishHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->ctx, out, &len);
  EVP_DigestInit_ex(ctx_->ctx, ctx_->md, nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(out), len));
}

uint32_t Crc32Update(uint32_t crc, absl::string_view data) {
  uLong c = crc;
  while (!data.empty()) {
    uInt n = static_cast<uInt>(std::min<size_t>(data.size(), std::numeric_limits<uInt>::max()));
    c = crc32(c, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

std::string Crc32Hex(uint32_t crc) { return absl::StrFormat("%08x", crc); }

Digests::Digests() = default;

void Digests::Update(absl::string_view data) {
  // MD5 costs about as much as the other three together: on big pieces it
  // runs on a second thread (a 1 GiB upload's `end` hashes twice as fast).
  std::thread md5;
  if (data.size() >= kParallelBytes) {
    md5 = std::thread([this, data] { md5_.Update(data); });
  } else {
    md5_.Update(data);
  }
  sha1_.Update(data);
  sha256_.Update(data);
  crc32_ = Crc32Update(crc32_, data);
  if (md5.joinable()) md5.join();
  bytes_ += static_cast<int64_t>(data.size());
}

FileDigests Digests::Finish() {
  FileDigests out;
  out.md5 = md5_.FinishHex();
  out.sha1 = sha1_.FinishHex();
  out.sha256 = sha256_.FinishHex();
  out.crc32 = Crc32Hex(crc32_);
  crc32_ = 0;
  bytes_ = 0;
  return out;
}

std::string Md5Hex(absl::string_view data) {
  Md5Stream md5;
  md5.Update(data);
  return md5.FinishHex();
}

std::string Sha256Hex(absl::string_view data) {
  HashStream sha("SHA256");
  sha.Update(data);
  return sha.FinishHex();
}

FileDigests DigestsOf(absl::string_view data) {
  Digests d;
  d.Update(data);
  return d.Finish();
}

}  // namespace filesgw::emulator
