// The root of the C++ client's exception tree and the classes that are not in
// the Files.com catalogue. The catalogue's classes (NotFoundError,
// UserNotFoundError, ... 213 of them) are generated at build time from
// proto/files/v1/error_catalog.proto into errors_gen.h; include errors.h,
// which has both and the factory that turns a gRPC status into the right one.
//
//   Error                              std::runtime_error
//   ├── APIError                       Files.com (through the gateway) refused the call
//   │   ├── NotFoundError, ...         the eight groups, each over its leaf classes
//   │   └── GatewayError ── DataLossError  the gateway failed for a reason of its own
//   ├── APIConnectionError ── DeadlineExceededError
//   ├── CancelledError
//   └── InvalidRequestError ── InvalidParameterError, MissingParameterError
//
// Every class carries the same ErrorDetails; copies share them.
#ifndef FILESGW_CLIENTS_CPP_ERROR_H_
#define FILESGW_CLIENTS_CPP_ERROR_H_

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "grpcpp/support/status.h"

namespace filesgw::client {

// What an error carries: the gRPC status, google.rpc.ErrorInfo / RetryInfo and
// the rest of the Files.com error body (files.v1.FilesError).
struct ErrorDetails {
  std::string message;  // Files.com's "error", or the gRPC message
  // The gRPC code; OK for errors raised in this process before any call.
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string type;  // e.g. "not-found/user-not-found"; empty when none
  int http_status = 0;  // what Files.com answered, when known
  // google.rpc.RetryInfo; zero when unknown.
  std::chrono::nanoseconds retry_delay{0};
  // google.rpc.ErrorInfo.
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
  // files.v1.FilesError; the JSON members as JSON text ("" when absent).
  std::string title;
  int http_code = 0;
  std::string instance;
  std::string errors_json;
  std::string data_json;
  std::string model_errors_json;
  std::string model_error_keys_json;
};

class Error : public std::runtime_error {
 public:
  explicit Error(ErrorDetails details) : Error("Error", std::move(details)) {}

  // The SDK class, e.g. "UserNotFoundError" (the dynamic type's name).
  const char* class_name() const noexcept { return class_name_; }
  // True when the class is `name` or one of its descendants.
  bool IsA(std::string_view name) const;
  // The class and its ancestors, leaf first: UserNotFoundError, NotFoundError, APIError, Error.
  std::vector<std::string> Ancestors() const;

  const ErrorDetails& details() const noexcept { return *details_; }
  const std::string& message() const noexcept { return details_->message; }
  const std::string& type() const noexcept { return details_->type; }
  const std::string& title() const noexcept { return details_->title; }
  int http_status() const noexcept { return details_->http_status; }
  grpc::StatusCode code() const noexcept { return details_->code; }
  std::chrono::nanoseconds retry_delay() const noexcept { return details_->retry_delay; }

 protected:
  Error(const char* class_name, ErrorDetails details);

 private:
  const char* class_name_;
  std::shared_ptr<const ErrorDetails> details_;
};

// Declares class `name` derived from `parent`; the generated header uses it too.
#define FILESGW_CLIENT_ERROR_CLASS(name, parent)                                  \
  class name : public parent {                                                    \
   public:                                                                        \
    explicit name(::filesgw::client::ErrorDetails details)                       \
        : parent(#name, std::move(details)) {}                                    \
                                                                                  \
   protected:                                                                     \
    name(const char* class_name, ::filesgw::client::ErrorDetails details)        \
        : parent(class_name, std::move(details)) {}                               \
  }

// The gateway (or Files.com behind it) could not be reached (UNAVAILABLE).
FILESGW_CLIENT_ERROR_CLASS(APIConnectionError, Error);
// The call's deadline passed before an answer arrived.
FILESGW_CLIENT_ERROR_CLASS(DeadlineExceededError, APIConnectionError);
// The call was cancelled, by this process or by the gateway.
FILESGW_CLIENT_ERROR_CLASS(CancelledError, Error);
// The request could not be built from the arguments given.
FILESGW_CLIENT_ERROR_CLASS(InvalidRequestError, Error);
FILESGW_CLIENT_ERROR_CLASS(InvalidParameterError, InvalidRequestError);
FILESGW_CLIENT_ERROR_CLASS(MissingParameterError, InvalidRequestError);
// Files.com, through the gateway, refused the call.
FILESGW_CLIENT_ERROR_CLASS(APIError, Error);
// The gateway failed the call for a reason of its own (INTERNAL, UNIMPLEMENTED, ...).
FILESGW_CLIENT_ERROR_CLASS(GatewayError, APIError);
// Content did not arrive intact (a size, offset or checksum mismatch).
FILESGW_CLIENT_ERROR_CLASS(DataLossError, GatewayError);

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_ERROR_H_
