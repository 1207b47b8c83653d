#include "server/reflection_service.h"

#include <set>
#include <utility>

#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace filesgw::server {
namespace {

// The v1 and v1alpha protos are identical but for the package, so one template
// serves both. A callback service: an open reflection stream, idle or not,
// holds no thread (grpcurl and IDEs keep them open).
template <typename Base, typename Request, typename Response>
class Reflection final : public Base {
 public:
  Reflection(const google::protobuf::DescriptorPool* pool, std::vector<std::string> names)
      : pool_(pool), names_(std::move(names)) {}

  grpc::ServerBidiReactor<Request, Response>* ServerReflectionInfo(
      grpc::CallbackServerContext* /*context*/) override {
    return new Stream(this);
  }

 private:
  // One request in, one answer out, in order, until the client half-closes.
  class Stream : public grpc::ServerBidiReactor<Request, Response> {
   public:
    explicit Stream(const Reflection* service) : service_(service) { this->StartRead(&request_); }
    void OnReadDone(bool ok) override {
      if (!ok) return this->Finish(grpc::Status::OK);
      response_.Clear();
      service_->Answer(request_, &response_);
      this->StartWrite(&response_);
    }
    void OnWriteDone(bool ok) override {
      if (!ok) return this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      this->StartRead(&request_);
    }
    void OnDone() override { delete this; }

   private:
    const Reflection* service_;
    Request request_;
    Response response_;
  };

  void Answer(const Request& request, Response* out) const {
    Response& response = *out;
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    switch (request.message_request_case()) {
      case Request::kListServices:
        for (const auto& name : names_) {
          response.mutable_list_services_response()->add_service()->set_name(name);
        }
        break;
      case Request::kFileByFilename:
        SendFile(pool_->FindFileByName(request.file_by_filename()), &response);
        break;
      case Request::kFileContainingSymbol:
        SendFile(pool_->FindFileContainingSymbol(request.file_containing_symbol()), &response);
        break;
      case Request::kFileContainingExtension: {
        const auto* type =
            pool_->FindMessageTypeByName(request.file_containing_extension().containing_type());
        const google::protobuf::FieldDescriptor* ext =
            type == nullptr ? nullptr
                            : pool_->FindExtensionByNumber(
                                  type, request.file_containing_extension().extension_number());
        SendFile(ext == nullptr ? nullptr : ext->file(), &response);
        break;
      }
      case Request::kAllExtensionNumbersOfType: {
        const auto* type = pool_->FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (type == nullptr) {
          NotFound(&response);
          break;
        }
        std::vector<const google::protobuf::FieldDescriptor*> exts;
        pool_->FindAllExtensions(type, &exts);
        auto* all = response.mutable_all_extension_numbers_response();
        all->set_base_type_name(type->full_name());
        for (const auto* e : exts) all->add_extension_number(e->number());
        break;
      }
      default:
        response.mutable_error_response()->set_error_code(grpc::StatusCode::UNIMPLEMENTED);
        response.mutable_error_response()->set_error_message("unknown reflection request");
    }
  }

  static void NotFound(Response* response) {
    response->mutable_error_response()->set_error_code(grpc::StatusCode::NOT_FOUND);
    response->mutable_error_response()->set_error_message("not found");
  }

  // Sends the file and, as gRPC's own implementation does, its transitive
  // dependencies, so one answer is enough to decode it.
  void SendFile(const google::protobuf::FileDescriptor* file, Response* response) const {
    if (file == nullptr) return NotFound(response);
    std::set<std::string> seen;
    std::vector<const google::protobuf::FileDescriptor*> todo{file};
    auto* out = response->mutable_file_descriptor_response();
    while (!todo.empty()) {
      const auto* f = todo.back();
      todo.pop_back();
      if (!seen.insert(f->name()).second) continue;
      google::protobuf::FileDescriptorProto proto;
      f->CopyTo(&proto);
      proto.SerializeToString(out->add_file_descriptor_proto());
      for (int i = 0; i < f->dependency_count(); ++i) todo.push_back(f->dependency(i));
    }
  }

  const google::protobuf::DescriptorPool* pool_;
  std::vector<std::string> names_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::Service>> MakeReflectionServices(
    const google::protobuf::DescriptorPool* pool, std::vector<std::string> service_names) {
  service_names.push_back("grpc.reflection.v1.ServerReflection");
  service_names.push_back("grpc.reflection.v1alpha.ServerReflection");
  std::vector<std::unique_ptr<grpc::Service>> out;
  out.push_back(std::make_unique<Reflection<grpc::reflection::v1::ServerReflection::CallbackService,
                                            grpc::reflection::v1::ServerReflectionRequest,
                                            grpc::reflection::v1::ServerReflectionResponse>>(
      pool, service_names));
  out.push_back(
      std::make_unique<Reflection<grpc::reflection::v1alpha::ServerReflection::CallbackService,
                                  grpc::reflection::v1alpha::ServerReflectionRequest,
                                  grpc::reflection::v1alpha::ServerReflectionResponse>>(
          pool, service_names));
  return out;
}

}  // namespace filesgw::server
