#include "emulator/transfers.h"

#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <random>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "emulator/reply.h"

namespace filesgw::emulator {
namespace {

constexpr size_t kMacHexChars = 40;
constexpr uint64_t kSweepEvery = 64;

}  // namespace

std::string RandomHex() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return new std::mt19937_64(seed);
  }();
  absl::MutexLock lock(&mu);
  uint64_t a = (*rng)(), b = (*rng)();
  return absl::StrFormat("%016x%016x", a, b);
}

// ---- UrlSigner -------------------------------------------------------------

UrlSigner::UrlSigner(std::function<absl::Time()> clock)
    : clock_(std::move(clock)), secret_(RandomHex()) {}

std::string UrlSigner::Mac(absl::string_view method, absl::string_view resource,
                           absl::string_view date, absl::string_view expires,
                           absl::string_view issued, absl::string_view generation) const {
  std::string to_sign = absl::StrCat(method == "HEAD" ? "GET" : method, "\n", resource, "\n", date,
                                     "\n", expires, "\n", issued, "\n", generation);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), length))
      .substr(0, kMacHexChars);
}

std::string UrlSigner::Sign(absl::string_view method, absl::string_view resource,
                            absl::Duration ttl) const {
  absl::Time now = clock_();
  std::string date = absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone());
  std::string expires = absl::StrCat(std::max<int64_t>(0, absl::ToInt64Seconds(ttl)));
  // The exact issue time rides in the (opaque) signature: expiry counts from
  // it, so a URL never lives longer than X-Files-Date + X-Files-Expires says.
  std::string issued = absl::StrFormat("%x", static_cast<uint64_t>(absl::ToUnixNanos(now)));
  std::string generation;
  {
    absl::MutexLock lock(&mu_);
    generation = absl::StrFormat("%x", generation_);
  }
  return absl::StrCat("X-Files-Date=", date, "&X-Files-Expires=", expires,
                      "&X-Files-Signature=", issued, ".", generation, ".",
                      Mac(method, resource, date, expires, issued, generation));
}

UrlSigner::Check UrlSigner::Verify(absl::string_view method, absl::string_view resource,
                                   absl::string_view date, absl::string_view expires,
                                   absl::string_view signature) const {
  if (date.empty() || expires.empty() || signature.empty()) return Check::kMissing;
  std::vector<absl::string_view> parts = absl::StrSplit(signature, '.');
  uint64_t issued_ns = 0, generation = 0;
  int64_t seconds = 0;
  if (parts.size() != 3 || !absl::SimpleHexAtoi(parts[0], &issued_ns) ||
      !absl::SimpleHexAtoi(parts[1], &generation) || !absl::SimpleAtoi(expires, &seconds) ||
      seconds < 0 || parts[2] != Mac(method, resource, date, expires, parts[0], parts[1])) {
    return Check::kBadSignature;
  }
  absl::Time issued = absl::FromUnixNanos(static_cast<int64_t>(issued_ns));
  if (clock_() >= issued + absl::Seconds(seconds)) return Check::kExpired;
  absl::MutexLock lock(&mu_);
  if (generation < generation_) return Check::kExpired;
  return Check::kOk;
}

void UrlSigner::ExpireAll() {
  absl::MutexLock lock(&mu_);
  ++generation_;
}

// ---- UploadSessions --------------------------------------------------------

struct UploadSessions::Session {
  UploadSession info;
  // When it began or last stored a part (a part that never arrived whole is
  // no sign of life); guarded by UploadSessions::mu_.
  absl::Time last_active;
  absl::Mutex mu;
  std::map<int64_t, UploadedPart> parts ABSL_GUARDED_BY(mu);
  // Digests over parts 1..hashed.size(), in order. Only the hashing thread
  // touches `running` while `hashing`; only Assemble while `closed`.
  Digests running;
  std::vector<BlobPtr> hashed ABSL_GUARDED_BY(mu);
  bool hashing ABSL_GUARDED_BY(mu) = false;
  bool closed ABSL_GUARDED_BY(mu) = false;
  bool broken ABSL_GUARDED_BY(mu) = false;  // `running` is stale: start over
  std::atomic<bool> finished{false};        // ended: stop hashing at once
};

UploadSessions::UploadSessions(std::function<absl::Time()> clock, absl::Duration idle_ttl)
    : clock_(clock ? std::move(clock) : [] { return absl::Now(); }), idle_ttl_(idle_ttl) {
  hasher_ = std::thread([this] { HashLoop(); });
}

