// Start-up hint for a common container mistake: a gateway listening on
// loopback inside a container answers its own probe and logs that it is
// healthy, while a published port (`docker run -p 50051:50051`) reaches
// nothing. The default `listen` stays loopback (a non-loopback listener needs
// `callers:`, or anyone who reaches the port would use the gateway's Files.com
// credentials); this says so at start-up instead.
//
//   const std::string marker = ContainerMarker("", &std::getenv);
//   if (auto hint = LoopbackInContainerHint(options.listen, marker); !hint.empty())
//     log.Warn("listening on loopback inside a container", {{"hint", hint}});
#ifndef FILESGW_SERVER_CONTAINER_HINT_H_
#define FILESGW_SERVER_CONTAINER_HINT_H_

#include <string>

namespace filesgw::server {

// What says this process runs in a container: "/.dockerenv" (Docker),
// "/run/.containerenv" (Podman, Buildah), "KUBERNETES_SERVICE_HOST" (any
// Kubernetes pod), or "" when none does. `root` is prepended to the two file
// paths ("" in production; a test directory in tests).
std::string ContainerMarker(const std::string& root, char* (*getenv)(const char*));

// What to tell the operator when `listen` is a loopback host:port inside a
// container (`marker` from ContainerMarker); empty when nothing is wrong
// (not in a container, a unix socket, or any non-loopback address).
std::string LoopbackInContainerHint(const std::string& listen, const std::string& marker);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_CONTAINER_HINT_H_
