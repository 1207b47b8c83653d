// Typed errors of the C++ client: the SDK's class names and hierarchy, from
// the gateway's rich status (google.rpc.Status in grpc-status-details-bin:
// ErrorInfo with the Files.com type, RetryInfo, files.v1.FilesError).
//
//   try {
//     client.Resource("groups").Find(424242);
//   } catch (const filesgw::client::NotAuthorizedError& e) {  // FolderAdminPermissionRequiredError too
//     std::cerr << e.class_name() << " " << e.type() << " " << e.message() << "\n";
//   } catch (const filesgw::client::RateLimitedError& e) {
//     std::this_thread::sleep_for(e.retry_delay());
//   }
//
// Every exception the client throws is a filesgw::client::Error.
#ifndef FILESGW_CLIENTS_CPP_ERRORS_H_
#define FILESGW_CLIENTS_CPP_ERRORS_H_

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "clients/cpp/error.h"
#include "clients/cpp/errors_gen.h"  // generated at build time
#include "grpcpp/support/status.h"

namespace filesgw::client {

// The typed error for a failed gRPC status (nullptr for OK). The class comes
// from ErrorInfo.metadata["type"] (an unknown leaf falls back to its group);
// statuses without a Files.com type map by gRPC code (UNAVAILABLE:
// APIConnectionError, DEADLINE_EXCEEDED: DeadlineExceededError, CANCELLED:
// CancelledError, DATA_LOSS: DataLossError, the gateway's own statuses onto
// the group classes, anything else: GatewayError).
std::exception_ptr ErrorFromStatus(const grpc::Status& status);
// Throws ErrorFromStatus(status); does nothing for OK.
void ThrowIfError(const grpc::Status& status);
// What ErrorFromStatus reads from the status, and the class it picks.
ErrorDetails DetailsFromStatus(const grpc::Status& status, std::string* class_name = nullptr);

// Throws an error of class `class_name` (an unknown name: Error).
[[noreturn]] void ThrowError(std::string_view class_name, ErrorDetails details);
// Shorthand for errors found in this process: ThrowError(class_name, {message}).
[[noreturn]] void ThrowError(std::string_view class_name, std::string message);
// The same error, not thrown yet.
std::exception_ptr MakeError(std::string_view class_name, std::string message);

// The class tree: every class name, a class's parent ("" for Error and
// unknown names), and the class of a Files.com type (unknown leaf: its group).
std::vector<std::string> ErrorClasses();
std::string ErrorParent(std::string_view class_name);
std::string ClassForType(std::string_view files_type);
// The Files.com type and documented HTTP status of a catalogue class ("" / 0 for others).
std::string TypeOfClass(std::string_view class_name);
int HttpStatusOfClass(std::string_view class_name);

namespace internal {
struct ErrorClassInfo {
  const char* name;
  const char* parent;
  const char* files_type;
  int http_status;
  const char* title;
  void (*raise)(ErrorDetails);  // throws the class
};
extern const ErrorClassInfo kCatalogErrorClasses[];  // errors_gen.cc
extern const std::size_t kCatalogErrorClassCount;
}  // namespace internal

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_ERRORS_H_
