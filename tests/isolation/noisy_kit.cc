#include "tests/isolation/noisy_kit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "files/v1/transfer.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "proto/api_pool.h"

extern char** environ;

namespace filesgw::isolation {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

long StatusField(pid_t pid, const char* name) {
  std::istringstream in(ReadAll(absl::StrCat("/proc/", pid, "/status")));
  std::string line;
  const std::string prefix = std::string(name) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atol(line.c_str() + prefix.size());
  }
  return -1;
}

// Output of a shell command (the gateway's --help and --hash-token).
std::string Run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// `flag` appears in `help` as a whole flag name (--keepalive-time is not
// --keepalive-timeout).
bool HelpLists(const std::string& help, const std::string& flag) {
  for (size_t at = help.find(flag); at != std::string::npos; at = help.find(flag, at + 1)) {
    const size_t end = at + flag.size();
    if (end >= help.size()) return true;
    const char c = help[end];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return true;
  }
  return false;
}

std::string JsonStringMember(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  auto pos = line.find(needle);
  if (pos == std::string::npos) return "";
  pos += needle.size();
  return line.substr(pos, line.find('"', pos) - pos);
}

int JsonIntMember(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  auto pos = line.find(needle);
  return pos == std::string::npos ? 0 : std::atoi(line.c_str() + pos + needle.size());
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "?";
}

template <typename T>
bool FindDetail(const grpc::Status& status, T* out) {
  google::rpc::Status rich;
  if (status.error_details().empty() || !rich.ParseFromString(status.error_details())) return false;
  for (const auto& any : rich.details()) {
    if (any.type_url() == absl::StrCat("type.googleapis.com/", T::descriptor()->full_name())) {
      return out->ParseFromString(any.value());
    }
  }
  return false;
}

std::chrono::system_clock::time_point After(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

}  // namespace

double RssMiB(pid_t pid) { return static_cast<double>(StatusField(pid, "VmRSS")) / 1024.0; }
double PeakRssMiB(pid_t pid) { return static_cast<double>(StatusField(pid, "VmHWM")) / 1024.0; }
int Threads(pid_t pid) { return static_cast<int>(StatusField(pid, "Threads")); }

int TcpConnectionsTo(pid_t pid, int port) {
  // /proc/PID/net/tcp is the whole network namespace: keep the sockets that
  // are among the process's own descriptors.
  std::set<std::string> inodes;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  if (DIR* dir = opendir(fd_dir.c_str())) {
    while (dirent* e = readdir(dir)) {
      char target[256];
      const ssize_t n = readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      const std::string link(target, static_cast<size_t>(n));
      if (link.rfind("socket:[", 0) == 0) inodes.insert(link.substr(8, link.size() - 9));
    }
    closedir(dir);
  }
  int count = 0;
  std::istringstream table(ReadAll(absl::StrCat("/proc/", pid, "/net/tcp")));
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 10) continue;
    const auto colon = f[2].find(':');  // rem_address "0100007F:1F90"
    if (colon == std::string::npos) continue;
    const long remote_port = std::strtol(f[2].c_str() + colon + 1, nullptr, 16);
    if (remote_port == port && inodes.count(f[9]) > 0) ++count;
  }
  return count;
}

// ---- Process ----

Process::~Process() { Stop(); }

