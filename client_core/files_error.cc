#include "client_core/files_error.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client_core/internal/string_view.h"
#include "client_core/utf8.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::client_core {

using internal::AsAbsl;
namespace {

constexpr size_t kMaxMessage = 200;

std::string Serialize(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string JsonMember(const rapidjson::Value& object, const char* name, bool want_array) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd()) return "";
  const bool fits = want_array ? it->value.IsArray() : it->value.IsObject();
  return fits ? Serialize(it->value) : "";
}

// "http-code" is a number in most answers and a string in some.
int HttpCode(const rapidjson::Value& object, int fallback) {
  auto it = object.FindMember("http-code");
  if (it == object.MemberEnd()) return fallback;
  if (it->value.IsInt()) return it->value.GetInt();
  if (it->value.IsString()) {
    int code = 0;
    std::string_view text(it->value.GetString(), it->value.GetStringLength());
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(AsAbsl(text)), &code)) return code;
  }
  return fallback;
}

std::string CollapseWhitespace(std::string_view in) {
  std::string out;
  bool space = false;
  for (char c : in) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string StripTags(std::string_view in) {
  std::string out;
  bool in_tag = false;
  for (char c : in) {
    if (c == '<') {
      in_tag = true;
      out.push_back(' ');
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out.push_back(c);
    }
  }
  return out;
}

std::string DecodeXmlEntities(std::string_view in) {
  return absl::StrReplaceAll(AsAbsl(in), {{"&lt;", "<"},
                                  {"&gt;", ">"},
                                  {"&quot;", "\""},
                                  {"&apos;", "'"},
                                  {"&amp;", "&"}});
}

// The text of the first <tag>...</tag>, or empty.
std::string Element(std::string_view body, std::string_view tag) {
  const std::string open = absl::StrCat("<", AsAbsl(tag), ">");
  const std::string close = absl::StrCat("</", AsAbsl(tag), ">");
  size_t start = body.find(open);
  if (start == std::string_view::npos) return "";
  start += open.size();
  size_t end = body.find(close, start);
  if (end == std::string_view::npos) return "";
  return DecodeXmlEntities(internal::AsStd(absl::StripAsciiWhitespace(AsAbsl(body.substr(start, end - start)))));
}

// Proxies answer with HTML, S3 with XML <Error><Code/><Message/></Error>: keep
// what a human needs to see, never the whole page.
void ParseNonJson(std::string_view body, FilesError* error) {
  std::string excerpt;
  std::string code = Element(body, "Code");
  if (!code.empty()) {
    error->title = code;
    std::string message = Element(body, "Message");
    excerpt = message.empty() ? code : absl::StrCat(code, ": ", message);
  } else {
    std::string title = Element(body, "title");
    excerpt = CollapseWhitespace(title.empty() ? StripTags(body) : title);
  }
  error->message = CutUtf8(
      absl::StrCat("HTTP ", error->http_status, excerpt.empty() ? "" : ": ", excerpt), kMaxMessage);
}

}  // namespace

namespace {

FilesError Parse(int http_status, std::string_view body) {
  FilesError error;
  error.http_status = http_status;
  error.http_code = http_status;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    ParseNonJson(body, &error);
    return error;
  }
  error.type = StringMember(doc, "type");
  error.title = StringMember(doc, "title");
  error.message = StringMember(doc, "error");
  if (error.message.empty()) error.message = StringMember(doc, "message");
  error.http_code = HttpCode(doc, http_status);
  error.instance = StringMember(doc, "instance");
  error.errors_json = JsonMember(doc, "errors", /*want_array=*/true);
  error.data_json = JsonMember(doc, "data", /*want_array=*/false);
  error.model_errors_json = JsonMember(doc, "model_errors", /*want_array=*/false);
  error.model_error_keys_json = JsonMember(doc, "model_error_keys", /*want_array=*/false);
  if (error.message.empty()) {
    error.message =
        error.title.empty()
            ? CutUtf8(absl::StrCat("HTTP ", http_status, ": ",
                                   CollapseWhitespace(body.substr(0, 4 * kMaxMessage))),
                      kMaxMessage)
            : error.title;
  }
  return error;
}

}  // namespace

// Every string ends up in a proto string field or a gRPC status message, so
// each must be valid UTF-8: a page in Latin-1 or a "\udc00" escape (which
// RapidJSON decodes to a lone surrogate) would otherwise make the caller's
// stub refuse the whole status. Repaired after parsing, since escapes decode
// to ill-formed text too.
FilesError ParseFilesError(int http_status, std::string_view body) {
  // Repaired first too, so that excerpts are cut to length after the repair.
  std::string repaired;
  if (!IsValidUtf8(body)) {
    repaired = ValidUtf8(body);
    body = repaired;
  }
  FilesError error = Parse(http_status, body);
  for (std::string* text : {&error.type, &error.title, &error.message, &error.instance,
                            &error.errors_json, &error.data_json, &error.model_errors_json,
                            &error.model_error_keys_json}) {
    if (!IsValidUtf8(*text)) *text = ValidUtf8(*text);
  }
  return error;
}

}  // namespace filesgw::client_core
