#include "server/transfer_shared_uploads.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/transfer_internal.h"

namespace filesgw::server::transfer {
namespace {

std::string HashKey(const std::string& id) { return absl::StrCat("filesgw:upload:{", id, "}"); }
std::string LockKey(const std::string& id) {
  return absl::StrCat("filesgw:upload:{", id, "}:lock");
}
std::string Ms(absl::Duration d) { return std::to_string(absl::ToInt64Milliseconds(d)); }

// Drops parts past the durable prefix (a failed stream's stragglers: their
// offsets need not match what the next stream sends).
constexpr char kTrimPrefix[] = R"lua(
local k = 0
while redis.call('HEXISTS', KEYS[1], 'e:' .. (k + 1)) == 1 do k = k + 1 end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = tonumber(string.match(f, '^[eos]:(%d+)$') or '0')
  if n > k then redis.call('HDEL', KEYS[1], f) end
end
)lua";

// KEYS: hash, lock. ARGV: caller, token, lock ttl ms, ttl ms.
// {0}: no such upload (for this caller); {1}: locked by another writer;
// {2, fields...}: locked for `token`.
const RedisScript& AttachScript() {
  static const auto* script = new RedisScript(absl::StrCat(R"lua(
if redis.call('HGET', KEYS[1], 'caller') ~= ARGV[1] then return {0} end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {1} end
)lua", kTrimPrefix, R"lua(
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {2, redis.call('HGETALL', KEYS[1])}
)lua"));
  return *script;
}

// KEYS: hash, lock. ARGV: token, ttl ms, field, value, ...
// 1 done; 0 the upload is gone; -1 the lock is not `token`'s.
const RedisScript& FencedSetScript() {
  static const auto* script = new RedisScript(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua");
  return *script;
}

// KEYS: hash, lock. ARGV: token, ttl ms, lock ttl ms. As FencedSet.
const RedisScript& RenewScript() {
  static const auto* script = new RedisScript(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua");
  return *script;
}

// KEYS: lock. ARGV: token. Deletes the lock when it is `token`'s.
const RedisScript& UnlockScript() {
  static const auto* script = new RedisScript(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");
  return *script;
}

// KEYS: hash, lock. ARGV: caller. 1 cancelled, 0 no such upload.
const RedisScript& CancelScript() {
  static const auto* script = new RedisScript(R"lua(
if redis.call('HGET', KEYS[1], 'caller') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
)lua");
  return *script;
}

grpc::Status NotFound() {
  return Local(grpc::StatusCode::NOT_FOUND, "UPLOAD_NOT_FOUND",
               "no resumable upload with that id (finished, cancelled or expired)");
}

grpc::Status Fenced(int64_t answer) {
  if (answer == 0) {
    return Local(grpc::StatusCode::ABORTED, "UPLOAD_CANCELLED",
                 "the resumable upload was cancelled or expired; nothing was committed");
  }
  return Local(grpc::StatusCode::ABORTED, "UPLOAD_BUSY",
               "another stream (on this or another replica) took over this upload; retry "
               "after QueryUploadStatus");
}

// HGETALL's flat list -> the upload; only the durable prefix of parts.
SharedUpload Parse(const std::vector<RedisReply>& fields) {
  SharedUpload u;
  std::map<int, SharedPart> parts;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& k = fields[i].str;
    const std::string& v = fields[i + 1].str;
    if (k == "caller") u.caller = v;
    if (k == "profile") u.profile = v;
    if (k == "path") u.path = v;
    if (k == "spec") u.spec = v;
    if (k == "ref") u.ref = v;
    if (k == "complete") u.complete = v == "1";
    if (k == "file") u.file = v;
    int n = 0;
    if (k.size() > 2 && k[1] == ':' && absl::SimpleAtoi(k.substr(2), &n)) {
      if (k[0] == 'e') parts[n].etag = v;
      if (k[0] == 'o') absl::SimpleAtoi(v, &parts[n].end);
      if (k[0] == 's') parts[n].sums = v;
    }
  }
  for (int n = 1; parts.count(n) > 0 && !parts[n].etag.empty(); ++n) u.parts[n] = parts[n];
  return u;
}

}  // namespace

int64_t SharedUpload::persisted() const { return parts.empty() ? 0 : parts.rbegin()->second.end; }

grpc::Status RedisUnavailable(const std::string& what, const absl::Status& why) {
  return Local(grpc::StatusCode::UNAVAILABLE, "REDIS_UNAVAILABLE",
               absl::StrCat("resumable uploads are kept in Redis, which did not answer (", what,
                            ": ", why.message(), "); try again shortly, nothing stored so far "
                            "is lost"));
}

SharedUploads::SharedUploads(std::shared_ptr<RedisClient> redis, absl::Duration ttl,
                             absl::Duration lock_ttl)
    : redis_(std::move(redis)), ttl_(ttl), lock_ttl_(lock_ttl) {}

void SharedUploads::Create(const std::string& id, const SharedUpload& u, Done done) {
  static const auto* create = new RedisScript(R"lua(
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
)lua");
  redis_->Eval(*create, {HashKey(id)},
               {Ms(ttl_), "caller", "c:" + u.caller, "profile", u.profile, "path", u.path, "spec", u.spec,
                "ref", u.ref},
               [done = std::move(done)](RedisReply r) {
                 if (!r.status.ok()) return done(RedisUnavailable("starting the upload", r.status));
                 done(grpc::Status::OK);
               });
}

void SharedUploads::Attach(const std::string& id, const std::string& caller,
                           const std::string& token, Loaded done) {
  redis_->Eval(AttachScript(), {HashKey(id), LockKey(id)},
               {"c:" + caller, token, Ms(lock_ttl_), Ms(ttl_)},
               [done = std::move(done)](RedisReply r) {
                 if (!r.status.ok()) {
                   return done(RedisUnavailable("resuming the upload", r.status), {});
                 }
                 const int64_t answer = r.elements.empty() ? 0 : r.elements[0].AsInt();
                 if (answer == 0) return done(NotFound(), {});
                 if (answer == 1) {
                   return done(Local(grpc::StatusCode::ABORTED, "UPLOAD_BUSY",
                                     "another stream (on this or another replica) is writing "
                                     "this upload; retry after it ends"),
                               {});
                 }
                 if (r.elements.size() < 2) return done(NotFound(), {});
                 done(grpc::Status::OK, Parse(r.elements[1].elements));
               });
}

void SharedUploads::RecordPart(const std::string& id, const std::string& token, int part,
                               const SharedPart& p, Done done) {
  const std::string n = std::to_string(part);
  redis_->Eval(FencedSetScript(), {HashKey(id), LockKey(id)},
               {token, Ms(ttl_), "e:" + n, p.etag, "o:" + n, std::to_string(p.end), "s:" + n,
                p.sums},
               [done = std::move(done)](RedisReply r) {
                 if (!r.status.ok()) return done(RedisUnavailable("recording a part", r.status));
                 if (r.AsInt() != 1) return done(Fenced(r.AsInt()));
                 done(grpc::Status::OK);
               });
}

void SharedUploads::Complete(const std::string& id, const std::string& token,
                             const std::string& file, Done done) {
  redis_->Eval(FencedSetScript(), {HashKey(id), LockKey(id)},
               {token, Ms(ttl_), "complete", "1", "file", file},
               [done = std::move(done)](RedisReply r) {
                 if (!r.status.ok()) return done(RedisUnavailable("recording the end", r.status));
                 if (r.AsInt() != 1) return done(Fenced(r.AsInt()));
                 done(grpc::Status::OK);
               });
}

void SharedUploads::Renew(const std::string& id, const std::string& token, Done done) {
  redis_->Eval(RenewScript(), {HashKey(id), LockKey(id)}, {token, Ms(ttl_), Ms(lock_ttl_)},
               [done = std::move(done)](RedisReply r) {
                 if (!r.status.ok()) return done(RedisUnavailable("keeping the lock", r.status));
                 if (r.AsInt() != 1) return done(Fenced(r.AsInt()));
                 done(grpc::Status::OK);
               });
}

void SharedUploads::Detach(const std::string& id, const std::string& token) {
  // Best effort: a lock not removed expires after lock_ttl.
  redis_->Eval(UnlockScript(), {LockKey(id)}, {token}, [](RedisReply) {});
}

void SharedUploads::Query(const std::string& id, const std::string& caller, Loaded done) {
  redis_->Command({"HGETALL", HashKey(id)}, [caller, done = std::move(done)](RedisReply r) {
    if (!r.status.ok()) return done(RedisUnavailable("reading the upload", r.status), {});
    SharedUpload u = Parse(r.elements);
    if (u.caller != "c:" + caller) return done(NotFound(), {});
    done(grpc::Status::OK, std::move(u));
  });
}

void SharedUploads::Cancel(const std::string& id, const std::string& caller, Done done) {
  redis_->Eval(CancelScript(), {HashKey(id), LockKey(id)}, {"c:" + caller},
               [done = std::move(done)](RedisReply r) {
                 if (!r.status.ok()) return done(RedisUnavailable("cancelling", r.status));
                 if (r.AsInt() != 1) return done(NotFound());
                 done(grpc::Status::OK);
               });
}

}  // namespace filesgw::server::transfer