absl::Status Process::Start(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env, const std::string& ready,
                            absl::Duration timeout) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  // Everything exec needs is built before fork: only exec and dup2 run in the
  // child of this multi-threaded process.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& e : env) env_strings.push_back(e);
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
  reader_ = std::thread([this, ready] {
    std::string pending;
    char buf[8192];
    for (;;) {
      const ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        std::lock_guard<std::mutex> lock(mu_);
        if (ready_line_.empty() && line.find(ready) != std::string::npos) {
          ready_line_ = line;
          cv_.notify_all();
        }
        // The first lines say why a start failed; the last ones what happened since.
        if (first_.size() < 5) first_.push_back(line);
        recent_.push_back(std::move(line));
        if (recent_.size() > 40) recent_.pop_front();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
    cv_.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, After(timeout), [this] { return !ready_line_.empty() || eof_; });
  if (!ready_line_.empty()) return absl::OkStatus();
  std::string recent =
      absl::StrCat(absl::StrJoin(first_, "\n"), "\n...\n", absl::StrJoin(recent_, "\n"));
  lock.unlock();
  Stop();
  return absl::UnavailableError(absl::StrCat(argv[0], " did not start:\n", recent));
}

std::string Process::RecentOutput() {
  std::lock_guard<std::mutex> lock(mu_);
  return absl::StrJoin(recent_, "\n");
}

void Process::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > give_up) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));  // teardown only: the process is exiting
    }
    pid_ = -1;
  }
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
}

// ---- flags and the stack ----

std::map<std::string, std::string> NewGatewayFlags() {
  return {
      {"--stream-idle-timeout", "30s"},
      {"--download-stall-release", "1s"},
      {"--caller-max-calls", "64"},
      {"--caller-max-streams", "16"},
      {"--caller-upload-memory", "33554432"},  // 32 MiB
      // A caller's upstream share below the API pool: with a share larger
      // than the pool one caller's slow calls hold every API connection.
      {"--caller-max-upstream-requests", "8"},
      {"--max-request-bytes", "4194304"},         // 4 MiB
      {"--max-upload-message-bytes", "4194304"},  // 4 MiB
      {"--grpc-memory-quota", "134217728"},       // 128 MiB
      {"--max-streams-per-connection", "128"},
      {"--connection-idle-timeout", "60s"},
      {"--keepalive-time", "30s"},
      {"--keepalive-timeout", "10s"},
      {"--api-connections", "32"},
      {"--storage-connections", "32"},
  };
}

NewFlagMode NewFlagModeFromEnvironment() {
  const char* v = std::getenv("FILESGW_ISOLATION_FLAGS");
  const std::string mode = v == nullptr ? "" : v;
  if (mode == "all") return NewFlagMode::kAll;
  if (mode == "none") return NewFlagMode::kNone;
  return NewFlagMode::kAuto;
}

