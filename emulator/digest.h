// The checksums Files.com reports for a stored file, computed the way it
// writes them: `md5`, `sha1` and `sha256` as lower-case hex, `crc32` (zlib /
// IEEE polynomial) as 8 lower-case hex digits. Streaming: content is fed
// piece by piece (parts of an upload, chunks read from disk), never needed
// whole. `Md5Stream` alone makes a part's ETag.
//
//   Digests d;
//   d.Update("ab");
//   d.Update("c");
//   FileDigests sums = d.Finish();  // sums.md5 == "900150983cd24fb0d6963f7d28e17f72"
#ifndef FILESGW_EMULATOR_DIGEST_H_
#define FILESGW_EMULATOR_DIGEST_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace filesgw::emulator {

struct FileDigests {
  std::string md5;
  std::string sha1;
  std::string sha256;
  std::string crc32;
};

// One OpenSSL message digest ("MD5", "SHA1", "SHA256"), lower-case hex out.
class HashStream {
 public:
  explicit HashStream(const char* algorithm);
  ~HashStream();
  HashStream(const HashStream&) = delete;
  HashStream& operator=(const HashStream&) = delete;

  void Update(absl::string_view data);
  // The digest of everything fed so far; the stream is reset afterwards.
  std::string FinishHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

class Md5Stream : public HashStream {
 public:
  Md5Stream() : HashStream("MD5") {}
};

// md5, sha1, sha256 and crc32 in one pass.
class Digests {
 public:
  Digests();
  void Update(absl::string_view data);
  int64_t bytes() const { return bytes_; }
  // The sums of everything fed so far; the object is reset afterwards.
  FileDigests Finish();

 private:
  HashStream md5_{"MD5"};
  HashStream sha1_{"SHA1"};
  HashStream sha256_{"SHA256"};
  uint32_t crc32_ = 0;
  int64_t bytes_ = 0;
};

// CRC-32 (zlib) of `data` continuing from `crc` (0 to start), and its hex form.
uint32_t Crc32Update(uint32_t crc, absl::string_view data);
std::string Crc32Hex(uint32_t crc);

// One-shot helpers.
std::string Md5Hex(absl::string_view data);
std::string Sha256Hex(absl::string_view data);
FileDigests DigestsOf(absl::string_view data);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_DIGEST_H_
