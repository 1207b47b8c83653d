#include "client_core/path_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace filesgw::client_core {
namespace {

TEST(PathUtil, PassesEveryNormalizationVector) {
  const char* shared = std::getenv("FILESGW_SHARED_DIR");
  std::string file = std::string(shared ? shared : "../shared") +
                     "/filescom-api/vectors/normalization_for_comparison_test_data.json";
  std::ifstream in(file);
  if (!in) GTEST_SKIP() << file << " is not present: the conformance vectors cannot be checked";
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(ss.str().c_str(), ss.str().size());
  ASSERT_TRUE(doc.IsArray());
  int checked = 0;
  for (const auto& pair : doc.GetArray()) {
    ASSERT_TRUE(pair.IsArray() && pair.Size() == 2 && pair[0].IsString() && pair[1].IsString());
    std::string input(pair[0].GetString(), pair[0].GetStringLength());
    std::string expected(pair[1].GetString(), pair[1].GetStringLength());
    EXPECT_EQ(NormalizeForComparison(input), expected) << "input: " << input;
    EXPECT_TRUE(IsSame(input, expected)) << input;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(doc.Size()));
  EXPECT_GT(checked, 40);
}

TEST(PathUtil, NormalizeKeepsCaseAndInnerSpaces) {
  EXPECT_EQ(Normalize("/My Folder//./Report #1?.txt/"), "My Folder/Report #1?.txt");
  EXPECT_EQ(Normalize("a\\b\\..\\c"), "a/b/c");
  EXPECT_EQ(Normalize(std::string("x\0y", 3)), "xy");
  EXPECT_EQ(Normalize(""), "");
}

TEST(PathUtil, CheckRemotePathRefusesDotSegmentsAndNul) {
  const std::string refused[] = {
      "..", ".", "../secrets", "a/../b", "a/./b", "a/..", "/..", "a\\..\\b", "a/b/.",
      std::string("x\0y", 3), std::string("\0", 1),
  };
  for (const std::string& path : refused) {
    absl::Status s = CheckRemotePath(path);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_FALSE(s.message().empty()) << path;
  }
  EXPECT_THAT(std::string(CheckRemotePath("a/../b").message()), ::testing::HasSubstr("\"..\""));
  EXPECT_THAT(std::string(CheckRemotePath(std::string("x\0y", 3)).message()),
              ::testing::HasSubstr("NUL"));
}

TEST(PathUtil, CheckRemotePathAcceptsNamesWithDotsAndEmptySegments) {
  for (const char* path : {"", "/", "a", "a//b/", "/a/b.txt", "...", "a..b/.c/..d/...",
                           "My Folder/Report #1?.txt", "\xC3\xBC/x"}) {
    EXPECT_TRUE(CheckRemotePath(path).ok()) << path << ": " << CheckRemotePath(path);
  }
}

TEST(PathUtil, DifferentFilesAreNotSame) {
  EXPECT_FALSE(IsSame("a/b.txt", "a/c.txt"));
  EXPECT_FALSE(IsSame("a/b.txt", "a/b.txt/c"));
  EXPECT_FALSE(IsSame(" lead", "lead"));
}

}  // namespace
}  // namespace filesgw::client_core
