#include "server/container_hint.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/options.h"

namespace filesgw::server {

std::string ContainerMarker(const std::string& root, char* (*getenv)(const char*)) {
  for (const char* file : {"/.dockerenv", "/run/.containerenv"}) {
    if (access((root + file).c_str(), F_OK) == 0) return file;
  }
  const char* k8s = getenv("KUBERNETES_SERVICE_HOST");
  if (k8s != nullptr && *k8s != '\0') return "KUBERNETES_SERVICE_HOST";
  return "";
}

std::string LoopbackInContainerHint(const std::string& listen, const std::string& marker) {
  if (marker.empty() || !IsLocalAddress(listen) || absl::StartsWith(listen, "unix")) return "";
  if (marker == "KUBERNETES_SERVICE_HOST") {
    // A sidecar on loopback is a supported topology: only say who can call.
    return absl::StrCat("only containers of this pod can call ", listen,
                        " (sidecar); other pods and Services need listen: 0.0.0.0:PORT "
                        "with callers: in the --config file");
  }
  return absl::StrCat(listen, " is reachable only from inside this container (", marker,
                      "): a published port (run -p 50051:50051) gets connection refused. "
                      "Listen on 0.0.0.0:50051 with callers: (bearer tokens or mTLS) in a "
                      "--config file; see README, Deployment");
}

}  // namespace filesgw::server
