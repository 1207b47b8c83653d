// One credential profile's rate budget held in Redis and shared by every
// replica (client_core::SharedBudget): a token bucket, in-flight leases that
// expire (a replica that dies gives its slots back within the lease's time to
// live; live leases are renewed every third of it) and the pause a 429 sets.
// Each decision is one atomic Lua script, one round trip: EVALSHA with the
// server's own clock (TIME), so replicas' clocks do not matter.
//
// Keys (one hash slot per profile): filesgw:{PROFILE}:tokens (hash),
// filesgw:{PROFILE}:leases (sorted set, score = expiry ms), filesgw:{PROFILE}:pause.
#ifndef FILESGW_SERVER_REDIS_BUDGET_H_
#define FILESGW_SERVER_REDIS_BUDGET_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "client_core/governor.h"
#include "client_core/scheduler.h"
#include "server/redis_client.h"

namespace filesgw::server {

struct RedisBudgetOptions {
  std::string profile;
  int max_concurrent = 0;        // whole fleet; 0 = no cap
  double requests_per_second = 0;  // whole fleet; 0 = no cap
  double burst = 0;              // 0: max(1, requests_per_second)
  absl::Duration lease_ttl = absl::Seconds(10);
};

class RedisBudget : public client_core::SharedBudget,
                    public std::enable_shared_from_this<RedisBudget> {
 public:
  static std::shared_ptr<RedisBudget> Create(RedisBudgetOptions options,
                                             std::shared_ptr<RedisClient> redis,
                                             std::shared_ptr<client_core::Scheduler> scheduler);
  ~RedisBudget() override;

  bool available() const override { return redis_->up(); }
  void Acquire(std::function<void(Answer)> done) override;
  void Release(const std::string& lease) override;
  void Pause(absl::Duration length) override;

  RedisBudget(RedisBudgetOptions options, std::shared_ptr<RedisClient> redis,
              std::shared_ptr<client_core::Scheduler> scheduler);

 private:
  void ArmRenewal();
  void Renew();
  void Flush();

  const RedisBudgetOptions options_;
  const std::shared_ptr<RedisClient> redis_;
  const std::shared_ptr<client_core::Scheduler> scheduler_;
  const std::string tokens_key_, leases_key_, pause_key_;
  const std::string lease_prefix_;  // random per process
  std::atomic<uint64_t> next_lease_{0};
  std::mutex mu_;
  std::set<std::string> live_;  // leases held by this replica
  std::vector<std::string> released_;  // given back, not yet told to Redis
  uint64_t timer_ = 0;
  uint64_t flush_timer_ = 0;
  bool closed_ = false;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_REDIS_BUDGET_H_
