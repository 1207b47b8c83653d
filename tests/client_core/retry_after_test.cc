#include "client_core/retry_after.h"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace filesgw::client_core {
namespace {

constexpr absl::Duration kCap = absl::Seconds(10);  // the reference implementation's

// A "now" with a fractional second, as real clocks have: the HTTP-date case
// must round the remaining 7.x seconds up to 8.
const absl::Time kNow = absl::FromUnixMillis(1700000000250);

TEST(RetryAfter, PassesEveryVector) {
  const char* shared = std::getenv("FILESGW_SHARED_DIR");
  if (shared == nullptr) GTEST_SKIP() << "FILESGW_SHARED_DIR is not set: vectors not checked";
  std::string file = std::string(shared) + "/filescom-api/vectors/header_test_data.json";
  std::ifstream in(file);
  if (!in) GTEST_SKIP() << file << " is not present: the Retry-After vectors cannot be checked";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  ASSERT_TRUE(doc.IsArray());
  const std::string date = FormatHttpDate(kNow + absl::Seconds(8));
  int checked = 0;
  for (const auto& item : doc.GetArray()) {
    ASSERT_TRUE(item.IsObject() && item.HasMember("headers") && item["headers"].IsObject());
    std::vector<std::string> owned;
    for (const auto& header : item["headers"].GetObject()) {
      ASSERT_TRUE(header.value.IsArray());
      for (const auto& v : header.value.GetArray()) {
        ASSERT_TRUE(v.IsString());
        std::string value(v.GetString(), v.GetStringLength());
        owned.push_back(value == "%s" ? date : value);
      }
    }
    std::vector<std::string_view> values(owned.begin(), owned.end());
    std::optional<absl::Duration> got = ParseRetryAfter(values, kNow, kCap);
    ASSERT_TRUE(item.HasMember("result"));
    const auto& want = item["result"];
    std::string where = "case " + std::to_string(checked) + ": " +
                        (owned.empty() ? std::string("(none)") : owned.front());
    if (want.IsNull()) {
      EXPECT_FALSE(got.has_value()) << where;
    } else {
      ASSERT_TRUE(want.IsInt()) << where;
      ASSERT_TRUE(got.has_value()) << where;
      EXPECT_EQ(*got, absl::Seconds(want.GetInt())) << where;
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(doc.Size()));
  EXPECT_GE(checked, 7);
}

struct Case {
  std::vector<std::string_view> values;
  std::optional<absl::Duration> want;
};

TEST(RetryAfter, TableOfEdgeCases) {
  const std::string soon = FormatHttpDate(kNow + absl::Seconds(3));
  const std::string past = FormatHttpDate(kNow - absl::Seconds(30));
  const std::string far = FormatHttpDate(kNow + absl::Seconds(11));
  const Case cases[] = {
      {{}, std::nullopt},
      {{""}, std::nullopt},
      {{" 7 "}, absl::Seconds(7)},
      {{"0"}, absl::ZeroDuration()},
      {{"10"}, absl::Seconds(10)},  // equal to the cap is allowed
      {{"11"}, std::nullopt},
      {{"-1"}, std::nullopt},
      {{"1.5"}, std::nullopt},
      {{"5s"}, std::nullopt},
      {{"99999999999999999999999"}, std::nullopt},
      {{"aaaaaa", "5"}, std::nullopt},  // only the first value counts
      {{soon}, absl::Seconds(3)},
      {{past}, absl::ZeroDuration()},
      {{far}, std::nullopt},
      {{"Tuesday, 14-Nov-23 22:13:24 GMT"}, absl::Seconds(4)},  // RFC 850: 3.75 s, rounded up
  };
  for (const Case& c : cases) {
    std::string label = c.values.empty() ? "(none)" : std::string(c.values.front());
    EXPECT_EQ(ParseRetryAfter(c.values, kNow, kCap), c.want) << label;
  }
}

TEST(RetryAfter, ObsoleteDateFormatsAreUnderstood) {
  absl::Time now = absl::FromUnixSeconds(784111774);  // Sun, 06 Nov 1994 08:49:34 GMT
  EXPECT_EQ(ParseRetryAfter({"Sun, 06 Nov 1994 08:49:37 GMT"}, now, kCap), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter({"Sunday, 06-Nov-94 08:49:37 GMT"}, now, kCap), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter({"Sun Nov 06 08:49:37 1994"}, now, kCap), absl::Seconds(3));
}

TEST(RetryAfter, FormatsImfFixdate) {
  EXPECT_EQ(FormatHttpDate(absl::FromUnixSeconds(784111777)), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace filesgw::client_core
