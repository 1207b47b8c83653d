#include "clients/cpp/errors.h"

#include <map>
#include <string>

#include "files/v1/error_catalog.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace filesgw::client {
namespace {

using internal::ErrorClassInfo;

template <typename T>
void Raise(ErrorDetails details) {
  throw T(std::move(details));
}

// The classes outside the catalogue, root first.
const ErrorClassInfo kBaseClasses[] = {
    {"Error", "", "", 0, "", Raise<Error>},
    {"APIConnectionError", "Error", "", 0, "", Raise<APIConnectionError>},
    {"DeadlineExceededError", "APIConnectionError", "", 0, "", Raise<DeadlineExceededError>},
    {"CancelledError", "Error", "", 0, "", Raise<CancelledError>},
    {"InvalidRequestError", "Error", "", 0, "", Raise<InvalidRequestError>},
    {"InvalidParameterError", "InvalidRequestError", "", 0, "", Raise<InvalidParameterError>},
    {"MissingParameterError", "InvalidRequestError", "", 0, "", Raise<MissingParameterError>},
    {"APIError", "Error", "", 0, "", Raise<APIError>},
    {"GatewayError", "APIError", "", 0, "", Raise<GatewayError>},
    {"DataLossError", "GatewayError", "", 0, "", Raise<DataLossError>},
};

struct Tree {
  std::map<std::string, const ErrorClassInfo*, std::less<>> by_name;
  std::map<std::string, const ErrorClassInfo*, std::less<>> by_type;
};

const Tree& GetTree() {
  static const Tree* tree = [] {
    auto* t = new Tree;
    for (const auto& c : kBaseClasses) t->by_name[c.name] = &c;
    for (std::size_t i = 0; i < internal::kCatalogErrorClassCount; ++i) {
      const auto& c = internal::kCatalogErrorClasses[i];
      t->by_name.emplace(c.name, &c);
      if (c.files_type[0] != '\0') t->by_type.emplace(c.files_type, &c);
    }
    return t;
  }();
  return *tree;
}

const ErrorClassInfo* Find(std::string_view name) {
  const auto& by_name = GetTree().by_name;
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

const ErrorClassInfo* ForType(std::string_view files_type, std::string_view group_class) {
  const auto& by_type = GetTree().by_type;
  if (auto it = by_type.find(files_type); it != by_type.end()) return it->second;
  if (auto it = by_type.find(files_type.substr(0, files_type.find('/'))); it != by_type.end()) {
    return it->second;
  }
  if (const auto* group = Find(group_class); group != nullptr && !group_class.empty()) return group;
  return Find("APIError");
}

// Classes of statuses without a Files.com type, by gRPC code.
const char* AlwaysByCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE: return "APIConnectionError";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DeadlineExceededError";
    case grpc::StatusCode::CANCELLED: return "CancelledError";
    case grpc::StatusCode::DATA_LOSS: return "DataLossError";
    default: return nullptr;
  }
}

// The Files.com type of the statuses the gateway builds itself (ErrorInfo
// domain "files-gateway"), mirroring its group -> code table.
const char* GatewayTypeByCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE: return "bad-request";
    case grpc::StatusCode::UNAUTHENTICATED: return "not-authenticated";
    case grpc::StatusCode::PERMISSION_DENIED: return "not-authorized";
    case grpc::StatusCode::NOT_FOUND: return "not-found";
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED: return "processing-failure";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "rate-limited";
    // TransferService's OVERWRITE_POLICY_FAIL_IF_EXISTS.
    case grpc::StatusCode::ALREADY_EXISTS: return "processing-failure/destination-exists";
    default: return nullptr;
  }
}

std::string TypeName(const google::protobuf::Any& any) {
  const std::string& url = any.type_url();
  auto slash = url.rfind('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

template <typename T>
std::string JsonOf(const T& message) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out).ok()) out.clear();
  return out;
}

}  // namespace

Error::Error(const char* class_name, ErrorDetails details)
    : std::runtime_error([&] {
        std::string text = details.message.empty() ? details.title : details.message;
        std::string out = std::string(class_name) + ": " + (text.empty() ? class_name : text);
        std::string extra = details.type;
        if (details.http_status != 0) {
          extra += (extra.empty() ? "" : ", ") + std::string("HTTP ") +
                   std::to_string(details.http_status);
        }
        return extra.empty() ? out : out + " (" + extra + ")";
      }()),
      class_name_(class_name),
      details_(std::make_shared<const ErrorDetails>(std::move(details))) {}

bool Error::IsA(std::string_view name) const {
  for (const auto* c = Find(class_name_); c != nullptr; c = Find(c->parent)) {
    if (name == c->name) return true;
    if (c->parent[0] == '\0') break;
  }
  return false;
}

std::vector<std::string> Error::Ancestors() const {
  std::vector<std::string> out;
  for (const auto* c = Find(class_name_); c != nullptr; c = Find(c->parent)) {
    out.emplace_back(c->name);
    if (c->parent[0] == '\0') break;
  }
  return out;
}

