#include "server/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sys/time.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace filesgw::server {

absl::StatusOr<RedisEndpoint> ParseRedisUrl(const std::string& url) {
  RedisEndpoint e;
  e.url = url;
  // Never echo a password someone put in the URL.
  std::string shown = url;
  if (const size_t at = shown.find('@'); at != std::string::npos) {
    const size_t scheme = shown.find("://");
    const size_t from = scheme == std::string::npos ? 0 : scheme + 3;
    if (at > from) shown.replace(from, at - from, "***");
  }
  auto bad = [&shown](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("redis url '", shown, "': ", why));
  };
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "unix:")) {
    absl::ConsumePrefix(&rest, "//");
    std::string path(rest.substr(0, rest.find('?')));
    if (path.empty() || path[0] != '/') return bad("expected unix:/absolute/path[?db=N]");
    e.unix_path = path;
    const size_t q = rest.find('?');
    if (q != absl::string_view::npos) {
      absl::string_view query = rest.substr(q + 1);
      if (!absl::ConsumePrefix(&query, "db=") || !absl::SimpleAtoi(query, &e.db) || e.db < 0) {
        return bad("the only query a unix: URL takes is ?db=N");
      }
    }
    return e;
  }
  if (absl::ConsumePrefix(&rest, "rediss://")) {
    e.tls = true;
  } else if (!absl::ConsumePrefix(&rest, "redis://")) {
    return bad("expected redis://host:port[/db], rediss://host:port[/db] or unix:/path");
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != absl::string_view::npos) {
    return bad("credentials do not belong in the URL (it shows in ps and logs); use "
               "--redis-password-file or FILESGW_REDIS_PASSWORD");
  }
  if (slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &e.db) || e.db < 0 || e.db > 1000)) {
      return bad("the path must be a database number, e.g. /0");
    }
  }
  std::string host(authority);
  if (absl::StartsWith(host, "[")) {  // [::1]:6379
    const size_t close = host.find(']');
    if (close == std::string::npos) return bad("unclosed [ in the host");
    const std::string port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && (port[0] != ':' || !absl::SimpleAtoi(port.substr(1), &e.port))) {
      return bad("bad port");
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string::npos) {
    if (!absl::SimpleAtoi(host.substr(colon + 1), &e.port)) return bad("bad port");
    host = host.substr(0, colon);
  }
  if (host.empty()) return bad("no host");
  if (e.port <= 0 || e.port > 65535) return bad("port out of range");
  e.host = host;
  return e;
}

int64_t RedisReply::AsInt() const {
  if (type == Type::kInteger) return integer;
  int64_t v = 0;
  if (type == Type::kString && absl::SimpleAtoi(str, &v)) return v;
  return 0;
}

RedisScript::RedisScript(std::string b) : body(std::move(b)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : digest) {
    sha1.push_back(kHex[c >> 4]);
    sha1.push_back(kHex[c & 15]);
  }
}

namespace {

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.status = absl::InternalError(absl::StrCat("redis: ", std::string(r->str, r->len)));
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}



}  // namespace

// One hiredis connection, used by one pool thread only.
struct RedisClient::Connection {
  redisContext* ctx = nullptr;
  ~Connection() { Close(); }
  void Close() {
    if (ctx != nullptr) redisFree(ctx);
    ctx = nullptr;
  }

  absl::Status Open(const RedisClientOptions& o) {
    Close();
    const RedisEndpoint& e = o.endpoint;
    if (e.tls) {
      return absl::UnimplementedError(
          "rediss:// needs TLS in the Redis client; Debian 12's hiredis 0.14 has none");
    }
    const timeval tv = absl::ToTimeval(o.timeout);
    ctx = e.unix_path.empty() ? redisConnectWithTimeout(e.host.c_str(), e.port, tv)
                              : redisConnectUnixWithTimeout(e.unix_path.c_str(), tv);
    if (ctx == nullptr) return absl::UnavailableError("redis: out of memory");
    if (ctx->err != 0) {
      absl::Status s = absl::UnavailableError(absl::StrCat("redis: cannot connect: ", ctx->errstr));
      Close();
      return s;
    }
    redisSetTimeout(ctx, tv);
    if (!o.password.empty()) {
      RedisReply r = Run({"AUTH", o.password});
      if (!r.status.ok()) return absl::UnavailableError("redis: AUTH refused (check the password)");
    }
    if (e.db != 0) {
      RedisReply r = Run({"SELECT", std::to_string(e.db)});
      if (!r.status.ok()) return r.status;
    }
    RedisReply r = Run({"PING"});
    return r.status;
  }

  RedisReply Run(const std::vector<std::string>& args) {
    RedisReply out;
    if (ctx == nullptr) {
      out.status = absl::UnavailableError("redis: not connected");
      return out;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(args.size()), argv.data(), lens.data()));
    if (reply == nullptr) {
      out.status = absl::UnavailableError(
          absl::StrCat("redis: ", ctx->errstr[0] != '\0' ? ctx->errstr : "connection lost"));
      Close();
      return out;
    }
    out = Convert(reply);
    freeReplyObject(reply);
    return out;
  }
};

