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
  services_.clear();
  if (service != nullptr) services_.push_back(service);
  Publish();
}

void HealthReporter::AttachAlso(grpc::HealthCheckServiceInterface* service) {
  absl::MutexLock lock(&mu_);
  if (service != nullptr) services_.push_back(service);
  Publish();
}

void HealthReporter::SetProfileCount(int count) {
  absl::MutexLock lock(&mu_);
  profile_count_ = count < 1 ? 1 : count;
  Publish();
}

void HealthReporter::SetDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  Publish();
}

void HealthReporter::ObserveUpstream(const client_core::ApiResult& result,
                                     const std::string& profile) {
  const bool rejection = IsCredentialRejection(result);
  const bool success = result.status.ok();
  if (!rejection && !success) return;
  absl::MutexLock lock(&mu_);
  if (rejection == (rejected_.count(profile) > 0)) return;
  if (rejection) {
    rejected_.insert(profile);
    // Once per transition: every call fails the same way until it is fixed.
    log_->Error("upstream credential rejected",
                {{"profile", profile},
                 {"http_status", result.http_status},
                 {"type", result.error->type},
                 {"health", static_cast<int>(rejected_.size()) >= profile_count_ ? "NOT_SERVING"
                                                                                 : "SERVING"}});
  } else {
    rejected_.erase(profile);
    log_->Info("upstream credential accepted again", {{"profile", profile}});
  }
  Publish();
}

void HealthReporter::CredentialChanged(const std::string& profile) {
  absl::MutexLock lock(&mu_);
  if (rejected_.erase(profile) == 0) return;
  log_->Info("upstream credential changed; trusted until Files.com refuses it",
             {{"profile", profile}});
  Publish();
}

bool HealthReporter::serving() const {
  absl::MutexLock lock(&mu_);
  return !draining_ && static_cast<int>(rejected_.size()) < profile_count_;
}

bool HealthReporter::credential_rejected() const {
  absl::MutexLock lock(&mu_);
  return !rejected_.empty();
}

void HealthReporter::Publish() {
  const bool serving = !draining_ && static_cast<int>(rejected_.size()) < profile_count_;
  for (auto* service : services_) {
    service->SetServingStatus("", serving);
    // For liveness probes: the process answers. Draining or a rejected
    // credential is not fixed by a restart, so they do not show here.
    service->SetServingStatus(kLivenessService, true);
  }
  if (metrics_ != nullptr) {
    metrics_->SetServing(serving);
    metrics_->SetCredentialRejected(!rejected_.empty());
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
  if (health != nullptr && own_credential) health->ObserveUpstream(result, profile);
}

}  // namespace filesgw::server
