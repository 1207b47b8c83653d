#include "emulator/reply.h"

#include <cstdint>
#include <map>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "emulator/json.h"
#include "files/v1/error_catalog.pb.h"
#include "files/v1/options.pb.h"

namespace filesgw::emulator {
namespace {

constexpr char kTypePayload[] = "files.com/type";

// "not-authenticated" -> "Not Authenticated", for groups the catalogue gives no title.
std::string TitleFromType(absl::string_view type) {
  std::string title;
  absl::string_view leaf = type.substr(type.rfind('/') == absl::string_view::npos ? 0 : type.rfind('/') + 1);
  for (absl::string_view word : absl::StrSplit(leaf, '-')) {
    if (word.empty()) continue;
    if (!title.empty()) title += ' ';
    title += absl::ascii_toupper(word[0]);
    title.append(word.data() + 1, word.size() - 1);
  }
  return title;
}

void AddEnum(const google::protobuf::EnumDescriptor* e, std::map<std::string, ErrorFacts>* out) {
  for (int i = 0; i < e->value_count(); ++i) {
    const auto& options = e->value(i)->options();
    if (!options.HasExtension(files::v1::error)) continue;
    const auto& info = options.GetExtension(files::v1::error);
    ErrorFacts facts;
    facts.type = info.type();
    facts.title = info.title().empty() ? TitleFromType(info.type()) : info.title();
    facts.http_status = info.http_status();
    (*out)[facts.type] = facts;
  }
}

const std::map<std::string, ErrorFacts>& Catalog() {
  static const auto* const catalog = [] {
    auto* m = new std::map<std::string, ErrorFacts>();
    AddEnum(files::v1::ErrorGroup_descriptor(), m);
    AddEnum(files::v1::ErrorType_descriptor(), m);
    return m;
  }();
  return *catalog;
}

std::string NewInstanceId() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* rng = new std::mt19937_64(std::random_device{}());
  uint64_t a, b;
  {
    absl::MutexLock lock(&mu);
    a = (*rng)();
    b = (*rng)();
  }
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

}  // namespace

absl::Status ApiError(absl::string_view type, absl::string_view message) {
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(type, "not-found")) code = absl::StatusCode::kNotFound;
  if (absl::StartsWith(type, "not-authenticated")) code = absl::StatusCode::kUnauthenticated;
  if (absl::StartsWith(type, "not-authorized")) code = absl::StatusCode::kPermissionDenied;
  if (absl::StartsWith(type, "rate-limited")) code = absl::StatusCode::kResourceExhausted;
  if (absl::StartsWith(type, "service-unavailable")) code = absl::StatusCode::kUnavailable;
  absl::Status status(code, message);
  status.SetPayload(kTypePayload, absl::Cord(type));
  return status;
}

std::string ErrorTypeOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(kTypePayload)) return std::string(*payload);
  switch (status.code()) {
    case absl::StatusCode::kNotFound: return "not-found";
    case absl::StatusCode::kUnauthenticated: return "not-authenticated";
    case absl::StatusCode::kPermissionDenied: return "not-authorized";
    case absl::StatusCode::kResourceExhausted: return "rate-limited";
    case absl::StatusCode::kUnavailable: return "service-unavailable";
    case absl::StatusCode::kInvalidArgument: return "bad-request";
    default: return "processing-failure";
  }
}

bool LookupErrorType(absl::string_view type, ErrorFacts* facts) {
  auto it = Catalog().find(std::string(type));
  if (it == Catalog().end()) return false;
  *facts = it->second;
  return true;
}

HttpReply ErrorReply(const absl::Status& status, int http_status, absl::string_view data_json) {
  std::string type = ErrorTypeOf(status);
  ErrorFacts facts;
  if (!LookupErrorType(type, &facts)) {
    // Unknown leaf: answer as its group (what clients fall back to as well).
    std::string group = type.substr(0, type.find('/'));
    if (!LookupErrorType(group, &facts)) {
      facts.type = type;
      facts.title = TitleFromType(type);
      facts.http_status = 500;
    }
    facts.type = type;
  }
  int code = http_status != 0 ? http_status : facts.http_status;
  JsonDoc body(rapidjson::kObjectType);
  body.AddMember("type", JsonString(facts.type), Alloc());
  body.AddMember("title", JsonString(facts.title), Alloc());
  body.AddMember("error", JsonString(status.message()), Alloc());
  body.AddMember("http-code", JsonValue(code), Alloc());
  body.AddMember("instance", JsonString(NewInstanceId()), Alloc());
  if (!data_json.empty()) {
    JsonDoc data;
    data.Parse(data_json.data(), data_json.size());
    if (!data.HasParseError() && data.IsObject()) {
      body.AddMember("data", JsonValue(data, Alloc()), Alloc());
    }
  }
  return HttpReply::Json(code, ToJson(body));
}

HttpReply ErrorReply(absl::string_view type, absl::string_view message) {
  return ErrorReply(ApiError(type, message));
}

}  // namespace filesgw::emulator