Stack::~Stack() {
  gateway_.Stop();
  emulator_.Stop();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(const StackSpec& spec,
                                                    const Binaries& binaries) {
  std::unique_ptr<Stack> stack(new Stack());
  char dir[] = "/tmp/filesgw-isolation-XXXXXX";
  if (mkdtemp(dir) == nullptr) return absl::InternalError("mkdtemp failed");
  stack->dir_ = dir;

  const NewFlagMode mode = NewFlagModeFromEnvironment();
  const std::string help =
      mode == NewFlagMode::kAuto ? Run(absl::StrCat("'", binaries.gateway, "' --help 2>&1")) : "";
  auto known = [&](const std::string& flag) {
    return mode == NewFlagMode::kAll || (mode == NewFlagMode::kAuto && HelpLists(help, flag));
  };
  const bool write_limits = known("--caller-max-streams");

  std::string yaml = "callers:\n";
  for (const auto& c : spec.callers) {
    std::string hash =
        Run(absl::StrCat("printf '%s' '", c.token, "' | '", binaries.gateway, "' --hash-token"));
    while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r')) hash.pop_back();
    if (hash.size() != 64) return absl::InternalError("files-gateway --hash-token failed: " + hash);
    absl::StrAppend(&yaml, "  - name: ", c.name, "\n    token_sha256: \"", hash,
                    "\"\n    allow: [\"*\"]\n");
    if (c.limits.empty()) continue;
    if (!write_limits) {
      stack->dropped_.push_back(absl::StrCat("callers[", c.name, "].limits"));
      continue;
    }
    stack->limits_written_ = true;
    absl::StrAppend(&yaml, "    limits:\n");
    for (const auto& [key, value] : c.limits)
      absl::StrAppend(&yaml, "      ", key, ": ", value, "\n");
  }
  const std::string config = stack->dir_ + "/gateway.yaml";
  std::ofstream(config) << yaml;

  std::vector<std::string> env;
  std::vector<std::string> args = {
      binaries.gateway, "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--log-level",
      "info",           "--config", config};
  if (!spec.embedded_emulator) {
    std::vector<std::string> emulator_args = {binaries.emulator, "--listen", "127.0.0.1:0",
                                              "--api-key", kApiKey};
    emulator_args.insert(emulator_args.end(), spec.emulator_args.begin(), spec.emulator_args.end());
    if (auto s = stack->emulator_.Start(emulator_args, {}, "\"listening\"", absl::Seconds(30));
        !s.ok()) {
      return s;
    }
    stack->emulator_url_ = JsonStringMember(stack->emulator_.ready_line(), "base_url");
    const auto colon = stack->emulator_url_.rfind(':');
    stack->emulator_port_ =
        colon == std::string::npos ? 0 : std::atoi(stack->emulator_url_.c_str() + colon + 1);
    args.insert(args.end(), {"--base-url", stack->emulator_url_});
    env.push_back(absl::StrCat("FILES_API_KEY=", kApiKey));
  }
  args.insert(args.end(), spec.gateway_args.begin(), spec.gateway_args.end());
  for (const auto& [flag, value] : spec.new_flags) {
    if (known(flag)) {
      args.push_back(absl::StrCat(flag, "=", value));
    } else {
      stack->dropped_.push_back(flag);
    }
  }
  if (auto s = stack->gateway_.Start(args, env, "\"listening\"", absl::Seconds(60)); !s.ok()) {
    return s;
  }
  stack->gateway_port_ = JsonIntMember(stack->gateway_.ready_line(), "port");
  if (stack->gateway_port_ <= 0) {
    return absl::InternalError("no port in: " + stack->gateway_.ready_line());
  }
  // Ready line printed: the port is bound. Connect once so that the first
  // measured call does not pay for it.
  auto channel = stack->NewChannel();
  if (!channel->WaitForConnected(After(absl::Seconds(30)))) {
    return absl::UnavailableError("gateway does not accept connections");
  }
  return stack;
}

std::shared_ptr<grpc::Channel> Stack::NewChannel() {
  grpc::ChannelArguments args;
  args.SetInt("filesgw.isolation.channel", ++channels_);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", gateway_port_),
                                   grpc::InsecureChannelCredentials(), args);
}

// ---- rich status ----

std::string ErrorReason(const grpc::Status& status) {
  google::rpc::ErrorInfo info;
  return FindDetail(status, &info) ? info.reason() : "";
}

absl::Duration RetryDelay(const grpc::Status& status) {
  google::rpc::RetryInfo info;
  if (!FindDetail(status, &info) || !info.has_retry_delay()) return absl::Seconds(-1);
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

std::string Describe(const grpc::Status& status) {
  const std::string reason = ErrorReason(status);
  return absl::StrCat(CodeName(status.error_code()), reason.empty() ? "" : " (" + reason + ")",
                      status.error_message().empty() ? "" : ": " + status.error_message());
}

// ---- Caller ----

Caller::Caller(std::shared_ptr<grpc::Channel> channel, std::string token)
    : channel_(std::move(channel)), stub_(channel_), token_(std::move(token)) {}

grpc::Status Caller::Unary(const std::string& method, const std::string& request_json,
                           absl::Duration timeout, std::string* response_json) {
  const auto slash = method.find('/');
  const auto* service = proto::Api().pool->FindServiceByName(method.substr(0, slash));
  const auto* rpc =
      service == nullptr ? nullptr : service->FindMethodByName(method.substr(slash + 1));
  if (rpc == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "no method " + method);
  std::unique_ptr<google::protobuf::Message> request(proto::Prototype(rpc->input_type())->New());
  if (!google::protobuf::util::JsonStringToMessage(request_json, request.get()).ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "bad request " + request_json);
  }
  grpc::Slice slice(request->SerializeAsString());
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(After(timeout));
  if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub_.UnaryCall(&ctx, "/" + method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok() || response_json == nullptr) return status;
  std::unique_ptr<google::protobuf::Message> response(proto::Prototype(rpc->output_type())->New());
  grpc::ProtoBufferReader reader(&resp);
  if (!response->ParseFromZeroCopyStream(&reader)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unparseable response");
  }
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  response_json->clear();
  (void)google::protobuf::util::MessageToJsonString(*response, response_json, print);
  return status;
}

