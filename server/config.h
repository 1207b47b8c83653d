// The gateway's YAML configuration file (--config): profiles, callers, TLS and
// every flag as a top-level key (dashes as underscores). ParseOptions layers
// flags and environment over it; this file only reads and checks the YAML.
//
//   listen: "0.0.0.0:50051"
//   tls: {cert_file: /tls/tls.crt, key_file: /tls/tls.key, client_ca_file: /tls/ca.crt}
//   profiles:
//     default: {base_url: https://app.files.com, api_key_file: /secrets/api-key}
//   callers:
//     - {name: billing, token_sha256: "<hex>", profile: default, allow: ["*"],
//        limits: {max_calls: 32, max_streams: 4, upload_memory: 16777216}}
//
// Secrets never appear in it: keys and passwords come from files it names
// (api_key_file, password_file) or environment variables (api_key_env,
// password_env); callers are known by the SHA-256 of their bearer token.
#ifndef FILESGW_SERVER_CONFIG_H_
#define FILESGW_SERVER_CONFIG_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/options.h"

namespace filesgw::server {

struct ConfigScalar {
  std::string value;
  int line = 0;
};

struct ConfigFile {
  std::string path;
  std::map<std::string, ConfigScalar> scalars;  // top-level flag keys, e.g. "max_retries"
  std::vector<ProfileOptions> profiles;         // secret values already read
  std::vector<CallerOptions> callers;
  bool has_tls = false;
  TlsOptions tls;
  int tls_line = 0;
  bool has_redis = false;  // a top-level redis: map
  RedisOptions redis;
  int redis_line = 0;
};

// Reads and checks `path`. `scalar_keys` are the top-level keys that stand
// for flags. INVALID_ARGUMENT listing every problem as "PATH:LINE: message",
// one per line (unknown keys name the closest known one).
absl::StatusOr<ConfigFile> LoadConfigFile(const std::string& path, const EnvLookup& env,
                                          const std::set<std::string>& scalar_keys);

// The closest of `known` to `word` when it is a likely typo, else "".
std::string ClosestKey(const std::string& word, const std::set<std::string>& known);

// SHA-256 of `token` as 64 lowercase hex digits.
std::string Sha256Hex(const std::string& token);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_CONFIG_H_
