#include "emulator/rate_limit.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace filesgw::emulator {

KeyRateLimiter::KeyRateLimiter(RateLimitOptions options) : options_(options) {
  burst_ = options_.burst > 0 ? options_.burst : std::max(1.0, options_.per_second);
}

KeyRateLimiter::Verdict KeyRateLimiter::Admit(const std::string& key, absl::Time now) {
  Verdict verdict;
  if (!enabled()) return verdict;
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = buckets_.try_emplace(key);
  Bucket& bucket = it->second;
  if (fresh) {
    bucket.tokens = burst_;
  } else {
    double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.last));
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * options_.per_second);
  }
  bucket.last = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    ++counts_.allowed;
    return verdict;
  }
  ++counts_.limited;
  verdict.allowed = false;
  // Whole seconds, rounded up, at least 1: what Files.com's header carries.
  double wait = (1.0 - bucket.tokens) / options_.per_second;
  verdict.retry_after_seconds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
  return verdict;
}

KeyRateLimiter::Counts KeyRateLimiter::counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

void KeyRateLimiter::Reset() {
  absl::MutexLock lock(&mu_);
  buckets_.clear();
  counts_ = Counts{};
}

std::string KeyRateLimiter::ToJson() const {
  Counts c = counts();
  return absl::StrCat("{\"per_second\":", options_.per_second, ",\"burst\":", burst_,
                      ",\"allowed\":", c.allowed, ",\"limited\":", c.limited, "}");
}

}  // namespace filesgw::emulator
