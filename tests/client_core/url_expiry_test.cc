#include "client_core/url_expiry.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace filesgw::client_core {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1764400000);  // 2025-11-29

std::string Compact(absl::Time t) { return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone()); }

// Fills each %s in turn.
std::string Substitute(std::string url, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    size_t at = url.find("%s");
    if (at == std::string::npos) break;
    url.replace(at, 2, v);
  }
  return url;
}

TEST(UrlExpiry, PassesEveryVector) {
  const char* shared = std::getenv("FILESGW_SHARED_DIR");
  if (shared == nullptr) GTEST_SKIP() << "FILESGW_SHARED_DIR is not set: vectors not checked";
  std::string file = std::string(shared) + "/filescom-api/vectors/url_test_data.json";
  std::ifstream in(file);
  if (!in) GTEST_SKIP() << file << " is not present: the URL vectors cannot be checked";
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(ss.str().c_str());
  ASSERT_TRUE(doc.IsObject());
  int checked = 0;
  for (const auto& u : doc["substitute_urls"].GetArray()) {
    std::string url = u.GetString();
    const bool azure = url.find("se=%s") != std::string::npos;
    SCOPED_TRACE(url);
    if (azure) {
      EXPECT_TRUE(UrlExpired(Substitute(url, {Compact(kNow - absl::Minutes(1))}), kNow));
      EXPECT_FALSE(UrlExpired(Substitute(url, {Compact(kNow + absl::Minutes(10))}), kNow));
      auto at = UrlExpiry(Substitute(url, {Compact(kNow + absl::Minutes(10))}));
      ASSERT_TRUE(at.has_value());
      EXPECT_EQ(*at, kNow + absl::Minutes(10));
    } else {
      // Signed 20 minutes ago: valid for 15 minutes (expired) or an hour (not).
      std::string signed_at = Compact(kNow - absl::Minutes(20));
      EXPECT_TRUE(UrlExpired(Substitute(url, {signed_at, "900"}), kNow));
      EXPECT_FALSE(UrlExpired(Substitute(url, {signed_at, "3600"}), kNow));
      EXPECT_EQ(UrlExpiry(Substitute(url, {signed_at, "3600"})), kNow + absl::Minutes(40));
      // Refreshing a little early: 5 minutes of margin before a 10-minute expiry.
      EXPECT_FALSE(UrlExpired(Substitute(url, {signed_at, "1800"}), kNow, absl::Minutes(5)));
      EXPECT_TRUE(UrlExpired(Substitute(url, {signed_at, "1500"}), kNow, absl::Minutes(5)));
    }
    ++checked;
  }
  for (const auto& u : doc["error_urls"].GetArray()) {
    SCOPED_TRACE(u.GetString());
    EXPECT_FALSE(UrlExpiry(u.GetString()).has_value());
    EXPECT_FALSE(UrlExpired(u.GetString(), kNow));
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(UrlExpiry, EmulatorStyleFilesParameters) {
  std::string url = absl::StrCat("http://127.0.0.1:1/__emulator/download/t?X-Files-Date=",
                                 Compact(kNow), "&X-Files-Expires=60&X-Files-Signature=abc");
  EXPECT_EQ(UrlExpiry(url), kNow + absl::Seconds(60));
  EXPECT_FALSE(UrlExpired(url, kNow + absl::Seconds(59)));
  EXPECT_TRUE(UrlExpired(url, kNow + absl::Seconds(60)));
}

TEST(UrlExpiry, UrlsWithoutParametersNeverExpire) {
  EXPECT_FALSE(UrlExpiry("https://example.com/file.txt").has_value());
  EXPECT_FALSE(UrlExpiry("https://example.com/file.txt?a=b").has_value());
  EXPECT_FALSE(UrlExpired("https://example.com/x?X-Amz-Expires=60", kNow));
}

}  // namespace
}  // namespace filesgw::client_core
