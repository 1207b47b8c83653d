// Runs files-emulator and files-gateway (or any program) as child processes
// for the scenario tests: output is drained by a thread (a full pipe would
// stall the child) and kept for failure reports, and Start waits for the JSON
// line that says the server is ready (they listen on port 0 and print where).
#ifndef FILESGW_CLIENTS_CPP_TESTS_PROCESS_H_
#define FILESGW_CLIENTS_CPP_TESTS_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/cpp/value.h"

namespace filesgw::client::testing {

class Process {
 public:
  // Starts `path` with `args`, the environment plus `env` ("NAME=value"), and
  // waits up to `timeout` for a stdout/stderr line that parses as a JSON object
  // `ready` accepts. Throws std::runtime_error (with the output) otherwise.
  static std::unique_ptr<Process> Start(const std::string& path, const std::vector<std::string>& args,
                                        const std::vector<std::string>& env,
                                        const std::function<bool(const Value&)>& ready,
                                        std::chrono::seconds timeout = std::chrono::seconds(30));
  // Runs a program to its end (at most `timeout`) and gives its exit status
  // (-1 when killed) and output.
  static int Run(const std::string& path, const std::vector<std::string>& args, std::string* output,
                 std::chrono::seconds timeout = std::chrono::seconds(60));

  ~Process();  // SIGTERM, then SIGKILL after 30 s

  const Value& ready_line() const { return ready_; }
  std::string Tail(std::size_t lines) const;

 private:
  Process() = default;
  void Drain(int fd);

  pid_t pid_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> tail_;
  std::function<bool(const Value&)> want_;
  bool found_ = false;
  bool ended_ = false;
  Value ready_;
  std::string all_;  // the whole output, for Run
  bool keep_all_ = false;
};

}  // namespace filesgw::client::testing

#endif  // FILESGW_CLIENTS_CPP_TESTS_PROCESS_H_
