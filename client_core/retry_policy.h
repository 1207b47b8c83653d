// Which failed HTTP attempts may be sent again. Idempotency is an input, not
// guessed from the method, because the gateway knows it per route:
//  - idempotent: connection failures and timeouts, 429, 5xx except 501, and an
//    S3 <Code>RequestTimeout</Code> (a 400 that S3 asks clients to retry);
//  - non-idempotent: only when the request provably never reached the server,
//    or the server refused it with 429 or 503 (it was not processed).
// A cancelled attempt is never retried.
//
//   if (IsRetryable(result, Idempotency::kNonIdempotent)) ...
#ifndef FILESGW_CLIENT_CORE_RETRY_POLICY_H_
#define FILESGW_CLIENT_CORE_RETRY_POLICY_H_

#include "client_core/files_client.h"
#include "client_core/http_transport.h"

namespace filesgw::client_core {

bool IsRetryable(const HttpResult& result, Idempotency idempotency);

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_RETRY_POLICY_H_