grpc::Status Caller::FindUser(int64_t id, absl::Duration timeout) {
  return Unary("files.v1.UserService/FindUser", absl::StrCat(R"({"id":)", id, "}"), timeout);
}

grpc::Status Caller::Upload(const std::string& path, const std::string& data,
                            absl::Duration timeout) {
  auto stub = files::v1::TransferService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(After(timeout));
  if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  files::v1::UploadResponse response;
  auto writer = stub->Upload(&ctx, &response);
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path(path);
  first.mutable_spec()->set_mkdir_parents(true);
  first.mutable_spec()->set_expected_size(static_cast<int64_t>(data.size()));
  bool ok = writer->Write(first);
  for (size_t at = 0; ok && at < data.size(); at += 1 << 20) {
    files::v1::UploadRequest chunk;
    chunk.set_data(data.substr(at, 1 << 20));
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (status.ok() && response.file().size() != static_cast<int64_t>(data.size())) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("uploaded ", response.file().size(), " of ", data.size()));
  }
  return status;
}

grpc::Status Caller::Download(const std::string& path, std::string* data, absl::Duration timeout) {
  auto stub = files::v1::TransferService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(After(timeout));
  if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  files::v1::DownloadRequest request;
  request.set_path(path);
  auto reader = stub->Download(&ctx, request);
  files::v1::DownloadResponse message;
  data->clear();
  while (reader->Read(&message)) data->append(message.data());
  return reader->Finish();
}

std::string Pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 12));
  return s;
}

double Latencies::P50() const {
  if (ms.empty()) return 0;
  std::vector<double> v = ms;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Latencies::Max() const {
  return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
}

double Latencies::P99() const {
  if (ms.empty()) return 0;
  std::vector<double> v = ms;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

std::string Latencies::Summary() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "n=%zu p50=%.2f ms p99=%.2f ms failures=%d (deadline %d)",
                ms.size(), P50(), P99(), failures, deadline_exceeded);
  return failures > 0 ? absl::StrCat(buf, ", last: ", last_error) : buf;
}

Latencies MeasureFindUser(Caller& caller, int calls, absl::Duration budget) {
  Latencies out;
  const absl::Time end = absl::Now() + budget;
  for (int i = 0; i < calls && out.failures < 3 && absl::Now() < end; ++i) {
    const absl::Time start = absl::Now();
    const grpc::Status s = caller.FindUser(1);
    if (s.ok()) {
      out.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    } else {
      ++out.failures;
      if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) ++out.deadline_exceeded;
      out.last_error = Describe(s);
    }
  }
  return out;
}

std::vector<Outcome> ConcurrentFindUsers(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& token, int64_t id, int count,
                                         absl::Duration timeout) {
  const auto* rpc = proto::Api().pool->FindMethodByName("files.v1.UserService.FindUser");
  std::unique_ptr<google::protobuf::Message> request(proto::Prototype(rpc->input_type())->New());
  (void)google::protobuf::util::JsonStringToMessage(absl::StrCat(R"({"id":)", id, "}"),
                                                    request.get());
  const std::string bytes = request->SerializeAsString();
  grpc::GenericStub stub(channel);
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request, response;
    absl::Time start;
  };
  std::vector<std::unique_ptr<Call>> calls;
  std::vector<Outcome> out(static_cast<size_t>(count));
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = 0; i < count; ++i) {
    auto call = std::make_unique<Call>();
    call->ctx.set_deadline(After(timeout));
    call->ctx.AddMetadata("authorization", "Bearer " + token);
    grpc::Slice slice(bytes);
    call->request = grpc::ByteBuffer(&slice, 1);
    call->start = absl::Now();
    Call* raw = call.get();
    stub.UnaryCall(&call->ctx, "/files.v1.UserService/FindUser", grpc::StubOptions(),
                   &call->request, &call->response, [&, raw, i](grpc::Status s) {
                     std::lock_guard<std::mutex> lock(mu);
                     out[static_cast<size_t>(i)] = Outcome{std::move(s), absl::Now() - raw->start};
                     ++done;
                     cv.notify_all();
                   });
    calls.push_back(std::move(call));
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == count; });
  return out;
}