ErrorDetails DetailsFromStatus(const grpc::Status& status, std::string* class_name) {
  ErrorDetails d;
  d.code = status.error_code();
  d.message = status.error_message();
  bool has_info = false;
  files::v1::FilesError files_error;
  bool has_files_error = false;
  google::rpc::Status rich;
  if (!status.error_details().empty() && rich.ParseFromString(status.error_details())) {
    for (const auto& any : rich.details()) {
      const std::string name = TypeName(any);
      if (name == "google.rpc.ErrorInfo") {
        google::rpc::ErrorInfo info;
        if (!info.ParseFromString(any.value())) continue;
        has_info = true;
        d.reason = info.reason();
        d.domain = info.domain();
        d.metadata.insert(info.metadata().begin(), info.metadata().end());
      } else if (name == "google.rpc.RetryInfo") {
        google::rpc::RetryInfo retry;
        if (!retry.ParseFromString(any.value())) continue;
        d.retry_delay = std::chrono::seconds(retry.retry_delay().seconds()) +
                        std::chrono::nanoseconds(retry.retry_delay().nanos());
      } else if (name == "files.v1.FilesError") {
        has_files_error = files_error.ParseFromString(any.value());
      }
    }
  }
  if (auto it = d.metadata.find("type"); it != d.metadata.end()) d.type = it->second;
  if (d.type.empty() && has_files_error) d.type = files_error.type();
  if (auto it = d.metadata.find("http_status"); it != d.metadata.end()) {
    d.http_status = std::atoi(it->second.c_str());
  }
  if (has_files_error) {
    d.title = files_error.title();
    d.http_code = files_error.http_code();
    d.instance = files_error.instance();
    if (files_error.has_errors() && files_error.errors().values_size() > 0) {
      d.errors_json = JsonOf(files_error.errors());
    }
    if (files_error.data().fields_size() > 0) d.data_json = JsonOf(files_error.data());
    if (files_error.model_errors().fields_size() > 0) {
      d.model_errors_json = JsonOf(files_error.model_errors());
    }
    if (files_error.model_error_keys().fields_size() > 0) {
      d.model_error_keys_json = JsonOf(files_error.model_error_keys());
    }
    if (d.http_status == 0) d.http_status = files_error.http_status();
  }

  const ErrorClassInfo* cls = nullptr;
  if (!d.type.empty()) {
    auto group = d.metadata.find("group");
    cls = ForType(d.type, group == d.metadata.end() ? "" : group->second);
  } else if (const char* name = AlwaysByCode(d.code)) {
    cls = Find(name);
  } else if (const char* type = GatewayTypeByCode(d.code);
             type != nullptr &&
             // gRPC itself answers RESOURCE_EXHAUSTED for an oversized message:
             // without the gateway's ErrorInfo that is no rate limit.
             (has_info || d.code != grpc::StatusCode::RESOURCE_EXHAUSTED)) {
    cls = ForType(type, "");
  } else {
    cls = Find("GatewayError");
  }
  if (class_name != nullptr) *class_name = cls->name;
  return d;
}

std::exception_ptr ErrorFromStatus(const grpc::Status& status) {
  if (status.ok()) return nullptr;
  std::string name;
  ErrorDetails details = DetailsFromStatus(status, &name);
  try {
    ThrowError(name, std::move(details));
  } catch (const Error&) {
    return std::current_exception();
  }
}

void ThrowIfError(const grpc::Status& status) {
  if (status.ok()) return;
  std::string name;
  ErrorDetails details = DetailsFromStatus(status, &name);
  ThrowError(name, std::move(details));
}

void ThrowError(std::string_view class_name, ErrorDetails details) {
  const ErrorClassInfo* cls = Find(class_name);
  if (cls == nullptr) cls = &kBaseClasses[0];
  if (details.code == grpc::StatusCode::OK) {
    // Errors found locally still answer with the code their class stands for.
    if (class_name == "CancelledError") details.code = grpc::StatusCode::CANCELLED;
    if (class_name == "DeadlineExceededError") details.code = grpc::StatusCode::DEADLINE_EXCEEDED;
    if (class_name == "DataLossError") details.code = grpc::StatusCode::DATA_LOSS;
  }
  cls->raise(std::move(details));
  throw Error(ErrorDetails{});  // not reached: raise always throws
}

void ThrowError(std::string_view class_name, std::string message) {
  ErrorDetails details;
  details.message = std::move(message);
  ThrowError(class_name, std::move(details));
}

std::exception_ptr MakeError(std::string_view class_name, std::string message) {
  try {
    ThrowError(class_name, std::move(message));
  } catch (const Error&) {
    return std::current_exception();
  }
}

std::vector<std::string> ErrorClasses() {
  std::vector<std::string> out;
  for (const auto& [name, info] : GetTree().by_name) out.push_back(name);
  return out;
}

std::string ErrorParent(std::string_view class_name) {
  const auto* c = Find(class_name);
  return c == nullptr ? "" : c->parent;
}

std::string ClassForType(std::string_view files_type) { return ForType(files_type, "")->name; }

std::string TypeOfClass(std::string_view class_name) {
  const auto* c = Find(class_name);
  return c == nullptr ? "" : c->files_type;
}

int HttpStatusOfClass(std::string_view class_name) {
  const auto* c = Find(class_name);
  return c == nullptr ? 0 : c->http_status;
}

}  // namespace filesgw::client
