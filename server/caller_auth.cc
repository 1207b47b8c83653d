#include "server/caller_auth.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "server/config.h"
#include "server/status_builder.h"

namespace filesgw::server {
namespace {

grpc::Status Refuse(grpc::StatusCode code, std::string_view reason, std::string message) {
  return FromLocalStatus(absl::Status(static_cast<absl::StatusCode>(code), message), reason);
}

// The single value of metadata `key`, or nullopt; `several` when repeated.
std::optional<std::string> OneValue(const grpc::ServerContextBase& context, const char* key,
                                    bool* several) {
  auto range = context.client_metadata().equal_range(key);
  std::optional<std::string> value;
  for (auto it = range.first; it != range.second; ++it) {
    if (value.has_value()) *several = true;
    value = std::string(it->second.data(), it->second.size());
  }
  return value;
}

}  // namespace

CallerAuth::CallerAuth(const std::vector<CallerOptions>& callers,
                       std::map<std::string, const ProfileRuntime*> profiles) {
  auto def = profiles.find("default");
  default_profile_ = def == profiles.end() ? nullptr : def->second;
  callers_.reserve(callers.size());  // stable addresses for the maps below
  for (const auto& c : callers) {
    Caller caller;
    caller.name = c.name;
    caller.token_sha256 = absl::AsciiStrToLower(c.token_sha256);
    caller.certificate = c.certificate;
    auto p = profiles.find(c.profile);
    caller.profile = p == profiles.end() ? nullptr : p->second;
    caller.allow = c.allow;
    callers_.push_back(std::move(caller));
  }
  for (const auto& caller : callers_) {
    if (!caller.token_sha256.empty()) by_token_[caller.token_sha256] = &caller;
    if (!caller.certificate.empty()) by_certificate_[caller.certificate] = &caller;
  }
}

bool CallerAuth::Allowed(const Caller& caller, std::string_view full_method) {
  const absl::string_view method =
      absl::StripPrefix(absl::string_view(full_method.data(), full_method.size()), "/");
  for (const auto& pattern : caller.allow) {
    if (pattern == "*" || pattern == method) return true;
    if (absl::EndsWith(pattern, "/*") &&
        absl::StartsWith(method, absl::string_view(pattern).substr(0, pattern.size() - 1))) {
      return true;
    }
  }
  return false;
}

grpc::Status CallerAuth::Authenticate(const grpc::ServerContextBase& context,
                                      std::string_view full_method, CallerIdentity* out) const {
  const Caller* caller = nullptr;
  if (!callers_.empty()) {
    bool several = false;
    std::optional<std::string> authorization = OneValue(context, "authorization", &several);
    if (several) {
      return Refuse(grpc::StatusCode::UNAUTHENTICATED, "CALLER_UNAUTHENTICATED",
                    "more than one authorization header");
    }
    if (authorization.has_value()) {
      const absl::string_view value = *authorization;
      if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
        return Refuse(grpc::StatusCode::UNAUTHENTICATED, "CALLER_UNAUTHENTICATED",
                      "the authorization header is not \"Bearer <token>\"");
      }
      const std::string token(absl::StripAsciiWhitespace(value.substr(7)));
      auto it = token.empty() ? by_token_.end() : by_token_.find(Sha256Hex(token));
      if (it == by_token_.end()) {
        return Refuse(grpc::StatusCode::UNAUTHENTICATED, "CALLER_UNAUTHENTICATED",
                      "the bearer token is not one this gateway knows");
      }
      caller = it->second;
    } else {
      // mTLS: the handshake verified the chain against the client CA; the
      // certificate's CN or a DNS SAN says which caller it is. Not any SAN
      // ("x509_subject_alternative_name" also holds URI, email and IP SANs,
      // which a CA may issue with other rules): "peer_dns" holds DNS SANs only.
      std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
      std::vector<std::string> names;
      if (auth != nullptr) {
        for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME}) {
          for (const auto& v : auth->FindPropertyValues(property)) {
            names.emplace_back(v.data(), v.size());
          }
        }
      }
      for (const auto& name : names) {
        auto it = by_certificate_.find(name);
        if (it != by_certificate_.end()) {
          caller = it->second;
          break;
        }
      }
      if (caller == nullptr) {
        return Refuse(grpc::StatusCode::UNAUTHENTICATED, "CALLER_UNAUTHENTICATED",
                      names.empty()
                          ? "this gateway needs caller credentials: authorization: Bearer "
                            "<token>, or a client certificate"
                          : absl::StrCat("no caller is configured for the client certificate "
                                         "named ", names.front()));
      }
    }
    if (!Allowed(*caller, full_method)) {
      return Refuse(grpc::StatusCode::PERMISSION_DENIED, "CALLER_NOT_ALLOWED",
                    absl::StrCat("caller '", caller->name, "' may not call ",
                                 absl::StripPrefix(absl::string_view(full_method.data(),
                                                                     full_method.size()),
                                                   "/")));
    }
  }
  out->name = caller != nullptr ? caller->name : "";
  out->profile = caller != nullptr ? caller->profile : default_profile_;
  out->fairness_key = caller != nullptr ? absl::StrCat("caller:", caller->name) : context.peer();
  out->credential.reset();

  bool several = false;
  std::optional<std::string> key = OneValue(context, kCallerApiKeyHeader, &several);
  std::optional<std::string> session = OneValue(context, kCallerSessionHeader, &several);
  if (key.has_value() || session.has_value()) {
    if (out->profile == nullptr || !out->profile->allow_caller_credentials) {
      return Refuse(grpc::StatusCode::PERMISSION_DENIED, "CALLER_CREDENTIAL_NOT_ALLOWED",
                    absl::StrCat("profile '", out->profile != nullptr ? out->profile->name : "",
                                 "' does not accept a caller's own Files.com credential (",
                                 kCallerApiKeyHeader, " / ", kCallerSessionHeader,
                                 "); set allow_caller_credentials on it"));
    }
    if (several || (key.has_value() && session.has_value()) ||
        (key.has_value() ? key->empty() : session->empty())) {
      return Refuse(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                    absl::StrCat("send one non-empty ", kCallerApiKeyHeader, " or ",
                                 kCallerSessionHeader, ", not both"));
    }
    client_core::ApiRequest::Credential credential;
    credential.kind = key.has_value() ? client_core::ApiRequest::Credential::Kind::kApiKey
                                      : client_core::ApiRequest::Credential::Kind::kSessionId;
    credential.value = key.has_value() ? *key : *session;
    out->credential = std::move(credential);
  }
  return grpc::Status::OK;
}

}  // namespace filesgw::server
