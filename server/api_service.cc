#include "server/api_service.h"

#include <algorithm>
#include <set>

#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"

namespace filesgw::server {
namespace {

bool CarriesBytes(const google::protobuf::Descriptor* type,
                  std::set<const google::protobuf::Descriptor*>* seen) {
  if (!seen->insert(type).second) return false;  // recursive types
  for (int i = 0; i < type->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = type->field(i);
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_BYTES) return true;
    if (field->message_type() != nullptr && CarriesBytes(field->message_type(), seen)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool CarriesBytes(const google::protobuf::Descriptor* type) {
  std::set<const google::protobuf::Descriptor*> seen;
  return CarriesBytes(type, &seen);
}

int64_t RequestLimitFor(const Route& route, const RequestLimits& limits) {
  return CarriesBytes(route.request_type)
             ? std::max(limits.max_request_bytes, limits.max_binary_request_bytes)
             : limits.max_request_bytes;
}

absl::StatusOr<std::unique_ptr<ApiService>> ApiService::Create(
    const google::protobuf::ServiceDescriptor* service, Forwarder* forwarder,
    RequestLimits limits) {
  std::unique_ptr<ApiService> out(new ApiService);
  for (int i = 0; i < service->method_count(); ++i) {
    auto route = BuildRoute(service->method(i));
    if (!route.ok()) return route.status();
    out->routes_.push_back(std::move(*route));
    const Route* r = &out->routes_.back();
    const int64_t max_bytes = RequestLimitFor(*r, limits);
    out->AddMethod(new grpc::internal::RpcServiceMethod(
        r->full_method.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING, nullptr));
    out->MarkMethodRawCallback(
        i, new grpc::internal::CallbackBidiHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
               [forwarder, r, max_bytes](grpc::CallbackServerContext* context) {
                 return forwarder->Forward(r, max_bytes, context);
               }));
  }
  return out;
}

}  // namespace filesgw::server
