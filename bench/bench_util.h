// Process helpers for the benchmarks: start a server binary and read its ready
// line, and read a process's CPU time, threads and memory from /proc.
#ifndef FILESGW_BENCH_BENCH_UTIL_H_
#define FILESGW_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace filesgw::bench {

struct Proc {
  pid_t pid = -1;
  FILE* out = nullptr;
};

// Starts `argv`, reads its output until a line containing `marker`, returns
// the process and sets *line to that line. Exits the benchmark on failure.
Proc Spawn(std::vector<std::string> argv, const std::string& marker, std::string* line,
           const std::vector<std::string>& env = {});
// SIGTERM and wait.
void Stop(Proc& p);

// The port in a ready line: {"port":N} or an address "host:N".
int PortFrom(const std::string& line);
// The value of a "key":"value" string member of a one-line JSON object.
std::string JsonString(const std::string& line, const std::string& key);

std::string ReadProcFile(const std::string& path);
double CpuSeconds(pid_t pid);  // user + system
int Threads(pid_t pid);
// From /proc/PID/status, in MiB: VmRSS now and VmHWM (peak) since start.
double RssMiB(pid_t pid);
double PeakRssMiB(pid_t pid);

}  // namespace filesgw::bench

#endif  // FILESGW_BENCH_BENCH_UTIL_H_
