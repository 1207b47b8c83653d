#include "proto/api_pool.h"

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <set>
#include <vector>

#include "google/protobuf/descriptor.pb.h"

namespace filesgw::proto {

extern const unsigned char kApiDescriptorSet[];
extern const std::size_t kApiDescriptorSetSize;

namespace {

// protoc writes a json_name (the default lowerCamel) for EVERY field of a
// descriptor set, so has_json_name() could not tell a real Files.com key
// ("subfolders_locked?", "responseCode") from protoc's default ("workspaceId"
// for workspace_id). The source info records which json_names the .proto
// actually wrote; every other json_name is cleared before the file is built,
// which makes has_json_name() mean "Files.com spells this key differently".
// Source paths: FileDescriptorProto.message_type = 4, DescriptorProto.nested_type = 3,
// DescriptorProto.field = 2, FieldDescriptorProto.json_name = 10.
void KeepOnlyExplicitJsonNames(google::protobuf::FileDescriptorProto* file) {
  std::set<std::vector<int>> written;
  for (const auto& location : file->source_code_info().location()) {
    const auto& path = location.path();
    if (path.size() >= 5 && path[path.size() - 1] == 10 && path[path.size() - 3] == 2) {
      written.emplace(path.begin(), path.end());
    }
  }
  std::vector<int> path;
  std::function<void(google::protobuf::DescriptorProto*)> visit =
      [&](google::protobuf::DescriptorProto* type) {
        for (int f = 0; f < type->field_size(); ++f) {
          path.insert(path.end(), {2, f, 10});
          if (written.count(path) == 0) type->mutable_field(f)->clear_json_name();
          path.resize(path.size() - 3);
        }
        for (int n = 0; n < type->nested_type_size(); ++n) {
          path.insert(path.end(), {3, n});
          visit(type->mutable_nested_type(n));
          path.resize(path.size() - 2);
        }
      };
  for (int m = 0; m < file->message_type_size(); ++m) {
    path = {4, m};
    visit(file->mutable_message_type(m));
  }
}

ApiSurface* Load() {
  auto* api = new ApiSurface;
  const auto* generated = google::protobuf::DescriptorPool::generated_pool();
  api->pool = std::make_unique<google::protobuf::DescriptorPool>(generated);
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromArray(kApiDescriptorSet, static_cast<int>(kApiDescriptorSetSize))) {
    std::cerr << "embedded descriptor set is corrupt\n";
    std::abort();  // A build defect, not a run-time condition.
  }
  for (auto& file : *set.mutable_file()) {
    KeepOnlyExplicitJsonNames(&file);
    // Nothing reads comments or source spans at run time, and the pool would
    // keep a copy of them: 5 MiB of every process's heap.
    file.clear_source_code_info();
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

bool IsUnmappedFields(const google::protobuf::FieldDescriptor* field) {
  return field != nullptr && field->number() == kUnmappedFieldsNumber &&
         field->name() == "unmapped_fields" &&
         field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
         field->message_type()->full_name() == "google.protobuf.Struct";
}

const google::protobuf::FieldDescriptor* UnmappedFieldsOf(const google::protobuf::Descriptor* type) {
  if (type == nullptr) return nullptr;
  const google::protobuf::FieldDescriptor* field = type->FindFieldByNumber(kUnmappedFieldsNumber);
  return IsUnmappedFields(field) ? field : nullptr;
}

bool IsRequired(const google::protobuf::FieldDescriptor* field) {
  return field->options().GetExtension(files::v1::required);
}

const std::string& FilesJsonKey(const google::protobuf::FieldDescriptor* field) {
  return field->has_json_name() ? field->json_name() : field->name();
}

}  // namespace filesgw::proto
