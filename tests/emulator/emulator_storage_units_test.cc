// The emulator's storage pieces without HTTP: checksums against published
// vectors, blobs, the file tree's path rules and operations (memory and disk),
// presigned URL signing and the upload sessions' incremental hashing.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/blob.h"
#include "emulator/digest.h"
#include "emulator/file_system.h"
#include "emulator/reply.h"
#include "emulator/transfers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace filesgw::emulator {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/", name, "-", ::getpid());
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

TEST(Digest, KnownVectors) {
  FileDigests empty = DigestsOf("");
  EXPECT_EQ(empty.md5, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(empty.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(empty.crc32, "00000000");
  FileDigests abc = DigestsOf("abc");
  EXPECT_EQ(abc.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(abc.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(abc.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestsOf("123456789").crc32, "cbf43926");
  EXPECT_EQ(Md5Hex("The quick brown fox jumps over the lazy dog"), "9e107d9d372bb6826bd81d3542a419d6");
  // One million 'a' (FIPS 180 test vector), fed in uneven pieces.
  Digests million;
  std::string a(1000000, 'a');
  for (size_t at = 0; at < a.size(); at += 7777) million.Update(absl::string_view(a).substr(at, 7777));
  EXPECT_EQ(million.bytes(), 1000000);
  FileDigests m = million.Finish();
  EXPECT_EQ(m.sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  EXPECT_EQ(m.sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(m.md5, "7707d6ae4e027c70eea2a935c2296f21");
}

TEST(Digest, StreamingEqualsOneShotAndResets) {
  std::string data = Bytes(100000, 1);
  Digests d;
  d.Update(data.substr(0, 1));
  d.Update(data.substr(1, 50000));
  d.Update(data.substr(50001));
  FileDigests streamed = d.Finish();
  FileDigests once = DigestsOf(data);
  EXPECT_EQ(streamed.md5, once.md5);
  EXPECT_EQ(streamed.sha1, once.sha1);
  EXPECT_EQ(streamed.sha256, once.sha256);
  EXPECT_EQ(streamed.crc32, once.crc32);
  EXPECT_EQ(d.Finish().md5, "d41d8cd98f00b204e9800998ecf8427e") << "Finish() resets";
}

TEST(Blob, ChainReadsAnyRangeAcrossPieces) {
  std::string data = Bytes(10000, 2);
  std::vector<BlobPtr> pieces;
  for (size_t at = 0; at < data.size(); at += 1500) pieces.push_back(MemoryBlob(data.substr(at, 1500)));
  pieces.insert(pieces.begin() + 2, MemoryBlob(""));  // empty pieces are skipped
  BlobPtr chain = ChainBlob(pieces);
  ASSERT_EQ(chain->size(), 10000);
  EXPECT_EQ(BlobToString(*chain), data);
  for (auto [offset, length] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 1}, {1499, 2}, {1500, 1500}, {2999, 3001}, {9999, 1}, {9000, 5000}, {10000, 5}}) {
    std::string got;
    ASSERT_TRUE(chain->Read(offset, length, [&got](absl::string_view p) {
      got.append(p.data(), p.size());
      return true;
    }));
    size_t o = static_cast<size_t>(offset);
    EXPECT_EQ(got, data.substr(o, static_cast<size_t>(length))) << offset << "+" << length;
  }
  EXPECT_FALSE(chain->Read(0, 10, [](absl::string_view) { return false; })) << "sink can stop";
}

TEST(Blob, DiskWriterMakesABlobThatRemovesItsFile) {
  std::string dir = TempDir("emu-blob");
  std::string path = dir + "/part";
  auto writer = NewDiskWriter(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  (*writer)->Append("hello ");
  (*writer)->Append("world");
  auto blob = (*writer)->Finish();
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(BlobToString(**blob), "hello world");
  EXPECT_TRUE(IsFile(path));
  EXPECT_FALSE(NewDiskWriter(path).ok()) << "never overwrites";
  blob->reset();
  EXPECT_FALSE(IsFile(path)) << "released with the blob";
  ASSERT_EQ(::symlink("/etc/passwd", (dir + "/link").c_str()), 0);
  EXPECT_FALSE(OpenDiskBlob(dir + "/link", false).ok()) << "symlinks are not followed";
}

TEST(Paths, NormalisedSplitAndComparisonKey) {
  EXPECT_THAT(SplitApiPath("/../../etc/passwd"), ElementsAre("etc", "passwd"));
  EXPECT_THAT(SplitApiPath("a\\b//./c/"), ElementsAre("a", "b", "c"));
  EXPECT_TRUE(SplitApiPath("").empty());
  EXPECT_THAT(SplitApiPath("cafe\xcc\x81"), ElementsAre("caf\xc3\xa9")) << "NFD -> NFC";
  EXPECT_EQ(NameKey("REPORT.Txt"), NameKey("report.txt"));
  EXPECT_EQ(NameKey("Caf\xc3\xa9"), NameKey("cafe"));
}

class FileSystemTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    FileSystemOptions options;
    if (GetParam()) {
      dir_ = TempDir("emu-fs");
      options.storage_dir = dir_ + "/store";
    }
    fs_ = std::make_unique<FileSystem>(options);
    ASSERT_TRUE(fs_->Init().ok());
  }
  absl::StatusOr<Entry> Put(const std::string& path, const std::string& data, bool mkdir = true) {
    return fs_->CommitFile(path, mkdir, MemoryBlob(data), DigestsOf(data), std::nullopt);
  }
  std::string Read(const std::string& path) {
    auto opened = fs_->Open(path);
    if (!opened.ok() || opened->second == nullptr) return "<none>";
    return BlobToString(*opened->second);
  }
  std::vector<std::string> Names(const std::string& path) {
    std::vector<std::string> names;
    auto list = fs_->List(path);
    if (list.ok()) {
      for (const auto& e : *list) names.push_back(e.name + (e.folder ? "/" : ""));
    }
    return names;
  }
  std::string dir_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_P(FileSystemTest, CaseInsensitiveLookupKeepsFirstSpelling) {
  ASSERT_TRUE(Put("Reports/Q1.TXT", "one").ok());
  auto again = Put("reports/q1.txt", "two");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->path, "Reports/Q1.TXT");
  EXPECT_EQ(Read("REPORTS/q1.txt"), "two");
  EXPECT_EQ(fs_->Stat("reports")->name, "Reports");
  if (GetParam()) {
    EXPECT_TRUE(IsFile(dir_ + "/store/Reports/Q1.TXT"));
  }
}

TEST_P(FileSystemTest, ParentsAndConflicts) {
  EXPECT_EQ(ErrorTypeOf(Put("a/b/c.txt", "x", /*mkdir=*/false).status()),
            "processing-failure/destination-parent-does-not-exist");
  ASSERT_TRUE(Put("a/b/c.txt", "x").ok());
  EXPECT_EQ(ErrorTypeOf(Put("a/b/c.txt/d", "x").status()),
            "processing-failure/destination-parent-conflict");
  EXPECT_EQ(ErrorTypeOf(Put("a/b", "x").status()), "processing-failure/destination-exists");
  EXPECT_EQ(ErrorTypeOf(fs_->CreateFolder("a/b", false, std::nullopt).status()),
            "processing-failure/destination-exists");
  EXPECT_EQ(ErrorTypeOf(Put("", "x").status()), "bad-request/invalid-path");
  EXPECT_EQ(ErrorTypeOf(Put(".files-emulator/x", "x").status()), "bad-request/invalid-path");
  EXPECT_EQ(ErrorTypeOf(Put("trailing /x", "x").status()),
            "bad-request/path-cannot-have-trailing-whitespace");
  EXPECT_EQ(ErrorTypeOf(Put(std::string(256, 'n'), "x").status()),
            "processing-failure/filename-too-long");
}

TEST_P(FileSystemTest, CopyMoveDelete) {
  ASSERT_TRUE(Put("src/one.txt", "1").ok());
  ASSERT_TRUE(Put("src/sub/two.txt", "22").ok());
  ASSERT_TRUE(fs_->Copy("src", "copy/of/src", false, false).ok());
  EXPECT_EQ(Read("copy/of/src/sub/two.txt"), "22");
  EXPECT_EQ(fs_->Stat("copy/of/src/sub/two.txt")->digests.md5, Md5Hex("22"));
  EXPECT_EQ(ErrorTypeOf(fs_->Copy("src", "copy/of/src", false, false)),
            "processing-failure/destination-exists");
  EXPECT_EQ(ErrorTypeOf(fs_->Copy("src", "src/sub/inner", false, false)),
            "processing-failure/destination-parent-conflict");
  ASSERT_TRUE(fs_->Copy("src", "skeleton", false, /*structure_only=*/true).ok());
  EXPECT_THAT(Names("skeleton"), ElementsAre("sub/"));
  ASSERT_TRUE(fs_->Move("src/one.txt", "moved.txt", false).ok());
  EXPECT_EQ(fs_->Stat("src/one.txt").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Read("moved.txt"), "1");
  ASSERT_TRUE(Put("other.txt", "other").ok());
  EXPECT_EQ(ErrorTypeOf(fs_->Move("moved.txt", "other.txt", false)),
            "processing-failure/destination-exists");
  ASSERT_TRUE(fs_->Move("moved.txt", "other.txt", /*overwrite=*/true).ok());
  EXPECT_EQ(Read("other.txt"), "1");
  ASSERT_TRUE(fs_->Move("other.txt", "OTHER.txt", false).ok()) << "a change of case renames";
  EXPECT_EQ(fs_->Stat("other.txt")->name, "OTHER.txt");
  EXPECT_EQ(ErrorTypeOf(fs_->Delete("copy", false)), "processing-failure/folder-not-empty");
  ASSERT_TRUE(fs_->Delete("copy", true).ok());
  EXPECT_EQ(ErrorTypeOf(fs_->Delete("copy", true)), "not-found/file-not-found");
  EXPECT_THAT(Names(""), UnorderedElementsAre("OTHER.txt", "skeleton/", "src/"));
  if (GetParam()) {
    EXPECT_TRUE(IsFile(dir_ + "/store/OTHER.txt"));
    EXPECT_FALSE(IsFile(dir_ + "/store/copy/of/src/one.txt"));
    EXPECT_TRUE(IsFile(dir_ + "/store/src/sub/two.txt"));
  }
}

TEST_P(FileSystemTest, OpenPinsContent) {
  ASSERT_TRUE(Put("pinned.txt", "old").ok());
  auto before = fs_->Open("pinned.txt");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(Put("pinned.txt", "new!").ok());
  EXPECT_EQ(BlobToString(*before->second), "old");
  EXPECT_EQ(Read("pinned.txt"), "new!");
  ASSERT_TRUE(fs_->Delete("pinned.txt", false).ok());
  EXPECT_EQ(BlobToString(*before->second), "old");
}

TEST_P(FileSystemTest, UpdateMergesCustomMetadata) {
  ASSERT_TRUE(Put("meta.txt", "m").ok());
  JsonDoc first;
  first.Parse(R"({"a":"1","b":"2"})");
  ASSERT_TRUE(fs_->Update("meta.txt", std::nullopt, &first, std::nullopt).ok());
  JsonDoc second;
  second.Parse(R"({"a":null,"c":"3"})");
  absl::Time t = absl::FromUnixSeconds(1700000000);
  auto entry = fs_->Update("meta.txt", t, &second, std::string("red"));
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->custom_metadata, R"({"b":"2","c":"3"})");
  EXPECT_EQ(entry->provided_mtime, t);
  EXPECT_EQ(entry->priority_color, "red");
}

std::string StorageName(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "Disk" : "Memory";
}
INSTANTIATE_TEST_SUITE_P(MemoryAndDisk, FileSystemTest, ::testing::Bool(), StorageName);

TEST(FileSystemDisk, RescansWhatItStoredAndSkipsSymlinks) {
  std::string dir = TempDir("emu-rescan");
  std::string outside = dir + "/outside";
  ::mkdir(outside.c_str(), 0755);
  FileSystemOptions options;
  options.storage_dir = dir + "/store";
  {
    FileSystem fs(options);
    ASSERT_TRUE(fs.Init().ok());
    ASSERT_TRUE(fs.CommitFile("keep/me.bin", true, MemoryBlob("kept"), DigestsOf("kept"), std::nullopt).ok());
  }
  ASSERT_EQ(::symlink(outside.c_str(), (dir + "/store/evil").c_str()), 0);
  FileSystem fs(options);
  ASSERT_TRUE(fs.Init().ok());
  auto kept = fs.Stat("keep/me.bin");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->digests.md5, Md5Hex("kept"));
  EXPECT_EQ(fs.Stat("evil").status().code(), absl::StatusCode::kNotFound);
  // Neither a folder over the link nor a file through it.
  EXPECT_FALSE(fs.CreateFolder("evil", false, std::nullopt).ok());
  EXPECT_FALSE(fs.CommitFile("evil/x", true, MemoryBlob("x"), DigestsOf("x"), std::nullopt).ok());
  EXPECT_FALSE(IsFile(outside + "/x"));
}

TEST(UrlSigner, ExpiresAndRejectsTampering) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  UrlSigner signer([&now] { return now; });
  std::string query = signer.Sign("GET", "/__emulator/download/abc", absl::Seconds(60));
  EXPECT_THAT(query, ::testing::StartsWith("X-Files-Date=20231114T221320Z&X-Files-Expires=60&"));
  auto param = [&query](const std::string& key) {
    size_t at = query.find(key + "=") + key.size() + 1;
    return query.substr(at, query.find('&', at) - at);
  };
  std::string date = param("X-Files-Date"), sig = param("X-Files-Signature");
  using Check = UrlSigner::Check;
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abc", date, "60", sig), Check::kOk);
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abd", date, "60", sig), Check::kBadSignature);
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abc", date, "600", sig), Check::kBadSignature);
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abc", date, "60", ""), Check::kMissing);
  // A URL for GET does not let a PUT in (HEAD goes with GET, as on S3).
  EXPECT_EQ(signer.Verify("PUT", "/__emulator/download/abc", date, "60", sig), Check::kBadSignature);
  EXPECT_EQ(signer.Verify("HEAD", "/__emulator/download/abc", date, "60", sig), Check::kOk);
  now += absl::Seconds(59);
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abc", date, "60", sig), Check::kOk);
  now += absl::Seconds(1);
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abc", date, "60", sig), Check::kExpired);
  now -= absl::Seconds(30);
  signer.ExpireAll();
  EXPECT_EQ(signer.Verify("GET", "/__emulator/download/abc", date, "60", sig), Check::kExpired);
}