absl::Duration SecondClientWait(int port, const std::string& path, absl::Duration timeout,
                                std::string* status_line) {
  status_line->clear();
  const absl::Time start = absl::Now();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return timeout;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // The kernel completes the handshake from the listen backlog: a server
  // whose workers are all held accepts, then leaves the request unread.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return timeout;
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-FilesAPI-Key: ", kApiKey,
                   "\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return timeout;
  }
  pollfd p{fd, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  const absl::Duration waited = ready > 0 ? absl::Now() - start : timeout;
  if (ready > 0) {
    char buf[256];
    const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      std::string head(buf, static_cast<size_t>(n));
      *status_line = head.substr(0, head.find('\r'));
    }
  }
  close(fd);
  return waited;
}

// ---- StreamFleet ----

struct StreamFleet::Stream {
  Kind kind;
  std::string request;  // empty: send nothing
  bool writes_done = false;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
  grpc::ByteBuffer out, in;
  grpc::Status status;
  absl::Time start;
  Op ops[5];
};

namespace {
enum Step { kStarted, kWritten, kWritesDone, kRead, kFinished };
}  // namespace

StreamFleet::StreamFleet(std::vector<std::shared_ptr<grpc::Channel>> channels)
    : channels_(std::move(channels)) {
  for (const auto& c : channels_) stubs_.push_back(std::make_unique<grpc::GenericStub>(c));
  poller_ = std::thread([this] { Poll(); });
}

StreamFleet::~StreamFleet() {
  CancelAll();
  WaitEnded(opened(), absl::Seconds(30));
  cq_.Shutdown();
  poller_.join();
}

void StreamFleet::Open(Kind kind, const std::string& method, const std::string& token,
                       std::string request, bool writes_done) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = std::make_unique<Stream>();
  s->kind = kind;
  s->request = std::move(request);
  s->writes_done = writes_done;
  for (int i = 0; i < 5; ++i) s->ops[i] = Op{s.get(), i};
  if (!token.empty()) s->ctx.AddMetadata("authorization", "Bearer " + token);
  s->start = absl::Now();
  auto& stub = *stubs_[streams_.size() % stubs_.size()];
  s->call = stub.PrepareCall(&s->ctx, method, &cq_);
  s->call->StartCall(&s->ops[kStarted]);
  streams_.push_back(std::move(s));
}

void StreamFleet::OpenUpload(const std::string& token, const std::string& path,
                             int64_t data_bytes) {
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path(path);
  first.mutable_spec()->set_mkdir_parents(true);
  first.set_data(std::string(static_cast<size_t>(data_bytes), 'x'));
  Open(Kind::kUpload, "/files.v1.TransferService/Upload", token, first.SerializeAsString(), false);
}

void StreamFleet::OpenDownload(const std::string& token, const std::string& path,
                               int32_t chunk_size) {
  files::v1::DownloadRequest request;
  request.set_path(path);
  if (chunk_size > 0) request.set_chunk_size(chunk_size);
  Open(Kind::kDownload, "/files.v1.TransferService/Download", token, request.SerializeAsString(),
       true);
}

void StreamFleet::OpenReflection() {
  Open(Kind::kReflection, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "", "",
       false);
}

void StreamFleet::Poll() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_.Next(&tag, &ok)) {
    auto* op = static_cast<Op*>(tag);
    Advance(op->stream, op->step, ok);
  }
}

