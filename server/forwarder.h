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
#include "server/log.h"
#include "server/route.h"
#include "server/telemetry.h"

namespace filesgw::server {

// The rate governor's fairness key for a call.
std::string CallerKey(const grpc::ServerContextBase* context);

class Forwarder {
 public:
  Forwarder(std::shared_ptr<client_core::FilesClient> client, Logger* log,
            Telemetry telemetry = {});

  // Starts forwarding; the returned reactor finishes the RPC when the upstream
  // answers, and aborts the upstream call when the RPC is cancelled.
  grpc::ServerUnaryReactor* Forward(const Route* route, grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response);

  int64_t in_flight() const { return in_flight_.load(); }

 private:
  class Call;
  std::shared_ptr<client_core::FilesClient> client_;
  Logger* log_;
  Telemetry telemetry_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_FORWARDER_H_
