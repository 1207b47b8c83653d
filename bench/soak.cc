// Soak: files-gateway and files-emulator as separate processes, mixed load for
// a bounded time (unary calls across users, groups and folders with list
// paging; uploads, downloads and deletes through TransferService), the
// gateway's RSS, open file descriptors and threads sampled every second.
// Prints a table and a verdict; exits 1 when RSS grew 5 % or more after the
// warm-up, when descriptors or threads kept climbing, or when a call failed.
//
//   build/bench/soak [--build DIR] [--duration SECONDS] [--warmup SECONDS]
//                    [--workers N] [--ops-per-second R] [--print-every SECONDS]
//                    [--csv FILE]
//
// Defaults: 600 s, warm-up 60 s (a tenth of the run, at least 15 s), 4 workers,
// unpaced. CTest runs a 60 s variant (soak_60s) paced at 40 operations/s.
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "client_core/checksum.h"
#include "files/v1/transfer.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "proto/api_pool.h"
#include "rapidjson/document.h"

namespace {

using filesgw::bench::Proc;

const std::string kKey = "soak-key";

struct Options {
  std::string build = "build";
  double duration = 600;
  double warmup = -1;  // -1: a tenth of the run, at least 15 s
  int workers = 4;
  double ops_per_second = 0;  // 0: as fast as the workers go
  double print_every = 10;
  std::string csv;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "%s\nusage: soak [--build DIR] [--duration S] [--warmup S] [--workers N]\n"
               "            [--ops-per-second R] [--print-every S] [--csv FILE]\n",
               why);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) Usage(("missing value for " + arg).c_str());
    std::string v = argv[++i];
    bool ok = true;
    if (arg == "--build") o.build = v;
    else if (arg == "--duration") ok = absl::SimpleAtod(v, &o.duration) && o.duration > 0;
    else if (arg == "--warmup") ok = absl::SimpleAtod(v, &o.warmup) && o.warmup >= 0;
    else if (arg == "--workers") ok = absl::SimpleAtoi(v, &o.workers) && o.workers > 0;
    else if (arg == "--ops-per-second") ok = absl::SimpleAtod(v, &o.ops_per_second) && o.ops_per_second >= 0;
    else if (arg == "--print-every") ok = absl::SimpleAtod(v, &o.print_every) && o.print_every > 0;
    else if (arg == "--csv") o.csv = v;
    else Usage(("unknown flag " + arg).c_str());
    if (!ok) Usage(("bad value for " + arg).c_str());
  }
  if (o.warmup < 0) o.warmup = std::max(15.0, o.duration / 10);
  if (o.warmup + 20 > o.duration) Usage("--duration must exceed the warm-up by at least 20 s");
  return o;
}

int OpenFds(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

// Reads a child's output so that it never blocks on a full pipe; keeps the
// last error-level line for the report.
class Drain {
 public:
  explicit Drain(FILE* f) : thread_([this, f] {
      char buf[8192];
      while (std::fgets(buf, sizeof buf, f) != nullptr) {
        std::lock_guard<std::mutex> lock(mu_);
        ++lines_;
        if (std::strstr(buf, "\"level\":\"error\"") != nullptr) last_error_ = buf;
      }
    }) {}
  // The child must have exited (its pipe at end of file).
  ~Drain() { thread_.join(); }
  std::string LastError() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  std::mutex mu_;
  int64_t lines_ = 0;
  std::string last_error_;
  std::thread thread_;
};

// Unary calls through the generic stub with requests built from the API's
// descriptors, as any dynamic client would.
class Unary {
 public:
  explicit Unary(std::shared_ptr<grpc::Channel> channel) : stub_(std::move(channel)) {}

  // On success fills *json with the response (proto JSON, original field names).
  grpc::Status Call(const std::string& method, const std::string& request_json, std::string* json) {
    auto slash = method.find('/');
    const auto* service = filesgw::proto::Api().pool->FindServiceByName(method.substr(0, slash));
    const auto* rpc = service == nullptr ? nullptr : service->FindMethodByName(method.substr(slash + 1));
    if (rpc == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "soak: no method " + method);
    std::unique_ptr<google::protobuf::Message> request(
        filesgw::proto::Prototype(rpc->input_type())->New());
    if (!google::protobuf::util::JsonStringToMessage(request_json, request.get()).ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "soak: bad request " + request_json);
    }
    std::string bytes = request->SerializeAsString();
    grpc::Slice slice(bytes);
    grpc::ByteBuffer req(&slice, 1), resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
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
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    if (!status.ok()) return status;
    std::unique_ptr<google::protobuf::Message> response(
        filesgw::proto::Prototype(rpc->output_type())->New());
    grpc::ProtoBufferReader reader(&resp);
    if (!response->ParseFromZeroCopyStream(&reader)) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "soak: unparseable response");
    }
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    json->clear();
    if (!google::protobuf::util::MessageToJsonString(*response, json, print).ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "soak: response not printable");
    }
    return grpc::Status::OK;
  }

 private:
  grpc::GenericStub stub_;
};

