// The libcurl HttpTransport: one curl multi handle driven by one event-loop
// thread, so thousands of concurrent requests cost no thread each. Keep-alive
// connections are reused from the multi's cache, HTTP/2 is used (multiplexed)
// where a TLS server offers it, and each request honours its connect timeout,
// read timeout (no bytes for that long) and deadline. A request marked
// `fresh_connection` gets a new connection that is closed after its answer,
// never pooled. This is the only code in the project that includes curl.
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
  // curl until one frees up.
  int max_total_connections = 64;
  // Connections kept open between requests (curl's connection cache). Past
  // this, a connection that finishes while the cache is full closes (the
  // oldest idle one goes): a burst of 64 requests must not leave 64 idle
  // sockets holding the server's workers (the emulator serves one connection
  // per thread). Small, because one kept connection serves requests one after
  // another, and HTTP/2 multiplexes many on one.
  int max_idle_connections = 8;
  // Per host; 0 means only the total applies.
  int max_host_connections = 0;
  // PEM bundle to verify servers with, besides the system CA directory
  // (libcurl keeps its CApath, /etc/ssl/certs on Debian); empty: the system store.
  std::string ca_file;
  // Ask for gzip/br/zstd and decode transparently.
  bool accept_compressed = true;
};

// Never returns null. Destroying the transport cancels what is still running
// (each callback runs once, CANCELLED) and joins the loop thread.
std::shared_ptr<HttpTransport> MakeCurlTransport(CurlTransportOptions options = {});

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_CURL_TRANSPORT_H_
