// files-gateway: options -> (embedded emulator) -> gateway -> wait -> drain on SIGTERM.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "emulator/emulator.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "server/config.h"
#include "server/container_hint.h"
#include "server/gateway.h"
#include "server/options.h"

namespace {

// --probe: one grpc.health.v1.Health/Check; 0 when SERVING, 1 otherwise.
int Probe(const std::string& address, const std::string& service) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  // HealthCheckRequest{service}: field 1, length-delimited.
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back('\x0a');
    request_bytes.push_back(static_cast<char>(service.size()));
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    std::fprintf(stderr, "files-gateway: probe %s: %s\n", address.c_str(),
                 status.error_message().c_str());
    return 1;
  }
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  const bool serving = bytes == std::string("\x08\x01", 2);
  std::printf("%s\n", serving ? "SERVING" : "NOT_SERVING");
  return serving ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  using filesgw::server::Logger;
  // Transfer buffers (5 MiB parts, download chunks) are allocated on stream
  // threads and freed on the transport thread; with glibc's default of 8
  // arenas per core each thread's arena kept its own high-water mark (32
  // concurrent uploads: 530 MiB peak RSS; with 4 arenas: 430 MiB).
  mallopt(M_ARENA_MAX, 4);
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detector on: every lock updates a global lock-order graph under a global
  // spin lock (GraphCycles::GetId was 1.2% of the gateway's CPU on FindUser
  // in `perf record`). The tests keep it on; the server does not need it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  const std::vector<std::string> args(argv + 1, argv + argc);
  auto options = filesgw::server::ParseOptions(args, &std::getenv);
  if (!options.ok()) {
    const bool checking = std::find(args.begin(), args.end(), "--check-config") != args.end();
    // A config problem is explained on its own; usage helps with flag mistakes.
    std::fprintf(stderr, "files-gateway: %s\n%s%s",
                 std::string(options.status().message()).c_str(), checking ? "" : "\n",
                 checking ? "" : filesgw::server::UsageText().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(filesgw::server::UsageText().c_str(), stdout);
    return 0;
  }
  if (!options->probe.empty()) {
    if (options->probe_service.size() > 127) return 2;
    return Probe(options->probe, options->probe_service);
  }
  if (options->hash_token) {
    // For `callers:`: the token is read from stdin so it shows in no ps or
    // shell history; only its hash is printed.
    std::string token;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) token.append(buffer, n);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (token.empty()) {
      std::fputs("files-gateway: --hash-token reads the token from stdin; it was empty\n", stderr);
      return 2;
    }
    std::printf("%s\n", filesgw::server::Sha256Hex(token).c_str());
    return 0;
  }
  if (options->check_config) {
    std::fputs(filesgw::server::DescribeOptions(*options).c_str(), stdout);
    return 0;
  }
  Logger log(options->log_level);

  // No Files.com credentials: serve the embedded emulator on loopback, with a
  // one-off key that never leaves this process.
  std::unique_ptr<filesgw::emulator::Emulator> emulator;
  const bool needs_emulator =
      std::any_of(options->profiles.begin(), options->profiles.end(),
                  [](const auto& p) { return p.base_url.empty() && !p.has_credential(); });
  if (needs_emulator) {
    absl::BitGen gen;
    filesgw::emulator::EmulatorOptions emu;
    emu.api_key = absl::StrFormat("emu-%016x%016x", absl::Uniform<uint64_t>(gen),
                                  absl::Uniform<uint64_t>(gen));
    // Off unless asked: callers must not reset it or inject faults.
    emu.control_endpoints = !options->emulator_control_token.empty();
    emu.control_token = options->emulator_control_token;
    emu.upload_idle_ttl = options->emulator_upload_idle_ttl;
    emulator = std::make_unique<filesgw::emulator::Emulator>(emu);
    if (auto s = emulator->Start(); !s.ok()) {
      log.Error("embedded emulator failed to start", {{"error", std::string(s.message())}});
      return 1;
    }
    for (auto& p : options->profiles) {
      if (!p.base_url.empty() || p.has_credential()) continue;
      p.base_url = emulator->base_url();
      p.api_key = emu.api_key;
    }
    options->base_url = emulator->base_url();
    log.Info("embedded emulator", {{"base_url", options->base_url}});
  }

  auto gateway = filesgw::server::Gateway::Start(*options, &log);
  if (!gateway.ok()) {
    log.Error("start failed", {{"error", std::string(gateway.status().message())}});
    return 1;
  }
  // A loopback listener in a container looks healthy yet refuses every
  // published-port connection: say so (in Kubernetes only informative, since a
  // loopback sidecar is deliberate there).
  const std::string container = filesgw::server::ContainerMarker("", &std::getenv);
  if (auto hint = filesgw::server::LoopbackInContainerHint(options->listen, container);
      !hint.empty()) {
    if (container == "KUBERNETES_SERVICE_HOST") {
      log.Info("listening on loopback in a Kubernetes pod",
               {{"address", options->listen}, {"hint", hint}});
    } else {
      log.Warn("listening on loopback inside a container: published ports cannot reach it",
               {{"address", options->listen}, {"container", container}, {"hint", hint}});
    }
  }
  // Start-up (descriptor pool, routes, codec tables) leaves freed scratch
  // memory in the heap: hand it back before serving.
  malloc_trim(0);
  int sig = 0;
  sigwait(&stop, &sig);
  log.Info("signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*gateway)->Shutdown(options->drain_timeout);
  (*gateway)->Wait();
  gateway->reset();
  if (emulator != nullptr) emulator->Stop();
  return 0;
}
