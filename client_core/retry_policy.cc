#include "client_core/retry_policy.h"

#include "absl/strings/match.h"

namespace filesgw::client_core {

bool IsRetryable(const HttpResult& result, Idempotency idempotency) {
  const bool idempotent = idempotency == Idempotency::kIdempotent;
  if (!result.transport.ok()) {
    const bool transient =
        absl::IsUnavailable(result.transport) || absl::IsDeadlineExceeded(result.transport);
    if (!transient) return false;  // cancelled, malformed URL, bad certificate, ...
    return idempotent || !result.request_sent;
  }
  const int status = result.response.status;
  if (status == 429 || status == 503) return true;
  if (!idempotent) return false;
  if (status >= 500 && status != 501) return true;
  return status == 400 && absl::StrContains(result.response.body, "<Code>RequestTimeout</Code>");
}

}  // namespace filesgw::client_core