int64_t IdOf(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  if (!doc.IsObject() || !doc.HasMember("id")) return 0;
  const auto& id = doc["id"];
  if (id.IsInt64()) return id.GetInt64();
  int64_t n = 0;  // proto JSON prints int64 as a string
  if (id.IsString() && absl::SimpleAtoi(id.GetString(), &n)) return n;
  return 0;
}

struct Counters {
  std::atomic<int64_t> ops{0}, calls{0}, failed{0}, corrupt{0}, bytes_up{0}, bytes_down{0};
  std::mutex mu;
  std::string last_failure;

  void Fail(const std::string& what, const grpc::Status& s) {
    ++failed;
    std::lock_guard<std::mutex> lock(mu);
    last_failure = absl::StrCat(what, ": ", s.error_code(), " ", s.error_message());
  }
};

class Worker {
 public:
  Worker(int id, std::shared_ptr<grpc::Channel> channel, Counters* c)
      : id_(id), unary_(channel), transfer_(files::v1::TransferService::NewStub(channel)), c_(c),
        rng_(static_cast<uint32_t>(1000 + id)) {}

  // One operation set; each is self-contained and leaves nothing behind.
  void RunOne(int64_t n) {
    switch (n % 5) {
      case 0: UserLifecycle(n); break;
      case 1: ListPages("files.v1.UserService/ListUsers", ""); break;
      case 2: GroupLifecycle(n); break;
      case 3: ListPages("files.v1.FolderService/ListForFolder", R"(,"path":"demo")"); break;
      default: FileRoundTrip(n); break;
    }
    ++c_->ops;
  }

 private:
  bool Ok(const std::string& what, const grpc::Status& s) {
    ++c_->calls;
    if (!s.ok()) c_->Fail(what, s);
    return s.ok();
  }

  void UserLifecycle(int64_t n) {
    std::string json;
    const std::string name = absl::StrCat("soak-", id_, "-", n);
    if (!Ok("CreateUser", unary_.Call("files.v1.UserService/CreateUser",
                                      absl::StrCat(R"({"username":")", name, R"(","email":")", name,
                                                   R"(@example.com"})"),
                                      &json))) {
      return;
    }
    const int64_t id = IdOf(json);
    Ok("FindUser", unary_.Call("files.v1.UserService/FindUser", absl::StrCat(R"({"id":)", id, "}"), &json));
    Ok("UpdateUser", unary_.Call("files.v1.UserService/UpdateUser",
                                 absl::StrCat(R"({"id":)", id, R"(,"name":"Soak )", n, R"("})"), &json));
    Ok("DeleteUser", unary_.Call("files.v1.UserService/DeleteUser", absl::StrCat(R"({"id":)", id, "}"), &json));
  }

  void GroupLifecycle(int64_t n) {
    std::string json;
    if (!Ok("CreateGroup", unary_.Call("files.v1.GroupService/CreateGroup",
                                       absl::StrCat(R"({"name":"soak-group-)", id_, "-", n, R"("})"),
                                       &json))) {
      return;
    }
    const int64_t id = IdOf(json);
    Ok("FindGroup", unary_.Call("files.v1.GroupService/FindGroup", absl::StrCat(R"({"id":)", id, "}"), &json));
    Ok("ListGroups", unary_.Call("files.v1.GroupService/ListGroups", R"({"per_page":10})", &json));
    Ok("DeleteGroup", unary_.Call("files.v1.GroupService/DeleteGroup", absl::StrCat(R"({"id":)", id, "}"), &json));
  }

  void ListPages(const std::string& method, const std::string& extra) {
    std::string cursor, json;
    for (int page = 0; page < 20; ++page) {
      std::string request = absl::StrCat(R"({"per_page":2)", extra);
      if (!cursor.empty()) absl::StrAppend(&request, R"(,"cursor":")", cursor, "\"");
      request += "}";
      if (!Ok(method, unary_.Call(method, request, &json))) return;
      rapidjson::Document doc;
      doc.Parse(json.c_str());
      cursor = doc.IsObject() && doc.HasMember("next_cursor") && doc["next_cursor"].IsString()
                   ? doc["next_cursor"].GetString()
                   : "";
      if (cursor.empty()) return;
    }
  }

  void FileRoundTrip(int64_t n) {
    // 0 to 1.5 MiB: empty, single-part and multi-part uploads (256 KiB parts).
    const int64_t size = std::uniform_int_distribution<int64_t>(0, 3 << 19)(rng_);
    std::string data(static_cast<size_t>(size), '\0');
    for (auto& ch : data) ch = static_cast<char>(rng_());
    const uint32_t sent = filesgw::client_core::Crc32c(0, data);
    const std::string path = absl::StrCat("soak/w", id_, "/f", n, ".bin");
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
      files::v1::UploadResponse response;
      auto writer = transfer_->Upload(&ctx, &response);
      files::v1::UploadRequest first;
      first.mutable_spec()->set_path(path);
      first.mutable_spec()->set_mkdir_parents(true);
      bool ok = writer->Write(first);
      for (size_t at = 0; ok && at < data.size(); at += 64 * 1024) {
        files::v1::UploadRequest m;
        m.set_data(data.substr(at, 64 * 1024));
        ok = writer->Write(m);
      }
      writer->WritesDone();
      if (!Ok("Upload", writer->Finish())) return;
      c_->bytes_up += size;
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
      files::v1::DownloadRequest req;
      req.set_path(path);
      auto reader = transfer_->Download(&ctx, req);
      files::v1::DownloadResponse m;
      uint32_t got = 0;
      int64_t bytes = 0;
      while (reader->Read(&m)) {
        got = filesgw::client_core::Crc32c(got, m.data());
        bytes += static_cast<int64_t>(m.data().size());
      }
      if (Ok("Download", reader->Finish())) {
        c_->bytes_down += bytes;
        if (bytes != size || got != sent) ++c_->corrupt;
      }
    }
    std::string json;
    Ok("DeleteFile", unary_.Call("files.v1.FileService/DeleteFile",
                                 absl::StrCat(R"({"path":")", path, R"("})"), &json));
  }

  int id_;
  Unary unary_;
  std::unique_ptr<files::v1::TransferService::Stub> transfer_;
  Counters* c_;
  std::mt19937 rng_;
};