TEST(UploadSessions, AssembleMatchesOneShotHashInAnyArrivalOrder) {
  UploadSessions uploads;
  std::string data = Bytes(7 * 4096 + 5, 3);
  std::vector<std::string> parts;
  for (size_t at = 0; at < data.size(); at += 4096) parts.push_back(data.substr(at, 4096));
  for (int pass = 0; pass < 3; ++pass) {
    UploadSession s = uploads.Begin("f.bin", false);
    EXPECT_THAT(s.ref, ::testing::StartsWith("put-"));
    std::vector<size_t> order(parts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = pass == 1 ? order.size() - 1 - i : i;
    std::vector<std::pair<int64_t, std::string>> etags;
    for (size_t i : order) {
      ASSERT_TRUE(uploads.PutPart(s.ref, static_cast<int64_t>(i) + 1, MemoryBlob(parts[i]), Md5Hex(parts[i])));
      if (pass == 2 && i == 2) {  // a part re-sent after being hashed: still right
        ASSERT_TRUE(uploads.PutPart(s.ref, 1, MemoryBlob(parts[0]), Md5Hex(parts[0])));
      }
    }
    for (size_t i = 0; i < parts.size(); ++i) etags.emplace_back(i + 1, Md5Hex(parts[i]));
    auto file = uploads.Assemble(s.ref, etags);
    ASSERT_TRUE(file.ok()) << file.status();
    FileDigests want = DigestsOf(data);
    EXPECT_EQ(file->digests.md5, want.md5) << pass;
    EXPECT_EQ(file->digests.sha1, want.sha1) << pass;
    EXPECT_EQ(file->digests.sha256, want.sha256) << pass;
    EXPECT_EQ(file->digests.crc32, want.crc32) << pass;
    EXPECT_EQ(BlobToString(*file->content), data);
    // A wrong etag is refused; the session stays until Finish.
    etags[0].second = Md5Hex("nope");
    EXPECT_EQ(ErrorTypeOf(uploads.Assemble(s.ref, etags).status()), "bad-request/invalid-etags");
    uploads.Finish(s.ref);
    EXPECT_FALSE(uploads.Find(s.ref).has_value());
    EXPECT_FALSE(uploads.PutPart(s.ref, 1, MemoryBlob("x"), Md5Hex("x")));
  }
}

}  // namespace
}  // namespace filesgw::emulator
