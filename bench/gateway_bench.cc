// Gateway overhead: FindUser and ListUsers(per_page=1000) through files-gateway
// vs the same REST call made directly with libcurl to the emulator, with the
// gateway's CPU time per call read from /proc, and 1,000 concurrent calls.
//
//   build/bench/gateway_bench [--build DIR] [--calls N]
//
// gRPC's own floor on the machine: this program re-run as a server that
// answers every unary call at once with an empty message
// (--floor-server async|callback), measured with the same client. "async"
// serves from one completion queue thread with no other service; "callback"
// uses the callback API and the default health service, as the gateway does.
//
// Starts build/emulator/files-emulator and build/server/files-gateway as
// separate processes so the gateway's CPU is measured alone. Prints figures
// and targets side by side; asserts nothing.
#include <curl/curl.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/route.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/security/credentials.h"

namespace {

using filesgw::bench::CpuSeconds;
using filesgw::bench::PortFrom;
using filesgw::bench::Proc;
using filesgw::bench::Spawn;
using filesgw::bench::Threads;

struct Stats {
  double p50_us = 0, p99_us = 0, mean_us = 0;
};

Stats Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Stats s;
  s.p50_us = us[us.size() / 2];
  s.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  double sum = 0;
  for (double u : us) sum += u;
  s.mean_us = sum / static_cast<double>(us.size());
  return s;
}

size_t Sink(char* ptr, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(ptr, size * n);
  return size * n;
}

std::vector<double> Direct(const std::string& url, const std::string& key, int calls) {
  CURL* curl = curl_easy_init();
  std::string body;
  struct curl_slist* headers = curl_slist_append(nullptr, ("X-FilesAPI-Key: " + key).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Sink);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  std::vector<double> us;
  for (int i = 0; i < calls + 20; ++i) {
    body.clear();
    absl::Time t = absl::Now();
    if (curl_easy_perform(curl) != CURLE_OK) std::abort();
    if (i >= 20) us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return us;
}

// One GET's body (the answer the gateway converts), with the key.
std::string Fetch(const std::string& url, const std::string& key) {
  CURL* curl = curl_easy_init();
  std::string body;
  struct curl_slist* headers = curl_slist_append(nullptr, ("X-FilesAPI-Key: " + key).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Sink);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK ? body : std::string();
}

// The converter alone (server/codec DecodeResponse, as the gateway calls it)
// on `body`: microseconds per conversion, the median of `rounds`.
double ConverterUs(const char* full_method, const std::string& body, int rounds) {
  auto route = filesgw::server::BuildRoute(filesgw::proto::Api().pool->FindMethodByName(full_method));
  if (!route.ok()) return -1;
  std::string out;
  std::vector<double> us;
  for (int i = 0; i < rounds + 3; ++i) {
    absl::Time t = absl::Now();
    if (!filesgw::server::DecodeResponse(*route, body, "", &out).ok()) return -1;
    if (i >= 3) us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

grpc::Status Unary(grpc::GenericStub* stub, const std::string& method, const std::string& request,
                   size_t* response_size) {
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  stub->UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp,
                  [&](grpc::Status s) { done.set_value(std::move(s)); });
  auto s = done.get_future().get();
  if (response_size != nullptr) *response_size = resp.Length();
  return s;
}

std::vector<double> ThroughGateway(grpc::GenericStub* stub, const std::string& method,
                                   const std::string& request, int calls) {
  std::vector<double> us;
  for (int i = 0; i < calls + 20; ++i) {
    absl::Time t = absl::Now();
    auto s = Unary(stub, method, request, nullptr);
    if (!s.ok()) {
      std::fprintf(stderr, "%s failed: %s\n", method.c_str(), s.error_message().c_str());
      std::exit(1);
    }
    if (i >= 20) us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
  }
  return us;
}

// The empty answer of a floor server, built once.
grpc::ByteBuffer EmptyAnswer() {
  grpc::Slice slice("", 0);
  return grpc::ByteBuffer(&slice, 1);
}

class CallbackFloor final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&request_); }
      void OnReadDone(bool ok) override {
        if (!ok) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
        answer_ = EmptyAnswer();
        StartWriteAndFinish(&answer_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer request_, answer_;
    };
    return new Reactor;
  }
};

// One call of the async floor server: matched, read, answered, gone.
struct AsyncFloorCall {
  grpc::GenericServerContext context;
  grpc::GenericServerAsyncReaderWriter stream{&context};
  grpc::ByteBuffer request, answer;
  int step = 0;
};

