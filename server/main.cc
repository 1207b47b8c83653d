// files-gateway: options -> (embedded emulator) -> gateway -> wait -> drain on SIGTERM.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "emulator/emulator.h"
#include "server/gateway.h"
#include "server/options.h"

int main(int argc, char** argv) {
  using filesgw::server::Logger;
  // Transfer buffers (5 MiB parts, download chunks) are allocated on stream
  // threads and freed on the transport thread; with glibc's default of 8
  // arenas per core each thread's arena kept its own high-water mark (32
  // concurrent uploads: 530 MiB peak RSS; with 4 arenas: 430 MiB).
  mallopt(M_ARENA_MAX, 4);
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto options = filesgw::server::ParseOptions({argv + 1, argv + argc}, &std::getenv);
  if (!options.ok()) {
    std::fprintf(stderr, "files-gateway: %s\n\n%s", std::string(options.status().message()).c_str(),
                 filesgw::server::UsageText().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(filesgw::server::UsageText().c_str(), stdout);
    return 0;
  }
  Logger log(options->log_level);

  // No Files.com credentials: serve the embedded emulator on loopback, with a
  // one-off key that never leaves this process.
  std::unique_ptr<filesgw::emulator::Emulator> emulator;
  if (options->base_url.empty()) {
    absl::BitGen gen;
    filesgw::emulator::EmulatorOptions emu;
    emu.api_key = absl::StrFormat("emu-%016x%016x", absl::Uniform<uint64_t>(gen),
                                  absl::Uniform<uint64_t>(gen));
    emulator = std::make_unique<filesgw::emulator::Emulator>(emu);
    if (auto s = emulator->Start(); !s.ok()) {
      log.Error("embedded emulator failed to start", {{"error", std::string(s.message())}});
      return 1;
    }
    options->base_url = emulator->base_url();
    options->api_key = emu.api_key;
    log.Info("embedded emulator", {{"base_url", options->base_url}});
  }

  auto gateway = filesgw::server::Gateway::Start(*options, &log);
  if (!gateway.ok()) {
    log.Error("start failed", {{"error", std::string(gateway.status().message())}});
    return 1;
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
