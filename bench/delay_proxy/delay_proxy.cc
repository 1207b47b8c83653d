// delay_proxy: a TCP relay on loopback that makes a distant server out of a
// local one, for benchmarks (the kernel here has no netem). It relays bytes
// and nothing else, so TLS stays end to end.
//
//   delay_proxy --target 127.0.0.1:8443 [--listen 127.0.0.1:0] --rtt-ms 20
//               [--up-ms N] [--down-ms N] [--rate-mbit N] [--window-kib N]
//
// Prints {"listening":"127.0.0.1:PORT"} when ready; exits on SIGTERM/SIGINT.
//
// The model, per connection and direction:
//  - a byte read at time t reaches the other side no sooner than t + one-way
//    delay (--up-ms client->server, --down-ms server->client; --rtt-ms sets
//    both to half);
//  - a new connection's first byte to the server waits one round trip more,
//    as a TCP handshake would (the client's connect() here returns at once);
//  - with --rate-mbit, each direction is one link shared by every connection:
//    bytes leave it no faster than the rate;
//  - at most --window-kib bytes per direction are "in flight" (read but not
//    yet acknowledged: delivered plus the reverse delay), as a TCP window
//    would hold them (default 6 MiB, Linux's tcp_rmem maximum). While full,
//    the proxy stops reading that side and TCP pushes back on the sender.
//    Only bytes not yet delivered are kept in memory, so memory per
//    connection is bounded by 2 x window.
// Listen and target addresses must be loopback: the proxy is a bench tool,
// never a way to expose a port.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;

constexpr size_t kReadSize = 64 * 1024;

struct Options {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  std::string target_host;
  int target_port = 0;
  Nanos up{0};
  Nanos down{0};
  double rate_bytes_per_s = 0;  // 0: no cap
  size_t window = 6u << 20;
};

// One direction's link: when it is next free (shared by all connections).
struct Link {
  Clock::time_point free_at{};
};

struct Chunk {
  Clock::time_point deliver_at;
  std::string bytes;
  size_t sent = 0;
};

struct Ack {
  Clock::time_point at;
  size_t bytes;
};

// One direction of one connection: read from `from`, write to `to`.
struct Flow {
  int from = -1;
  int to = -1;
  Nanos delay{0};
  Nanos reverse_delay{0};
  Link* link = nullptr;
  std::deque<Chunk> queue;
  std::deque<Ack> acks;  // delivered, not yet acknowledged
  size_t queued = 0;
  size_t unacked = 0;
  bool eof = false;       // `from` said EOF
  bool shut = false;      // shutdown(to, SHUT_WR) done
  Clock::time_point not_before{};  // handshake: nothing delivered earlier
};

struct Conn {
  int client = -1;
  int server = -1;
  Flow up;
  Flow down;
  bool dead = false;
};

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

bool IsLoopback(const std::string& host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

bool ParseHostPort(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *host = text.substr(0, colon);
  char* end = nullptr;
  long p = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (end == nullptr || *end != '\0' || p < 0 || p > 65535) return false;
  *port = static_cast<int>(p);
  return true;
}

bool ParseNumber(const char* text, double* out) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= 0) || v > 1e12) return false;
  *out = v;
  return true;
}

int Usage(const char* error) {
  if (error != nullptr) std::fprintf(stderr, "delay_proxy: %s\n", error);
  std::fputs(
      "usage: delay_proxy --target HOST:PORT [--listen HOST:PORT] [--rtt-ms N]\n"
      "                   [--up-ms N] [--down-ms N] [--rate-mbit N] [--window-kib N]\n"
      "  --target      the server to relay to (loopback only)\n"
      "  --listen      where to accept (default 127.0.0.1:0; loopback only)\n"
      "  --rtt-ms      round trip: sets --up-ms and --down-ms to half each\n"
      "  --up-ms       one-way delay client -> server (ms, may be fractional)\n"
      "  --down-ms     one-way delay server -> client\n"
      "  --rate-mbit   cap each direction at this rate, shared by all connections\n"
      "  --window-kib  bytes in flight per connection and direction (default 6144)\n",
      error != nullptr ? stderr : stdout);
  return error != nullptr ? 2 : 0;
}

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int ConnectTarget(const Options& o) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.target_port));
  inet_pton(AF_INET, o.target_host.c_str(), &addr.sin_addr);
  // Loopback: a blocking connect answers at once (or is refused).
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  SetNonBlocking(fd);
  return fd;
}