UploadSessions::~UploadSessions() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  hasher_.join();
}

UploadSession UploadSessions::Begin(std::string path, bool mkdir_parents) {
  auto s = std::make_shared<Session>();
  s->info.path = std::move(path);
  s->info.mkdir_parents = mkdir_parents;
  s->info.part_token = RandomHex().substr(0, 24);
  SweepIfDue();
  absl::MutexLock lock(&mu_);
  s->last_active = clock_();
  s->info.ref = absl::StrCat("put-", next_ref_++);
  sessions_[s->info.ref] = s;
  return s->info;
}

std::optional<UploadSession> UploadSessions::Find(const std::string& ref) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(ref);
  if (it == sessions_.end()) return std::nullopt;
  return it->second->info;
}

bool UploadSessions::PutPart(const std::string& ref, int64_t part, BlobPtr blob, std::string md5) {
  SweepIfDue();
  std::shared_ptr<Session> s;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(ref);
    if (it == sessions_.end()) return false;
    s = it->second;
    s->last_active = clock_();
  }
  {
    absl::MutexLock lock(&s->mu);
    if (part <= static_cast<int64_t>(s->hashed.size())) s->broken = true;  // a hashed part replaced
    s->parts[part] = UploadedPart{std::move(blob), std::move(md5)};
  }
  absl::MutexLock lock(&queue_mu_);
  queue_.push_back(s);
  return true;
}

std::optional<std::map<int64_t, UploadedPart>> UploadSessions::Parts(const std::string& ref) const {
  std::shared_ptr<Session> s;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(ref);
    if (it == sessions_.end()) return std::nullopt;
    s = it->second;
  }
  absl::MutexLock lock(&s->mu);
  return s->parts;
}

void UploadSessions::HashLoop() {
  while (true) {
    std::weak_ptr<Session> next;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return stopping_ || !queue_.empty();
      };
      queue_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      next = queue_.front();
      queue_.pop_front();
    }
    if (std::shared_ptr<Session> s = next.lock()) Advance(s.get());
  }
}

void UploadSessions::Advance(Session* s) {
  s->mu.Lock();
  if (s->hashing || s->closed || s->finished) {
    s->mu.Unlock();
    return;
  }
  if (s->broken) {
    s->running.Finish();  // discard and start over from part 1
    s->hashed.clear();
    s->broken = false;
  }
  s->hashing = true;
  while (true) {
    auto it = s->parts.find(static_cast<int64_t>(s->hashed.size()) + 1);
    if (it == s->parts.end() || s->finished) break;
    BlobPtr blob = it->second.blob;
    s->mu.Unlock();
    bool ok = blob->Read(0, blob->size(), [this, s](absl::string_view piece) {
      s->running.Update(piece);
      if (s->finished) return false;
      absl::MutexLock lock(&queue_mu_);
      return !stopping_;
    });
    s->mu.Lock();
    auto again = s->parts.find(static_cast<int64_t>(s->hashed.size()) + 1);
    if (!ok || s->broken || again == s->parts.end() || again->second.blob != blob) {
      s->broken = true;
      break;
    }
    s->hashed.push_back(std::move(blob));
  }
  s->hashing = false;
  s->mu.Unlock();
}

absl::StatusOr<Assembled> UploadSessions::Assemble(
    const std::string& ref, const std::vector<std::pair<int64_t, std::string>>& parts) {
  std::shared_ptr<Session> s;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(ref);
    if (it == sessions_.end()) {
      return ApiError("not-found/file-upload-not-found",
                      absl::StrCat("Upload ", ref, " not found (ended or never begun)."));
    }
    s = it->second;
  }
  std::vector<BlobPtr> blobs;
  size_t start = 0;
  {
    absl::MutexLock lock(&s->mu);
    auto idle = [s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return !s->hashing && !s->closed; };
    s->mu.Await(absl::Condition(&idle));
    for (const auto& [number, md5] : parts) {
      auto it = s->parts.find(number);
      if (it == s->parts.end()) {
        return ApiError("bad-request/invalid-etags",
                        absl::StrCat("Part ", number, " of ", ref, " was not uploaded."));
      }
      if (it->second.md5 != md5) {
        return ApiError("bad-request/invalid-etags",
                        absl::StrCat("The etag given for part ", number, " (", md5,
                                     ") does not match the uploaded part (", it->second.md5, ")."));
      }
      blobs.push_back(it->second.blob);
    }
    bool reuse = !s->broken && s->hashed.size() <= blobs.size();
    for (size_t i = 0; reuse && i < s->hashed.size(); ++i) {
      reuse = parts[i].first == static_cast<int64_t>(i) + 1 && s->hashed[i] == blobs[i];
    }
    if (reuse) {
      start = s->hashed.size();
    } else {
      s->running.Finish();
    }
    s->closed = true;
  }
  bool ok = true;
  for (size_t i = start; i < blobs.size() && ok; ++i) {
    ok = blobs[i]->Read(0, blobs[i]->size(), [s](absl::string_view piece) {
      s->running.Update(piece);
      return true;
    });
  }
  FileDigests digests = s->running.Finish();
  {
    absl::MutexLock lock(&s->mu);
    s->closed = false;
    s->broken = true;  // `running` was consumed
    s->hashed.clear();
  }
  if (!ok) {
    return ApiError("processing-failure/file-processing-error", "Cannot read the uploaded parts.");
  }
  return Assembled{ChainBlob(std::move(blobs)), std::move(digests)};
}

