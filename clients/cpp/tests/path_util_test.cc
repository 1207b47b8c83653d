// The client's path_util against the SDKs' conformance vectors.
#include "clients/cpp/path_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace filesgw::client {
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
    EXPECT_EQ(path_util::NormaliseForComparison(input), expected) << "input: " << input;
    EXPECT_TRUE(path_util::IsSame(input, expected)) << input;
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(PathUtil, NormaliseGivesThePathTheApiExpects) {
  EXPECT_EQ(path_util::Normalise("/../../remote\\path//./to/file.txt"), "remote/path/to/file.txt");
  EXPECT_EQ(path_util::Normalize("/My Folder//Report.txt/"), "My Folder/Report.txt");
  EXPECT_TRUE(path_util::IsSame("FÎŁĘÑÂMÉ.TXT", "filename.txt"));
  EXPECT_FALSE(path_util::IsSame("a/b.txt", "a/c.txt"));
}

}  // namespace
}  // namespace filesgw::client
