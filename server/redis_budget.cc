#include "server/redis_budget.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace filesgw::server {
namespace {

// Leases given back wait at most this long for a question to ride along with.
constexpr absl::Duration kFlushAfter = absl::Milliseconds(20);

// KEYS: tokens, leases, pause. ARGV: rate/s, burst, max in flight, lease ttl
// ms, lease id, then leases this replica gave back since its last question
// (released here, so a call costs one round trip, not two). Returns {1, 0}
// granted, or {0, ms to wait} (-1: the in-flight cap is full; ask again soon).
const RedisScript& AcquireScript() {
  static const auto* script = new RedisScript(R"lua(
if #ARGV > 5 then redis.call('ZREM', KEYS[2], unpack(ARGV, 6)) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {0, paused - now} end
local maxc = tonumber(ARGV[3])
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxc then return {0, -1} end
end
local rate = tonumber(ARGV[1])
if rate > 0 then
  local burst = tonumber(ARGV[2])
  local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  if now > ts then
    tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
    ts = now
  end
  if tokens < 1 then
    return {0, math.ceil((1 - tokens) * 1000 / rate)}
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(ts))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
end
if maxc > 0 then
  local ttl = tonumber(ARGV[4])
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ttl * 2)
end
return {1, 0}
)lua");
  return *script;
}

// KEYS: pause. ARGV: pause length ms. Keeps the later of two pauses.
const RedisScript& PauseScript() {
  static const auto* script = new RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stop = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if stop > cur then redis.call('SET', KEYS[1], tostring(stop), 'PX', tonumber(ARGV[1]) + 1000) end
return 1
)lua");
  return *script;
}

// KEYS: leases. ARGV: ttl ms, lease ids...: pushes the live leases' expiry on
// (XX: a lease already expired is not brought back).
const RedisScript& RenewScript() {
  static const auto* script = new RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
)lua");
  return *script;
}

}  // namespace

std::shared_ptr<RedisBudget> RedisBudget::Create(
    RedisBudgetOptions options, std::shared_ptr<RedisClient> redis,
    std::shared_ptr<client_core::Scheduler> scheduler) {
  auto budget =
      std::make_shared<RedisBudget>(std::move(options), std::move(redis), std::move(scheduler));
  budget->ArmRenewal();
  return budget;
}

RedisBudget::RedisBudget(RedisBudgetOptions options, std::shared_ptr<RedisClient> redis,
                         std::shared_ptr<client_core::Scheduler> scheduler)
    : options_(std::move(options)), redis_(std::move(redis)), scheduler_(std::move(scheduler)),
      tokens_key_(absl::StrCat("filesgw:{", options_.profile, "}:tokens")),
      leases_key_(absl::StrCat("filesgw:{", options_.profile, "}:leases")),
      pause_key_(absl::StrCat("filesgw:{", options_.profile, "}:pause")),
      lease_prefix_([] {
        absl::BitGen gen;
        return absl::StrFormat("%016x-", absl::Uniform<uint64_t>(gen));
      }()) {}

RedisBudget::~RedisBudget() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  if (timer_ != 0) scheduler_->Cancel(timer_);
  if (flush_timer_ != 0) scheduler_->Cancel(flush_timer_);
}

void RedisBudget::Acquire(std::function<void(Answer)> done) {
  const std::string lease =
      options_.max_concurrent > 0 ? absl::StrCat(lease_prefix_, next_lease_.fetch_add(1)) : "";
  const double burst =
      options_.burst > 0 ? options_.burst : std::max(1.0, options_.requests_per_second);
  auto self = shared_from_this();
  std::vector<std::string> args = {
      absl::StrFormat("%.6f", options_.requests_per_second), absl::StrFormat("%.6f", burst),
      std::to_string(options_.max_concurrent),
      std::to_string(absl::ToInt64Milliseconds(options_.lease_ttl)), lease.empty() ? "-" : lease};
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : released_) args.push_back(std::move(r));
    released_.clear();
  }
  redis_->Eval(
      AcquireScript(), {tokens_key_, leases_key_, pause_key_}, std::move(args),
      [self, lease, done = std::move(done)](RedisReply r) {
        Answer a;
        if (!r.status.ok() || r.elements.size() != 2) {
          a.kind = Answer::Kind::kUnavailable;
          return done(std::move(a));
        }
        if (r.elements[0].AsInt() == 1) {
          a.kind = Answer::Kind::kGranted;
          a.lease = lease;
          if (!lease.empty()) {
            std::lock_guard<std::mutex> lock(self->mu_);
            self->live_.insert(lease);
          }
          return done(std::move(a));
        }
        const int64_t ms = r.elements[1].AsInt();
        a.kind = Answer::Kind::kWait;
        // The in-flight cap is full: a slot frees when some replica's call
        // ends, which Redis does not announce; look again shortly.
        a.wait = ms < 0 ? absl::Milliseconds(5) : absl::Milliseconds(std::max<int64_t>(1, ms));
        done(std::move(a));
      });
}

void RedisBudget::Release(const std::string& lease) {
  // Goes back with this replica's next question, or within kFlushAfter when
  // none comes (other replicas may be waiting for the slot). Best effort: a
  // lease not removed expires by itself.
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(lease);
  released_.push_back(lease);
  if (flush_timer_ != 0 || closed_) return;
  std::weak_ptr<RedisBudget> weak = weak_from_this();
  flush_timer_ = scheduler_->RunAt(scheduler_->Now() + kFlushAfter, [weak] {
    if (auto self = weak.lock()) self->Flush();
  });
}

void RedisBudget::Flush() {
  std::vector<std::string> args = {"ZREM", leases_key_};
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush_timer_ = 0;
    if (released_.empty()) return;
    for (auto& r : released_) args.push_back(std::move(r));
    released_.clear();
  }
  redis_->Command(std::move(args), [](RedisReply) {});
}

void RedisBudget::Pause(absl::Duration length) {
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(length));
  redis_->Eval(PauseScript(), {pause_key_}, {std::to_string(ms)}, [](RedisReply) {});
}

void RedisBudget::ArmRenewal() {
  std::weak_ptr<RedisBudget> weak = weak_from_this();
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || options_.max_concurrent <= 0) return;
  timer_ = scheduler_->RunAt(scheduler_->Now() + options_.lease_ttl / 3, [weak] {
    if (auto self = weak.lock()) {
      self->Renew();
      self->ArmRenewal();
    }
  });
}

void RedisBudget::Renew() {
  std::vector<std::string> args = {std::to_string(absl::ToInt64Milliseconds(options_.lease_ttl))};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (live_.empty()) return;
    args.insert(args.end(), live_.begin(), live_.end());
  }
  redis_->Eval(RenewScript(), {leases_key_}, std::move(args), [](RedisReply) {});
}

}  // namespace filesgw::server
