// Runs tests/clients/scenario.json with the C++ client against files-emulator
// and files-gateway started from the build tree: one test per case
// (Scenario.<case>), registered from the file at start-up, see
// tests/clients/README.md for the format. Each test process starts the
// emulator and only the gateways its case uses. ReadmeExample runs the
// README's example program against a gateway.
//
//   ctest --test-dir build -R cpp_client.Scenario.user_crud
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "clients/cpp/client.h"
#include "clients/cpp/tests/process.h"
#include "gtest/gtest.h"
#include "httplib.h"

#if !defined(FILESGW_SCENARIO_PATH) || !defined(FILESGW_BINARY_DIR_DEFAULT)
#error "tests/CMakeLists.txt defines where the scenario and the build tree are"
#endif

namespace filesgw::client {
namespace {

using testing::Process;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RandomHex(int bytes) {
  static std::mt19937_64 gen(std::random_device{}());
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::string out;
  const char* digits = "0123456789abcdef";
  for (int i = 0; i < bytes * 2; ++i) out += digits[gen() % 16];
  return out;
}

std::string RandomBytes(std::size_t n) {
  static std::mt19937_64 gen(std::random_device{}());
  std::string out(n, '\0');
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t r = gen();
    std::memcpy(&out[i], &r, 8);
  }
  for (std::size_t i = n - n % 8; i < n; ++i) out[i] = static_cast<char>(gen());
  return out;
}

// An environment variable, else the build's default.
std::string Setting(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

const Value& Field(const Value& object, const std::string& key) {
  static const Value null;
  if (!object.is_object()) return null;
  auto it = object.as_object().find(key);
  return it == object.as_object().end() ? null : it->second;
}

std::string Str(const Value& step, const std::string& key) {
  const Value& v = Field(step, key);
  return v.is_string() ? v.as_string() : "";
}

// --- the servers ------------------------------------------------------------

const Value& Scenario() {
  static const Value* scenario = new Value(Value::FromJson(ReadText(FILESGW_SCENARIO_PATH)));
  return *scenario;
}

// The emulator and the gateways of this process, started on first use.
class Servers {
 public:
  static Servers& Get() {
    static Servers* servers = new Servers;
    return *servers;
  }

  const std::string& run() const { return run_; }
  const std::string& key() const { return key_; }  // the emulator's API key

  std::string BaseUrl() {
    std::lock_guard<std::mutex> lock(mu_);
    StartEmulator();
    return base_url_;
  }

  // A client of gateway `name` (scenario "gateways"). Gateways other than
  // "default" exist for cases that disturb gateway-wide state (a 429 pause),
  // so each case (`owner`) gets its own.
  Client& ClientFor(const std::string& name, const std::string& owner) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = name == "default" ? name : name + "@" + owner;
    auto it = clients_.find(key);
    if (it != clients_.end()) return *it->second;
    const Value& spec = Field(Field(Scenario(), "gateways"), name);
    if (!spec.is_object()) throw std::runtime_error("no gateway " + name + " in the scenario");
    ConnectOptions o;
    o.timeout = std::chrono::seconds(60);
    if (Field(spec, "unreachable") == Value(true)) {
      o.target = UnusedLoopbackTarget();
    } else {
      StartEmulator();
      std::string api_key = Field(spec, "api_key") == Value("valid") ? key_ : "not-" + key_;
      auto gateway = Process::Start(
          Bin("server/files-gateway"),
          {"--listen", "127.0.0.1:0", "--base-url", base_url_, "--max-retries", "0",
           "--metrics-listen", "off", "--drain-timeout", "1s"},
          {"FILES_API_KEY=" + api_key},
          [](const Value& line) { return Field(line, "msg") == Value("listening"); });
      const Value& port = Field(gateway->ready_line(), "port");
      if (!port.is_int()) throw std::runtime_error("files-gateway said no port");
      o.target = "127.0.0.1:" + std::to_string(port.as_int());
      processes_.push_back(std::move(gateway));
    }
    auto client = std::make_unique<Client>(o);
    return *clients_.emplace(key, std::move(client)).first->second;
  }

  std::string Logs() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& p : processes_) out += "--- server output\n" + p->Tail(20);
    return out;
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    clients_.clear();
    processes_.clear();  // gateways last in, first out; then the emulator
  }

 private:
  Servers() : run_("cpp" + RandomHex(4)), key_("cpp-scenario-" + RandomHex(4)) {}

  static std::string Bin(const std::string& relative) {
    return Setting("FILESGW_BINARY_DIR", FILESGW_BINARY_DIR_DEFAULT) + "/" + relative;
  }

  // A loopback address where nothing listens (the port was free a moment ago).
  static std::string UnusedLoopbackTarget() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot find a free loopback port");
    }
    close(fd);
    return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }

  void StartEmulator() {
    if (!base_url_.empty()) return;
    auto emulator = Process::Start(Bin("emulator/files-emulator"),
                                   {"--listen", "127.0.0.1:0", "--api-key", key_}, {},
                                   [](const Value& line) { return Field(line, "base_url").is_string(); });
    base_url_ = Field(emulator->ready_line(), "base_url").as_string();
    processes_.push_back(std::move(emulator));
  }

  std::mutex mu_;
  std::string run_;
  std::string key_;
  std::string base_url_;
  std::vector<std::unique_ptr<Process>> processes_;
  std::map<std::string, std::unique_ptr<Client>> clients_;
};

