// The one generic forwarding path for every unary RPC: request bytes ->
// dynamic message -> REST request (codec) -> FilesClient (retries, deadline,
// cancellation) -> JSON answer -> response bytes, or a rich error status.
//
// Admission comes first. gRPC registers these methods as bidi streams (the
// wire format of a unary call is a stream of one message), so gRPC reads
// nothing before the reactor asks: the caller is authenticated and given a
// call slot of its share from the metadata alone, and only an admitted call
// has its request message read. A refused caller gets its status with its
// message unread; a caller with no room for another upstream request waits
// for one of its own (CallerQuotas::AdmitWhenFree), never for another's.
#ifndef FILESGW_SERVER_FORWARDER_H_
#define FILESGW_SERVER_FORWARDER_H_

#include <atomic>
#include <memory>
#include <string>

#include "client_core/files_client.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/caller_auth.h"
#include "server/caller_quota.h"
#include "server/log.h"
#include "server/route.h"
#include "server/telemetry.h"

namespace filesgw::server {

class Forwarder {
 public:
  // `auth` says who calls and which profile's client serves them; `telemetry`
  // takes the gateway-wide figures (each profile reports its own upstream
  // answers). `auth` must outlive the forwarder.
  // `quotas` (may be null) holds each caller's share of calls in progress.
  Forwarder(const CallerAuth* auth, Logger* log, Telemetry telemetry = {},
            std::shared_ptr<CallerQuotas> quotas = nullptr);

  // Starts one call: the returned reactor admits the caller, reads exactly
  // one request message of at most `max_request_bytes` (zero or two:
  // INVALID_ARGUMENT; larger: RESOURCE_EXHAUSTED, reason MESSAGE_TOO_LARGE),
  // finishes the RPC when the upstream answers, and aborts the upstream call
  // when the RPC is cancelled.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Forward(
      const Route* route, int64_t max_request_bytes, grpc::CallbackServerContext* context);

  int64_t in_flight() const { return in_flight_.load(); }

 private:
  class Call;
  // Refusals before admission come at an attacker's pace: at most one log
  // line a second, counting the ones left out (metrics count them all).
  bool AllowRefusalLog(int64_t* left_out);

  const CallerAuth* auth_;
  Logger* log_;
  Telemetry telemetry_;
  std::shared_ptr<CallerQuotas> quotas_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> refusal_log_second_{-1};
  std::atomic<int64_t> refusals_left_out_{0};
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_FORWARDER_H_
