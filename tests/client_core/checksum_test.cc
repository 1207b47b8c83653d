#include "client_core/checksum.h"

#include <string>

#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

TEST(Checksum, KnownVectors) {
  EXPECT_EQ(Crc32c(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32(0, "123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32c(0, ""), 0u);
  Md5 md5;
  EXPECT_EQ(md5.Hex(), "d41d8cd98f00b204e9800998ecf8427e");
  md5.Update("The quick brown fox jumps over the lazy dog");
  EXPECT_EQ(md5.Hex(), "9e107d9d372bb6826bd81d3542a419d6");
  EXPECT_EQ(Crc32Hex(0x0000abcd), "0000abcd");
}

TEST(Checksum, PiecewiseEqualsWhole) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 7919 % 251));
  Checksums whole;
  whole.Update(data);
  Checksums pieces;
  for (size_t at = 0; at < data.size();) {
    size_t n = std::min<size_t>(1 + at % 977, data.size() - at);
    pieces.Update(std::string_view(data).substr(at, n));
    at += n;
  }
  EXPECT_EQ(whole.Md5Hex(), pieces.Md5Hex());
  EXPECT_EQ(whole.crc32(), pieces.crc32());
  EXPECT_EQ(whole.crc32c(), pieces.crc32c());
  EXPECT_EQ(whole.bytes(), 100000);
}

// The carry-less-multiply CRC-32 must equal zlib's for every length (block
// tails, lane reductions), alignment and starting value.
TEST(Checksum, Crc32VectorPathEqualsZlib) {
  std::string data;
  for (int i = 0; i < 6000; ++i) data.push_back(static_cast<char>((i * 2654435761u) >> 13));
  for (size_t offset : {0, 1, 7}) {
    for (size_t n = 0; n + offset <= 2100; ++n) {
      for (uint32_t start : {0u, 0xCBF43926u, 0xFFFFFFFFu}) {
        std::string_view piece = std::string_view(data).substr(offset, n);
        ASSERT_EQ(Crc32ForTesting(start, piece, /*vector=*/true),
                  Crc32ForTesting(start, piece, /*vector=*/false))
            << "offset " << offset << " length " << n << " start " << start;
      }
    }
  }
  EXPECT_EQ(Crc32ForTesting(0, data, true), Crc32ForTesting(0, data, false));
  std::string nines(1000, '9');
  EXPECT_EQ(Crc32(0, nines), Crc32ForTesting(0, nines, false));
}

TEST(Checksum, CopySnapshotsTheState) {
  Checksums a;
  a.Update("hello ");
  Checksums snapshot = a;
  a.Update("world");
  snapshot.Update("world");
  EXPECT_EQ(a.Md5Hex(), snapshot.Md5Hex());
  EXPECT_EQ(a.crc32c(), snapshot.crc32c());
  Md5 m;
  m.Update("hello world");
  EXPECT_EQ(a.Md5Hex(), m.Hex());
}

}  // namespace
}  // namespace filesgw::client_core
