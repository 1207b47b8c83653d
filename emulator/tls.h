// TLS material for the emulator: Files.com is only reachable over HTTPS and
// the official SDKs fetch upload and download URLs with HTTPS clients, so the
// emulator can serve TLS. MakeSelfSignedTls makes a throwaway CA and a server
// certificate it signs for 127.0.0.1, ::1 and localhost, so a test or a demo
// needs no openssl command line: hand the CA to the client, the rest to
// EmulatorOptions.
//
//   absl::StatusOr<TlsPems> tls = MakeSelfSignedTls();
//   options.tls_cert_pem = tls->cert_pem;
//   options.tls_key_pem = tls->key_pem;
//   WriteFile(ca_out, tls->ca_pem);  // the client's --ca-file
#ifndef FILESGW_EMULATOR_TLS_H_
#define FILESGW_EMULATOR_TLS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace filesgw::emulator {

struct TlsPems {
  std::string ca_pem;    // the CA certificate clients trust
  std::string cert_pem;  // the server certificate (signed by the CA)
  std::string key_pem;   // the server's private key (PKCS#8)
};

// ECDSA P-256 keys; both certificates valid from an hour ago for `validity`.
absl::StatusOr<TlsPems> MakeSelfSignedTls(absl::Duration validity = absl::Hours(24 * 30));

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_TLS_H_
