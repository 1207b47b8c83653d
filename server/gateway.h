// The assembled gateway: upstream client, the generic forwarder, one dynamic
// service per files.v1 resource, health and reflection, on one gRPC server,
// plus Prometheus metrics on their own listener (options.metrics_listen).
// main.cc and the integration tests both start it through here.
//
//   auto gw = Gateway::Start(options, &log);   // options.listen may use port 0
//   ... gw.value()->port() ...
//   gw.value()->Shutdown(absl::Seconds(20));  // drain
#ifndef FILESGW_SERVER_GATEWAY_H_
#define FILESGW_SERVER_GATEWAY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client_core/files_client.h"
#include "client_core/http_transport.h"
#include "grpcpp/server.h"
#include "server/api_service.h"
#include "server/caller_auth.h"
#include "server/caller_quota.h"
#include "server/forwarder.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/redis_client.h"
#include "server/telemetry.h"
#include "server/transfer_service.h"

namespace filesgw::server {

class Gateway {
 public:
  // `transport` may be null (libcurl is used); tests inject their own.
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(
      const GatewayOptions& options, Logger* log,
      std::shared_ptr<client_core::HttpTransport> transport = nullptr);
  ~Gateway();

  int port() const { return port_; }
  int health_port() const { return health_port_; }  // 0: no health listener
  size_t rpc_count() const;
  // The metrics listener's port (0 when metrics are not served).
  int metrics_port() const { return metrics_->port(); }
  Metrics& metrics() { return *metrics_; }
  const HealthReporter& health() const { return *health_; }
  // Each caller's shares in use (tests, diagnostics).
  const CallerQuotas& quotas() const { return *quotas_; }

  // Reports NOT_SERVING, stops accepting calls, lets in-flight calls finish
  // within `grace`, then cancels the rest. Safe to call twice.
  void Shutdown(absl::Duration grace);
  void Wait();

 private:
  Gateway() = default;
  Logger* log_ = nullptr;
  // Before everything that reports to them, so they are destroyed last.
  std::shared_ptr<Metrics> metrics_;
  std::unique_ptr<HealthReporter> health_;
  std::vector<std::shared_ptr<RedisClient>> redis_;  // shared state (--redis-url)
  std::vector<std::unique_ptr<ProfileRuntime>> profiles_;
  std::unique_ptr<CallerAuth> auth_;
  std::shared_ptr<CallerQuotas> quotas_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<TransferService> transfer_;
  std::vector<std::unique_ptr<ApiService>> services_;
  std::vector<std::unique_ptr<grpc::Service>> extra_services_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::Service>> health_extra_services_;
  std::unique_ptr<grpc::Server> health_server_;  // --health-listen
  int port_ = 0;
  int health_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_GATEWAY_H_