// Acknowledgements that have "arrived" free window space.
void ExpireAcks(Flow& f, Clock::time_point now) {
  while (!f.acks.empty() && f.acks.front().at <= now) {
    f.unacked -= f.acks.front().bytes;
    f.acks.pop_front();
  }
}

bool WantsRead(const Flow& f, const Options& o) {
  return !f.eof && f.queued + f.unacked < o.window;
}

// Reads what the window allows. Returns false when the connection failed.
bool ReadSide(Flow& f, const Options& o, Clock::time_point now) {
  while (WantsRead(f, o)) {
    size_t room = std::min(kReadSize, o.window - f.queued - f.unacked);
    std::string buffer(room, '\0');
    ssize_t n = recv(f.from, buffer.data(), room, 0);
    if (n > 0) {
      buffer.resize(static_cast<size_t>(n));
      Clock::time_point at = std::max(now + f.delay, f.not_before);
      if (o.rate_bytes_per_s > 0) {
        at = std::max(at, f.link->free_at);
        f.link->free_at =
            at + std::chrono::duration_cast<Nanos>(std::chrono::duration<double>(
                     static_cast<double>(n) / o.rate_bytes_per_s));
      }
      // Order per flow: never deliver before the chunk ahead of it.
      if (!f.queue.empty()) at = std::max(at, f.queue.back().deliver_at);
      f.queued += static_cast<size_t>(n);
      f.queue.push_back(Chunk{at, std::move(buffer), 0});
      if (static_cast<size_t>(n) < room) return true;  // drained for now
      continue;
    }
    if (n == 0) {
      f.eof = true;
      return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    if (errno == EINTR) continue;
    return false;
  }
  return true;
}

// Writes the chunks that are due. Returns false when the connection failed.
bool WriteSide(Flow& f, Clock::time_point now) {
  while (!f.queue.empty() && f.queue.front().deliver_at <= now) {
    Chunk& c = f.queue.front();
    ssize_t n = send(f.to, c.bytes.data() + c.sent, c.bytes.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      return false;
    }
    c.sent += static_cast<size_t>(n);
    if (c.sent < c.bytes.size()) return true;
    f.queued -= c.bytes.size();
    f.unacked += c.bytes.size();
    f.acks.push_back(Ack{now + f.reverse_delay, c.bytes.size()});
    f.queue.pop_front();
  }
  if (f.eof && f.queue.empty() && !f.shut) {
    shutdown(f.to, SHUT_WR);
    f.shut = true;
  }
  return true;
}

bool Blocked(const Flow& f, Clock::time_point now) {
  return !f.queue.empty() && f.queue.front().deliver_at <= now;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool have_target = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Usage(nullptr);
    if (i + 1 >= argc) return Usage(("missing value for " + arg).c_str());
    const char* value = argv[++i];
    double v = 0;
    if (arg == "--target") {
      if (!ParseHostPort(value, &o.target_host, &o.target_port) || o.target_port == 0) {
        return Usage("--target wants HOST:PORT");
      }
      have_target = true;
    } else if (arg == "--listen") {
      if (!ParseHostPort(value, &o.listen_host, &o.listen_port)) {
        return Usage("--listen wants HOST:PORT");
      }
    } else if (arg == "--rtt-ms" || arg == "--up-ms" || arg == "--down-ms") {
      if (!ParseNumber(value, &v) || v > 600000) return Usage((arg + " wants milliseconds").c_str());
      Nanos d = std::chrono::duration_cast<Nanos>(std::chrono::duration<double, std::milli>(v));
      if (arg == "--rtt-ms") {
        o.up = o.down = d / 2;
      } else {
        (arg == "--up-ms" ? o.up : o.down) = d;
      }
    } else if (arg == "--rate-mbit") {
      if (!ParseNumber(value, &v) || v <= 0) return Usage("--rate-mbit wants a positive number");
      o.rate_bytes_per_s = v * 1e6 / 8;
    } else if (arg == "--window-kib") {
      if (!ParseNumber(value, &v) || v < 64 || v > 1024 * 1024) {
        return Usage("--window-kib wants 64 to 1048576");
      }
      o.window = static_cast<size_t>(v) * 1024;
    } else {
      return Usage(("unknown flag " + arg).c_str());
    }
  }
  if (!have_target) return Usage("--target is required");
  if (!IsLoopback(o.target_host) || !IsLoopback(o.listen_host)) {
    return Usage("--listen and --target must be IPv4 loopback addresses (127.x.x.x)");
  }

  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.listen_port));
  inet_pton(AF_INET, o.listen_host.c_str(), &addr.sin_addr);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, SOMAXCONN) != 0) {
    std::fprintf(stderr, "delay_proxy: cannot listen on %s:%d: %s\n", o.listen_host.c_str(),
                 o.listen_port, std::strerror(errno));
    return 1;
  }
  SetNonBlocking(listener);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("{\"listening\":\"%s:%d\",\"up_ms\":%.3f,\"down_ms\":%.3f}\n",
              o.listen_host.c_str(), ntohs(addr.sin_port), o.up.count() / 1e6,
              o.down.count() / 1e6);
  std::fflush(stdout);

  Link up_link, down_link;
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> fds;
  while (!g_stop) {
    Clock::time_point now = Clock::now();
    // Work that is due, then the poll set and the next timer.
    Clock::time_point next = now + std::chrono::seconds(1);
    fds.clear();
    fds.push_back(pollfd{listener, POLLIN, 0});
    for (auto& c : conns) {
      for (Flow* f : {&c->up, &c->down}) {
        ExpireAcks(*f, now);
        if (!WriteSide(*f, now)) c->dead = true;
        if (!f->queue.empty() && !Blocked(*f, now)) next = std::min(next, f->queue.front().deliver_at);
        if (!f->acks.empty() && !WantsRead(*f, o) && !f->eof) next = std::min(next, f->acks.front().at);
      }
      if (c->up.shut && c->down.shut) c->dead = true;
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [](const std::unique_ptr<Conn>& c) {
                                 if (!c->dead) return false;
                                 close(c->client);
                                 close(c->server);
                                 return true;
                               }),
                conns.end());
    for (auto& c : conns) {
      short client_events = 0, server_events = 0;
      if (WantsRead(c->up, o)) client_events |= POLLIN;
      if (WantsRead(c->down, o)) server_events |= POLLIN;
      if (Blocked(c->up, now)) server_events |= POLLOUT;
      if (Blocked(c->down, now)) client_events |= POLLOUT;
      // No interest: leave the socket out (a negative fd), or a hang-up seen
      // while the window is full would wake the loop without end.
      fds.push_back(pollfd{client_events != 0 ? c->client : -1, client_events, 0});
      fds.push_back(pollfd{server_events != 0 ? c->server : -1, server_events, 0});
    }
    Nanos wait = std::max(Nanos(0), std::chrono::duration_cast<Nanos>(next - now));
    timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                static_cast<long>(wait.count() % 1000000000)};
    int ready = ppoll(fds.data(), fds.size(), &ts, nullptr);
    if (ready < 0 && errno != EINTR) {
      std::perror("delay_proxy: ppoll");
      return 1;
    }
    now = Clock::now();
    if (fds[0].revents & POLLIN) {
      for (;;) {
        int client = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) break;
        int server = ConnectTarget(o);
        if (server < 0) {
          close(client);  // the target is down: the caller sees the connection close
          continue;
        }
        SetNonBlocking(client);
        auto c = std::make_unique<Conn>();
        c->client = client;
        c->server = server;
        c->up = Flow{client, server, o.up, o.down, &up_link, {}, {}, 0, 0, false, false,
                     now + o.up + o.down + o.up};
        c->down = Flow{server, client, o.down, o.up, &down_link, {}, {}, 0, 0, false, false, now};
        conns.push_back(std::move(c));
      }
    }
    // fds[1 + 2i] / fds[2 + 2i] are conns[i]'s client and server (new ones come after).
    size_t polled = (fds.size() - 1) / 2;
    for (size_t i = 0; i < polled && i < conns.size(); ++i) {
      Conn& c = *conns[i];
      const pollfd& cf = fds[1 + 2 * i];
      const pollfd& sf = fds[2 + 2 * i];
      if ((cf.revents | sf.revents) & POLLNVAL) c.dead = true;
      if ((cf.revents & (POLLIN | POLLHUP | POLLERR)) && !ReadSide(c.up, o, now)) c.dead = true;
      if ((sf.revents & (POLLIN | POLLHUP | POLLERR)) && !ReadSide(c.down, o, now)) c.dead = true;
      if ((cf.revents & POLLERR) && !(cf.events & POLLIN)) c.dead = true;
      if ((sf.revents & POLLERR) && !(sf.events & POLLIN)) c.dead = true;
    }
  }
  for (auto& c : conns) {
    close(c->client);
    close(c->server);
  }
  close(listener);
  return 0;
}
