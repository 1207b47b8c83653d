#include "server/config.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/redis_client.h"
#include "yaml-cpp/yaml.h"

namespace filesgw::server {
namespace {

const std::set<std::string>& ProfileKeys() {
  static const auto* keys = new std::set<std::string>{
      "base_url",      "api_key_file", "api_key_env", "username",
      "password_file", "password_env", "max_concurrent_requests", "requests_per_second",
      "allow_caller_credentials", "redis"};
  return *keys;
}

const std::set<std::string>& CallerKeys() {
  static const auto* keys =
      new std::set<std::string>{"name", "token_sha256", "certificate", "profile", "allow",
                                "limits"};
  return *keys;
}

const std::set<std::string>& LimitKeys() {
  static const auto* keys = new std::set<std::string>{"max_calls", "max_streams", "upload_memory",
                                                      "max_upstream_requests"};
  return *keys;
}

const std::set<std::string>& TlsKeys() {
  static const auto* keys =
      new std::set<std::string>{"cert_file", "key_file", "client_ca_file", "reload_interval"};
  return *keys;
}

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

const std::set<std::string>& RedisKeys() {
  static const auto* keys =
      new std::set<std::string>{"url", "password_file", "expected_replicas", "lease_ttl"};
  return *keys;
}

// Collects problems as "PATH:LINE: message".
class Problems {
 public:
  explicit Problems(std::string path) : path_(std::move(path)) {}
  void Add(int line, std::string message) {
    list_.push_back(line > 0 ? absl::StrCat(path_, ":", line, ": ", message)
                             : absl::StrCat(path_, ": ", message));
  }
  void Add(const YAML::Node& node, std::string message) { Add(LineOf(node), std::move(message)); }
  bool empty() const { return list_.empty(); }
  absl::Status ToStatus() const { return absl::InvalidArgumentError(absl::StrJoin(list_, "\n")); }

