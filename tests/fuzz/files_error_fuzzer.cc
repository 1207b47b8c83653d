// Files.com error answers (client_core/files_error.cc) and the rich gRPC
// status built from them (server/status_builder.cc). Input: the HTTP status as
// the first line ("404"), then the body as upstream sent it (JSON, an HTML
// proxy page, S3 XML, anything).
//
// Checked: never OK; the status details parse as google.rpc.Status and each
// detail as its message (a caller's stub must be able to read them); the
// google.rpc.Status agrees with the gRPC code and message; excerpts of
// non-JSON bodies stay short; the status fits in a client's trailers and its
// message is UTF-8.
#include <string>

#include "absl/strings/numbers.h"
#include "client_core/files_error.h"
#include "client_core/utf8.h"
#include "files/v1/error_catalog.pb.h"
#include "fuzz_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/status_builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using filesgw::fuzz::Printable;
  const auto input = filesgw::fuzz::Split(data, size);
  int http_status = 0;
  if (!absl::SimpleAtoi(absl::string_view(input.selector.data(), input.selector.size()),
                        &http_status) ||
      http_status < 100 || http_status > 599) {
    http_status = 400 + static_cast<int>(input.selector.size() % 200);
  }
  const std::string body_text = Printable(input.payload);

  const auto error = filesgw::client_core::ParseFilesError(http_status, input.payload);
  FUZZ_CHECK(error.http_status == http_status, body_text);
  // Not a JSON object: the message is an excerpt of the page.
  const size_t first = input.payload.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || input.payload[first] != '{') {
    FUZZ_CHECK(error.message.size() <= 200, "excerpt too long: " + Printable(error.message));
  }

  const grpc::Status status = filesgw::server::FromFilesError(error, std::nullopt);
  FUZZ_CHECK(!status.ok(), body_text);
  // Both must fit in the trailers a client accepts (8 KiB by default).
  FUZZ_CHECK(status.error_message().size() <= 512, "status message too long; body: " + body_text);
  FUZZ_CHECK(status.error_details().size() <= 4096, "status details too long; body: " + body_text);
  FUZZ_CHECK(filesgw::client_core::IsValidUtf8(status.error_message()),
             "status message is not UTF-8: " + Printable(status.error_message()));
  google::rpc::Status rich;
  FUZZ_CHECK(rich.ParseFromString(status.error_details()),
             "google.rpc.Status does not parse; body: " + body_text);
  FUZZ_CHECK(rich.code() == static_cast<int>(status.error_code()), body_text);
  FUZZ_CHECK(rich.message() == status.error_message(), body_text);
  int infos = 0;
  int files_errors = 0;
  for (const auto& any : rich.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      google::rpc::ErrorInfo info;
      FUZZ_CHECK(any.UnpackTo(&info), "ErrorInfo does not parse; body: " + body_text);
      FUZZ_CHECK(!info.reason().empty(), body_text);
      ++infos;
    } else if (any.Is<::files::v1::FilesError>()) {
      ::files::v1::FilesError detail;
      FUZZ_CHECK(any.UnpackTo(&detail), "FilesError does not parse; body: " + body_text);
      FUZZ_CHECK(detail.http_status() == http_status, body_text);
      ++files_errors;
    }
  }
  FUZZ_CHECK(infos == 1 && files_errors == 1, body_text);
  return 0;
}
