// The Files.com JSON key of a field; proto::Api() clears every json_name the
// .proto did not write, so the descriptor alone answers.
#include "proto/api_pool.h"
#include "server/codec_internal.h"

namespace filesgw::server::codec_internal {

const std::string& FilesKey(const google::protobuf::FieldDescriptor* field) {
  return proto::FilesJsonKey(field);
}

}  // namespace filesgw::server::codec_internal
