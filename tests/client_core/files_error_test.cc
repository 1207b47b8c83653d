#include "client_core/files_error.h"

#include <string>

#include "client_core/utf8.h"
#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

TEST(FilesError, FullJsonBodyWithNumericHttpCode) {
  FilesError e = ParseFilesError(422, R"({
    "type": "processing-failure/destination-exists", "title": "Destination Exists",
    "error": "The destination exists.", "http-code": 422, "instance": "abc-123",
    "errors": [{"type": "x", "message": "m"}], "data": {"path": "a/b"},
    "model_errors": {"name": ["taken"]}, "model_error_keys": {"name": ["taken"]}})");
  EXPECT_EQ(e.http_status, 422);
  EXPECT_EQ(e.type, "processing-failure/destination-exists");
  EXPECT_EQ(e.title, "Destination Exists");
  EXPECT_EQ(e.message, "The destination exists.");
  EXPECT_EQ(e.http_code, 422);
  EXPECT_EQ(e.instance, "abc-123");
  EXPECT_EQ(e.errors_json, R"([{"type":"x","message":"m"}])");
  EXPECT_EQ(e.data_json, R"({"path":"a/b"})");
  EXPECT_EQ(e.model_errors_json, R"({"name":["taken"]})");
  EXPECT_EQ(e.model_error_keys_json, R"({"name":["taken"]})");
}

struct HttpCodeCase {
  const char* body;
  int want;
};

TEST(FilesError, HttpCodeNumberStringOrMissing) {
  const HttpCodeCase cases[] = {
      {R"({"type":"not-found","http-code":404})", 404},
      {R"({"type":"not-found","http-code":"404"})", 404},
      {R"({"type":"not-found","http-code":" 403 "})", 403},
      {R"({"type":"not-found","http-code":"n/a"})", 410},  // unusable: the HTTP status
      {R"({"type":"not-found","http-code":4.5})", 410},
      {R"({"type":"not-found"})", 410},
  };
  for (const auto& c : cases) {
    FilesError e = ParseFilesError(410, c.body);
    EXPECT_EQ(e.http_code, c.want) << c.body;
    EXPECT_EQ(e.type, "not-found") << c.body;
  }
}

TEST(FilesError, ErrorsMayBeStrings) {
  FilesError e = ParseFilesError(400, R"({"type":"bad-request","errors":["a is bad","b too"]})");
  EXPECT_EQ(e.errors_json, R"(["a is bad","b too"])");
}

TEST(FilesError, WrongMemberTypesAreIgnoredNotTrusted) {
  FilesError e = ParseFilesError(
      400, R"({"type":7,"title":null,"error":["x"],"errors":{"a":1},"data":[1],"instance":{}})");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.title, "");
  EXPECT_EQ(e.instance, "");
  EXPECT_EQ(e.errors_json, "");
  EXPECT_EQ(e.data_json, "");
  EXPECT_FALSE(e.message.empty());  // a message is always there for humans
}

TEST(FilesError, HtmlFromAProxy) {
  std::string body =
      "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad "
      "Gateway</h1></center><hr><center>nginx</center></body></html>";
  FilesError e = ParseFilesError(502, body);
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.http_code, 502);
  EXPECT_EQ(e.message, "HTTP 502: 502 Bad Gateway");
}

TEST(FilesError, S3XmlPicksCodeAndMessage) {
  FilesError e = ParseFilesError(403, R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Request has expired &amp; cannot be used</Message>
<RequestId>ABC</RequestId></Error>)");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.title, "AccessDenied");
  EXPECT_EQ(e.message, "HTTP 403: AccessDenied: Request has expired & cannot be used");
}

TEST(FilesError, EmptyBody) {
  FilesError e = ParseFilesError(500, "");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.http_status, 500);
  EXPECT_EQ(e.http_code, 500);
  EXPECT_EQ(e.message, "HTTP 500");
  EXPECT_EQ(e.errors_json, "");
}

TEST(FilesError, LongBodiesAreCutToAnExcerpt) {
  std::string body(5000, 'x');
  FilesError e = ParseFilesError(500, body);
  EXPECT_LE(e.message.size(), 200u);
  EXPECT_EQ(e.message.rfind("HTTP 500: xxx", 0), 0u) << e.message;
}

TEST(FilesError, ExcerptNeverSplitsAUtf8Character) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += "\xC3\xA9";  // é
  FilesError e = ParseFilesError(500, body);
  ASSERT_LE(e.message.size(), 200u);
  // The last byte must not be a lead byte left without its continuation.
  EXPECT_NE(static_cast<unsigned char>(e.message.back()), 0xC3);
}

TEST(FilesError, JsonThatIsNotAnObjectIsText) {
  FilesError e = ParseFilesError(500, R"(["oops"])");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.message, R"(HTTP 500: ["oops"])");
}

// A proxy page in Latin-1 ("café" with a single 0xE9 byte): the excerpt is
// readable and valid UTF-8, so the status reaches the caller's stub.
TEST(FilesError, Latin1PageBecomesValidUtf8) {
  FilesError e = ParseFilesError(502, "<html><title>Caf\xe9 gateway</title></html>");
  EXPECT_EQ(e.message, "HTTP 502: Caf\xEF\xBF\xBD gateway");
}

TEST(FilesError, LongInvalidPageIsStillCutToLength) {
  FilesError e = ParseFilesError(500, std::string(1000, '\xff'));
  EXPECT_LE(e.message.size(), 200u);
  EXPECT_TRUE(IsValidUtf8(e.message));
}

// "\udc00" is a lone low surrogate: legal JSON text, but it decodes to bytes
// that are not UTF-8. The type, the message and the data survive; only the
// character is replaced.
TEST(FilesError, LoneSurrogateEscapesAreReplaced) {
  FilesError e = ParseFilesError(
      404, R"({"type":"not-found/x","error":"missing \udc00 here","data":{"k":"\udc00"}})");
  EXPECT_EQ(e.type, "not-found/x");
  EXPECT_TRUE(IsValidUtf8(e.message)) << e.message;
  EXPECT_EQ(e.message.rfind("missing ", 0), 0u);
  EXPECT_TRUE(IsValidUtf8(e.data_json)) << e.data_json;
}

TEST(FilesError, InvalidBytesInsideJsonStringsAreReplaced) {
  FilesError e = ParseFilesError(400, "{\"type\":\"bad-request/x\",\"error\":\"ab\xc0\xaf" "cd\"}");
  EXPECT_EQ(e.type, "bad-request/x");
  EXPECT_EQ(e.message, "ab\xEF\xBF\xBD\xEF\xBF\xBD" "cd");
}

}  // namespace
}  // namespace filesgw::client_core
