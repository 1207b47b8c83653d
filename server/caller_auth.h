// Who is calling, which Files.com credential profile their calls use, and
// whether they may call this method: checked at the start of every API and
// transfer RPC, before anything is sent upstream.
//
//   No callers configured (loopback or unix socket only): every caller is
//   the anonymous local caller on profile "default", allowed everything.
//   Callers configured: a call must carry `authorization: Bearer <token>`
//   whose SHA-256 is a caller's token_sha256, or come over mTLS with a client
//   certificate whose CN or a DNS SAN is a caller's `certificate`; otherwise
//   UNAUTHENTICATED. A method outside the caller's allow-list is
//   PERMISSION_DENIED. A per-call Files.com credential (x-files-api-key or
//   x-files-session-id metadata) is used only when the caller's profile
//   allows it (PERMISSION_DENIED otherwise).
//
// grpc.health.v1 and server reflection stay open (probes; the schema is the
// public Files.com API).
#ifndef FILESGW_SERVER_CALLER_AUTH_H_
#define FILESGW_SERVER_CALLER_AUTH_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client_core/files_client.h"
#include "grpcpp/server_context.h"
#include "server/options.h"
#include "server/telemetry.h"

namespace filesgw::server {

// One credential profile at run time.
struct ProfileRuntime {
  std::string name;
  std::shared_ptr<client_core::FilesClient> client;
  Telemetry telemetry;  // metrics, health; profile and governor labels
  bool allow_caller_credentials = false;
};

// The resolved caller of one RPC.
struct CallerIdentity {
  std::string name;          // the configured caller; empty: anonymous local caller
  std::string fairness_key;  // the rate governor's fairness key
  const ProfileRuntime* profile = nullptr;
  // The caller's own Files.com credential for this call (allowed override).
  std::optional<client_core::ApiRequest::Credential> credential;
};

// Metadata keys of the per-call credential override.
inline constexpr char kCallerApiKeyHeader[] = "x-files-api-key";
inline constexpr char kCallerSessionHeader[] = "x-files-session-id";

class CallerAuth {
 public:
  // `profiles` must hold every profile the callers name (and "default").
  CallerAuth(const std::vector<CallerOptions>& callers,
             std::map<std::string, const ProfileRuntime*> profiles);

  // OK with `out` filled, or the rich status to answer with (reason
  // CALLER_UNAUTHENTICATED, CALLER_NOT_ALLOWED or CALLER_CREDENTIAL_NOT_ALLOWED).
  grpc::Status Authenticate(const grpc::ServerContextBase& context, std::string_view full_method,
                            CallerIdentity* out) const;

  bool anonymous() const { return callers_.empty(); }

 private:
  struct Caller {
    std::string name;
    std::string token_sha256;
    std::string certificate;
    const ProfileRuntime* profile = nullptr;
    std::vector<std::string> allow;
  };
  static bool Allowed(const Caller& caller, std::string_view full_method);

  std::vector<Caller> callers_;
  std::map<std::string, const Caller*> by_token_;        // token_sha256 -> caller
  std::map<std::string, const Caller*> by_certificate_;  // identity -> caller
  const ProfileRuntime* default_profile_ = nullptr;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_CALLER_AUTH_H_
