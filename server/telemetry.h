// Where the call paths report what happened upstream: Telemetry bundles the
// metrics and the HealthReporter.
//
// HealthReporter decides what grpc.health.v1 reports for the gateway: SERVING
// unless it is draining (SIGTERM) or Files.com refuses the gateway's own
// credential. The credential is judged from upstream answers: a 401 whose
// Files.com type starts with "not-authenticated", on a request made with the
// gateway's own key or session, marks it rejected (logged once at error
// level); a later 2xx on such a request marks it accepted again. With several
// credential profiles the gateway is NOT_SERVING only when every profile's
// credential is rejected (one bad profile must not take the others down);
// each rejection is logged with its profile.
//
//   HealthReporter health(&log, metrics.get());
//   health.Attach(server->GetHealthCheckService());
//   health.ObserveUpstream(result);   // after each upstream call with our credential
//   health.SetDraining();             // on SIGTERM: NOT_SERVING for good
//
//   Telemetry telemetry{metrics, &health, "default"};
//   telemetry.OnApiResult(result, route->full_method, /*own_credential=*/route->send_auth);
#ifndef FILESGW_SERVER_TELEMETRY_H_
#define FILESGW_SERVER_TELEMETRY_H_

#include <memory>
#include <set>
#include <vector>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client_core/files_client.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/log.h"
#include "server/metrics.h"

namespace filesgw::server {

// A health service name that stays SERVING while the process answers (for
// liveness probes); the overall status ("") is the readiness answer.
inline constexpr char kLivenessService[] = "liveness";

class HealthReporter {
 public:
  // `metrics` may be null.
  HealthReporter(Logger* log, Metrics* metrics);

  // Starts reporting to `service` (null: to no service).
  void Attach(grpc::HealthCheckServiceInterface* service);
  // Also reports to `service` (a second listener's health service).
  void AttachAlso(grpc::HealthCheckServiceInterface* service);
  // How many credential profiles there are (default 1).
  void SetProfileCount(int count);
  // NOT_SERVING from now on, whatever upstream answers.
  void SetDraining();
  // The answer to a request made with `profile`'s own credential.
  void ObserveUpstream(const client_core::ApiResult& result,
                       const std::string& profile = "default");
  // The credential was replaced (a key file rotated): trust it again until
  // Files.com says otherwise.
  void CredentialChanged(const std::string& profile = "default");

  bool serving() const;
  bool credential_rejected() const;

 private:
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Logger* const log_;
  Metrics* const metrics_;
  mutable absl::Mutex mu_;
  std::vector<grpc::HealthCheckServiceInterface*> services_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int profile_count_ ABSL_GUARDED_BY(mu_) = 1;
  std::set<std::string> rejected_ ABSL_GUARDED_BY(mu_);  // profiles
};

// True for a 401 whose Files.com type is "not-authenticated" or below it.
bool IsCredentialRejection(const client_core::ApiResult& result);

// What forwarding and transfer code report to; every member may be empty.
struct Telemetry {
  std::shared_ptr<Metrics> metrics;
  HealthReporter* health = nullptr;
  // The rate governor's profile label; empty when no governor paces calls.
  std::string governor_profile;
  // The credential profile whose health upstream answers speak for.
  std::string profile = "default";

  // One finished Files.com API call made for `full_method`: its retries, the
  // governor's wait or refusal, and (when made with the gateway's own
  // credential) what it says about that credential.
  void OnApiResult(const client_core::ApiResult& result, std::string_view full_method,
                   bool own_credential) const;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_TELEMETRY_H_
