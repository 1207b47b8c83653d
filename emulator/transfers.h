// The moving parts of Files.com uploads and downloads, without HTTP:
//  - UrlSigner: presigned URLs in Files.com's shape
//    (`?X-Files-Date=YYYYMMDDTHHMMSSZ&X-Files-Expires=<s>&X-Files-Signature=<opaque>`),
//    checked for tampering and expiry against the injected clock.
//  - UploadSessions: begin_upload sessions (ref "put-<n>") and their parts,
//    stored once as shared blobs; a session idle for `idle_ttl` (no begin or
//    whole part stored) is dropped with its parts, since an abandoned upload
//    never sends `end`. A background thread hashes parts in part
//    order as they arrive, so `end` on a large file only hashes what is left.
//  - DownloadTickets: download tokens pinning a file's content as it was when
//    the URL was issued.
//
//   UploadSessions uploads(clock, /*idle_ttl=*/absl::Minutes(10));
//   UploadSession s = uploads.Begin("a/b.bin", /*mkdir_parents=*/true);
//   uploads.PutPart(s.ref, 1, part_blob, Md5Hex(part_bytes));
//   absl::StatusOr<Assembled> file = uploads.Assemble(s.ref, {{1, etag}});
#ifndef FILESGW_EMULATOR_TRANSFERS_H_
#define FILESGW_EMULATOR_TRANSFERS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "emulator/blob.h"
#include "emulator/digest.h"

namespace filesgw::emulator {

class UrlSigner {
 public:
  enum class Check { kOk, kMissing, kBadSignature, kExpired };

  explicit UrlSigner(std::function<absl::Time()> clock);

  // The query string (without '?') that lets `method` ("PUT", "GET") on
  // `resource` (an absolute URL path) for `ttl` from now (whole seconds, as
  // X-Files-Expires says): an HMAC-SHA256, keyed with a secret of this
  // signer, over the method, path, date, expiry and issue time, as S3's
  // query-string authentication signs its requests.
  std::string Sign(absl::string_view method, absl::string_view resource, absl::Duration ttl) const;
  // `date`, `expires`, `signature`: the three query parameters as received.
  // HEAD is checked as GET (S3 lets a presigned GET answer HEAD too).
  Check Verify(absl::string_view method, absl::string_view resource, absl::string_view date,
               absl::string_view expires, absl::string_view signature) const;
  // Every URL issued so far counts as expired from now on.
  void ExpireAll();

 private:
  std::string Mac(absl::string_view method, absl::string_view resource, absl::string_view date,
                  absl::string_view expires, absl::string_view issued,
                  absl::string_view generation) const;

  std::function<absl::Time()> clock_;
  std::string secret_;
  mutable absl::Mutex mu_;
  // URLs of an older generation are expired (ExpireAll starts a new one).
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
};

struct UploadSession {
  std::string ref;
  std::string path;
  bool mkdir_parents = false;
  // The X-Emulator-Part-Token value part PUTs must carry when the emulator
  // asks for it (FilesApiOptions::part_token_header).
  std::string part_token;
};

struct UploadedPart {
  BlobPtr blob;
  std::string md5;  // the ETag, unquoted
};

struct Assembled {
  BlobPtr content;
  FileDigests digests;
};

class UploadSessions {
 public:
  struct Stats {
    int64_t sessions = 0;
    int64_t parts = 0;
    int64_t bytes = 0;
  };

  // `clock` null: absl::Now.
  explicit UploadSessions(std::function<absl::Time()> clock = nullptr,
                          absl::Duration idle_ttl = absl::InfiniteDuration());
  ~UploadSessions();  // stops the hashing thread
  UploadSessions(const UploadSessions&) = delete;
  UploadSessions& operator=(const UploadSessions&) = delete;

  UploadSession Begin(std::string path, bool mkdir_parents);
  std::optional<UploadSession> Find(const std::string& ref) const;
  // Stores or replaces part `part`; false when the session is gone.
  bool PutPart(const std::string& ref, int64_t part, BlobPtr blob, std::string md5);
  // The parts uploaded so far (nullopt: no such session).
  std::optional<std::map<int64_t, UploadedPart>> Parts(const std::string& ref) const;
  // The file made of `parts` (part number -> expected md5, numbers 1..N),
  // with its checksums. The session stays until Finish().
  absl::StatusOr<Assembled> Assemble(const std::string& ref,
                                     const std::vector<std::pair<int64_t, std::string>>& parts);
  void Finish(const std::string& ref);
  size_t size() const;
  // What the open sessions hold, after dropping the idle ones.
  Stats GetStats();
  // Drops the sessions idle for longer than `idle_ttl`; how many went.
  int DropIdle();
  // DropIdle at most once a second of the clock (it walks every session):
  // cheap enough to call on every request.
  void SweepIfDue();

 private:
  struct Session;
  void HashLoop();
  void Advance(Session* s);
  // Stops a removed session's hashing and waits for it, so its blobs go.
  static void Release(const std::shared_ptr<Session>& s);

  const std::function<absl::Time()> clock_;
  const absl::Duration idle_ttl_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  int64_t next_ref_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  absl::Mutex queue_mu_;
  std::deque<std::weak_ptr<Session>> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread hasher_;
};

struct DownloadTicket {
  BlobPtr content;
  std::string name;
  std::string mime_type;
  std::string md5;
  absl::Time mtime;
  absl::Time expires;
};

class DownloadTickets {
 public:
  explicit DownloadTickets(std::function<absl::Time()> clock);
  // A new token for `ticket`; expired tickets are dropped now and then.
  std::string Issue(DownloadTicket ticket);
  // Drops expired tickets (and the content they pin) if it has not been done
  // for a second.
  void SweepIfDue();
  std::optional<DownloadTicket> Find(const std::string& token) const;
  size_t size() const;

 private:
  void Sweep(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::function<absl::Time()> clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, DownloadTicket> tickets_ ABSL_GUARDED_BY(mu_);
  uint64_t issued_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// 128 random bits as hex.
std::string RandomHex();

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_TRANSFERS_H_
