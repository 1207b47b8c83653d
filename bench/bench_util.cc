#include "bench/bench_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace filesgw::bench {

Proc Spawn(std::vector<std::string> argv, const std::string& marker, std::string* line,
           const std::vector<std::string>& env) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  Proc p;
  p.pid = fork();
  if (p.pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  p.out = fdopen(fds[0], "r");
  char buf[4096];
  while (fgets(buf, sizeof buf, p.out) != nullptr) {
    if (std::string(buf).find(marker) != std::string::npos) {
      *line = buf;
      return p;
    }
  }
  std::fprintf(stderr, "%s did not start\n", argv[0].c_str());
  std::exit(1);
}

void Stop(Proc& p) {
  if (p.pid <= 0) return;
  kill(p.pid, SIGTERM);
  int status = 0;
  waitpid(p.pid, &status, 0);
  p.pid = -1;
}

int PortFrom(const std::string& line) {
  auto pos = line.find("\"port\":");
  if (pos != std::string::npos) return std::atoi(line.c_str() + pos + 7);
  auto colon = line.rfind(':', line.find_last_of('"') - 1);
  return std::atoi(line.c_str() + colon + 1);
}

std::string JsonString(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  auto pos = line.find(needle);
  if (pos == std::string::npos) return "";
  pos += needle.size();
  return line.substr(pos, line.find('"', pos) - pos);
}

std::string ReadProcFile(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

double CpuSeconds(pid_t pid) {
  const std::string s = ReadProcFile(absl::StrCat("/proc/", pid, "/stat"));
  auto close_paren = s.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(s.substr(close_paren + 2));
  std::string field;
  std::vector<std::string> f;
  while (rest >> field) f.push_back(field);
  // utime and stime are fields 14 and 15 of /proc/pid/stat (11 and 12 after the name).
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

namespace {
long StatusField(pid_t pid, const char* name) {
  std::istringstream in(ReadProcFile(absl::StrCat("/proc/", pid, "/status")));
  std::string line;
  const std::string prefix = std::string(name) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atol(line.c_str() + prefix.size());
  }
  return -1;
}
}  // namespace

int Threads(pid_t pid) { return static_cast<int>(StatusField(pid, "Threads")); }
double RssMiB(pid_t pid) { return static_cast<double>(StatusField(pid, "VmRSS")) / 1024.0; }
double PeakRssMiB(pid_t pid) { return static_cast<double>(StatusField(pid, "VmHWM")) / 1024.0; }

}  // namespace filesgw::bench