class StopServers : public ::testing::Environment {
 public:
  void TearDown() override { Servers::Get().Stop(); }
};

// --- one case ---------------------------------------------------------------

// What a step produced, for the expectations.
struct Result {
  Model model;
  bool none = false;
  bool list = false;
  std::vector<Params> items;
  int64_t count = 0, pages = 0, first_page = 0;
  std::vector<std::string> names;
  std::optional<std::string> data;
  std::optional<std::string> text;
  int64_t bytes_received = 0;
  std::vector<std::pair<int64_t, int64_t>> progress;  // (transferred, total) reports
  std::optional<int64_t> persisted_size;
};

struct Abandon {};  // ends an open_write block "by an exception"

class CaseRun {
 public:
  explicit CaseRun(const Value& c) : case_(c) { vars_["run"] = Servers::Get().run(); }
  ~CaseRun() {
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  void Run();

 private:
  Value Sub(const Value& v, const Params& extra = {}) const;
  Client& ClientOf(const Value& step);
  std::string Local(const std::string& data);
  const std::string& Content(const Value& spec);
  std::vector<Value> Args(const Value& step, const Params& extra = {}) const;
  Params ParamsOf(const Value& step, const Params& extra = {}) const;

  Result Call(const Value& step);
  Result CreateMany(const Value& step);
  Result List(const Value& step);
  Result UploadFile(const Value& step);
  Result ResumableUpload(const Value& step);
  Result ResumableCancel(const Value& step);
  Result DownloadFile(const Value& step);
  Result OpenWrite(const Value& step);
  Result OpenRead(const Value& step);
  Result ListFor(const Value& step);
  Result DownloadCancel(const Value& step, const Value& expect);
  Result InjectFault(const Value& step);

  void Check(const std::string& where, const Result& r, const Value& expect);
  void CheckError(const std::string& where, const Error& e, const Value& want);

  const Value& case_;
  Params vars_;
  std::map<std::string, std::string> contents_;
  std::filesystem::path tmp_ = std::filesystem::temp_directory_path() / ("cpp-scenario-" + RandomHex(6));
};

Value CaseRun::Sub(const Value& v, const Params& extra) const {
  auto lookup = [&](const std::string& name) -> Value {
    if (auto it = extra.find(name); it != extra.end()) return it->second;
    if (auto it = vars_.find(name); it != vars_.end()) return it->second;
    throw std::runtime_error("no value saved as ${" + name + "}");
  };
  if (v.is_string()) {
    const std::string& s = v.as_string();
    if (s.size() > 3 && s.rfind("${", 0) == 0 && s.back() == '}' && s.find("${", 2) == std::string::npos) {
      return lookup(s.substr(2, s.size() - 3));  // keeps the saved value's type
    }
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      std::size_t open = s.find("${", i);
      std::size_t close = open == std::string::npos ? open : s.find('}', open);
      if (close == std::string::npos) {
        out += s.substr(i);
        break;
      }
      out += s.substr(i, open - i);
      Value value = lookup(s.substr(open + 2, close - open - 2));
      out += value.is_string() ? value.as_string() : value.ToJson();
      i = close + 1;
    }
    return out;
  }
  if (v.is_array()) {
    Array out;
    for (const auto& item : v.as_array()) out.push_back(Sub(item, extra));
    return out;
  }
  if (v.is_object()) {
    Params out;
    for (const auto& [k, item] : v.as_object()) out[k] = Sub(item, extra);
    return out;
  }
  return v;
}

