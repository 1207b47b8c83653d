// DecodeResponse: picks the JSON -> wire entry point by the route's response
// kind. The conversions themselves live in codec_json_to_binary.cc,
// codec_message_to_json.cc and codec_request.cc.
#include "server/codec.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/codec_internal.h"

namespace filesgw::server {

absl::Status DecodeResponse(const Route& route, std::string_view json,
                            std::string_view next_cursor, std::string* out,
                            UnmappedReport* report) {
  if (out == nullptr || route.response_type == nullptr) {
    return absl::InvalidArgumentError("DecodeResponse: null argument");
  }
  out->clear();
  if (route.response_kind == ResponseKind::kEmpty) return absl::OkStatus();
  // 201/204 answers sometimes come without a body: an empty message or list.
  const bool blank = absl::StripAsciiWhitespace(absl::string_view(json.data(), json.size())).empty();
  if (route.response_kind == ResponseKind::kMessage) {
    return blank ? absl::OkStatus() : JsonToBinary(route.response_type, json, out, report);
  }
  const auto* items = route.response_type->FindFieldByName("items");
  if (items == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(route.response_type->full_name(), " has no `items` field"));
  }
  if (!blank) {
    absl::Status status = codec_internal::JsonArrayToBinary(route.response_type, items, json, out,
                                                              report);
    if (!status.ok()) return status;
  }
  if (route.response_kind == ResponseKind::kPaginatedList && !next_cursor.empty()) {
    const auto* cursor = route.response_type->FindFieldByName("next_cursor");
    if (cursor == nullptr) return absl::OkStatus();
    uint64_t tag = (static_cast<uint64_t>(cursor->number()) << 3) | 2;  // length-delimited
    uint64_t length = next_cursor.size();
    for (uint64_t* v : {&tag, &length}) {
      while (*v >= 0x80) {
        out->push_back(static_cast<char>(*v | 0x80));
        *v >>= 7;
      }
      out->push_back(static_cast<char>(*v));
    }
    out->append(next_cursor.data(), next_cursor.size());
  }
  return absl::OkStatus();
}

}  // namespace filesgw::server
