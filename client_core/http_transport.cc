#include "client_core/http_transport.h"

#include "absl/strings/match.h"
#include "client_core/internal/string_view.h"

namespace filesgw::client_core {

using internal::AsAbsl;

const std::string* HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, AsAbsl(name))) return &value;
  }
  return nullptr;
}

std::vector<std::string_view> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, AsAbsl(name))) values.emplace_back(value);
  }
  return values;
}

}  // namespace filesgw::client_core