int FloorServer(bool async) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  grpc::AsyncGenericService async_service;
  CallbackFloor callback_service;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  if (async) {
    builder.RegisterAsyncGenericService(&async_service);
    cq = builder.AddCompletionQueue();
  } else {
    grpc::EnableDefaultHealthCheckService(true);
    builder.RegisterCallbackGenericService(&callback_service);
  }
  auto server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::printf("{\"msg\":\"listening\",\"address\":\"127.0.0.1:%d\"}\n", port);
  std::fflush(stdout);
  if (!async) {
    pause();  // until SIGTERM
    return 0;
  }
  auto request = [&] {
    auto* call = new AsyncFloorCall;
    async_service.RequestCall(&call->context, &call->stream, cq.get(), cq.get(), call);
  };
  request();
  void* tag;
  bool ok;
  while (cq->Next(&tag, &ok)) {
    auto* call = static_cast<AsyncFloorCall*>(tag);
    if (call->step == 2 || (call->step == 0 && !ok)) {  // answered, or shutting down
      delete call;
    } else if (call->step == 0) {
      request();
      call->step = 1;
      call->stream.Read(&call->request, call);
    } else {
      call->step = 2;
      call->answer = EmptyAnswer();
      if (ok) {
        call->stream.WriteAndFinish(call->answer, grpc::WriteOptions(), grpc::Status::OK, call);
      } else {
        call->stream.Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"), call);
      }
    }
  }
  return 0;
}

