// Scale-out on Redis (issue 18), measured: what the shared governor costs per
// call (latency p50 and gateway CPU per call, one gateway with and without
// --redis-url, same emulator), and the upstream rate three replicas sharing
// one Redis hold against a 100 req/s limit. Prints figures and ratios; the
// asserts are in tests/redis.
//
//   build/bench/redis_bench [--build DIR] [--calls N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "tests/isolation/noisy_kit.h"

namespace iso = filesgw::isolation;

namespace {

constexpr char kKey[] = "redis-bench-key";

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// utime + stime of `pid`, seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream whole;
  whole << in.rdbuf();
  const std::string stat = whole.str();
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14 || i == 15) ticks += std::atof(f.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t UpstreamTotal(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  const std::string req = absl::StrCat("GET /__emulator/requests HTTP/1.1\r\nHost: x\r\nX-FilesAPI-Key: ",
                                       kKey, "\r\nConnection: close\r\n\r\n");
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t at = out.find("\"total\":");
  return at == std::string::npos ? -1 : std::atoll(out.c_str() + at + 8);
}

struct Gateway {
  iso::Process process;
  std::shared_ptr<grpc::Channel> channel;
};

std::unique_ptr<Gateway> StartGateway(const std::string& binary, const std::string& emulator_url,
                                      const std::vector<std::string>& extra) {
  auto gw = std::make_unique<Gateway>();
  std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--metrics-listen", "off",
                                   "--base-url", emulator_url, "--api-connections", "16"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (auto s = gw->process.Start(args, {absl::StrCat("FILES_API_KEY=", kKey)}, "\"listening\"",
                                 absl::Seconds(60));
      !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    std::exit(1);
  }
  const std::string line = gw->process.ready_line();
  const int port = std::atoi(line.c_str() + line.find("\"port\":") + 7);
  gw->channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  return gw;
}

struct Cost {
  double p50_ms, p99_ms, cpu_us_per_call;
};

Cost Measure(Gateway& gw, int calls) {
  iso::Caller caller(gw.channel, "");
  iso::MeasureFindUser(caller, 200);  // warm up connections and the script cache
  const double cpu0 = CpuSeconds(gw.process.pid());
  iso::Latencies l = iso::MeasureFindUser(caller, calls, absl::Minutes(5));
  const double cpu = CpuSeconds(gw.process.pid()) - cpu0;
  return {l.P50(), l.P99(), cpu * 1e6 / calls};
}

}  // namespace

int main(int argc, char** argv) {
  std::string build = "build";
  int calls = 3000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--build") build = argv[i + 1];
    if (std::string(argv[i]) == "--calls") calls = std::atoi(argv[i + 1]);
  }
  const std::string gateway = build + "/server/files-gateway";
  const int redis_port = FreePort();
  iso::Process redis, emulator;
  if (!redis.Start({"/usr/bin/redis-server", "--port", std::to_string(redis_port), "--bind",
                    "127.0.0.1", "--save", "", "--appendonly", "no"},
                   {}, "Ready to accept connections", absl::Seconds(20))
           .ok() ||
      !emulator.Start({build + "/emulator/files-emulator", "--listen", "127.0.0.1:0", "--api-key",
                       kKey, "--threads", "64"},
                      {}, "\"listening\"", absl::Seconds(30))
           .ok()) {
    std::fprintf(stderr, "cannot start redis-server or the emulator\n");
    return 1;
  }
  const std::string line = emulator.ready_line();
  const size_t at = line.find("\"base_url\":\"") + 12;
  const std::string url = line.substr(at, line.find('"', at) - at);
  const int emulator_port = std::atoi(url.c_str() + url.rfind(':') + 1);
  const std::string redis_url = absl::StrCat("redis://127.0.0.1:", redis_port);

  // 1. Cost per call: one caller, calls one after another (no queueing), a
  // governor with a cap that is never reached, without and with Redis.
  std::printf("governor cost per call (FindUser, %d sequential calls, one gateway):\n", calls);
  Cost local, shared;
  {
    auto gw = StartGateway(gateway, url, {"--requests-per-second", "100000"});
    local = Measure(*gw, calls);
  }
  {
    auto gw = StartGateway(gateway, url, {"--requests-per-second", "100000", "--redis-url", redis_url});
    shared = Measure(*gw, calls);
  }
  std::printf("  %-22s p50 %.3f ms  p99 %.3f ms  gateway CPU %.1f us/call\n", "local governor",
              local.p50_ms, local.p99_ms, local.cpu_us_per_call);
  std::printf("  %-22s p50 %.3f ms  p99 %.3f ms  gateway CPU %.1f us/call\n", "Redis governor",
              shared.p50_ms, shared.p99_ms, shared.cpu_us_per_call);
  std::printf("  added by Redis: p50 %+.3f ms (x%.2f), CPU %+.1f us/call (x%.2f)\n",
              shared.p50_ms - local.p50_ms, shared.p50_ms / local.p50_ms,
              shared.cpu_us_per_call - local.cpu_us_per_call,
              shared.cpu_us_per_call / local.cpu_us_per_call);

  // 2. Three replicas, one Redis, limit 100 req/s, 60 callers.
  std::vector<std::unique_ptr<Gateway>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(StartGateway(gateway, url,
                                    {"--requests-per-second", "100", "--redis-url", redis_url,
                                     "--expected-replicas", "3"}));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < 60; ++c) {
    threads.emplace_back([&, c] {
      iso::Caller caller(replicas[static_cast<size_t>(c % 3)]->channel, "");
      while (!stop) caller.FindUser(1, absl::Seconds(10));
    });
  }
  absl::SleepFor(absl::Seconds(2));  // the bucket's initial burst goes by
  const int64_t before = UpstreamTotal(emulator_port);
  const absl::Time t0 = absl::Now();
  absl::SleepFor(absl::Seconds(10));
  const double rate =
      static_cast<double>(UpstreamTotal(emulator_port) - before) / absl::ToDoubleSeconds(absl::Now() - t0);
  stop = true;
  for (auto& t : threads) t.join();
  std::printf("3 replicas + Redis, 60 callers, limit 100 req/s: upstream %.1f req/s over 10 s "
              "(%.3f of the limit; without Redis each replica would send up to 100: 300)\n",
              rate, rate / 100.0);
  return 0;
}