void UploadSessions::Finish(const std::string& ref) {
  std::shared_ptr<Session> s;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(ref);
    if (it == sessions_.end()) return;
    s = std::move(it->second);
    sessions_.erase(it);
  }
  Release(s);
}

void UploadSessions::Release(const std::shared_ptr<Session>& s) {
  // Parts not in the file are released with the session; stop and wait for
  // a running hash so its blob references go too.
  s->finished = true;
  absl::MutexLock lock(&s->mu);
  auto idle = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return !s->hashing; };
  s->mu.Await(absl::Condition(&idle));
}

size_t UploadSessions::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

int UploadSessions::DropIdle() {
  std::vector<std::shared_ptr<Session>> dropped;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    last_sweep_ = now;
    if (idle_ttl_ == absl::InfiniteDuration()) return 0;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (now - it->second->last_active > idle_ttl_) {
        dropped.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Outside mu_: waiting for a hash must not hold up every other upload.
  for (const auto& s : dropped) Release(s);
  const int count = static_cast<int>(dropped.size());
  if (count > 0) {
    dropped.clear();
    // Part buffers are megabytes each, and after glibc's mmap threshold has
    // risen they live in the heap: freed, they stay resident (an embedded
    // emulator kept 150 MiB of abandoned parts' pages) until trimmed.
    malloc_trim(0);
  }
  return count;
}

void UploadSessions::SweepIfDue() {
  {
    absl::MutexLock lock(&mu_);
    if (clock_() - last_sweep_ < absl::Seconds(1)) return;
  }
  DropIdle();
}

UploadSessions::Stats UploadSessions::GetStats() {
  DropIdle();
  std::vector<std::shared_ptr<Session>> open;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [ref, s] : sessions_) open.push_back(s);
  }
  Stats stats;
  stats.sessions = static_cast<int64_t>(open.size());
  for (const auto& s : open) {
    absl::MutexLock lock(&s->mu);
    for (const auto& [number, part] : s->parts) {
      ++stats.parts;
      stats.bytes += part.blob->size();
    }
  }
  return stats;
}

// ---- DownloadTickets -------------------------------------------------------

DownloadTickets::DownloadTickets(std::function<absl::Time()> clock) : clock_(std::move(clock)) {}

void DownloadTickets::Sweep(absl::Time now) {
  // Dropping expired tickets releases their content (and open descriptors).
  last_sweep_ = now;
  for (auto it = tickets_.begin(); it != tickets_.end();) {
    it = it->second.expires <= now ? tickets_.erase(it) : std::next(it);
  }
}

void DownloadTickets::SweepIfDue() {
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (now - last_sweep_ > absl::Seconds(1)) Sweep(now);
}

std::string DownloadTickets::Issue(DownloadTicket ticket) {
  std::string token = RandomHex();
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (++issued_ % kSweepEvery == 0 || now - last_sweep_ > absl::Seconds(1)) Sweep(now);
  tickets_[token] = std::move(ticket);
  return token;
}

std::optional<DownloadTicket> DownloadTickets::Find(const std::string& token) const {
  absl::MutexLock lock(&mu_);
  auto it = tickets_.find(token);
  if (it == tickets_.end()) return std::nullopt;
  return it->second;
}

size_t DownloadTickets::size() const {
  absl::MutexLock lock(&mu_);
  return tickets_.size();
}

}  // namespace filesgw::emulator