 private:
  std::string path_;
  std::vector<std::string> list_;
};

void UnknownKey(Problems& problems, const YAML::Node& key, const std::string& where,
                const std::set<std::string>& known) {
  const std::string name = key.Scalar();
  std::string message = absl::StrCat("unknown key '", name, "'", where);
  const std::string near = ClosestKey(name, known);
  if (!near.empty()) absl::StrAppend(&message, " (did you mean '", near, "'?)");
  problems.Add(key, std::move(message));
}

// A scalar's text, or a problem when the node is a list or map.
bool ScalarText(Problems& problems, const YAML::Node& node, const std::string& key,
                std::string* out) {
  if (node.IsNull()) {
    *out = "";
    return true;
  }
  if (!node.IsScalar()) {
    problems.Add(node, absl::StrCat(key, ": expected a single value, not a ",
                                    node.IsSequence() ? "list" : "map"));
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool ParseBool(const std::string& text, bool* out) {
  const std::string v = absl::AsciiStrToLower(text);
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    *out = true;
    return true;
  }
  if (v == "false" || v == "no" || v == "off" || v == "0") {
    *out = false;
    return true;
  }
  return false;
}

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "*", "package.Service/*" or "package.Service/Method".
bool IsAllowPattern(const std::string& pattern) {
  if (pattern == "*") return true;
  const size_t slash = pattern.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == pattern.size()) return false;
  auto word = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < slash; ++i) {
    if (!word(pattern[i]) && pattern[i] != '.') return false;
  }
  const std::string method = pattern.substr(slash + 1);
  return method == "*" || std::all_of(method.begin(), method.end(), word);
}

// A redis: map, top level (`top`: url, password_file, expected_replicas,
// lease_ttl) or in a profile (url, password_file).
void ParseRedis(Problems& problems, const YAML::Node& node, const std::string& where, bool top,
                RedisOptions* out) {
  if (!node.IsMap()) {
    problems.Add(node, absl::StrCat(where, ": expected a map (url, password_file",
                                    top ? ", expected_replicas, lease_ttl)" : ")"));
    return;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    if (k == "password") {
      problems.Add(kv.first, absl::StrCat(where, ": password may not be written in the config "
                                          "file; use password_file (a mounted Secret) or "
                                          "FILESGW_REDIS_PASSWORD"));
      continue;
    }
    if (RedisKeys().count(k) == 0 || (!top && (k == "expected_replicas" || k == "lease_ttl"))) {
      std::set<std::string> known = RedisKeys();
      if (!top) known = {"url", "password_file"};
      UnknownKey(problems, kv.first, absl::StrCat(" in ", where), known);
      continue;
    }
    std::string text;
    if (!ScalarText(problems, kv.second, k, &text)) continue;
    const std::string at = absl::StrCat(where, ": ", k);
    if (k == "url") {
      auto e = ParseRedisUrl(text);
      if (!e.ok()) problems.Add(kv.second, absl::StrCat(where, ": ", e.status().message()));
      out->url = text;
    } else if (k == "password_file") {
      absl::Status read = ReadSecretFile(text, &out->password);
      if (!read.ok()) problems.Add(kv.second, absl::StrCat(at, ": ", read.message()));
      out->password_file = text;
    } else if (k == "expected_replicas") {
      int64_t n = 0;
      if (!absl::SimpleAtoi(text, &n) || n < 1 || n > 10000) {
        problems.Add(kv.second, absl::StrCat(at, ": expected a number in [1, 10000], got '", text, "'"));
      }
      out->expected_replicas = static_cast<int>(n);
    } else if (k == "lease_ttl") {
      if (!ParseDurationFlag(text, &out->lease_ttl)) {
        problems.Add(kv.second, absl::StrCat(at, ": expected a duration such as 10s, got '", text, "'"));
      }
    }
  }
  if (out->url.empty() && !out->password_file.empty()) {
    problems.Add(node, absl::StrCat(where, ": password_file without url"));
  }
}

void ParseProfile(Problems& problems, const std::string& name, const YAML::Node& key_node,
                  const YAML::Node& body, const EnvLookup& env, ConfigFile* out) {
  ProfileOptions p;
  p.name = name;
  p.line = LineOf(key_node);
  if (!body.IsMap()) {
    problems.Add(body.IsNull() ? key_node : body,
                 absl::StrCat("profile '", name, "': expected a map of settings"));
    return;
  }
  std::string key_env, password_env;
  int key_lines = 0;
  for (const auto& kv : body) {
    const std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    std::string text;
    if (k == "api_key" || k == "password") {
      problems.Add(kv.first, absl::StrCat("profile '", name, "': ", k,
                                          " may not be written in the config file; use ", k,
                                          "_file (a mounted Secret) or ", k, "_env"));
      continue;
    }
    if (ProfileKeys().count(k) == 0) {
      UnknownKey(problems, kv.first, absl::StrCat(" in profile '", name, "'"), ProfileKeys());
      continue;
    }
    if (k == "redis") {
      RedisOptions r;
      ParseRedis(problems, v, absl::StrCat("profile '", name, "': redis"), false, &r);
      p.redis_url = r.url;
      p.redis_password_file = r.password_file;
      p.redis_password = r.password;
      continue;
    }
    if (!ScalarText(problems, v, k, &text)) continue;
    const std::string at = absl::StrCat("profile '", name, "': ", k);
    if (k == "base_url") {
      if (!absl::StartsWith(text, "http://") && !absl::StartsWith(text, "https://")) {
        problems.Add(v, absl::StrCat(at, ": expected an http:// or https:// URL, got '", text, "'"));
      }
      p.base_url = std::string(absl::StripSuffix(text, "/"));
    } else if (k == "api_key_file" || k == "password_file") {
      std::string* value = k == "api_key_file" ? &p.api_key : &p.password;
      absl::Status read = ReadSecretFile(text, value);
      if (!read.ok()) problems.Add(v, absl::StrCat(at, ": ", read.message()));
      (k == "api_key_file" ? p.api_key_file : p.password_file) = text;
      if (k == "api_key_file") ++key_lines;
    } else if (k == "api_key_env" || k == "password_env") {
      const char* value = env ? env(text.c_str()) : nullptr;
      if (value == nullptr || *value == '\0') {
        problems.Add(v, absl::StrCat(at, ": environment variable ", text, " is not set"));
      } else {
        (k == "api_key_env" ? p.api_key : p.password) = value;
      }
      (k == "api_key_env" ? key_env : password_env) = text;
      if (k == "api_key_env") ++key_lines;
    } else if (k == "username") {
      p.username = text;
    } else if (k == "max_concurrent_requests") {
      int64_t n = 0;
      if (!absl::SimpleAtoi(text, &n) || n < 0 || n > 100000) {
        problems.Add(v, absl::StrCat(at, ": expected a number in [0, 100000], got '", text, "'"));
      }
      p.max_concurrent_requests = static_cast<int>(n);
    } else if (k == "requests_per_second") {
      if (!absl::SimpleAtod(text, &p.requests_per_second) || p.requests_per_second < 0) {
        problems.Add(v, absl::StrCat(at, ": expected a non-negative number, got '", text, "'"));
      }
    } else if (k == "allow_caller_credentials") {
      if (!ParseBool(text, &p.allow_caller_credentials)) {
        problems.Add(v, absl::StrCat(at, ": expected true or false, got '", text, "'"));
      }
    }
  }
  if (key_lines > 1) {
    problems.Add(key_node, absl::StrCat("profile '", name,
                                        "': give one of api_key_file and api_key_env, not both"));
  }
  if (!p.username.empty() && p.password.empty() && p.password_file.empty() &&
      password_env.empty()) {
    problems.Add(key_node, absl::StrCat("profile '", name,
                                        "': username needs password_file or password_env"));
  }
  if (p.username.empty() && (!p.password_file.empty() || !password_env.empty())) {
    problems.Add(key_node, absl::StrCat("profile '", name, "': a password needs a username"));
  }
  if (p.has_credential() && p.base_url.empty()) p.base_url = "https://app.files.com";
  if (!p.has_credential() && key_lines == 0 && !p.base_url.empty()) {
    problems.Add(key_node, absl::StrCat("profile '", name, "': base_url ", p.base_url,
                                        " needs a credential (api_key_file, api_key_env, or "
                                        "username with password_file/password_env)"));
  }
  out->profiles.push_back(std::move(p));
}

// A caller's `limits:` map; what it leaves out stays unset (-1: the
// gateway-wide default). 0 means no cap.
void ParseLimits(Problems& problems, const YAML::Node& node, CallerLimits* out) {
  if (!node.IsMap()) {
    problems.Add(node, "limits: expected a map (max_calls, max_streams, upload_memory, "
                       "max_upstream_requests)");
    return;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    if (LimitKeys().count(k) == 0) {
      UnknownKey(problems, kv.first, " in limits", LimitKeys());
      continue;
    }
    std::string text;
    if (!ScalarText(problems, kv.second, k, &text)) continue;
    const int64_t max = k == "upload_memory" ? int64_t{1} << 40 : 1000000;
    int64_t n = 0;
    if (!absl::SimpleAtoi(text, &n) || n < 0 || n > max) {
      problems.Add(kv.second, absl::StrCat("limits: ", k, ": expected a number in [0, ", max,
                                           "] (0: no cap), got '", text, "'"));
      continue;
    }
    if (k == "max_calls") out->max_calls = static_cast<int>(n);
    if (k == "max_streams") out->max_streams = static_cast<int>(n);
    if (k == "upload_memory") out->upload_memory = n;
    if (k == "max_upstream_requests") out->max_upstream_requests = static_cast<int>(n);
  }
}

void ParseCaller(Problems& problems, const YAML::Node& node, ConfigFile* out) {
  if (!node.IsMap()) {
    problems.Add(node, "callers: each entry is a map (name, token_sha256 or certificate, "
                       "profile, allow, limits)");
    return;
  }
  CallerOptions c;
  c.line = LineOf(node);
  bool has_allow = false;
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (k == "token") {
      problems.Add(kv.first,
                   "callers: a bearer token is not stored in the config file, only its hash: "
                   "token_sha256 (print it with: files-gateway --hash-token < token-file)");
      continue;
    }
    if (CallerKeys().count(k) == 0) {
      UnknownKey(problems, kv.first, " in a caller", CallerKeys());
      continue;
    }
    if (k == "limits") {
      ParseLimits(problems, v, &c.limits);
      continue;
    }
    if (k == "allow") {
      has_allow = true;
      std::vector<YAML::Node> items;
      if (v.IsSequence()) {
        for (const auto& item : v) items.push_back(item);
      } else {
        items.push_back(v);
      }
      for (const auto& item : items) {
        std::string pattern;
        if (!ScalarText(problems, item, "allow", &pattern)) continue;
        pattern = std::string(absl::StripPrefix(pattern, "/"));
        const bool ok = IsAllowPattern(pattern);
        if (!ok) {
          problems.Add(item, absl::StrCat("allow: '", pattern,
                                          "' is not \"*\", \"package.Service/*\" or "
                                          "\"package.Service/Method\""));
          continue;
        }
        c.allow.push_back(pattern);
      }
      continue;
    }
    std::string text;
    if (!ScalarText(problems, v, k, &text)) continue;
    if (k == "name") c.name = text;
    if (k == "profile") c.profile = text;
    if (k == "certificate") c.certificate = text;
    if (k == "token_sha256") {
      c.token_sha256 = absl::AsciiStrToLower(text);
      if (c.token_sha256.size() != 64 || !IsLowerHex(c.token_sha256)) {
        problems.Add(v, "token_sha256: expected 64 hex digits (the SHA-256 of the token; "
                        "files-gateway --hash-token < token-file prints it)");
      }
    }
  }
  if (c.name.empty()) problems.Add(node, "callers: every caller needs a name");
  const std::string who = c.name.empty() ? "a caller" : absl::StrCat("caller '", c.name, "'");
  if (c.token_sha256.empty() == c.certificate.empty()) {
    problems.Add(node, absl::StrCat(who, ": give exactly one of token_sha256 and certificate"));
  }
  if (!has_allow || c.allow.empty()) {
    problems.Add(node, absl::StrCat(who, ": needs an allow list (\"*\" allows every method)"));
  }
  out->callers.push_back(std::move(c));
}

