// A grpc::Service built at start-up from one files.v1 ServiceDescriptor: each
// RPC is registered as a raw (ByteBuffer) callback method whose handler is the
// generic Forwarder with that RPC's Route. No per-resource code exists.
#ifndef FILESGW_SERVER_API_SERVICE_H_
#define FILESGW_SERVER_API_SERVICE_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/service_type.h"
#include "server/forwarder.h"
#include "server/route.h"

namespace filesgw::server {

class ApiService : public grpc::Service {
 public:
  // Fails when any method's binding is invalid (a proto defect).
  static absl::StatusOr<std::unique_ptr<ApiService>> Create(
      const google::protobuf::ServiceDescriptor* service, Forwarder* forwarder);

  const std::deque<Route>& routes() const { return routes_; }

 private:
  ApiService() = default;
  // Stable addresses: gRPC keeps the method-name pointers, handlers keep routes.
  std::deque<Route> routes_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_API_SERVICE_H_
