#include "client_core/backoff.h"

#include <algorithm>

#include "absl/random/distributions.h"

namespace filesgw::client_core {

absl::Duration BackoffBase(int attempt, const ClientOptions& options) {
  absl::Duration base = std::max(options.initial_retry_delay, absl::ZeroDuration());
  const absl::Duration cap = std::max(options.max_retry_delay, absl::ZeroDuration());
  // Doubling stops at the cap, so large attempt numbers cannot overflow.
  for (int i = 1; i < attempt && base < cap; ++i) base *= 2;
  return std::min(base, cap);
}

absl::Duration Backoff(int attempt, const ClientOptions& options, absl::BitGenRef gen,
                       Jitter jitter) {
  const absl::Duration base = BackoffBase(attempt, options);
  const double base_ns = absl::ToDoubleNanoseconds(base);
  const double low = jitter == Jitter::kEqual ? base_ns / 2 : 0.0;
  if (base_ns <= low) return base;
  return absl::Nanoseconds(absl::Uniform(absl::IntervalClosedClosed, gen, low, base_ns));
}

}  // namespace filesgw::client_core