// Encodes a varint-keyed request by hand: field 1 (id) = 1 / per_page (field 2) = 1000.
std::string FindUserRequest() { return std::string("\x08\x01", 2); }

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--floor-server") {
    return FloorServer(std::string(argv[2]) == "async");
  }
  std::string build = "build";
  int calls = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--build") build = argv[i + 1];
    if (std::string(argv[i]) == "--calls") calls = std::atoi(argv[i + 1]);
  }
  curl_global_init(CURL_GLOBAL_ALL);
  const std::string key = "bench-key";
  std::string line;
  Proc emu = Spawn({build + "/emulator/files-emulator", "--listen", "127.0.0.1:0", "--api-key", key},
                   "{", &line);
  std::string base = filesgw::bench::JsonString(line, "base_url");
  Proc gw = Spawn({build + "/server/files-gateway", "--listen", "127.0.0.1:0", "--base-url", base,
                   "--log-level", "info"},
                  "\"listening\"", &line, {"FILES_API_KEY=" + key});
  int gw_port = PortFrom(line);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", gw_port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);

  // ListUsers needs 1,000 users: created straight on the emulator's JSON API.
  {
    CURL* curl = curl_easy_init();
    struct curl_slist* h = curl_slist_append(nullptr, ("X-FilesAPI-Key: " + key).c_str());
    h = curl_slist_append(h, "Content-Type: application/json");
    std::string sink;
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    std::string url = base + "/api/rest/v1/users";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    for (int i = 0; i < 1000; ++i) {
      std::string body = absl::StrCat(R"({"username":"bench-user-)", i, R"(","email":"bench)", i,
                                      R"(@example.com","name":"Bench User )", i, "\"}");
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_perform(curl);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
  }

  std::printf("files-gateway overhead, %d sequential calls each, loopback, 2 cores\n\n", calls);
  std::printf("%-28s %12s %12s %12s %12s %14s\n", "call", "direct p50", "gateway p50",
              "added p50", "added p99", "gw CPU/call");
  struct Case {
    const char* name;
    std::string method, request, url;
    int calls;
  };
  std::string list_req("\x10\xe8\x07", 3);  // per_page (field 2) = 1000
  Case cases[] = {
      {"FindUser", "/files.v1.UserService/FindUser", FindUserRequest(), base + "/api/rest/v1/users/1", calls},
      {"ListUsers(per_page=1000)", "/files.v1.UserService/ListUsers", list_req,
       base + "/api/rest/v1/users?per_page=1000", std::max(50, calls / 20)},
  };
  std::vector<std::pair<const char*, double>> client_cpu;
  for (auto& c : cases) {
    // The direct libcurl client's own CPU per call (this process): a floor
    // the gateway's CPU per call is set against.
    double self0 = CpuSeconds(getpid());
    auto direct = Summarize(Direct(c.url, key, c.calls));
    client_cpu.emplace_back(c.name, (CpuSeconds(getpid()) - self0) * 1e6 / c.calls);
    double cpu0 = CpuSeconds(gw.pid);
    auto via = Summarize(ThroughGateway(&stub, c.method, c.request, c.calls));
    double cpu_us = (CpuSeconds(gw.pid) - cpu0) * 1e6 / (c.calls + 20);
    std::printf("%-28s %10.0fus %10.0fus %10.0fus %10.0fus %12.1fus\n", c.name, direct.p50_us,
                via.p50_us, via.p50_us - direct.p50_us, via.p99_us - direct.p99_us, cpu_us);
  }
  for (const auto& [name, us] : client_cpu) {
    std::printf("direct libcurl client CPU per call, %s: %.1fus\n", name, us);
  }
  {
    const std::string body = Fetch(cases[1].url, key);
    std::printf("converter alone on the same ListUsers(per_page=1000) body (%zu bytes): %.1fus\n",
                body.size(), ConverterUs("files.v1.UserService.ListUsers", body, 20));
  }
  std::printf("targets: FindUser gateway CPU <= 50us/call, added p50 <= 150us\n\n");

  // What gRPC alone costs here: the same client against servers that answer
  // at once. The gateway cannot go below these.
  std::printf("gRPC's own floor (a server answering at once, same client, %d calls)\n", calls);
  std::printf("%-44s %10s %10s %16s\n", "server", "p50", "p99", "server CPU/call");
  for (const char* kind : {"async", "callback"}) {
    Proc floor = Spawn({argv[0], "--floor-server", kind}, "\"listening\"", &line);
    auto floor_channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", PortFrom(line)),
                                             grpc::InsecureChannelCredentials());
    grpc::GenericStub floor_stub(floor_channel);
    double cpu0 = CpuSeconds(floor.pid);
    auto s = Summarize(ThroughGateway(&floor_stub, "/files.v1.UserService/FindUser",
                                      FindUserRequest(), calls));
    double cpu_us = (CpuSeconds(floor.pid) - cpu0) * 1e6 / (calls + 20);
    std::printf("%-44s %8.0fus %8.0fus %14.1fus\n",
                std::string(kind) == "async"
                    ? "async API, 1 completion-queue thread"
                    : "callback API + health service (as gateway)",
                s.p50_us, s.p99_us, cpu_us);
    filesgw::bench::Stop(floor);
  }
  std::printf("\n");

  // 1,000 concurrent unary calls.
  const int kConcurrent = 1000;
  std::atomic<int> failed{0}, done{0};
  std::promise<void> all;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(kConcurrent);
  std::vector<grpc::ByteBuffer> requests(kConcurrent), responses(kConcurrent);
  int peak_threads = Threads(gw.pid);
  absl::Time t0 = absl::Now();
  for (int i = 0; i < kConcurrent; ++i) {
    contexts[i] = std::make_unique<grpc::ClientContext>();
    grpc::Slice slice(FindUserRequest());
    requests[i] = grpc::ByteBuffer(&slice, 1);
    stub.UnaryCall(contexts[i].get(), "/files.v1.UserService/FindUser", grpc::StubOptions(),
                   &requests[i], &responses[i], [&](grpc::Status s) {
                     if (!s.ok()) failed.fetch_add(1);
                     if (done.fetch_add(1) + 1 == kConcurrent) all.set_value();
                   });
  }
  auto fut = all.get_future();
  while (fut.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    peak_threads = std::max(peak_threads, Threads(gw.pid));
  }
  std::printf("%d concurrent FindUser: %d failed, %.0f ms, gateway threads (peak seen): %d\n",
              kConcurrent, failed.load(), absl::ToDoubleMilliseconds(absl::Now() - t0), peak_threads);

  filesgw::bench::Stop(gw);

  // The rate governor: 50 eager callers against a gateway capped at R
  // requests/s; the emulator's request count gives the upstream rate.
  const double kRate = 100;
  Proc governed = Spawn({build + "/server/files-gateway", "--listen", "127.0.0.1:0", "--base-url", base,
                         "--log-level", "info", "--requests-per-second", "100",
                         "--max-concurrent-requests", "16"},
                        "\"listening\"", &line, {"FILES_API_KEY=" + key});
  auto governed_channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", PortFrom(line)), grpc::InsecureChannelCredentials());
  grpc::GenericStub governed_stub(governed_channel);
  auto upstream_count = [&] {
    CURL* curl = curl_easy_init();
    std::string body;
    std::string url = base + "/__emulator/requests";
    // The emulator's control endpoints take the API key.
    const std::string key_header = "X-FilesAPI-Key: " + key;
    curl_slist* headers = curl_slist_append(nullptr, key_header.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    auto at = body.find("\"GET /api/rest/v1/users/1\":");
    return at == std::string::npos ? 0L : std::atol(body.c_str() + at + 27);
  };
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> refused{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 50; ++c) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        absl::Time t = absl::Now();
        auto s = Unary(&governed_stub, "/files.v1.UserService/FindUser", FindUserRequest(), nullptr);
        double us = absl::ToDoubleMicroseconds(absl::Now() - t);
        if (!s.ok()) refused.fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        latencies.push_back(us);
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));  // the bucket's burst is spent by now
  long before = upstream_count();
  absl::Time g0 = absl::Now();
  absl::SleepFor(absl::Seconds(5));
  long after = upstream_count();
  double held = static_cast<double>(after - before) / absl::ToDoubleSeconds(absl::Now() - g0);
  stop = true;
  for (auto& t : callers) t.join();
  auto lat = Summarize(latencies);
  std::printf("\nrate governor, 50 concurrent callers, limit %.0f req/s: upstream held at %.1f req/s "
              "(%.1f%% of the limit); caller latency p50 %.0f ms, p99 %.0f ms "
              "(the wait the governor adds: 50 callers share %.0f slots/s); %d refused\n",
              kRate, held, 100.0 * held / kRate, lat.p50_us / 1000, lat.p99_us / 1000, kRate,
              refused.load());
  filesgw::bench::Stop(governed);
  filesgw::bench::Stop(emu);
  return 0;
}
