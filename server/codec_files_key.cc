// The Files.com JSON key of a field. protoc writes a json_name (the default
// lowerCamel) for EVERY field of a descriptor set, so has_json_name() cannot
// tell a real Files.com key ("subfolders_locked?", "responseCode") from
// protoc's default ("workspaceId" for workspace_id). The source info kept in
// the embedded set records which json_names the .proto actually wrote.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.pb.h"
#include "server/codec_internal.h"

namespace filesgw::server::codec_internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

// protobuf's ToJsonName: drop '_' and upper-case the letter after it.
bool IsDefaultJsonName(const std::string& name, const std::string& json) {
  size_t j = 0;
  bool upper = false;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    const char want = upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
    if (j >= json.size() || json[j++] != want) return false;
  }
  return j == json.size();
}

// Source paths: FileDescriptorProto.message_type = 4, DescriptorProto.nested_type = 3,
// DescriptorProto.field = 2, FieldDescriptorProto.json_name = 10.
std::vector<int32_t> JsonNamePath(const FieldDescriptor* field) {
  std::vector<int32_t> reversed = {10, field->index(), 2};
  for (const Descriptor* type = field->containing_type(); type != nullptr;
       type = type->containing_type()) {
    reversed.push_back(type->index());
    reversed.push_back(type->containing_type() != nullptr ? 3 : 4);
  }
  return std::vector<int32_t>(reversed.rbegin(), reversed.rend());
}

class ExplicitJsonNames {
 public:
  bool Contains(const FieldDescriptor* field) {
    const FileDescriptor* file = field->file();
    absl::MutexLock lock(&mu_);
    auto& paths = by_file_[file];
    if (paths == nullptr) {
      paths = std::make_unique<absl::flat_hash_set<std::vector<int32_t>>>();
      google::protobuf::FileDescriptorProto proto;
      file->CopySourceCodeInfoTo(&proto);
      for (const auto& location : proto.source_code_info().location()) {
        const auto& path = location.path();
        if (path.size() >= 5 && path[path.size() - 1] == 10 && path[path.size() - 3] == 2) {
          paths->emplace(path.begin(), path.end());
        }
      }
    }
    return paths->contains(JsonNamePath(field));
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const FileDescriptor*,
                      std::unique_ptr<absl::flat_hash_set<std::vector<int32_t>>>>
      by_file_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

const std::string& FilesKey(const FieldDescriptor* field) {
  const std::string& json = field->json_name();
  if (!field->has_json_name() || json == field->name()) return field->name();
  if (!IsDefaultJsonName(field->name(), json)) return json;  // only ever written by hand
  static auto* explicit_names = new ExplicitJsonNames;
  return explicit_names->Contains(field) ? json : field->name();
}

}  // namespace filesgw::server::codec_internal
