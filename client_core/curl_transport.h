// The libcurl HttpTransport: one curl multi handle driven by one event-loop
// thread, so thousands of concurrent requests cost no thread each. Keep-alive
// connections are reused from the multi's cache, HTTP/2 is used (multiplexed)
// where a TLS server offers it, and each request honours its connect timeout,
// read timeout (no bytes for that long) and deadline. This is the only code in
// the project that includes curl.
//
//   auto transport = MakeCurlTransport({.source_ip = "10.0.0.5"});
//   auto call = transport->Start(std::move(request), [](HttpResult r) { ... });
#ifndef FILESGW_CLIENT_CORE_CURL_TRANSPORT_H_
#define FILESGW_CLIENT_CORE_CURL_TRANSPORT_H_

#include <memory>
#include <string>

#include "client_core/http_transport.h"

namespace filesgw::client_core {

struct CurlTransportOptions {
  // Local address (or interface name) to send from; empty lets the OS choose.
  std::string source_ip;
  // Open connections at most, over all hosts; further requests queue inside
  // curl until one frees up. Also the size of the keep-alive cache.
  int max_total_connections = 64;
  // Per host; 0 means only the total applies.
  int max_host_connections = 0;
  // PEM bundle to verify servers with; empty uses the system store.
  std::string ca_file;
  // Ask for gzip/br/zstd and decode transparently.
  bool accept_compressed = true;
};

// Never returns null. Destroying the transport cancels what is still running
// (each callback runs once, CANCELLED) and joins the loop thread.
std::shared_ptr<HttpTransport> MakeCurlTransport(CurlTransportOptions options = {});

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_CURL_TRANSPORT_H_
