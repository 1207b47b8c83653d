#include "client_core/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, WellFormedTextIsUnchanged) {
  for (const std::string& text :
       {std::string(), std::string("plain ascii"), std::string("caf\xC3\xA9"),
        std::string("\xE2\x82\xAC 100"), std::string("\xF0\x9F\x98\x80"),
        std::string("\xEF\xBF\xBF"), std::string("\xF4\x8F\xBF\xBF"), std::string("a\0b", 3)}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(ValidUtf8(text), text);
  }
}

TEST(Utf8, IllFormedSequencesAreRefused) {
  for (const std::string& text : {
           std::string("\x80"),              // continuation without a lead
           std::string("\xC0\xAF"),          // overlong '/'
           std::string("\xE0\x80\xAF"),      // overlong, three bytes
           std::string("\xED\xA0\x80"),      // high surrogate
           std::string("\xED\xBF\xBF"),      // low surrogate
           std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
           std::string("\xF5\x80\x80\x80"),  // lead byte never used
           std::string("\xC3"),              // cut short at the end
           std::string("\xE2\x82"),          // cut short at the end
       }) {
    EXPECT_FALSE(IsValidUtf8(text));
    EXPECT_TRUE(IsValidUtf8(ValidUtf8(text)));
  }
}

// One U+FFFD per maximal subpart, as the Unicode standard recommends: a
// truncated sequence is one replacement, a byte that can start nothing is one.
TEST(Utf8, ReplacementFollowsMaximalSubparts) {
  EXPECT_EQ(ValidUtf8("a\xE2\x82" "b"), "a" + kReplacement + "b");
  EXPECT_EQ(ValidUtf8("\xF0\x9F\x98"), kReplacement);
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), kReplacement + kReplacement);
  EXPECT_EQ(ValidUtf8("\xED\xB0\x80"), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(ValidUtf8("caf\xE9!"), "caf" + kReplacement + "!");
  EXPECT_EQ(ValidUtf8("\xC3\xA9\xFF\xC3\xA9"), "\xC3\xA9" + kReplacement + "\xC3\xA9");
}

TEST(Utf8, CutsAtCharacterBoundaries) {
  EXPECT_EQ(CutUtf8("short", 10), "short");
  EXPECT_EQ(CutUtf8("abcdef", 4), "abcd");
  // "é" is two bytes: a cut at 2 would split it, so it goes whole.
  EXPECT_EQ(CutUtf8("a\xC3\xA9z", 2), "a");
  EXPECT_EQ(CutUtf8("abcdefgh", 6, "..."), "abc...");
  EXPECT_EQ(CutUtf8("\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC", 7, "..."), "\xE2\x82\xAC...");
}

}  // namespace
}  // namespace filesgw::client_core
