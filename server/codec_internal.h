// Pieces the codec's translation units share (and its tests reach into):
// the list-answer entry of the JSON -> wire encoder, the reflection-based JSON
// writer that both MessageToJson and the request bodies use, and the
// percent-encoder. Not part of the codec's public contract (codec.h).
#ifndef FILESGW_SERVER_CODEC_INTERNAL_H_
#define FILESGW_SERVER_CODEC_INTERNAL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/codec.h"

namespace filesgw::server::codec_internal {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// The Files.com JSON key of a field: its json_name only where the .proto
// wrote one ("subfolders_locked?", "responseCode"), else its name
// (same as proto::FilesJsonKey).
const std::string& FilesKey(const google::protobuf::FieldDescriptor* field);

// Encodes a JSON array as the elements of `repeated_field` of `type` (a list
// answer -> `items`). Replaces *out. Anything but an array is INVALID_ARGUMENT.
absl::Status JsonArrayToBinary(const google::protobuf::Descriptor* type,
                               const google::protobuf::FieldDescriptor* repeated_field,
                               std::string_view json, std::string* out,
                               UnmappedReport* report = nullptr);

// Writes `message` as a JSON object: set fields only, Files.com keys.
void WriteMessageJson(const google::protobuf::Message& message, JsonWriter* writer);

// Writes the value (not the key) of a set field of `message`.
void WriteFieldJson(const google::protobuf::Message& message,
                    const google::protobuf::FieldDescriptor* field, JsonWriter* writer);

// RFC 3986: unreserved bytes stay, every other byte becomes %XX (upper-case
// hex); '/' stays literal when `keep_slash` (Files.com paths hold slashes).
void PercentEncode(std::string_view in, bool keep_slash, std::string* out);

// The shortest decimal text that reads back as the same double ("0.1", "5",
// "1e+300"); non-finite values as "NaN", "Infinity", "-Infinity".
std::string DoubleText(double value);

}  // namespace filesgw::server::codec_internal

#endif  // FILESGW_SERVER_CODEC_INTERNAL_H_
