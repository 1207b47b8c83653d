#include "server/api_service.h"

#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"

namespace filesgw::server {

absl::StatusOr<std::unique_ptr<ApiService>> ApiService::Create(
    const google::protobuf::ServiceDescriptor* service, Forwarder* forwarder) {
  std::unique_ptr<ApiService> out(new ApiService);
  for (int i = 0; i < service->method_count(); ++i) {
    auto route = BuildRoute(service->method(i));
    if (!route.ok()) return route.status();
    out->routes_.push_back(std::move(*route));
    const Route* r = &out->routes_.back();
    out->AddMethod(new grpc::internal::RpcServiceMethod(
        r->full_method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
    out->MarkMethodRawCallback(
        i, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
               [forwarder, r](grpc::CallbackServerContext* context,
                              const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
                 return forwarder->Forward(r, context, request, response);
               }));
  }
  return out;
}

}  // namespace filesgw::server
