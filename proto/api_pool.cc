#include "proto/api_pool.h"

#include <cstddef>
#include <cstdlib>
#include <iostream>

#include "google/protobuf/descriptor.pb.h"

namespace filesgw::proto {

extern const unsigned char kApiDescriptorSet[];
extern const std::size_t kApiDescriptorSetSize;

namespace {

ApiSurface* Load() {
  auto* api = new ApiSurface;
  const auto* generated = google::protobuf::DescriptorPool::generated_pool();
  api->pool = std::make_unique<google::protobuf::DescriptorPool>(generated);
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromArray(kApiDescriptorSet, static_cast<int>(kApiDescriptorSetSize))) {
    std::cerr << "embedded descriptor set is corrupt\n";
    std::abort();  // A build defect, not a run-time condition.
  }
  for (const auto& file : set.file()) {
    const auto* built = generated->FindFileByName(file.name());
    if (built == nullptr) built = api->pool->BuildFile(file);
    if (built == nullptr) {
      std::cerr << "cannot build " << file.name() << " from the embedded descriptor set\n";
      std::abort();
    }
    api->files.push_back(built);
    if (built->package() != "files.v1") continue;
    for (int i = 0; i < built->service_count(); ++i) {
      const auto* service = built->service(i);
      for (int m = 0; m < service->method_count(); ++m) {
        if (RestBindingOf(service->method(m)) != nullptr) {
          api->services.push_back(service);
          break;
        }
      }
    }
  }
  api->factory = std::make_unique<google::protobuf::DynamicMessageFactory>(api->pool.get());
  api->factory->SetDelegateToGeneratedFactory(true);
  return api;
}

}  // namespace

const ApiSurface& Api() {
  static const ApiSurface* api = Load();
  return *api;
}

const google::protobuf::Message* Prototype(const google::protobuf::Descriptor* descriptor) {
  return Api().factory->GetPrototype(descriptor);
}

const files::v1::RestBinding* RestBindingOf(const google::protobuf::MethodDescriptor* method) {
  const auto& options = method->options();
  if (!options.HasExtension(files::v1::rest)) return nullptr;
  return &options.GetExtension(files::v1::rest);
}

const files::v1::SdkMethod* SdkMethodOf(const google::protobuf::MethodDescriptor* method) {
  const auto& options = method->options();
  if (!options.HasExtension(files::v1::sdk)) return nullptr;
  return &options.GetExtension(files::v1::sdk);
}

bool IsRequired(const google::protobuf::FieldDescriptor* field) {
  return field->options().GetExtension(files::v1::required);
}

const std::string& FilesJsonKey(const google::protobuf::FieldDescriptor* field) {
  return field->has_json_name() ? field->json_name() : field->name();
}

}  // namespace filesgw::proto
