#include "clients/cpp/tests/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "clients/cpp/errors.h"

extern char** environ;

namespace filesgw::client::testing {
namespace {

// Waits for the child to end for at most `timeout`; true when it did.
bool WaitFor(pid_t pid, std::chrono::seconds timeout, int* status) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    // Polling a child's exit: waitpid has no timeout of its own.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& env, int* out_fd) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  // Everything the child needs is built before fork: only async-signal-safe
  // calls may follow it in a process with threads.
  std::vector<std::string> argv_s = {path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

}  // namespace

void Process::Drain(int fd) {
  std::string partial;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buffer, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      std::lock_guard<std::mutex> lock(mu_);
      if (keep_all_) all_ += line + "\n";
      tail_.push_back(line);
      if (tail_.size() > 200) tail_.pop_front();
      if (!found_ && want_ && !line.empty() && line[0] == '{') {
        try {
          Value doc = Value::FromJson(line);
          if (doc.is_object() && want_(doc)) {
            ready_ = std::move(doc);
            found_ = true;
            cv_.notify_all();
          }
        } catch (const Error&) {
          // Not JSON after all: an ordinary log line.
        }
      }
    }
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  if (keep_all_ && !partial.empty()) all_ += partial;
  ended_ = true;
  cv_.notify_all();
}

std::unique_ptr<Process> Process::Start(const std::string& path, const std::vector<std::string>& args,
                                        const std::vector<std::string>& env,
                                        const std::function<bool(const Value&)>& ready,
                                        std::chrono::seconds timeout) {
  std::unique_ptr<Process> p(new Process);
  p->want_ = ready;
  int fd = -1;
  p->pid_ = Spawn(path, args, env, &fd);
  p->reader_ = std::thread([raw = p.get(), fd] { raw->Drain(fd); });
  std::unique_lock<std::mutex> lock(p->mu_);
  p->cv_.wait_for(lock, timeout, [&] { return p->found_ || p->ended_; });
  if (!p->found_) {
    lock.unlock();
    std::string tail = p->Tail(200);
    p.reset();
    throw std::runtime_error(path + " did not become ready:\n" + tail);
  }
  return p;
}

int Process::Run(const std::string& path, const std::vector<std::string>& args, std::string* output,
                 std::chrono::seconds timeout) {
  std::unique_ptr<Process> p(new Process);
  p->keep_all_ = true;
  int fd = -1;
  p->pid_ = Spawn(path, args, {}, &fd);
  p->reader_ = std::thread([raw = p.get(), fd] { raw->Drain(fd); });
  int status = 0;
  bool ended = WaitFor(p->pid_, timeout, &status);
  if (!ended) {
    kill(p->pid_, SIGKILL);
    waitpid(p->pid_, &status, 0);
  }
  p->pid_ = -1;
  p->reader_.join();
  *output = p->all_;
  if (!ended || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    if (!WaitFor(pid_, std::chrono::seconds(30), &status)) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (reader_.joinable()) reader_.join();
}

std::string Process::Tail(std::size_t lines) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  std::size_t start = tail_.size() > lines ? tail_.size() - lines : 0;
  for (std::size_t i = start; i < tail_.size(); ++i) out += tail_[i] + "\n";
  return out;
}

}  // namespace filesgw::client::testing
