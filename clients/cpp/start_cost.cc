// The C++ client's start cost: process CPU from main() to the end of the
// first call (connect + the descriptor pool + the first FindUser-style call),
// as bench/RESULTS.md "Client start cost" reports it per language.
//   cpp_client_start_cost TARGET [RUNS]   # prints one JSON line
// Each run is a fresh process (it re-executes itself), so nothing is warm.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/cpp/client.h"

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int Once(const char* target) {
  filesgw::client::ConnectOptions options;
  options.target = target;
  filesgw::client::Client client(options);
  try {
    client.Users().Find(1);
  } catch (const filesgw::client::NotFoundError&) {
    // A fresh emulator has no user 1: the round trip is what counts.
  }
  std::printf("%.6f\n", CpuSeconds());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--once") return Once(argv[2]);
  if (argc < 2) {
    std::fprintf(stderr, "usage: cpp_client_start_cost TARGET [RUNS]\n");
    return 2;
  }
  const int runs = argc > 2 ? std::atoi(argv[2]) : 9;
  std::vector<double> cpu;
  for (int i = 0; i < runs; ++i) {
    std::string cmd = std::string("'") + argv[0] + "' --once '" + argv[1] + "'";
    FILE* p = popen(cmd.c_str(), "r");
    double s = -1;
    if (p == nullptr || std::fscanf(p, "%lf", &s) != 1 || pclose(p) != 0) {
      std::fprintf(stderr, "a run failed\n");
      return 1;
    }
    cpu.push_back(s);
  }
  std::sort(cpu.begin(), cpu.end());
  std::printf("{\"client\":\"cpp\",\"runs\":%d,\"cpu_s_median\":%.4f,\"cpu_s_min\":%.4f,\"cpu_s_max\":%.4f}\n",
              runs, cpu[cpu.size() / 2], cpu.front(), cpu.back());
  return 0;
}
