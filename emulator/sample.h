// Plausible JSON records generated from a model's descriptor alone: values
// follow each field's type and name (emails for *email*, RFC 3339 times for
// *_at, paths, URLs, ids of 1 for *_id so references land on the demo site).
// Deterministic: the same (model, id, hint) always gives the same record.
//
//   JsonValue user = SampleRecord(pool->FindMessageTypeByName("files.v1.User"), 3, "alice");
#ifndef FILESGW_EMULATOR_SAMPLE_H_
#define FILESGW_EMULATOR_SAMPLE_H_

#include <cstdint>
#include <string_view>

#include "absl/strings/string_view.h"
#include "emulator/json.h"
#include "google/protobuf/descriptor.h"

namespace filesgw::emulator {

// A record of `model` with `id` (as a number, or a string for string ids).
// `hint` seeds names: usernames, emails and names derive from it when given.
JsonValue SampleRecord(const google::protobuf::Descriptor* model, int64_t id,
                       absl::string_view hint = {});

// One field's sample value; null for write-only fields (passwords, uploads).
JsonValue SampleValue(const google::protobuf::FieldDescriptor* field, int64_t id,
                      absl::string_view hint, int depth);

// True for fields that must never be echoed back (passwords and the like).
bool IsSecretField(absl::string_view json_key);

// RFC 3339 (UTC, seconds) for `t`.
std::string Rfc3339(int64_t unix_seconds);

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_SAMPLE_H_
