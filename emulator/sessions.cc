#include "emulator/sessions.h"

#include "absl/strings/str_format.h"

namespace filesgw::emulator {

Sessions::Sessions(std::function<absl::Time()> clock, absl::Duration ttl)
    : clock_(std::move(clock)), ttl_(ttl), rng_(std::random_device{}()) {}

std::string Sessions::Create(int64_t user_id) {
  absl::MutexLock lock(&mu_);
  std::string id = absl::StrFormat("%016x%016x", rng_(), rng_());
  sessions_[id] = Entry{user_id, clock_() + ttl_};
  return id;
}

std::optional<int64_t> Sessions::UserOf(const std::string& session_id) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || clock_() >= it->second.expires) return std::nullopt;
  return it->second.user_id;
}

bool Sessions::End(const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  return sessions_.erase(session_id) > 0;
}

void Sessions::ExpireAll() {
  absl::MutexLock lock(&mu_);
  sessions_.clear();
}

}  // namespace filesgw::emulator
