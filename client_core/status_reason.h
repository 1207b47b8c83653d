// The ErrorInfo reason of a local failure, carried on the absl::Status itself
// (as a payload) by the layer that knows the cause, so that the server's one
// status builder names it instead of guessing from the code: "REQUEST_TOO_LARGE"
// from the codec, "LOCAL_OUT_OF_MEMORY" from curl.
//
//   return WithReason(absl::InvalidArgumentError("URL too long"), "REQUEST_TOO_LARGE");
//   ...
//   std::optional<std::string> reason = ReasonOf(status);  // "REQUEST_TOO_LARGE"
#ifndef FILESGW_CLIENT_CORE_STATUS_REASON_H_
#define FILESGW_CLIENT_CORE_STATUS_REASON_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace filesgw::client_core {

inline constexpr char kReasonPayloadUrl[] = "filesgw.dev/error-reason";

// `status` with `reason` attached; an OK status stays OK (payloads need an error).
inline absl::Status WithReason(absl::Status status, absl::string_view reason) {
  status.SetPayload(kReasonPayloadUrl, absl::Cord(reason));
  return status;
}

// The reason attached by WithReason, if any.
inline std::optional<std::string> ReasonOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kReasonPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_STATUS_REASON_H_
