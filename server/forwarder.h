// The one generic forwarding path for every unary RPC: request bytes ->
// dynamic message -> REST request (codec) -> FilesClient (retries, deadline,
// cancellation) -> JSON answer -> response bytes, or a rich error status.
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

  // Starts forwarding; the returned reactor finishes the RPC when the upstream
  // answers, and aborts the upstream call when the RPC is cancelled.
  grpc::ServerUnaryReactor* Forward(const Route* route, grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response);

  int64_t in_flight() const { return in_flight_.load(); }

 private:
  class Call;
  const CallerAuth* auth_;
  Logger* log_;
  Telemetry telemetry_;
  std::shared_ptr<CallerQuotas> quotas_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_FORWARDER_H_
