#include "server/telemetry.h"

#include <string>

#include "absl/strings/match.h"

namespace filesgw::server {

bool IsCredentialRejection(const client_core::ApiResult& result) {
  return result.http_status == 401 && result.error.has_value() &&
         absl::StartsWith(result.error->type, "not-authenticated");
}

HealthReporter::HealthReporter(Logger* log, Metrics* metrics) : log_(log), metrics_(metrics) {}

void HealthReporter::Attach(grpc::HealthCheckServiceInterface* service) {
  absl::MutexLock lock(&mu_);
  service_ = service;
  Publish();
}

void HealthReporter::SetDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  Publish();
}

void HealthReporter::ObserveUpstream(const client_core::ApiResult& result) {
  const bool rejection = IsCredentialRejection(result);
  const bool success = result.status.ok();
  if (!rejection && !success) return;
  absl::MutexLock lock(&mu_);
  if (rejection == rejected_) return;
  rejected_ = rejection;
  if (rejection) {
    // Once per transition: every call fails the same way until it is fixed.
    log_->Error("upstream credential rejected; health is NOT_SERVING",
                {{"http_status", result.http_status}, {"type", result.error->type}});
  } else {
    log_->Info("upstream credential accepted again; health is SERVING", {});
  }
  Publish();
}

void HealthReporter::CredentialChanged() {
  absl::MutexLock lock(&mu_);
  if (!rejected_) return;
  rejected_ = false;
  log_->Info("upstream credential changed; health is SERVING until Files.com refuses it", {});
  Publish();
}

bool HealthReporter::serving() const {
  absl::MutexLock lock(&mu_);
  return !draining_ && !rejected_;
}

bool HealthReporter::credential_rejected() const {
  absl::MutexLock lock(&mu_);
  return rejected_;
}

void HealthReporter::Publish() {
  const bool serving = !draining_ && !rejected_;
  if (service_ != nullptr) service_->SetServingStatus(serving);
  if (metrics_ != nullptr) {
    metrics_->SetServing(serving);
    metrics_->SetCredentialRejected(rejected_);
  }
}

void Telemetry::OnApiResult(const client_core::ApiResult& result, std::string_view full_method,
                            bool own_credential) const {
  if (metrics != nullptr) {
    metrics->UpstreamRetries(full_method, result.attempts - 1);
    if (!governor_profile.empty()) {
      // A refusal sent nothing upstream: no HTTP status, no Files.com error.
      if (absl::IsResourceExhausted(result.status) && result.http_status == 0) {
        metrics->GovernorRejection(governor_profile);
      } else if (result.attempts > 0) {
        metrics->GovernorWait(governor_profile, result.governor_wait);
      }
    }
  }
  if (health != nullptr && own_credential) health->ObserveUpstream(result);
}

}  // namespace filesgw::server
