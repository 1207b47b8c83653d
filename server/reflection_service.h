// gRPC server reflection (grpc.reflection.v1 and v1alpha) over the dynamic API
// pool, so grpcurl and friends see every files.v1 service. gRPC's own plugin
// only knows the generated pool, which holds none of the files.v1 protos.
#ifndef FILESGW_SERVER_REFLECTION_SERVICE_H_
#define FILESGW_SERVER_REFLECTION_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/service_type.h"

namespace filesgw::server {

// Both services answer list_services with `service_names`, and resolve files
// and symbols in `pool` (and its underlay).
std::vector<std::unique_ptr<grpc::Service>> MakeReflectionServices(
    const google::protobuf::DescriptorPool* pool, std::vector<std::string> service_names);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_REFLECTION_SERVICE_H_
