// A Files.com session held for a username/password credential profile: logs
// in with POST /sessions when a session is first needed, shares one login
// among concurrent callers, and logs in again after Files.com refuses the
// session (expired or ended). A 2FA challenge cannot be answered by a
// gateway: it is reported as FAILED_PRECONDITION saying so.
//
//   auto auth = SessionAuth::Create(transport, "https://acme.files.com", user, password, {});
//   options.session_auth = auth;  // FilesClient sends X-FilesAPI-Auth and renews on 401
#ifndef FILESGW_CLIENT_CORE_SESSION_AUTH_H_
#define FILESGW_CLIENT_CORE_SESSION_AUTH_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client_core/files_error.h"
#include "client_core/http_transport.h"
#include "client_core/secret_source.h"

namespace filesgw::client_core {

struct SessionAuthOptions {
  absl::Duration open_timeout = absl::Seconds(30);
  absl::Duration read_timeout = absl::Seconds(80);
  std::string user_agent = "files-gateway/0.1";
};

struct SessionResult {
  absl::Status status;             // OK, UNAUTHENTICATED, FAILED_PRECONDITION (2FA), UNAVAILABLE...
  std::string session_id;          // when OK; a secret: never log
  std::optional<FilesError> error; // the Files.com answer to a refused login
};

class SessionAuth : public std::enable_shared_from_this<SessionAuth> {
 public:
  static std::shared_ptr<SessionAuth> Create(std::shared_ptr<HttpTransport> transport,
                                             std::string base_url,
                                             std::shared_ptr<SecretSource> username,
                                             std::shared_ptr<SecretSource> password,
                                             SessionAuthOptions options);
  // The current session, logging in first when there is none. `done` runs
  // once, possibly on this thread.
  void Get(absl::Time deadline, std::function<void(SessionResult)> done);
  // Files.com refused `session_id`: the next Get logs in again.
  void Invalidate(const std::string& session_id);
  int64_t logins() const;

  SessionAuth(std::shared_ptr<HttpTransport> transport, std::string base_url,
              std::shared_ptr<SecretSource> username, std::shared_ptr<SecretSource> password,
              SessionAuthOptions options);

 private:
  void OnLogin(HttpResult result);

  const std::shared_ptr<HttpTransport> transport_;
  const std::string base_url_;
  const std::shared_ptr<SecretSource> username_, password_;
  const SessionAuthOptions options_;

  mutable absl::Mutex mu_;
  std::string session_ ABSL_GUARDED_BY(mu_);
  bool logging_in_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void(SessionResult)>> waiting_ ABSL_GUARDED_BY(mu_);
  int64_t logins_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_SESSION_AUTH_H_