std::shared_ptr<RedisClient> RedisClient::Start(
    RedisClientOptions options, Logger* log,
    std::function<void(bool, const std::string&)> on_state) {
  return std::make_shared<RedisClient>(std::move(options), log, std::move(on_state));
}

RedisClient::RedisClient(RedisClientOptions options, Logger* log,
                         std::function<void(bool, const std::string&)> on_state)
    : options_(std::move(options)), log_(log), on_state_(std::move(on_state)) {
  const int n = std::max(1, options_.connections);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { Worker(i); });
}

RedisClient::~RedisClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto& task : queue_) {
    RedisReply r;
    r.status = absl::UnavailableError("redis: the client is shutting down");
    task.done(std::move(r));
  }
}

void RedisClient::CountError() {
  errors_.fetch_add(1);
  if (options_.on_error) options_.on_error();
}

void RedisClient::SetState(bool up, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (up) {
      backoff_ = absl::Milliseconds(100);
      next_attempt_ = absl::InfinitePast();
    } else {
      next_attempt_ = absl::Now() + backoff_;
      backoff_ = std::min(options_.max_backoff, backoff_ * 2);
    }
    const int state = up ? 1 : 0;
    if (state == state_) return;
    state_ = state;
    up_.store(up);
  }
  if (log_ != nullptr) {
    const std::string where =
        options_.endpoint.unix_path.empty()
            ? absl::StrCat(options_.endpoint.host, ":", options_.endpoint.port)
            : options_.endpoint.unix_path;
    if (up) {
      log_->Info("redis up", {{"redis", where}});
    } else {
      log_->Warn("redis unavailable: shared state off, local fallback limits apply",
                 {{"redis", where}, {"error", why}});
    }
  }
  if (on_state_) on_state_(up, why);
}

void RedisClient::Submit(Task task) {
  RedisReply refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Down and not due for a reconnect: fail now rather than queue behind it.
    if (state_ == 0 && absl::Now() < next_attempt_) {
      refused.status = absl::UnavailableError("redis unavailable (reconnecting)");
    } else if (queue_.size() >= 100000) {
      refused.status = absl::UnavailableError("redis: too many commands queued");
    } else {
      queue_.push_back(std::move(task));
    }
  }
  if (!refused.status.ok()) {
    CountError();
    return task.done(std::move(refused));
  }
  cv_.notify_one();
}

void RedisClient::Command(std::vector<std::string> args, Callback done) {
  Submit(Task{std::move(args), nullptr, std::move(done)});
}

void RedisClient::Eval(const RedisScript& script, std::vector<std::string> keys,
                       std::vector<std::string> args, Callback done) {
  std::vector<std::string> argv = {"EVALSHA", script.sha1, std::to_string(keys.size())};
  for (auto& k : keys) argv.push_back(std::move(k));
  for (auto& a : args) argv.push_back(std::move(a));
  Submit(Task{std::move(argv), &script, std::move(done)});
}

void RedisClient::Worker(int index) {
  Connection conn;
  for (;;) {
    Task task;
    bool have_task = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (stopping_) return;
        if (!queue_.empty()) {
          task = std::move(queue_.front());
          queue_.pop_front();
          have_task = true;
          break;
        }
        // The first thread keeps trying to reconnect while Redis is down (or
        // before the first connection), so sharing resumes without traffic.
        if (index == 0 && state_ != 1) {
          if (absl::Now() >= next_attempt_) break;
          cv_.wait_until(lock, absl::ToChronoTime(next_attempt_));
          continue;
        }
        cv_.wait(lock);
      }
      // Down and not due: fail the task at once.
      if (have_task && state_ == 0 && absl::Now() < next_attempt_ && conn.ctx == nullptr) {
        lock.unlock();
        RedisReply r;
        r.status = absl::UnavailableError("redis unavailable (reconnecting)");
        CountError();
        task.done(std::move(r));
        continue;
      }
    }
    // A reconnect probe (no task) starts from a fresh connection: the one it
    // holds may have died with the server.
    if (!have_task) conn.Close();
    if (conn.ctx == nullptr) {
      absl::Status opened = conn.Open(options_);
      if (!opened.ok()) {
        conn.Close();
        SetState(false, std::string(opened.message()));
        if (have_task) {
          RedisReply r;
          r.status = absl::UnavailableError(opened.message());
          CountError();
          task.done(std::move(r));
        }
        continue;
      }
      SetState(true, "");
    }
    if (!have_task) continue;
    RedisReply r = conn.Run(task.args);
    if (absl::IsUnavailable(r.status)) {
      // A connection that went stale (Redis restarted since it was last
      // used): one fresh connection, one more try.
      if (conn.Open(options_).ok()) r = conn.Run(task.args);
    }
    if (!r.status.ok() && task.script != nullptr &&
        absl::StrContains(r.status.message(), "NOSCRIPT")) {
      std::vector<std::string> eval = task.args;
      eval[0] = "EVAL";
      eval[1] = task.script->body;
      r = conn.Run(eval);
    }
    if (!r.status.ok()) {
      CountError();
      if (absl::IsUnavailable(r.status)) SetState(false, std::string(r.status.message()));
    }
    task.done(std::move(r));
  }
}

}  // namespace filesgw::server