Client& CaseRun::ClientOf(const Value& step) {
  std::string gateway = Str(step, "gateway");
  return Servers::Get().ClientFor(gateway.empty() ? "default" : gateway, Str(case_, "name"));
}

std::string CaseRun::Local(const std::string& data) {
  std::filesystem::create_directories(tmp_);
  std::string path = (tmp_ / ("local-" + RandomHex(6))).string();
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

const std::string& CaseRun::Content(const Value& spec) {
  std::string name = Str(spec, "name");
  contents_[name] = RandomBytes(static_cast<std::size_t>(Field(spec, "random_bytes").as_int()));
  return contents_[name];
}

std::vector<Value> CaseRun::Args(const Value& step, const Params& extra) const {
  Value args = Sub(Field(step, "args"), extra);
  return args.is_array() ? args.as_array() : std::vector<Value>{};
}

Params CaseRun::ParamsOf(const Value& step, const Params& extra) const {
  Value params = Sub(Field(step, "params"), extra);
  return params.is_object() ? params.as_object() : Params{};
}

Result CaseRun::Call(const Value& step) {
  Resource resource = ClientOf(step)[Str(step, "resource")];
  std::string action = Str(step, "action");
  const Method* m = resource.method(action);
  if (m == nullptr) throw std::runtime_error(resource.name() + " has no action " + action);
  CallOptions options;
  if (const Value& t = Field(step, "timeout"); t.is_number()) {
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(t.as_double() * 1000));
  }
  if (const Value& o = Field(step, "options"); o.is_object()) {
    for (const auto& [key, value] : o.as_object()) {
      if (key == "workspace_id") options.workspace_id = value.as_int();
      else if (key == "language") options.language = value.as_string();
      else throw std::runtime_error("unknown call option " + key);
    }
  }
  Result r;
  if (m->paginated) {
    ListObj list = resource.ListAction(action, Args(step), ParamsOf(step), options);
    r.list = true;
    for (const auto& item : list.Page()) r.items.push_back(item.ToMap());
    r.count = r.first_page = static_cast<int64_t>(r.items.size());
    r.pages = 1;
    return r;
  }
  r.model = resource.Call(action, Args(step), ParamsOf(step), options);
  r.none = !r.model.valid();
  return r;
}

