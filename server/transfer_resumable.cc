#include "server/transfer_resumable.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"

namespace filesgw::server::transfer {
std::string NewUploadId() {
  absl::BitGen gen;
  static const char kHex[] = "0123456789abcdef";
  std::string id = "up-";
  for (int i = 0; i < 32; ++i) id.push_back(kHex[absl::Uniform(gen, 0, 16)]);
  return id;
}

ResumableRegistry::ResumableRegistry(std::shared_ptr<client_core::Scheduler> scheduler,
                                     absl::Duration ttl)
    : scheduler_(std::move(scheduler)), ttl_(ttl) {
  Arm();
}

ResumableRegistry::~ResumableRegistry() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->closed = true;
  if (timer_ != 0 && scheduler_ != nullptr) scheduler_->Cancel(timer_);
}

// Sweeps a few times per time to live (at most once a minute, at least once a
// second), so an expired upload's memory goes within a fraction of the TTL.
void ResumableRegistry::Arm() {
  if (scheduler_ == nullptr) return;
  const absl::Duration every = std::clamp(ttl_ / 4, absl::Seconds(1), absl::Minutes(1));
  std::shared_ptr<Shared> shared = shared_;
  timer_ = scheduler_->RunAt(scheduler_->Now() + every, [this, shared] {
    std::lock_guard<std::mutex> lock(shared->mu);
    if (shared->closed) return;
    Sweep();
    Arm();
  });
}

void ResumableRegistry::Sweep() {
  std::vector<std::shared_ptr<UploadSession>> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    for (auto it = uploads_.begin(); it != uploads_.end();) {
      if (!it->second->attached && now - it->second->touched > ttl_) {
        expired.push_back(std::move(it->second));
        it = uploads_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& session : expired) session->Abort();
}

std::string ResumableRegistry::Add(std::shared_ptr<UploadSession> session) {
  std::string id = NewUploadId();
  std::lock_guard<std::mutex> lock(mu_);
  session->touched = absl::Now();
  uploads_[id] = std::move(session);
  return id;
}

std::shared_ptr<UploadSession> ResumableRegistry::Find(const std::string& id,
                                                       const std::string& caller_name) {
  std::shared_ptr<UploadSession> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = uploads_.find(id);
    if (it == uploads_.end() || !it->second->OwnedBy(caller_name)) return nullptr;
    const absl::Time now = absl::Now();
    if (it->second->attached || now - it->second->touched <= ttl_) {
      it->second->touched = now;
      return it->second;
    }
    // Past its time to live; the sweep has not come round yet.
    expired = std::move(it->second);
    uploads_.erase(it);
  }
  expired->Abort();
  return nullptr;
}

std::shared_ptr<UploadSession> ResumableRegistry::Remove(const std::string& id,
                                                         const std::string& caller_name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end() || !it->second->OwnedBy(caller_name)) return nullptr;
  auto session = std::move(it->second);
  uploads_.erase(it);
  return session;
}

bool ResumableRegistry::Attach(const std::shared_ptr<UploadSession>& session) {
  std::lock_guard<std::mutex> lock(mu_);
  if (session->attached) return false;
  session->attached = true;
  session->touched = absl::Now();
  return true;
}

void ResumableRegistry::Detach(const std::shared_ptr<UploadSession>& session) {
  std::lock_guard<std::mutex> lock(mu_);
  session->attached = false;
  session->touched = absl::Now();
}

void ResumableRegistry::Complete(const std::shared_ptr<UploadSession>& session,
                                 const files::v1::File& file) {
  std::lock_guard<std::mutex> lock(mu_);
  session->complete = true;
  session->file = file;
}

void ResumableRegistry::Status(const std::shared_ptr<UploadSession>& session, bool* complete,
                               files::v1::File* file) {
  std::lock_guard<std::mutex> lock(mu_);
  *complete = !session->attached && session->complete;
  if (*complete) *file = session->file;
}

void ResumableRegistry::Touch(const std::shared_ptr<UploadSession>& session) {
  std::lock_guard<std::mutex> lock(mu_);
  session->touched = absl::Now();
}

}  // namespace filesgw::server::transfer