void ParseTls(Problems& problems, const YAML::Node& node, ConfigFile* out) {
  if (!node.IsMap()) {
    problems.Add(node, "tls: expected a map (cert_file, key_file, client_ca_file)");
    return;
  }
  out->has_tls = true;
  out->tls_line = LineOf(node);
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    if (TlsKeys().count(k) == 0) {
      UnknownKey(problems, kv.first, " in tls", TlsKeys());
      continue;
    }
    std::string text;
    if (!ScalarText(problems, kv.second, k, &text)) continue;
    if (k == "reload_interval") {
      if (!ParseDurationFlag(text, &out->tls.reload_interval) ||
          out->tls.reload_interval < absl::Seconds(1)) {
        problems.Add(kv.second, absl::StrCat("tls: reload_interval: expected a duration of at "
                                             "least 1s, got '", text, "'"));
      }
      continue;
    }
    std::ifstream probe(text);
    if (!probe) problems.Add(kv.second, absl::StrCat("tls: ", k, ": cannot read ", text));
    if (k == "cert_file") out->tls.cert_file = text;
    if (k == "key_file") out->tls.key_file = text;
    if (k == "client_ca_file") out->tls.client_ca_file = text;
  }
}

}  // namespace

std::string ClosestKey(const std::string& word, const std::set<std::string>& known) {
  std::string best;
  size_t best_distance = 3;  // at most two edits away
  for (const auto& candidate : known) {
    // Levenshtein distance.
    std::vector<size_t> row(candidate.size() + 1);
    for (size_t j = 0; j <= candidate.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                           diagonal + (word[i - 1] == candidate[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    if (row[candidate.size()] < best_distance) {
      best_distance = row[candidate.size()];
      best = candidate;
    }
  }
  return best;
}

std::string Sha256Hex(const std::string& token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

absl::StatusOr<ConfigFile> LoadConfigFile(const std::string& path, const EnvLookup& env,
                                          const std::set<std::string>& scalar_keys) {
  ConfigFile out;
  out.path = path;
  Problems problems(path);
  YAML::Node root;
  {
    std::ifstream in(path);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read config file ", path));
    try {
      root = YAML::Load(in);
    } catch (const YAML::Exception& e) {
      problems.Add(e.mark.line + 1, absl::StrCat("not valid YAML: ", e.msg));
      return problems.ToStatus();
    }
  }
  if (root.IsNull()) return out;  // an empty file: all defaults
  if (!root.IsMap()) {
    problems.Add(root, "expected a map of settings at the top level");
    return problems.ToStatus();
  }
  std::set<std::string> known = scalar_keys;
  known.insert({"profiles", "callers", "tls", "redis"});
  std::set<std::string> seen;
  for (const auto& kv : root) {
    const std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (!seen.insert(k).second) {
      problems.Add(kv.first, absl::StrCat("'", k, "' is given twice"));
      continue;
    }
    if (k == "profiles") {
      if (!v.IsMap()) {
        problems.Add(v.IsNull() ? kv.first : v, "profiles: expected a map of profile name to settings");
        continue;
      }
      for (const auto& profile : v) {
        ParseProfile(problems, profile.first.Scalar(), profile.first, profile.second, env, &out);
      }
    } else if (k == "callers") {
      if (v.IsNull()) continue;
      if (!v.IsSequence()) {
        problems.Add(v, "callers: expected a list");
        continue;
      }
      for (const auto& caller : v) ParseCaller(problems, caller, &out);
    } else if (k == "tls") {
      ParseTls(problems, v, &out);
    } else if (k == "redis") {
      out.has_redis = true;
      out.redis_line = LineOf(v);
      ParseRedis(problems, v, "redis", true, &out.redis);
    } else if (k == "base_url" || k == "api_key_file" || k == "username" ||
               k == "password_file" || k == "api_key" || k == "password") {
      problems.Add(kv.first, absl::StrCat("'", k, "' belongs to a profile: write it under "
                                          "profiles: default:"));
    } else if (scalar_keys.count(k) == 0) {
      UnknownKey(problems, kv.first, "", known);
    } else {
      std::string text;
      if (ScalarText(problems, v, k, &text)) out.scalars[k] = {text, LineOf(v)};
    }
  }
  std::set<std::string> names;
  for (const auto& p : out.profiles) names.insert(p.name);
  std::set<std::string> callers;
  for (const auto& c : out.callers) {
    if (!c.name.empty() && !callers.insert(c.name).second) {
      problems.Add(c.line, absl::StrCat("caller '", c.name, "' is defined twice"));
    }
    if (!names.empty() && names.count(c.profile) == 0) {
      problems.Add(c.line, absl::StrCat("caller '", c.name, "': no profile named '", c.profile,
                                        "' (profiles: ", absl::StrJoin(names, ", "), ")"));
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  return out;
}

}  // namespace filesgw::server