void StreamFleet::Advance(Stream* s, int step, bool ok) {
  auto finish = [&] { s->call->Finish(&s->status, &s->ops[kFinished]); };
  auto mark_sent = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    ++sent_;
    cv_.notify_all();
  };
  // What a stuck client does once its request is out: an upload waits for an
  // answer that its silence never earns; a download never asks for data.
  auto after_sent = [&] {
    mark_sent();
    if (s->kind == Kind::kUpload) {
      s->call->Read(&s->in, &s->ops[kRead]);
    } else {
      finish();
    }
  };
  switch (step) {
    case kStarted:
      if (!ok) return finish();
      if (s->request.empty()) return after_sent();
      {
        grpc::Slice slice(s->request);
        s->out = grpc::ByteBuffer(&slice, 1);
      }
      s->call->Write(s->out, &s->ops[kWritten]);
      return;
    case kWritten:
      if (!ok) return finish();
      if (s->writes_done) return s->call->WritesDone(&s->ops[kWritesDone]);
      return after_sent();
    case kWritesDone:
      if (!ok) return finish();
      return after_sent();
    case kRead:
      return finish();
    case kFinished: {
      std::lock_guard<std::mutex> lock(mu_);
      ended_.push_back(Ended{s->kind, s->status, absl::Now() - s->start});
      cv_.notify_all();
      return;
    }
    default:
      return;
  }
}

int StreamFleet::opened() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(streams_.size());
}

int StreamFleet::WaitSent(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, After(timeout), [this] {
    return sent_ + static_cast<int>(ended_.size()) >= static_cast<int>(streams_.size());
  });
  return sent_;
}

int StreamFleet::WaitEnded(int count, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, After(timeout),
                 [this, count] { return static_cast<int>(ended_.size()) >= count; });
  return static_cast<int>(ended_.size());
}

std::vector<StreamFleet::Ended> StreamFleet::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_;
}

void StreamFleet::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : streams_) s->ctx.TryCancel();
}

// ---- pre-authentication flood ----

void PreAuthFlood(Stack& stack, int calls, int64_t min_bytes, int64_t max_bytes, int connections,
                  std::map<int, int>* codes) {
  // One buffer shared by every call (sub-slices hold references): the
  // attacker's own memory stays at max_bytes.
  grpc::Slice big(std::string(static_cast<size_t>(max_bytes), 'A'));
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < std::max(1, connections); ++i) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(stack.NewChannel()));
  }
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request, response;
  };
  std::vector<std::unique_ptr<Call>> all;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = 0; i < calls; ++i) {
    const int64_t size =
        calls > 1 ? min_bytes + (max_bytes - min_bytes) * i / (calls - 1) : max_bytes;
    auto call = std::make_unique<Call>();
    call->ctx.set_deadline(After(absl::Seconds(60)));
    grpc::Slice part = big.sub(0, static_cast<size_t>(size));
    call->request = grpc::ByteBuffer(&part, 1);
    stubs[i % stubs.size()]->UnaryCall(&call->ctx, "/files.v1.UserService/CreateUser",
                                       grpc::StubOptions(), &call->request, &call->response,
                                       [&, codes](grpc::Status s) {
                                         std::lock_guard<std::mutex> lock(mu);
                                         ++(*codes)[static_cast<int>(s.error_code())];
                                         ++done;
                                         cv.notify_all();
                                       });
    all.push_back(std::move(call));
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == calls; });
}

// ---- measurements over time ----

int PeakThreads(pid_t pid, absl::Duration duration) {
  int peak = Threads(pid);
  const absl::Time end = absl::Now() + duration;
  while (absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(50));  // sampling interval, not a wait for readiness
    peak = std::max(peak, Threads(pid));
  }
  return peak;
}

double WaitRssAtMost(pid_t pid, double target_mib, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  double rss = RssMiB(pid);
  while (rss > target_mib && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(100));  // polling interval
    rss = RssMiB(pid);
  }
  return rss;
}

}  // namespace filesgw::isolation