Result CaseRun::CreateMany(const Value& step) {
  Resource resource = ClientOf(step)[Str(step, "resource")];
  std::string action = Str(step, "action").empty() ? "create" : Str(step, "action");
  const int64_t count = Field(step, "count").as_int();
  const Value& p = Field(step, "parallel");
  const int parallel = p.is_int() ? static_cast<int>(std::max<int64_t>(1, p.as_int())) : 1;
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::exception_ptr first;
  std::vector<std::thread> workers;
  for (int w = 0; w < parallel; ++w) {
    workers.emplace_back([&] {
      for (int64_t i = next++; i < count; i = next++) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (first) return;
        }
        try {
          Params extra{{"i", i}};
          resource.Call(action, Args(step, extra), ParamsOf(step, extra));
        } catch (const Error&) {
          std::lock_guard<std::mutex> lock(mu);
          if (!first) first = std::current_exception();
          return;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  if (first) std::rethrow_exception(first);
  Result r;
  r.list = true;
  r.count = count;
  return r;
}

Result CaseRun::List(const Value& step) {
  Resource resource = ClientOf(step)[Str(step, "resource")];
  std::string action = Str(step, "action").empty() ? "list" : Str(step, "action");
  Result r;
  r.list = true;
  for (const Model& item : resource.ListAction(action, Args(step), ParamsOf(step)).AutoPagingIter()) {
    r.items.push_back(item.ToMap());
  }
  r.count = static_cast<int64_t>(r.items.size());
  // The same list paged by hand.
  ListObj pages = resource.ListAction(action, Args(step), ParamsOf(step));
  r.first_page = static_cast<int64_t>(pages.Page().size());
  r.pages = 1;
  int64_t manual = r.first_page;
  while (pages.HasNextPage()) {
    pages.LoadNextPage();
    ++r.pages;
    manual += static_cast<int64_t>(pages.Page().size());
  }
  EXPECT_EQ(manual, r.count) << "manual paging and auto paging saw different item counts";
  return r;
}

// With "progress": true, the reports of a transfer go to r.progress.
TransferOptions ProgressOptions(const Value& step, Result* r) {
  TransferOptions options;
  if (Field(step, "progress") == Value(true)) {
    options.progress = [r](int64_t done, int64_t total) { r->progress.emplace_back(done, total); };
  }
  return options;
}

Result CaseRun::UploadFile(const Value& step) {
  std::string local = Local(Content(Field(step, "content")));
  Result r;
  r.model = ClientOf(step).UploadFile(local, Sub(Field(step, "remote")).as_string(),
                                      Field(step, "mkdir_parents") == Value(true),
                                      ProgressOptions(step, &r));
  std::filesystem::remove(local);
  return r;
}

Result CaseRun::ResumableUpload(const Value& step) {
  Client& client = ClientOf(step);
  const std::string& data = Content(Field(step, "content"));
  const auto first = static_cast<std::size_t>(Field(step, "first_bytes").as_int());
  TransferOptions start;
  start.mkdir_parents = Field(step, "mkdir_parents") == Value(true);
  start.expected_size = static_cast<int64_t>(data.size());
  const std::string id = client.StartResumableUpload(Sub(Field(step, "remote")).as_string(), start);
  std::istringstream head(data.substr(0, first));
  UploadStatus stopped = client.ResumeUpload(id, head, /*finish=*/false);
  UploadStatus queried = client.QueryUploadStatus(id);
  EXPECT_FALSE(queried.complete) << "a resumable upload not finished is not complete";
  EXPECT_EQ(queried.persisted_size, stopped.persisted_size)
      << "the query and the stream that stopped disagree on the persisted size";
  // Resumed from the upload id alone: ResumeUpload seeks to the persisted size.
  Result r;
  TransferOptions resume = ProgressOptions(step, &r);
  std::istringstream whole(data);
  UploadStatus done = client.ResumeUpload(id, whole, /*finish=*/true, resume);
  EXPECT_TRUE(done.complete);
  r.model = done.file;
  r.persisted_size = stopped.persisted_size;
  return r;
}

Result CaseRun::ResumableCancel(const Value& step) {
  Client& client = ClientOf(step);
  const std::string id = client.StartResumableUpload(Sub(Field(step, "remote")).as_string());
  std::istringstream in(Content(Field(step, "content")));
  client.ResumeUpload(id, in, /*finish=*/false);
  client.CancelResumableUpload(id);
  client.QueryUploadStatus(id);  // expected to throw
  return Result{};
}

Result CaseRun::DownloadFile(const Value& step) {
  std::filesystem::create_directories(tmp_);
  std::string local = (tmp_ / ("download-" + RandomHex(6))).string();
  Result r;
  r.model = ClientOf(step).DownloadFile(Sub(Field(step, "remote")).as_string(), local,
                                        ProgressOptions(step, &r));
  r.data = ReadText(local);
  std::filesystem::remove(local);
  return r;
}

Result CaseRun::OpenWrite(const Value& step) {
  Client& client = ClientOf(step);
  const std::string mode = Str(step, "mode");
  std::vector<std::string> pieces;
  if (mode == "w") {
    const Value text = Sub(Field(step, "text"));
    for (const auto& piece : text.as_array()) pieces.push_back(piece.as_string());
  } else {
    const std::string& data = Content(Field(step, "content"));
    const Array& sizes = Field(step, "write_sizes").as_array();
    for (std::size_t pos = 0, i = 0; pos < data.size(); ++i) {
      auto n = static_cast<std::size_t>(sizes[i % sizes.size()].as_int());
      pieces.push_back(data.substr(pos, n));
      pos += pieces.back().size();
    }
  }
  TransferOptions options;
  options.mkdir_parents = Field(step, "mkdir_parents") == Value(true);
  const std::string remote = Sub(Field(step, "remote")).as_string();
  Result r;
  if (Field(step, "abort") == Value(true)) {
    // The idiom: a RemoteFile left by an exception before Close commits nothing.
    try {
      RemoteFile f = client.Open(remote, mode, options);
      for (const auto& p : pieces) f.Write(p);
      throw Abandon{};
    } catch (const Abandon&) {
      r.none = true;
    }
    return r;
  }
  RemoteFile f = client.Open(remote, mode, options);
  for (const auto& p : pieces) f.Write(p);
  f.Close();
  r.model = f.metadata();
  return r;
}

Result CaseRun::OpenRead(const Value& step) {
  RemoteFile f = ClientOf(step).Open(Sub(Field(step, "remote")).as_string(), Str(step, "mode"));
  Result r;
  (Str(step, "mode") == "r" ? r.text : r.data) = f.ReadAll();
  return r;
}

Result CaseRun::ListFor(const Value& step) {
  Result r;
  r.list = true;
  for (const Model& entry : ClientOf(step).ListFor(Sub(Field(step, "path")).as_string())) {
    r.names.push_back(entry.GetString("display_name"));
  }
  r.count = static_cast<int64_t>(r.names.size());
  return r;
}

Result CaseRun::DownloadCancel(const Value& step, const Value& expect) {
  RemoteFile f = ClientOf(step).Open(Sub(Field(step, "remote")).as_string(), "rb");
  auto n = static_cast<std::size_t>(Field(step, "read_bytes").as_int());
  std::string head = f.Read(n);
  if (head.size() != n) throw std::runtime_error("read " + std::to_string(head.size()) + " bytes before cancelling");
  f.Cancel();
  try {
    f.ReadAll();
  } catch (const Error&) {
    // Checked here because the read is expected to fail.
    const Value& max = Field(expect, "max_bytes_received");
    if (max.is_int()) {
      EXPECT_LT(f.bytes_transferred(), max.as_int()) << "bytes received after cancelling";
    }
    throw;
  }
  Result r;
  r.bytes_received = f.bytes_transferred();
  return r;
}

Result CaseRun::InjectFault(const Value& step) {
  std::string base = Servers::Get().BaseUrl();
  httplib::Client http(base);
  http.set_read_timeout(10, 0);
  // The emulator's control endpoints take its API key.
  auto res = http.Post("/__emulator/faults", {{"X-FilesAPI-Key", Servers::Get().key()}},
                       Sub(Field(step, "rule")).ToJson(), "application/json");
  if (!res || res->status / 100 != 2) {
    throw std::runtime_error("POST /__emulator/faults failed: " +
                             (res ? std::to_string(res->status) + " " + res->body : std::string("no answer")));
  }
  return Result{};
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT",  "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",      "UNIMPLEMENTED",    "INTERNAL",          "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  auto i = static_cast<std::size_t>(code);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "?";
}

// Whether the exception, rethrown, is caught as the C++ class `name` (the
// classes the scenario names as ancestors; others are checked through IsA).
std::optional<bool> CaughtAs(const std::exception_ptr& e, const std::string& name) {
  static const std::map<std::string, std::function<bool(const std::exception_ptr&)>> kCatchers = [] {
    std::map<std::string, std::function<bool(const std::exception_ptr&)>> m;
#define FILESGW_CATCHER(cls)                                  \
  m[#cls] = [](const std::exception_ptr& ex) {                \
    try {                                                     \
      std::rethrow_exception(ex);                             \
    } catch (const cls&) {                                    \
      return true;                                            \
    } catch (const std::exception&) {                         \
      return false;                                           \
    }                                                         \
  };
    FILESGW_CATCHER(Error)
    FILESGW_CATCHER(APIError)
    FILESGW_CATCHER(APIConnectionError)
    FILESGW_CATCHER(BadRequestError)
    FILESGW_CATCHER(NotAuthenticatedError)
    FILESGW_CATCHER(NotAuthorizedError)
    FILESGW_CATCHER(NotFoundError)
    FILESGW_CATCHER(ProcessingFailureError)
    FILESGW_CATCHER(RateLimitedError)
    FILESGW_CATCHER(ServiceUnavailableError)
    FILESGW_CATCHER(SiteConfigurationError)
#undef FILESGW_CATCHER
    return m;
  }();
  auto it = kCatchers.find(name);
  if (it == kCatchers.end()) return std::nullopt;
  return it->second(e);
}

void CaseRun::CheckError(const std::string& where, const Error& e, const Value& want) {
  std::string at = where + ": " + e.what();
  if (const Value& cls = Field(want, "class"); cls.is_string()) {
    EXPECT_EQ(e.class_name(), cls.as_string()) << at;
  }
  for (const auto& ancestor : Field(want, "is_a").is_array() ? Field(want, "is_a").as_array() : Array{}) {
    EXPECT_TRUE(e.IsA(ancestor.as_string())) << at << " is not a " << ancestor.as_string();
  }
  if (const Value& type = Field(want, "type"); type.is_string()) {
    EXPECT_EQ(e.type(), type.as_string()) << at;
  }
  if (const Value& prefix = Field(want, "type_prefix"); prefix.is_string()) {
    EXPECT_EQ(e.type().rfind(prefix.as_string(), 0), 0u) << at;
  }
  if (const Value& code = Field(want, "grpc_code"); code.is_string()) {
    EXPECT_EQ(e.code() == grpc::StatusCode::OK ? "" : CodeName(e.code()), code.as_string()) << at;
  }
  if (const Value& status = Field(want, "http_status"); status.is_int()) {
    EXPECT_EQ(e.http_status(), status.as_int()) << at;
  }
  if (const Value& title = Field(want, "title"); title.is_string()) {
    EXPECT_EQ(e.title(), title.as_string()) << at;
  }
  if (const Value& text = Field(want, "message_contains"); text.is_string()) {
    std::string message = e.message(), needle = text.as_string();
    for (auto* s : {&message, &needle}) {
      std::transform(s->begin(), s->end(), s->begin(), [](unsigned char c) { return std::tolower(c); });
    }
    EXPECT_NE(message.find(needle), std::string::npos) << at;
  }
  if (const Value& min = Field(want, "retry_delay_min"); min.is_number()) {
    EXPECT_GE(std::chrono::duration<double>(e.retry_delay()).count(), min.as_double()) << at;
    EXPECT_GT(e.retry_delay().count(), 0) << at;
  }
}

void CaseRun::Check(const std::string& where, const Result& r, const Value& expect) {
  if (Field(expect, "none") == Value(true)) {
    EXPECT_TRUE(r.none) << where << ": expected nothing";
  }
  if (const Value& fields = Field(expect, "fields"); fields.is_object()) {
    ASSERT_TRUE(r.model.valid()) << where << ": expected a model with " << fields.ToJson();
    Params got = r.model.ToMap();
    for (const auto& [key, want] : fields.as_object()) {
      auto it = got.find(key);
      EXPECT_TRUE(it != got.end() && it->second == want)
          << where << ": field " << key << " is " << (it == got.end() ? "absent" : it->second.ToJson())
          << ", want " << want.ToJson() << " (model " << r.model.ToJson() << ")";
    }
  }
  if (const Value& name = Field(expect, "same_as"); name.is_string()) {
    ASSERT_TRUE(r.data.has_value()) << where << ": no bytes read";
    const std::string& want = contents_[name.as_string()];
    EXPECT_EQ(r.data->size(), want.size()) << where;
    EXPECT_TRUE(*r.data == want) << where << ": content differs";
  }
  if (const Value& text = Field(expect, "text"); text.is_string()) {
    EXPECT_EQ(r.text.value_or("<none>"), text.as_string()) << where;
  }
  if (const Value& names = Field(expect, "names"); names.is_array()) {
    std::vector<std::string> want, got = r.names;
    for (const auto& n : names.as_array()) want.push_back(n.as_string());
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << where;
  }
  for (const auto& [key, got] : std::map<std::string, int64_t>{
           {"count", r.count}, {"pages", r.pages}, {"first_page_count", r.first_page}}) {
    if (const Value& want = Field(expect, key); want.is_int()) {
      EXPECT_TRUE(r.list) << where << ": " << key << " expected of a list";
      EXPECT_EQ(got, want.as_int()) << where << ": " << key;
    }
  }
  if (const Value& field = Field(expect, "sorted_by"); field.is_string()) {
    for (std::size_t i = 1; i < r.items.size(); ++i) {
      const Value& a = r.items[i - 1].count(field.as_string()) ? r.items[i - 1].at(field.as_string()) : Value();
      const Value& b = r.items[i].count(field.as_string()) ? r.items[i].at(field.as_string()) : Value();
      bool ordered = a.is_string() && b.is_string() ? a.as_string() <= b.as_string()
                                                    : a.is_number() && b.is_number() && a.as_double() <= b.as_double();
      if (!ordered) {
        ADD_FAILURE() << where << ": not sorted by " << field.as_string() << ": " << a.ToJson()
                      << " before " << b.ToJson();
        break;
      }
    }
  }
  if (const Value& field = Field(expect, "unique"); field.is_string()) {
    std::set<std::string> seen;
    for (const auto& item : r.items) {
      auto it = item.find(field.as_string());
      std::string key = it == item.end() ? "null" : it->second.ToJson();
      if (!seen.insert(key).second) {
        ADD_FAILURE() << where << ": " << field.as_string() << " " << key << " repeats";
        break;
      }
    }
  }
  if (const Value& max = Field(expect, "max_bytes_received"); max.is_int() && r.bytes_received > 0) {
    EXPECT_LT(r.bytes_received, max.as_int()) << where;
  }
  if (const Value& want = Field(expect, "persisted_size"); want.is_int()) {
    EXPECT_EQ(r.persisted_size.value_or(-1), want.as_int()) << where << ": persisted size";
  }
  if (const Value& min = Field(expect, "progress_calls_min"); min.is_int()) {
    EXPECT_GE(static_cast<int64_t>(r.progress.size()), min.as_int()) << where << ": progress reports";
  }
  if (const Value& last = Field(expect, "progress_final"); last.is_int()) {
    ASSERT_FALSE(r.progress.empty()) << where << ": no progress reported";
    for (std::size_t i = 1; i < r.progress.size(); ++i) {
      EXPECT_GE(r.progress[i].first, r.progress[i - 1].first) << where << ": progress went back";
    }
    EXPECT_EQ(r.progress.back().first, last.as_int()) << where << ": last progress report";
    if (r.progress.back().second >= 0) {
      EXPECT_EQ(r.progress.back().second, last.as_int()) << where << ": progress total";
    }
  }
}

void CaseRun::Run() {
  const Array& steps = Field(case_, "steps").as_array();
  for (std::size_t n = 0; n < steps.size(); ++n) {
    const Value& step = steps[n];
    const std::string op = Str(step, "op");
    const std::string where = "step " + std::to_string(n) + " (" + op + ")";
    Value expect = Sub(Field(step, "expect"));
    const Value& want_error = Field(expect, "error");
    Result r;
    try {
      if (op == "call") r = Call(step);
      else if (op == "create_many") r = CreateMany(step);
      else if (op == "list") r = List(step);
      else if (op == "upload_file") r = UploadFile(step);
      else if (op == "resumable_upload") r = ResumableUpload(step);
      else if (op == "resumable_cancel") r = ResumableCancel(step);
      else if (op == "download_file") r = DownloadFile(step);
      else if (op == "open_write") r = OpenWrite(step);
      else if (op == "open_read") r = OpenRead(step);
      else if (op == "list_for") r = ListFor(step);
      else if (op == "download_cancel") r = DownloadCancel(step, expect);
      else if (op == "inject_fault") r = InjectFault(step);
      else FAIL() << where << ": unknown op";
    } catch (const Error& e) {
      if (!want_error.is_object()) {
        FAIL() << where << " failed: " << e.what() << "\n" << Servers::Get().Logs();
      }
      CheckError(where, e, want_error);
      // The C++ type itself, caught as each named ancestor.
      std::exception_ptr thrown = std::current_exception();
      const Value& is_a = Field(want_error, "is_a");
      for (const auto& ancestor : is_a.is_array() ? is_a.as_array() : Array{}) {
        std::optional<bool> caught = CaughtAs(thrown, ancestor.as_string());
        if (caught) {
          EXPECT_TRUE(*caught) << where << ": not caught as " << ancestor.as_string();
        }
      }
      continue;
    }
    if (want_error.is_object()) FAIL() << where << ": expected " << want_error.ToJson() << ", got success";
    Check(where, r, expect);
    if (::testing::Test::HasFatalFailure()) return;
    if (const Value& save = Field(step, "save"); save.is_object()) {
      ASSERT_TRUE(r.model.valid()) << where << ": nothing to save from";
      Params got = r.model.ToMap();
      for (const auto& [name, field] : save.as_object()) vars_[name] = got[field.as_string()];
    }
  }
}

class ScenarioCase : public ::testing::Test {
 public:
  explicit ScenarioCase(const Value* c) : case_(c) {}
  void TestBody() override {
    if (const Value& d = Field(*case_, "description"); d.is_string()) RecordProperty("description", d.as_string());
    CaseRun(*case_).Run();
  }

 private:
  const Value* case_;
};

// --- the README's example ----------------------------------------------------

TEST(ReadmeExample, IsTheExampleProgramAndRunsAgainstAGateway) {
  const std::string source = Setting("FILESGW_SOURCE_DIR", FILESGW_SOURCE_DIR_DEFAULT);
  const std::string example = Setting("FILESGW_CPP_EXAMPLE", FILESGW_CPP_EXAMPLE_DEFAULT);
  std::string readme = ReadText(source + "/clients/cpp/README.md");
  std::string code = ReadText(source + "/clients/cpp/example/example.cc");
  auto start = readme.find("```cpp\n// The C++ client of files-gateway");
  ASSERT_NE(start, std::string::npos) << "the README has no example block";
  start += 7;
  auto end = readme.find("```\n", start);
  EXPECT_EQ(readme.substr(start, end - start), code) << "README.md and example/example.cc differ";

  Client& client = Servers::Get().ClientFor("default", "");
  std::string out;
  int status = Process::Run(example, {client.target()}, &out);
  ASSERT_EQ(status, 0) << out;
  for (const char* want : {"updated: example-", " Example User\n", "user: ",
                           "after delete: UserNotFoundError not-found/user-not-found",
                           "read back: hello from C++\n", "entry: copy.txt 15\n", "entry: hello.txt 15\n"}) {
    EXPECT_NE(out.find(want), std::string::npos) << "the example's output lacks \"" << want << "\":\n" << out;
  }
}

// A typo in the shared file must fail loudly, not pass as an ignored key.
TEST(ScenarioFile, UsesOnlyKnownOpsAndExpectations) {
  const std::set<std::string> ops = {"call", "create_many", "list", "upload_file", "download_file",
                                     "open_write", "open_read", "list_for", "download_cancel", "inject_fault",
                                     "resumable_upload", "resumable_cancel"};
  const std::set<std::string> expects = {"fields", "none", "count", "pages", "first_page_count", "sorted_by",
                                         "unique", "names", "same_as", "text", "max_bytes_received", "error",
                                         "persisted_size", "progress_final", "progress_calls_min"};
  const std::set<std::string> errors = {"class", "is_a", "type", "type_prefix", "grpc_code", "http_status",
                                        "title", "message_contains", "retry_delay_min"};
  EXPECT_EQ(Field(Scenario(), "format"), Value("files-gateway-client-scenario/1"));
  std::set<std::string> names;
  for (const auto& c : Field(Scenario(), "cases").as_array()) {
    std::string name = Str(c, "name");
    EXPECT_TRUE(names.insert(name).second) << name << " appears twice";
    for (const auto& step : Field(c, "steps").as_array()) {
      EXPECT_TRUE(ops.count(Str(step, "op"))) << name << ": op " << Str(step, "op");
      if (std::string gw = Str(step, "gateway"); !gw.empty()) {
        EXPECT_TRUE(Field(Field(Scenario(), "gateways"), gw).is_object()) << name << ": gateway " << gw;
      }
      const Value& expect = Field(step, "expect");
      for (const auto& [k, v] : expect.is_object() ? expect.as_object() : Params{}) {
        EXPECT_TRUE(expects.count(k)) << name << ": expectation " << k;
      }
      const Value& error = Field(expect, "error");
      for (const auto& [k, v] : error.is_object() ? error.as_object() : Params{}) {
        EXPECT_TRUE(errors.count(k)) << name << ": error expectation " << k;
      }
    }
  }
}

}  // namespace
}  // namespace filesgw::client

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  using filesgw::client::Value;
  for (const Value& c : filesgw::client::Field(filesgw::client::Scenario(), "cases").as_array()) {
    const Value* case_ptr = &c;
    ::testing::RegisterTest("Scenario", filesgw::client::Str(c, "name").c_str(), nullptr, nullptr,
                            __FILE__, __LINE__, [case_ptr]() -> ::testing::Test* {
                              return new filesgw::client::ScenarioCase(case_ptr);
                            });
  }
  ::testing::AddGlobalTestEnvironment(new filesgw::client::StopServers);
  return RUN_ALL_TESTS();
}
