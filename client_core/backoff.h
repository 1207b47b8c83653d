// Exponential backoff with jitter between retries of one call: the base delay
// doubles from initial_retry_delay up to max_retry_delay, and jitter spreads
// callers that failed together so they do not come back together.
//
//   absl::BitGen gen;
//   absl::Duration wait = Backoff(/*attempt=*/1, options, gen);  // in [0.25 s, 0.5 s]
#ifndef FILESGW_CLIENT_CORE_BACKOFF_H_
#define FILESGW_CLIENT_CORE_BACKOFF_H_

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "client_core/files_client.h"

namespace filesgw::client_core {

enum class Jitter {
  kFull,   // uniform in [0, base]: spreads best, may retry at once
  kEqual,  // uniform in [base/2, base]: never retries sooner than half the base
};

// The base delay before retry number `attempt` (1 for the first retry):
// initial_retry_delay * 2^(attempt-1), capped at max_retry_delay.
absl::Duration BackoffBase(int attempt, const ClientOptions& options);

// BackoffBase with jitter applied.
absl::Duration Backoff(int attempt, const ClientOptions& options, absl::BitGenRef gen,
                       Jitter jitter = Jitter::kEqual);

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_BACKOFF_H_
