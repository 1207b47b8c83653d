// The Files.com API surface at run time: every files.v1 service, message and
// option, loaded once from the descriptor set embedded at build time.
//
// The server's routing table, the emulator's routes and the tests' walks over
// every RPC all start here, so the REST mapping is stated once, in the protos.
//
//   const auto& api = filesgw::proto::Api();
//   for (const auto* service : api.services) { ... service->method(i) ... }
//   const auto* info = RestBindingOf(method);  // nullptr when not annotated
#ifndef FILESGW_PROTO_API_POOL_H_
#define FILESGW_PROTO_API_POOL_H_

#include <memory>
#include <vector>

#include "files/v1/options.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace filesgw::proto {

struct ApiSurface {
  // Underlaid by the generated pool, so well-known types and the compiled
  // messages (google.rpc.*, files.v1.FilesError, ...) resolve to generated classes.
  std::unique_ptr<google::protobuf::DescriptorPool> pool;
  // Dynamic messages for files.v1; delegates to generated classes where they exist.
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory;
  // Every files.v1 service that has at least one RPC with a (files.v1.rest) binding.
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  // Every file of the set, in dependency order (for reflection).
  std::vector<const google::protobuf::FileDescriptor*> files;
};

// Loaded on first use; thread-safe; lives for the whole process.
const ApiSurface& Api();

// A prototype for `descriptor` from Api().factory (never null for pool types).
const google::protobuf::Message* Prototype(const google::protobuf::Descriptor* descriptor);

// The method's (files.v1.rest) / (files.v1.sdk) options; nullptr when absent.
const files::v1::RestBinding* RestBindingOf(const google::protobuf::MethodDescriptor* method);
const files::v1::SdkMethod* SdkMethodOf(const google::protobuf::MethodDescriptor* method);

// True when the field carries (files.v1.required) = true.
bool IsRequired(const google::protobuf::FieldDescriptor* field);

// Every generated model and request message has `google.protobuf.Struct
// unmapped_fields = 500000` (proto/generate.py): Files.com keys the message
// lacks or whose shape does not fit (answers), extra params (requests). It is
// never a Files.com key itself.
inline constexpr int kUnmappedFieldsNumber = 500000;
bool IsUnmappedFields(const google::protobuf::FieldDescriptor* field);
// The message's unmapped_fields field, or nullptr when it has none.
const google::protobuf::FieldDescriptor* UnmappedFieldsOf(const google::protobuf::Descriptor* type);

// The Files.com JSON key of a field: its explicit json_name ("subfolders_locked?")
// when the proto sets one, else its name.
const std::string& FilesJsonKey(const google::protobuf::FieldDescriptor* field);

}  // namespace filesgw::proto

#endif  // FILESGW_PROTO_API_POOL_H_
