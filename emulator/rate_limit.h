// Per-key request rate, as Files.com enforces it: each API key (or session)
// has a token bucket; a request that finds it empty is answered 429
// `rate-limited/too-many-requests` with `Retry-After` (whole seconds, as
// Files.com sends it) and does nothing. Presigned part and download URLs and
// the control endpoints are not counted (storage hosts, not the API). Off
// unless EmulatorOptions::rate_limit_per_second > 0.
//
//   KeyRateLimiter limiter({.per_second = 10, .burst = 20});
//   auto verdict = limiter.Admit("key", absl::Now());
//   if (!verdict.allowed) -> 429, Retry-After: verdict.retry_after_seconds
#ifndef FILESGW_EMULATOR_RATE_LIMIT_H_
#define FILESGW_EMULATOR_RATE_LIMIT_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace filesgw::emulator {

struct RateLimitOptions {
  double per_second = 0;  // <= 0: off
  double burst = 0;       // bucket size; <= 0: max(1, per_second)
};

class KeyRateLimiter {
 public:
  struct Verdict {
    bool allowed = true;
    int64_t retry_after_seconds = 0;  // >= 1 when refused
  };
  struct Counts {
    int64_t allowed = 0;
    int64_t limited = 0;  // answered 429
  };

  explicit KeyRateLimiter(RateLimitOptions options = {});
  bool enabled() const { return options_.per_second > 0; }
  const RateLimitOptions& options() const { return options_; }
  // Takes one token from `key`'s bucket at `now`, or says how long to wait.
  Verdict Admit(const std::string& key, absl::Time now);
  Counts counts() const;
  void Reset();  // full buckets, counts zero
  std::string ToJson() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };
  RateLimitOptions options_;
  double burst_ = 1;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  Counts counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_RATE_LIMIT_H_
