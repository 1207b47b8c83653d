#include "server/status_builder.h"

#include <cstdint>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client_core/status_reason.h"
#include "client_core/utf8.h"
#include "files/v1/options.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace filesgw::server {
namespace {

constexpr char kDomain[] = "files.com";
constexpr char kGatewayDomain[] = "files-gateway";

// A status travels in HTTP/2 trailers: grpc-message (percent-encoded, so up
// to 3 bytes per byte) and grpc-status-details-bin (base64, 4 per 3). C++,
// Java and Python clients refuse trailers over 8 KiB by default and then
// report a transport error instead of this status. An upstream error with a
// page-long message or a large `errors`/`data` could pass that, so texts are
// cut (the status message at 512 bytes, 1.5 KiB encoded) and the details kept
// under 4 KiB (5.4 KiB encoded) by dropping the bulky structured parts first.
constexpr size_t kMaxStatusMessage = 512;
constexpr size_t kMaxDetailMessage = 1024;
constexpr size_t kMaxDetailText = 256;  // type, title, instance
constexpr size_t kMaxDetails = 4096;

// Cuts at a character boundary, marking the cut with "...".
std::string Cap(std::string text, size_t max) {
  return client_core::CutUtf8(std::move(text), max, "...");
}

// The gRPC code of each group (the design brief's table).
grpc::StatusCode GroupCode(std::string_view group_type) {
  if (group_type == "bad-request") return grpc::StatusCode::INVALID_ARGUMENT;
  if (group_type == "not-authenticated") return grpc::StatusCode::UNAUTHENTICATED;
  if (group_type == "not-authorized") return grpc::StatusCode::PERMISSION_DENIED;
  if (group_type == "not-found") return grpc::StatusCode::NOT_FOUND;
  if (group_type == "processing-failure") return grpc::StatusCode::FAILED_PRECONDITION;
  if (group_type == "rate-limited") return grpc::StatusCode::RESOURCE_EXHAUSTED;
  if (group_type == "service-unavailable") return grpc::StatusCode::UNAVAILABLE;
  if (group_type == "site-configuration") return grpc::StatusCode::FAILED_PRECONDITION;
  return grpc::StatusCode::UNKNOWN;
}

// Processing failures that come from concurrent activity (a lock, work still in
// progress) rather than from the request: retrying the whole sequence later may
// succeed, which is what ABORTED tells a caller.
bool IsConcurrencyFailure(std::string_view leaf) {
  static const char* const kLeaves[] = {
      "file-locked",      "folder-locked",       "resource-locked",  "subfolder-locked",
      "sync-in-progress", "file-pending-processing", "export-not-ready", "configuration-locked-path",
  };
  for (const char* l : kLeaves) {
    if (leaf == l) return true;
  }
  return false;
}

// Without a usable `type` the HTTP status is all there is.
grpc::StatusCode HttpStatusCode(int status) {
  switch (status) {
    case 400: case 422: return grpc::StatusCode::INVALID_ARGUMENT;
    // The request was too big for the server (body, URL, headers): sending
    // it again unchanged cannot work, so it is the caller's argument at fault.
    case 413: case 414: case 431: return grpc::StatusCode::INVALID_ARGUMENT;
    case 401: return grpc::StatusCode::UNAUTHENTICATED;
    case 403: return grpc::StatusCode::PERMISSION_DENIED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 409: return grpc::StatusCode::ABORTED;
    case 412: return grpc::StatusCode::FAILED_PRECONDITION;
    case 429: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 501: return grpc::StatusCode::UNIMPLEMENTED;
    case 502: case 503: case 504: return grpc::StatusCode::UNAVAILABLE;
    default: break;
  }
  if (status >= 500) return grpc::StatusCode::INTERNAL;
  return grpc::StatusCode::UNKNOWN;
}

struct Entry {
  int number = 0;
  std::string reason;
  std::string class_name;
  std::string group_class;
};

struct Catalog {
  std::unordered_map<std::string, Entry> types;   // "group/leaf" -> entry
  std::unordered_map<std::string, Entry> groups;  // "group" -> entry
};

std::string ReasonOf(const std::string& enum_value_name, std::string_view prefix) {
  return enum_value_name.substr(prefix.size());
}

const Catalog& GetCatalog() {
  static const Catalog* catalog = [] {
    auto* c = new Catalog;
    const auto* types = files::v1::ErrorType_descriptor();
    for (int i = 0; i < types->value_count(); ++i) {
      const auto* v = types->value(i);
      if (!v->options().HasExtension(files::v1::error)) continue;
      const auto& info = v->options().GetExtension(files::v1::error);
      c->types[info.type()] = {v->number(), ReasonOf(v->name(), "ERROR_TYPE_"), info.class_name(),
                               info.group()};
    }
    const auto* groups = files::v1::ErrorGroup_descriptor();
    for (int i = 0; i < groups->value_count(); ++i) {
      const auto* v = groups->value(i);
      if (!v->options().HasExtension(files::v1::error)) continue;
      const auto& info = v->options().GetExtension(files::v1::error);
      c->groups[info.type()] = {v->number(), ReasonOf(v->name(), "ERROR_GROUP_"),
                                info.class_name(), ""};
    }
    return c;
  }();
  return *catalog;
}

void PackAny(const google::protobuf::Message& detail, google::rpc::Status* status) {
  auto* any = status->add_details();
  any->set_type_url(absl::StrCat("type.googleapis.com/", detail.GetDescriptor()->full_name()));
  detail.SerializeToString(any->mutable_value());
}

void SetRetryInfo(std::optional<absl::Duration> delay, google::rpc::Status* status) {
  if (!delay.has_value()) return;
  google::rpc::RetryInfo retry;
  int64_t nanos = absl::ToInt64Nanoseconds(*delay);
  retry.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  PackAny(retry, status);
}

// Parses a JSON fragment the upstream sent into a Struct/ListValue; a fragment
// that does not parse is dropped (the message already says what went wrong).
template <typename T>
void ParseJsonInto(const std::string& json, T* out) {
  if (json.empty()) return;
  if (!google::protobuf::util::JsonStringToMessage(json, out).ok()) out->Clear();
}

grpc::Status Build(grpc::StatusCode code, const google::rpc::Status& status) {
  return grpc::Status(code, status.message(), status.SerializeAsString());
}

}  // namespace