struct Sample {
  double t;
  double rss_mib;
  int fds;
  int threads;
  int64_t ops;
  double emulator_rss_mib;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::string line;
  Proc emulator = filesgw::bench::Spawn(
      {o.build + "/emulator/files-emulator", "--listen", "127.0.0.1:0", "--api-key", kKey,
       "--part-size", "262144"},
      "\"listening\"", &line);
  Drain emulator_out(emulator.out);
  const std::string base = filesgw::bench::JsonString(line, "base_url");
  Proc gateway = filesgw::bench::Spawn(
      {o.build + "/server/files-gateway", "--listen", "127.0.0.1:0", "--base-url", base,
       "--log-level", "info", "--metrics-listen", "off"},
      "\"listening\"", &line, {"FILES_API_KEY=" + kKey});
  Drain gateway_out(gateway.out);
  const int port = filesgw::bench::PortFrom(line);
  std::printf("soak: gateway pid %d on 127.0.0.1:%d, emulator pid %d; %.0f s (warm-up %.0f s), "
              "%d workers, %s\n",
              static_cast<int>(gateway.pid), port, static_cast<int>(emulator.pid), o.duration,
              o.warmup, o.workers,
              o.ops_per_second > 0 ? absl::StrCat(o.ops_per_second, " operations/s").c_str()
                                   : "unpaced");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                           grpc::InsecureChannelCredentials(), args);

  Counters counters;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> next{0};
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(o.duration);
  std::vector<std::thread> workers;
  for (int w = 0; w < o.workers; ++w) {
    workers.emplace_back([&, w] {
      Worker worker(w, channel, &counters);
      while (!stop.load()) {
        const int64_t n = next++;
        if (o.ops_per_second > 0) {
          // Operation n is due at start + n / rate, shared by all workers.
          const absl::Time due = start + absl::Seconds(static_cast<double>(n) / o.ops_per_second);
          if (due >= end) break;
          absl::SleepFor(due - absl::Now());
        }
        if (stop.load()) break;
        worker.RunOne(n);
      }
    });
  }

  std::vector<Sample> samples;
  FILE* csv = o.csv.empty() ? nullptr : std::fopen(o.csv.c_str(), "w");
  if (csv != nullptr) std::fprintf(csv, "seconds,rss_mib,fds,threads,ops,emulator_rss_mib\n");
  std::printf("\n%8s %10s %6s %8s %10s %8s %14s\n", "t (s)", "RSS MiB", "fds", "threads",
              "ops", "ops/s", "emulator MiB");
  double next_print = 0;
  int64_t last_ops = 0;
  double last_t = 0;
  for (int i = 1;; ++i) {
    const absl::Time at = start + absl::Seconds(i);
    if (at > end) break;
    absl::SleepFor(at - absl::Now());
    Sample s;
    s.t = absl::ToDoubleSeconds(absl::Now() - start);
    s.rss_mib = filesgw::bench::RssMiB(gateway.pid);
    s.fds = OpenFds(gateway.pid);
    s.threads = filesgw::bench::Threads(gateway.pid);
    s.ops = counters.ops.load();
    s.emulator_rss_mib = filesgw::bench::RssMiB(emulator.pid);
    samples.push_back(s);
    if (csv != nullptr) {
      std::fprintf(csv, "%.1f,%.2f,%d,%d,%lld,%.2f\n", s.t, s.rss_mib, s.fds, s.threads,
                   static_cast<long long>(s.ops), s.emulator_rss_mib);
    }
    if (s.t + 0.5 >= next_print) {
      std::printf("%8.0f %10.1f %6d %8d %10lld %8.1f %14.1f\n", s.t, s.rss_mib, s.fds, s.threads,
                  static_cast<long long>(s.ops), (s.ops - last_ops) / std::max(1e-9, s.t - last_t),
                  s.emulator_rss_mib);
      std::fflush(stdout);
      last_ops = s.ops;
      last_t = s.t;
      next_print += o.print_every;
    }
    if (s.rss_mib <= 0) {
      std::printf("soak: the gateway is gone\n%s\n", gateway_out.LastError().c_str());
      break;
    }
  }
  stop = true;
  for (auto& t : workers) t.join();
  if (csv != nullptr) std::fclose(csv);

  // Verdict over the time after warm-up: the first and last 10 s windows.
  const double window = 10;
  std::vector<double> first_rss, last_rss, first_fds, last_fds, first_thr, last_thr;
  double max_rss = 0, max_fds = 0, max_thr = 0, min_rss = 1e18;
  const double t_end = samples.empty() ? 0 : samples.back().t;
  for (const Sample& s : samples) {
    if (s.t < o.warmup) continue;
    max_rss = std::max(max_rss, s.rss_mib);
    min_rss = std::min(min_rss, s.rss_mib);
    max_fds = std::max(max_fds, static_cast<double>(s.fds));
    max_thr = std::max(max_thr, static_cast<double>(s.threads));
    if (s.t < o.warmup + window) {
      first_rss.push_back(s.rss_mib);
      first_fds.push_back(s.fds);
      first_thr.push_back(s.threads);
    }
    if (s.t > t_end - window) {
      last_rss.push_back(s.rss_mib);
      last_fds.push_back(s.fds);
      last_thr.push_back(s.threads);
    }
  }
  const double rss0 = Median(first_rss), rss1 = Median(last_rss);
  const double growth = rss0 > 0 ? 100.0 * (rss1 - rss0) / rss0 : 100;
  const double fds0 = Median(first_fds), fds1 = Median(last_fds);
  const double thr0 = Median(first_thr), thr1 = Median(last_thr);
  // Descriptors and threads follow in-flight calls, so a few either way is
  // noise; a leak shows as a climb well beyond that.
  const bool rss_ok = growth < 5.0;
  const bool fds_ok = fds1 <= fds0 + std::max(5.0, 0.1 * fds0);
  const bool thr_ok = thr1 <= thr0 + std::max(4.0, 0.1 * thr0);
  const bool calls_ok = counters.failed.load() == 0 && counters.corrupt.load() == 0;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  std::printf("\nload: %lld operation sets, %lld calls (%.1f calls/s), %lld failed, %lld corrupted "
              "downloads; %.1f MiB uploaded, %.1f MiB downloaded\n",
              static_cast<long long>(counters.ops.load()), static_cast<long long>(counters.calls.load()),
              counters.calls.load() / seconds, static_cast<long long>(counters.failed.load()),
              static_cast<long long>(counters.corrupt.load()), counters.bytes_up.load() / 1048576.0,
              counters.bytes_down.load() / 1048576.0);
  if (!counters.last_failure.empty()) std::printf("last failure: %s\n", counters.last_failure.c_str());
  std::printf("gateway after warm-up (%.0f s .. %.0f s), medians of the first and last %.0f s:\n",
              o.warmup, t_end, window);
  std::printf("  RSS      %.1f -> %.1f MiB (%+.2f %%; min %.1f, max %.1f)  limit < 5 %%   %s\n", rss0,
              rss1, growth, min_rss, max_rss, rss_ok ? "ok" : "FAIL");
  std::printf("  fds      %.0f -> %.0f (max %.0f)   %s\n", fds0, fds1, max_fds, fds_ok ? "ok" : "FAIL");
  std::printf("  threads  %.0f -> %.0f (max %.0f)   %s\n", thr0, thr1, max_thr, thr_ok ? "ok" : "FAIL");
  std::printf("  calls    %s\n", calls_ok ? "ok" : "FAIL");
  const bool pass = rss_ok && fds_ok && thr_ok && calls_ok;
  std::printf("verdict: %s\n", pass ? "PASS" : "FAIL");
  std::fflush(stdout);
  filesgw::bench::Stop(gateway);
  filesgw::bench::Stop(emulator);
  return pass ? 0 : 1;
}
