// What the emulator answers: a status, headers and a body, and the Files.com
// error replies built from the error catalogue in files/v1/error_catalog.proto
// (type, title and HTTP status come from its (files.v1.error) options).
//
//   absl::Status s = ApiError("bad-request/invalid-cursor", "cursor is not one of ours");
//   HttpReply reply = ErrorReply(s);  // 422 {"type":"bad-request/invalid-cursor",...}
#ifndef FILESGW_EMULATOR_REPLY_H_
#define FILESGW_EMULATOR_REPLY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"

namespace filesgw::emulator {

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty: no body
  // As Files.com sends it. The charset also keeps cpp-httplib from gzip/brotli
  // compressing every answer (it only compresses a bare "application/json"),
  // which cost ~4 ms per small answer and ~1 s per 1,000-user page on loopback.
  std::string content_type = "application/json; charset=utf-8";

  static HttpReply Json(int status, std::string body) {
    HttpReply r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpReply NoBody(int status) {
    HttpReply r;
    r.status = status;
    return r;
  }
};

// An error carrying a Files.com error type (a catalogue `type` string such as
// "not-found/user-not-found", or a group such as "not-found") in its payload.
absl::Status ApiError(absl::string_view type, absl::string_view message);

// The Files.com type of `status`: its payload, else a group chosen from the code.
std::string ErrorTypeOf(const absl::Status& status);

// Catalogue facts for a type string; false when the catalogue does not know it.
struct ErrorFacts {
  std::string type;
  std::string title;
  int http_status = 0;
};
bool LookupErrorType(absl::string_view type, ErrorFacts* facts);

// The Files.com error body for `status`:
// {"type","title","error","http-code","instance"[,"errors"][,"data"]}.
// `http_status` overrides the catalogue status when non-zero; `data_json` is
// a JSON object text added as "data" when non-empty.
HttpReply ErrorReply(const absl::Status& status, int http_status = 0,
                     absl::string_view data_json = {});

// Shorthand for ErrorReply(ApiError(type, message)).
HttpReply ErrorReply(absl::string_view type, absl::string_view message);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_REPLY_H_