ErrorClass ClassifyFilesError(std::string_view type, int http_status) {
  const Catalog& catalog = GetCatalog();
  ErrorClass out;
  std::string_view group_type = type.substr(0, type.find('/'));
  std::string_view leaf = type.find('/') == std::string_view::npos
                              ? std::string_view()
                              : type.substr(type.find('/') + 1);
  auto group = catalog.groups.find(std::string(group_type));
  if (group == catalog.groups.end()) {
    out.reason = "API_ERROR";
    out.code = HttpStatusCode(http_status);
    return out;
  }
  out.group = static_cast<files::v1::ErrorGroup>(group->second.number);
  out.group_name = group->second.class_name;
  out.reason = group->second.reason;
  out.code = GroupCode(group_type);
  auto leaf_entry = catalog.types.find(std::string(type));
  if (leaf_entry != catalog.types.end()) {
    out.type = static_cast<files::v1::ErrorType>(leaf_entry->second.number);
    out.reason = leaf_entry->second.reason;
  }
  if (out.code == grpc::StatusCode::FAILED_PRECONDITION && group_type == "processing-failure" &&
      IsConcurrencyFailure(leaf)) {
    out.code = grpc::StatusCode::ABORTED;
  }
  return out;
}

grpc::Status FromFilesError(const client_core::FilesError& error,
                            std::optional<absl::Duration> retry_delay) {
  ErrorClass cls = ClassifyFilesError(error.type, error.http_status);
  std::string message = error.message;
  if (message.empty()) message = error.title;
  if (message.empty()) message = absl::StrCat("Files.com answered HTTP ", error.http_status);
  const std::string type = Cap(error.type, kMaxDetailText);
  const std::string instance = Cap(error.instance, kMaxDetailText);

  files::v1::FilesError detail;
  detail.set_type(type);
  detail.set_error_type(cls.type);
  detail.set_error_group(cls.group);
  detail.set_title(Cap(error.title, kMaxDetailText));
  detail.set_message(Cap(error.message, kMaxDetailMessage));
  detail.set_http_code(error.http_code);
  detail.set_instance(instance);
  detail.set_http_status(error.http_status);
  ParseJsonInto(error.errors_json, detail.mutable_errors());
  ParseJsonInto(error.data_json, detail.mutable_data());
  ParseJsonInto(error.model_errors_json, detail.mutable_model_errors());
  ParseJsonInto(error.model_error_keys_json, detail.mutable_model_error_keys());

  google::rpc::ErrorInfo info;
  info.set_reason(cls.reason);
  info.set_domain(kDomain);
  auto& md = *info.mutable_metadata();
  if (!type.empty()) md["type"] = type;
  if (!cls.group_name.empty()) md["group"] = cls.group_name;
  md["http_status"] = absl::StrCat(error.http_status);
  if (!instance.empty()) md["instance"] = instance;

  const auto assemble = [&] {
    google::rpc::Status status;
    status.set_code(static_cast<int>(cls.code));
    status.set_message(Cap(message, kMaxStatusMessage));
    PackAny(info, &status);
    SetRetryInfo(retry_delay, &status);
    PackAny(detail, &status);
    return status;
  };
  google::rpc::Status status = assemble();
  // Too big for the trailers: the structured extras go, largest first; the
  // codes, type, title and message stay, and the caller is told.
  while (status.ByteSizeLong() > kMaxDetails) {
    google::protobuf::Message* largest = nullptr;
    for (google::protobuf::Message* part :
         {static_cast<google::protobuf::Message*>(detail.mutable_errors()),
          static_cast<google::protobuf::Message*>(detail.mutable_data()),
          static_cast<google::protobuf::Message*>(detail.mutable_model_errors()),
          static_cast<google::protobuf::Message*>(detail.mutable_model_error_keys())}) {
      if (part->ByteSizeLong() > 0 &&
          (largest == nullptr || part->ByteSizeLong() > largest->ByteSizeLong())) {
        largest = part;
      }
    }
    if (largest == nullptr) break;
    largest->Clear();
    md["details_truncated"] = "true";
    status = assemble();
  }
  return Build(cls.code, status);
}

grpc::Status FromLocalStatus(const absl::Status& s, std::string_view reason,
                             std::optional<absl::Duration> retry_delay) {
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(s.code()));
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(Cap(std::string(s.message()), kMaxStatusMessage));
  google::rpc::ErrorInfo info;
  // The layer that knew the cause may have named it (client_core/status_reason.h).
  std::optional<std::string> own_reason = client_core::ReasonOf(s);
  info.set_reason(own_reason.has_value() ? *own_reason : std::string(reason));
  info.set_domain(kGatewayDomain);
  PackAny(info, &status);
  SetRetryInfo(retry_delay, &status);
  return Build(code, status);
}

}  // namespace filesgw::server
