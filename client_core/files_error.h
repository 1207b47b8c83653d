// A Files.com error answer, parsed from its JSON body (or not: proxies send HTML,
// S3 sends XML). The server maps `type` to an error type/group from the protos.
#ifndef FILESGW_CLIENT_CORE_FILES_ERROR_H_
#define FILESGW_CLIENT_CORE_FILES_ERROR_H_

#include <string>
#include <string_view>

namespace filesgw::client_core {

struct FilesError {
  int http_status = 0;    // the HTTP status of the answer
  std::string type;       // "group" or "group/leaf"; empty when the body had none
  std::string title;
  std::string message;    // "error" in the body; a short excerpt of non-JSON bodies
  int http_code = 0;      // "http-code" (number or string in the body), else http_status
  std::string instance;
  // Raw JSON text of each member when present (empty otherwise).
  std::string errors_json;            // array of objects or strings
  std::string data_json;              // object
  std::string model_errors_json;      // object
  std::string model_error_keys_json;  // object
};

// Never fails: a body that is not a Files.com error yields a FilesError with an
// empty type and a message built from the status and the body's start.
FilesError ParseFilesError(int http_status, std::string_view body);

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_FILES_ERROR_H_
