// Descriptor-driven conversion between gRPC messages and Files.com REST:
// request message -> path + query / JSON / multipart body, and JSON answer ->
// response message in protobuf wire format. No per-message code.
#ifndef FILESGW_SERVER_CODEC_H_
#define FILESGW_SERVER_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "server/route.h"

namespace filesgw::server {

struct EncodedRequest {
  std::string path_and_query;  // relative to /api/rest/v1, e.g. "/users/1" or "/users?per_page=10"
  std::string body;            // empty for query-string methods
  std::string content_type;    // "application/json", "multipart/form-data; boundary=..." or empty
};

// The longest path + query string EncodeRequest builds (percent-encoded,
// relative to /api/rest/v1). 16 KiB is the request-line limit of common
// front ends (AWS load balancers and Cloudflare allow 16 KB; nginx and Apache
// default to 8 KB per header line, so Files.com may refuse earlier with 414),
// far above any real path (Files.com caps names and paths at a few KB) or
// cursor, and far below curl's 1 MiB cap on a request head.
inline constexpr size_t kMaxPathAndQueryBytes = 16 * 1024;

// OK, or INVALID_ARGUMENT with ErrorInfo reason REQUEST_TOO_LARGE attached
// (client_core/status_reason.h) when `path_and_query` is longer than
// kMaxPathAndQueryBytes; `what` names the call in the message. EncodeRequest
// applies it; code that builds API paths itself (transfers) should too.
absl::Status CheckRequestUrlSize(std::string_view what, std::string_view path_and_query);

// Builds the REST request. Path params are percent-encoded ('/' kept literal
// for `path`-like fields); GET/DELETE params go in the query string
// (`sort_by[username]=asc`, `filter[name]=x`, arrays as `ids[0]=1&ids[1]=2`);
// POST/PATCH/PUT params in a JSON object keyed by the Files.com JSON keys, or
// multipart/form-data when a bytes param is set. Unset optional fields are not
// sent. INVALID_ARGUMENT when a path param is unset or empty, when a Files.com
// path (a string path param) fails client_core::CheckRemotePath, and, with
// ErrorInfo reason REQUEST_TOO_LARGE attached (client_core/status_reason.h),
// when the path and query would exceed kMaxPathAndQueryBytes.
absl::StatusOr<EncodedRequest> EncodeRequest(const Route& route,
                                             const google::protobuf::Message& request);

// What a conversion put into `unmapped_fields` (codec_json_to_binary.cc):
// keys the message lacks (unknown) and keys whose JSON shape did not fit their
// field (misfit), with the first few field paths (names only, never values).
struct UnmappedReport {
  static constexpr size_t kMaxPaths = 8;
  int64_t unknown = 0;
  int64_t misfit = 0;
  std::vector<std::string> paths;  // "files.v1.ListUsersResponse.items[].new_key"
};

// Converts a Files.com JSON value to `type` in protobuf wire format. Accepts
// null as absent, int64 as numbers or strings, numbers for string fields
// (decimals), strings for bools/numbers where unambiguous, and keys such as
// "subfolders_locked?" (via json_name). In a message with `unmapped_fields`
// (every generated model), a key the message lacks and a key whose value does
// not fit its field (a string where an object is declared, an object where a
// string is, a repeated field with one bad element, an unknown enum name) keep
// their raw JSON value there, under their JSON key, and the field stays
// unset; elsewhere unknown keys are skipped and a misfit is INVALID_ARGUMENT
// naming the field. files.v1.Auto takes any value (`value`; objects also in
// `dynamic`). INVALID_ARGUMENT on malformed JSON. `report` may be null.
absl::Status JsonToBinary(const google::protobuf::Descriptor* type, std::string_view json,
                          std::string* out, UnmappedReport* report = nullptr);

// Builds the response bytes for `route` from the 2xx body: Empty -> "";
// message -> JsonToBinary; list -> items (+ next_cursor for paginated lists).
absl::Status DecodeResponse(const Route& route, std::string_view json,
                            std::string_view next_cursor, std::string* out,
                            UnmappedReport* report = nullptr);

// Writes `message` as a Files.com JSON object (Files.com keys, int64 as numbers,
// bytes as base64, Struct/ListValue as plain JSON, maps as objects).
absl::Status MessageToJson(const google::protobuf::Message& message, std::string* out);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_CODEC_H_
