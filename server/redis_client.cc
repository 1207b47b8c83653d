#include "server/redis_client.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

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



// rediss://: Debian 12's hiredis (0.14) speaks no TLS, so the connection
// goes through a tunnel: hiredis talks plaintext over one end of a socket
// pair and a thread of the tunnel's own moves the bytes through OpenSSL to
// the server (one thread does all SSL_read/SSL_write, as OpenSSL requires).
// The server's certificate is verified against the system store plus
// --ca-file, and its name against the URL's host.
class TlsTunnel {
 public:
  ~TlsTunnel() { Stop(); }

  // Connects, handshakes and starts the pump; *plain_fd is hiredis's end.
  absl::Status Start(const RedisEndpoint& e, const std::string& ca_file, absl::Duration timeout,
                     int* plain_fd) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &found) != 0 ||
        found == nullptr) {
      return absl::UnavailableError(absl::StrCat("redis: cannot resolve ", e.host));
    }
    for (addrinfo* a = found; a != nullptr && tcp_ < 0; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd < 0) continue;
      const timeval tv = absl::ToTimeval(timeout);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        tcp_ = fd;
      } else {
        close(fd);
      }
    }
    freeaddrinfo(found);
    if (tcp_ < 0) return absl::UnavailableError(absl::StrCat("redis: cannot connect to ", e.host));
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_default_verify_paths(ctx_);
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
      return absl::UnavailableError(absl::StrCat("redis: cannot load CA file ", ca_file));
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, tcp_);
    SSL_set_tlsext_host_name(ssl_, e.host.c_str());
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl_, e.host.c_str()) != 1) {
      return absl::UnavailableError("redis: cannot set the TLS host name");
    }
    if (SSL_connect(ssl_) != 1) {
      char err[256];
      ERR_error_string_n(ERR_get_error(), err, sizeof err);
      const long verify = SSL_get_verify_result(ssl_);
      return absl::UnavailableError(absl::StrCat(
          "redis: TLS handshake failed: ", err,
          verify != X509_V_OK ? absl::StrCat(" (", X509_verify_cert_error_string(verify), ")")
                              : std::string()));
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
      return absl::UnavailableError("redis: socketpair failed");
    }
    *plain_fd = pair[0];
    pump_fd_ = pair[1];
    fcntl(tcp_, F_SETFL, fcntl(tcp_, F_GETFL) | O_NONBLOCK);
    thread_ = std::thread([this] { Pump(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (thread_.joinable()) {
      // hiredis closed its end (redisFree) first: the pump sees EOF and ends.
      if (pump_fd_ >= 0) shutdown(pump_fd_, SHUT_RDWR);
      thread_.join();
    }
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (tcp_ >= 0) close(tcp_);
    if (pump_fd_ >= 0) close(pump_fd_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    tcp_ = pump_fd_ = -1;
  }

 private:
  void Pump() {
    char buf[16384];
    std::string out;  // plaintext from hiredis not yet taken by SSL_write
    for (;;) {
      pollfd fds[2] = {{pump_fd_, static_cast<short>(out.empty() ? POLLIN : 0), 0},
                       {tcp_, static_cast<short>(POLLIN | (out.empty() ? 0 : POLLOUT)), 0}};
      if (poll(fds, 2, 1000) < 0 && errno != EINTR) return;
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = read(pump_fd_, buf, sizeof buf);
        if (n <= 0) return;  // hiredis is done with the connection
        out.append(buf, static_cast<size_t>(n));
      }
      while (!out.empty()) {
        const int n = SSL_write(ssl_, out.data(), static_cast<int>(out.size()));
        if (n > 0) {
          out.erase(0, static_cast<size_t>(n));
          continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) return Broken();
        break;
      }
      // Everything the server sent (SSL may hold decrypted bytes beyond what poll sees).
      for (;;) {
        const int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
          if (!WriteAll(buf, static_cast<size_t>(n))) return;
          continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        return Broken();  // closed or failed
      }
    }
  }
  bool WriteAll(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = write(pump_fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  // The server went away: hiredis sees its end close and reports it.
  void Broken() { shutdown(pump_fd_, SHUT_RDWR); }

  int tcp_ = -1;
  int pump_fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::thread thread_;
};

}  // namespace

// One hiredis connection, used by one pool thread only.
struct RedisClient::Connection {
  redisContext* ctx = nullptr;
  std::unique_ptr<TlsTunnel> tunnel;  // rediss:// only
  ~Connection() { Close(); }
  void Close() {
    if (ctx != nullptr) redisFree(ctx);
    ctx = nullptr;
    tunnel.reset();
  }

  absl::Status Open(const RedisClientOptions& o) {
    Close();
    const RedisEndpoint& e = o.endpoint;
    const timeval tv = absl::ToTimeval(o.timeout);
    if (e.tls) {
      tunnel = std::make_unique<TlsTunnel>();
      int fd = -1;
      if (absl::Status s = tunnel->Start(e, o.ca_file, o.timeout, &fd); !s.ok()) {
        tunnel.reset();
        return s;
      }
      ctx = redisConnectFd(fd);
    } else if (e.unix_path.empty()) {
      ctx = redisConnectWithTimeout(e.host.c_str(), e.port, tv);
    } else {
      ctx = redisConnectUnixWithTimeout(e.unix_path.c_str(), tv);
    }
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

RedisClient::~RedisClient() { Stop(); }

void RedisClient::Stop() {
  std::deque<Task> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (auto& task : left) {
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
  // The first thread may be asleep waiting for work: from now on it probes.
  if (!up) cv_.notify_all();
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
    if (stopping_) {
      refused.status = absl::UnavailableError("redis: the client is shutting down");
    } else if (state_ == 0 && absl::Now() < next_attempt_) {
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
