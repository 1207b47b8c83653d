// The one place that turns an upstream outcome into a grpc::Status with the
// rich error model: google.rpc.Status in grpc-status-details-bin carrying
// ErrorInfo (reason, domain "files.com", type/group metadata), RetryInfo when a
// delay is known, and files.v1.FilesError with the rest of the Files.com body.
//
// The gRPC code follows the error's group, found from the body's `type` via
// the (files.v1.error) options of error_catalog.proto — never from the HTTP
// status alone (statuses differ between Files.com's catalogue and the wire).
#ifndef FILESGW_SERVER_STATUS_BUILDER_H_
#define FILESGW_SERVER_STATUS_BUILDER_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client_core/files_error.h"
#include "files/v1/error_catalog.pb.h"
#include "grpcpp/support/status.h"

namespace filesgw::server {

struct ErrorClass {
  files::v1::ErrorType type = files::v1::ERROR_TYPE_UNSPECIFIED;
  files::v1::ErrorGroup group = files::v1::ERROR_GROUP_UNSPECIFIED;
  std::string reason;  // UPPER_SNAKE: the leaf ("FOLDER_ADMIN_PERMISSION_REQUIRED"),
                       // the group ("NOT_AUTHORIZED") or "API_ERROR" when unknown
  std::string group_name;  // "NotAuthorizedError", or empty when unknown
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
};

// Classifies a Files.com `type` string ("group" or "group/leaf"). An unknown
// leaf falls back to its group; an unknown group (or no type) to the HTTP
// status, and then to a generic API error.
ErrorClass ClassifyFilesError(std::string_view type, int http_status);

// A Files.com error answer as a rich grpc::Status.
grpc::Status FromFilesError(const client_core::FilesError& error,
                            std::optional<absl::Duration> retry_delay);

// A failure that never got a Files.com answer (transport, deadline, cancel, or
// a gateway-side problem such as a bad request message), as a rich status with
// ErrorInfo reason e.g. "UPSTREAM_UNAVAILABLE" and domain "files-gateway".
// A reason attached to `status` with client_core::WithReason wins over `reason`.
grpc::Status FromLocalStatus(const absl::Status& status, std::string_view reason,
                             std::optional<absl::Duration> retry_delay = std::nullopt);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_STATUS_BUILDER_H_
