// A grpc::Service built at start-up from one files.v1 ServiceDescriptor: each
// RPC is registered as a raw (ByteBuffer) callback method whose handler is the
// generic Forwarder with that RPC's Route. No per-resource code exists.
//
// The methods are unary on the wire but registered as bidi streams: for
// unary methods gRPC reads the whole request message before any handler
// runs, for streams only when asked, and the Forwarder asks only once the
// caller is admitted (see forwarder.h).
#ifndef FILESGW_SERVER_API_SERVICE_H_
#define FILESGW_SERVER_API_SERVICE_H_

#include <cstdint>
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

// How large a unary request may be.
struct RequestLimits {
  int64_t max_request_bytes = 4LL << 20;  // every RPC ...
  // ... but those whose request carries a `bytes` field (binary params).
  int64_t max_binary_request_bytes = 64LL << 20;
};

// True when `type`, or a message type among its fields (at any depth), has a
// field of type bytes.
bool CarriesBytes(const google::protobuf::Descriptor* type);

// The receive limit of one RPC.
int64_t RequestLimitFor(const Route& route, const RequestLimits& limits);

class ApiService : public grpc::Service {
 public:
  // Fails when any method's binding is invalid (a proto defect).
  static absl::StatusOr<std::unique_ptr<ApiService>> Create(
      const google::protobuf::ServiceDescriptor* service, Forwarder* forwarder,
      RequestLimits limits = {});

  const std::deque<Route>& routes() const { return routes_; }

 private:
  ApiService() = default;
  // Stable addresses: gRPC keeps the method-name pointers, handlers keep routes.
  std::deque<Route> routes_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_API_SERVICE_H_
