#include "client_core/query.h"

#include <string>

#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

TEST(PercentEncode, Table) {
  const struct {
    std::string in;
    bool keep_slash;
    std::string want;
  } cases[] = {
      {"AZaz09-._~", false, "AZaz09-._~"},
      {"a b", false, "a%20b"},
      {"a/b c", true, "a/b%20c"},
      {"a/b", false, "a%2Fb"},
      {"50%+&=?#[]", false, "50%25%2B%26%3D%3F%23%5B%5D"},
      {"caf\xC3\xA9", false, "caf%C3%A9"},
      {std::string("a\0b", 3), false, "a%00b"},
      {"", false, ""},
  };
  for (const auto& c : cases) EXPECT_EQ(PercentEncode(c.in, c.keep_slash), c.want) << c.in;
}

TEST(QueryBuilder, EncodesKeysAndValuesInOrder) {
  QueryBuilder q;
  EXPECT_EQ(q.Build(), "");
  q.Add("a", "1");
  q.Add("sort_by[username]", "asc");
  q.Add("filter[name]", "Jo & Co");
  q.Add("ids[]", "1");
  q.Add("ids[]", "2");
  EXPECT_EQ(q.Build(),
            "a=1&sort_by%5Busername%5D=asc&filter%5Bname%5D=Jo%20%26%20Co&ids%5B%5D=1&ids%5B%5D=2");
}

TEST(MultipartBuilder, BuildsRfc7578Body) {
  MultipartBuilder m("XyZ");
  m.AddField("action", "put");
  m.AddFile("file", "a \"b\".txt", "text/plain", "hello");
  EXPECT_EQ(m.ContentType(), "multipart/form-data; boundary=XyZ");
  EXPECT_EQ(m.Finish(),
            "--XyZ\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nput\r\n"
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\nhello\r\n"
            "--XyZ--\r\n");
}

TEST(MultipartBuilder, RandomBoundariesDiffer) {
  MultipartBuilder a, b;
  EXPECT_GE(a.boundary().size(), 27u);
  EXPECT_NE(a.boundary(), b.boundary());
  MultipartBuilder empty;
  EXPECT_EQ(empty.Finish(), "--" + empty.boundary() + "--\r\n");
}

}  // namespace
}  // namespace filesgw::client_core
