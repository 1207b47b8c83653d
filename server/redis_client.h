// A small Redis client for the state replicas share (rate budgets, resumable
// uploads): a few synchronous hiredis connections, each driven by a thread of
// its own, so no gRPC or transport thread ever waits on Redis. Commands are
// queued and answered through a callback on a pool thread.
//
// Redis unavailable: commands fail at once with UNAVAILABLE (nothing queues
// behind a dead server); the pool reconnects in the background with
// exponential backoff (100 ms doubling to 5 s) and reports each change of
// state once (the `on_state` callback: a log line and the metrics).
//
//   auto redis = RedisClient::Start({.endpoint = *ParseRedisUrl("redis://r:6379/0")}, &log);
//   redis->Eval(kScript, {"key"}, {"1"}, [](RedisReply r) { ... });
#ifndef FILESGW_SERVER_REDIS_CLIENT_H_
#define FILESGW_SERVER_REDIS_CLIENT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/log.h"

namespace filesgw::server {

// redis://host:port[/db], rediss://host:port[/db] (TLS), unix:/path[?db=N].
struct RedisEndpoint {
  std::string url;  // as given (never holds a password: refused)
  bool tls = false;
  std::string host;
  int port = 6379;
  std::string unix_path;
  int db = 0;
};

// INVALID_ARGUMENT naming what is wrong (a password in the URL included).
absl::StatusOr<RedisEndpoint> ParseRedisUrl(const std::string& url);

struct RedisReply {
  absl::Status status;  // UNAVAILABLE: no answer; INTERNAL: Redis answered an error
  enum class Type { kNil, kInteger, kString, kArray } type = Type::kNil;
  int64_t integer = 0;
  std::string str;
  std::vector<RedisReply> elements;
  // Integer value of an integer or numeric string reply (0 otherwise).
  int64_t AsInt() const;
};

// A Lua script run with EVALSHA (EVAL the first time a server lacks it).
struct RedisScript {
  explicit RedisScript(std::string body);
  std::string body;
  std::string sha1;  // hex
};

struct RedisClientOptions {
  RedisEndpoint endpoint;
  std::string password;  // from --redis-password-file / FILESGW_REDIS_PASSWORD
  std::string ca_file;   // rediss://: trusted CA bundle (PEM), besides the system store
  int connections = 3;
  absl::Duration timeout = absl::Seconds(1);  // connect and per command
  absl::Duration max_backoff = absl::Seconds(5);
  std::function<void()> on_error;  // each failed command (filesgw_redis_errors_total)
};

class RedisClient {
 public:
  using Callback = std::function<void(RedisReply)>;
  // `on_state(up, why)` runs on a pool thread at each change (first: up or down).
  static std::shared_ptr<RedisClient> Start(RedisClientOptions options, Logger* log,
                                            std::function<void(bool, const std::string&)> on_state);
  ~RedisClient();
  // Joins the pool's threads; queued and later commands fail UNAVAILABLE.
  // Call it from outside the pool (the gateway does, once its server has
  // stopped): a command's callback may hold the last reference to the client.
  void Stop();

  void Command(std::vector<std::string> args, Callback done);
  void Eval(const RedisScript& script, std::vector<std::string> keys,
            std::vector<std::string> args, Callback done);

  bool up() const { return up_.load(); }
  int64_t errors() const { return errors_.load(); }
  const RedisEndpoint& endpoint() const { return options_.endpoint; }

  RedisClient(RedisClientOptions options, Logger* log,
              std::function<void(bool, const std::string&)> on_state);

 private:
  struct Task {
    std::vector<std::string> args;
    const RedisScript* script = nullptr;  // EVALSHA args, EVAL on NOSCRIPT
    Callback done;
  };
  struct Connection;
  void Worker(int index);
  void SetState(bool up, const std::string& why);
  void CountError();
  void Submit(Task task);

  const RedisClientOptions options_;
  Logger* const log_;
  const std::function<void(bool, const std::string&)> on_state_;
  std::atomic<bool> up_{false};
  std::atomic<int64_t> errors_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  int state_ = -1;                                  // -1 unknown, 0 down, 1 up
  absl::Time next_attempt_ = absl::InfinitePast();  // while down: reconnect no sooner
  absl::Duration backoff_ = absl::Milliseconds(100);
  std::vector<std::thread> threads_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_REDIS_CLIENT_H_
