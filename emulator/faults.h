// Fault injection and request accounting for tests and demos: rules that
// answer a chosen status (429 with Retry-After, 5xx, ...), delay, stall the
// body, cut it short or drop the connection, or make a presigned URL look
// expired, matched by HTTP method and a glob on the path, limited by count and
// fraction. Pure logic: the HTTP glue applies the faults. Rules apply to the
// API and to the emulator's own part-upload and download URLs
// ("/__emulator/upload/*", "/__emulator/download/*"), whose error answers are
// S3-style XML.
//
//   FaultSet faults;
//   auto rule = ParseFaultRule(R"({"method":"GET","path":"/users/*","status":503,"times":2})");
//   faults.Add(*rule);
//   faults.Add(*ParseFaultRule(R"({"method":"GET","path":"/__emulator/download/*",
//                                  "cut_after_bytes":1000,"times":1})"));
//   if (auto hit = faults.Take("GET", "/api/rest/v1/users/1")) { ... hit->status == 503 ... }
#ifndef FILESGW_EMULATOR_FAULTS_H_
#define FILESGW_EMULATOR_FAULTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace filesgw::emulator {

inline constexpr absl::string_view kApiPrefix = "/api/rest/v1";

struct FaultRule {
  int64_t id = 0;
  std::string method = "*";  // "GET", ... or "*"
  // Glob ("*" any run of characters, "/" included; "?" one character) on the
  // path after /api/rest/v1, or on the absolute path for non-API URLs.
  std::string path = "*";
  int status = 0;             // 0: no error status (delay / stall / drop only)
  std::string retry_after;    // Retry-After header value, sent when not empty
  std::string body;           // the body to send; empty: a Files.com error body
  int64_t times = 0;          // how many requests it applies to; 0 = unlimited
  double fraction = 1.0;      // chance that a matching request is hit
  int64_t delay_ms = 0;       // wait before answering
  bool drop = false;          // close the connection without answering
  // Act on the request (create, commit, store the part), then reset the
  // connection without answering: the caller cannot tell whether it happened.
  bool drop_after_action = false;
  int64_t stall_ms = 0;       // send headers and half the body, then wait (part PUTs:
                              // read half the body, then wait)
  // >= 0: send the headers and that many body bytes, then close the
  // connection (part PUTs: read that many bytes, then reset the connection
  // without answering). -1: off.
  int64_t cut_after_bytes = -1;
  // Presigned URLs only: answer 403 with S3's "Request has expired" body, as
  // for a URL past its X-Files-Expires.
  bool expire = false;
  int64_t hits = 0;           // requests it has applied to so far
};

// One rule from a JSON object; bad-request style errors name the bad key.
absl::StatusOr<FaultRule> ParseFaultRule(absl::string_view json);
// A JSON array of rules, or a single rule object.
absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(absl::string_view json);

bool GlobMatch(absl::string_view pattern, absl::string_view text);

class FaultSet {
 public:
  explicit FaultSet(uint64_t seed = 0x5eed) : rng_(seed) {}

  // Returns the rule's id.
  int64_t Add(FaultRule rule);
  void Clear();
  // The first rule that matches and fires for this request (its hit counted).
  std::optional<FaultRule> Take(absl::string_view method, absl::string_view absolute_path);
  // The rules as a JSON array.
  std::string ToJson() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<FaultRule> rules_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

// Counts of requests per "METHOD /absolute/path".
class RequestCounter {
 public:
  void Count(absl::string_view method, absl::string_view absolute_path);
  int64_t Get(const std::string& key) const;
  void Reset();
  // {"requests": {"GET /api/rest/v1/users/1": 3, ...}, "total": 3}
  std::string ToJson() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mu_);
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_FAULTS_H_
