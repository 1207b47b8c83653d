// Scale-out on Redis (issue 18): a real redis-server, three files-gateway
// processes sharing it, one files-emulator behind them. Each case asserts
// what callers and the upstream notice: one rate budget for the fleet, a 429
// pausing every replica, a resumable upload finished on another replica after
// the first was killed, two replicas racing for one upload, and Redis killed
// and restarted under load.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/isolation/noisy_kit.h"

namespace filesgw {
namespace {

using isolation::Caller;
using isolation::Process;

constexpr char kApiKey[] = "redis-scale-key";
constexpr absl::Duration kLeaseTtl = absl::Seconds(2);

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// One HTTP/1.1 request to the emulator's control API; the body of its answer.
std::string Http(int port, const std::string& method, const std::string& path,
                 const std::string& body = "") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-FilesAPI-Key: ", kApiKey,
                   "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\n\r\n", body);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t at = out.find("\r\n\r\n");
  return at == std::string::npos ? "" : out.substr(at + 4);
}

int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const size_t at = json.find(needle);
  return at == std::string::npos ? -1 : std::atoll(json.c_str() + at + needle.size());
}

bool Exists(const char* path) { return access(path, X_OK) == 0; }

class RedisScale : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Exists("/usr/bin/redis-server")) {
      GTEST_SKIP() << "redis-server is not installed (.ci/install-deps installs it): skipped";
    }
    redis_port_ = FreePort();
    ASSERT_TRUE(StartRedis().ok());
    ASSERT_TRUE(emulator_
                    .Start({FILESGW_EMULATOR_BINARY, "--listen", "127.0.0.1:0", "--api-key",
                            kApiKey, "--part-size", "1048576", "--threads", "64"},
                           {}, "\"listening\"", absl::Seconds(30))
                    .ok());
    const std::string line = emulator_.ready_line();
    const size_t at = line.find("\"base_url\":\"");
    ASSERT_NE(at, std::string::npos);
    emulator_url_ = line.substr(at + 12, line.find('"', at + 12) - at - 12);
    emulator_port_ = std::atoi(emulator_url_.c_str() + emulator_url_.rfind(':') + 1);
    for (int i = 0; i < 3; ++i) StartGateway(i);
  }

  absl::Status StartRedis() {
    return redis_.Start({"/usr/bin/redis-server", "--port", std::to_string(redis_port_),
                         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"},
                        {}, "Ready to accept connections", absl::Seconds(20));
  }

  void StartGateway(int i) {
    gateways_[i] = std::make_unique<Process>();
    absl::Status s = gateways_[i]->Start(
        {FILESGW_GATEWAY_BINARY, "--listen", "127.0.0.1:0", "--metrics-listen", "off",
         "--base-url", emulator_url_, "--redis-url",
         absl::StrCat("redis://127.0.0.1:", redis_port_), "--requests-per-second", "100",
         "--max-concurrent-requests", "32", "--expected-replicas", "3", "--redis-lease-ttl",
         absl::StrCat(absl::ToInt64Seconds(kLeaseTtl), "s"), "--max-retries", "3", "--api-connections", "16"},
        {absl::StrCat("FILES_API_KEY=", kApiKey)}, "\"listening\"", absl::Seconds(60));
    ASSERT_TRUE(s.ok()) << s;
    const std::string line = gateways_[i]->ready_line();
    const std::string needle = "\"port\":";
    ports_[i] = std::atoi(line.c_str() + line.find(needle) + needle.size());
    channels_[i] = grpc::CreateChannel(absl::StrCat("127.0.0.1:", ports_[i]),
                                       grpc::InsecureChannelCredentials());
  }

  int64_t UpstreamRequests() { return JsonInt(Http(emulator_port_, "GET", "/__emulator/requests"), "total"); }

  std::unique_ptr<files::v1::TransferService::Stub> Transfer(int i) {
    return files::v1::TransferService::NewStub(channels_[i]);
  }

  // 60 callers (20 per replica) calling FindUser back to back until `stop`.
  void StartLoad(std::atomic<bool>* stop, std::atomic<int>* failures, std::string* last_error,
                 std::vector<std::thread>* threads) {
    for (int c = 0; c < 60; ++c) {
      threads->emplace_back([this, c, stop, failures, last_error] {
        Caller caller(channels_[c % 3], "");
        while (!stop->load()) {
          grpc::Status s = caller.FindUser(1, absl::Seconds(10));
          if (!s.ok()) {
            failures->fetch_add(1);
            *last_error = absl::StrCat(isolation::Describe(s), " at ", absl::FormatTime(absl::Now()));
          }
        }
      });
    }
  }

  std::string StartUpload(int replica, const std::string& path, int64_t size) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    files::v1::StartResumableUploadRequest request;
    request.mutable_spec()->set_path(path);
    request.mutable_spec()->set_mkdir_parents(true);
    request.mutable_spec()->set_expected_size(size);
    files::v1::StartResumableUploadResponse response;
    grpc::Status s = Transfer(replica)->StartResumableUpload(&ctx, request, &response);
    EXPECT_TRUE(s.ok()) << isolation::Describe(s);
    return response.upload_id();
  }

  grpc::Status Query(int replica, const std::string& id, files::v1::QueryUploadStatusResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    files::v1::QueryUploadStatusRequest request;
    request.set_upload_id(id);
    return Transfer(replica)->QueryUploadStatus(&ctx, request, out);
  }

  // Writes data[from..] to upload `id` on `replica` and finishes it.
  grpc::Status Resume(int replica, const std::string& id, const std::string& data, int64_t from,
                      absl::Duration hold = absl::ZeroDuration()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    files::v1::UploadResponse response;
    auto writer = Transfer(replica)->Upload(&ctx, &response);
    files::v1::UploadRequest first;
    first.set_upload_id(id);
    first.set_write_offset(from);
    bool ok = writer->Write(first);
    if (hold > absl::ZeroDuration()) absl::SleepFor(hold);  // keep the upload held meanwhile
    for (int64_t at = from; ok && at < static_cast<int64_t>(data.size()); at += 256 << 10) {
      files::v1::UploadRequest chunk;
      chunk.set_data(data.substr(static_cast<size_t>(at), 256 << 10));
      ok = writer->Write(chunk);
    }
    if (ok) {
      files::v1::UploadRequest last;
      last.set_finish_upload(true);
      writer->Write(last);
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::string Download(int replica, const std::string& path) {
    std::string out;
    Caller caller(channels_[replica], "");
    grpc::Status s = caller.Download(path, &out, absl::Seconds(30));
    EXPECT_TRUE(s.ok()) << isolation::Describe(s);
    return out;
  }

  int redis_port_ = 0;
  Process redis_;
  Process emulator_;
  std::string emulator_url_;
  int emulator_port_ = 0;
  std::unique_ptr<Process> gateways_[3];
  int ports_[3] = {};
  std::shared_ptr<grpc::Channel> channels_[3];
};

TEST_F(RedisScale, ThreeReplicasHoldOneBudgetAndA429PausesThemAll) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::string last_error;
  std::vector<std::thread> threads;
  StartLoad(&stop, &failures, &last_error, &threads);
  absl::SleepFor(absl::Seconds(1.5));  // past the bucket's initial burst
  const int64_t before = UpstreamRequests();
  const absl::Time t0 = absl::Now();
  absl::SleepFor(absl::Seconds(3));
  const double rate = static_cast<double>(UpstreamRequests() - before) /
                      absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf("3 replicas, 60 callers, limit 100 req/s: upstream %.1f req/s\n", rate);
  EXPECT_GE(rate, 85.0);
  EXPECT_LE(rate, 105.0) << "each replica spent its own budget\n" << gateways_[0]->RecentOutput();

  // A 429 with Retry-After: 2 on one replica's call pauses all three.
  Http(emulator_port_, "POST", "/__emulator/faults",
       R"({"method":"GET","path":"/users/2","status":429,"retry_after":"2","times":1})");
  std::thread paused([this] {
    Caller caller(channels_[0], "");
    EXPECT_TRUE(caller.FindUser(2, absl::Seconds(10)).ok());
  });
  absl::Time hit_at = absl::InfinitePast();
  for (int i = 0; i < 1000 && hit_at == absl::InfinitePast(); ++i) {
    if (JsonInt(Http(emulator_port_, "GET", "/__emulator/faults"), "hits") >= 1) {
      hit_at = absl::Now();
    } else {
      absl::SleepFor(absl::Milliseconds(5));  // polling the emulator, not waiting on the gateway
    }
  }
  ASSERT_NE(hit_at, absl::InfinitePast()) << "the 429 was never served";
  absl::SleepFor(absl::Milliseconds(150));  // requests already granted land
  const int64_t pause_start = UpstreamRequests();
  absl::SleepFor(absl::Seconds(1.5));
  const int64_t during = UpstreamRequests() - pause_start;
  std::printf("requests upstream during the pause (1.5 s): %lld\n", static_cast<long long>(during));
  EXPECT_LE(during, 2) << "a replica kept sending during another replica's 429 pause";
  paused.join();
  std::printf("pause ended %s, stopping %s\n", absl::FormatTime(hit_at).c_str(), absl::FormatTime(absl::Now()).c_str());
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << last_error << "\n" << gateways_[1]->RecentOutput();
}

TEST_F(RedisScale, UploadStartedOnAKilledReplicaFinishesOnAnother) {
  const std::string data = isolation::Pattern((5 << 20) + 12345, 'k');
  const std::string id = StartUpload(0, "/redis/killed.bin", static_cast<int64_t>(data.size()));
  ASSERT_FALSE(id.empty());
  // Replica A gets the first 3 MiB and keeps the stream open, then dies.
  std::thread writer([this, id, &data] {
    grpc::ClientContext ctx;
    files::v1::UploadResponse response;
    auto w = Transfer(0)->Upload(&ctx, &response);
    files::v1::UploadRequest first;
    first.set_upload_id(id);
    w->Write(first);
    for (int64_t at = 0; at < (3 << 20); at += 256 << 10) {
      files::v1::UploadRequest chunk;
      chunk.set_data(data.substr(static_cast<size_t>(at), 256 << 10));
      if (!w->Write(chunk)) break;
    }
    w->Finish();  // ends when A is killed
  });
  files::v1::QueryUploadStatusResponse status;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(Query(1, id, &status).ok());
    if (status.persisted_size() >= (3 << 20)) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(status.persisted_size(), 3 << 20) << "replica B does not see A's parts";
  kill(gateways_[0]->pid(), SIGKILL);
  writer.join();

  ASSERT_TRUE(Query(1, id, &status).ok());
  const int64_t from = status.persisted_size();
  EXPECT_EQ(from, 3 << 20);
  // A's lock expires (--redis-lease-ttl) and B takes the upload over.
  grpc::Status s;
  for (int i = 0; i < 40; ++i) {
    s = Resume(1, id, data, from);
    if (s.error_code() != grpc::StatusCode::ABORTED) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_TRUE(s.ok()) << isolation::Describe(s);
  ASSERT_TRUE(Query(2, id, &status).ok());
  EXPECT_TRUE(status.complete());
  EXPECT_EQ(Download(2, "/redis/killed.bin"), data);
}

TEST_F(RedisScale, TwoReplicasResumingOneUploadOneWinsTheOtherIsAborted) {
  const std::string data = isolation::Pattern((2 << 20) + 777, 'r');
  const std::string id = StartUpload(0, "/redis/race.bin", static_cast<int64_t>(data.size()));
  ASSERT_FALSE(id.empty());
  grpc::Status results[2];
  std::thread a([&] { results[0] = Resume(1, id, data, 0, absl::Milliseconds(500)); });
  std::thread b([&] { results[1] = Resume(2, id, data, 0, absl::Milliseconds(500)); });
  a.join();
  b.join();
  const int wins = results[0].ok() + results[1].ok();
  ASSERT_EQ(wins, 1) << isolation::Describe(results[0]) << " / " << isolation::Describe(results[1]);
  const grpc::Status& loser = results[0].ok() ? results[1] : results[0];
  EXPECT_EQ(loser.error_code(), grpc::StatusCode::ABORTED) << isolation::Describe(loser);
  EXPECT_EQ(isolation::ErrorReason(loser), "UPLOAD_BUSY");
  EXPECT_EQ(Download(0, "/redis/race.bin"), data);
}

TEST_F(RedisScale, RedisKilledMidRunCallsFlowUploadsFailClearlyThenSharingResumes) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::string last_error;
  std::vector<std::thread> threads;
  StartLoad(&stop, &failures, &last_error, &threads);
  absl::SleepFor(absl::Seconds(1));
  kill(redis_.pid(), SIGKILL);  // mid-run
  redis_.Stop();
  absl::SleepFor(absl::Seconds(1.5));
  // Only what needs Redis fails, and says why.
  {
    grpc::ClientContext ctx;
    files::v1::StartResumableUploadRequest request;
    request.mutable_spec()->set_path("/redis/down.bin");
    request.mutable_spec()->set_mkdir_parents(true);
    files::v1::StartResumableUploadResponse response;
    grpc::Status s = Transfer(1)->StartResumableUpload(&ctx, request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << isolation::Describe(s);
    EXPECT_EQ(isolation::ErrorReason(s), "REDIS_UNAVAILABLE");
  }
  // Health stays SERVING on every replica (the gateway's own --probe asks grpc.health.v1).
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(std::system(absl::StrCat(FILESGW_GATEWAY_BINARY, " --probe 127.0.0.1:", ports_[i],
                                       " >/dev/null 2>&1")
                              .c_str()),
              0)
        << "replica " << i << " is not SERVING while Redis is down";
  }
  const int64_t before = UpstreamRequests();
  absl::SleepFor(absl::Seconds(2));
  const double fallback_rate = static_cast<double>(UpstreamRequests() - before) / 2.0;
  std::printf("Redis down: upstream %.1f req/s (fallback 100/3 per replica)\n", fallback_rate);
  EXPECT_LE(fallback_rate, 110.0);
  EXPECT_GE(fallback_rate, 50.0);
  // A plain upload needs no Redis.
  Caller plain(channels_[2], "");
  EXPECT_TRUE(plain.Upload("/redis/plain.bin", isolation::Pattern(100000, 'p'), absl::Seconds(30)).ok());

  ASSERT_TRUE(StartRedis().ok());
  std::string id;
  for (int i = 0; i < 100 && id.empty(); ++i) {  // reconnect backoff is at most 5 s
    grpc::ClientContext ctx;
    files::v1::StartResumableUploadRequest request;
    request.mutable_spec()->set_path("/redis/after.bin");
    request.mutable_spec()->set_mkdir_parents(true);
    files::v1::StartResumableUploadResponse response;
    if (Transfer(1)->StartResumableUpload(&ctx, request, &response).ok()) id = response.upload_id();
    else absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_FALSE(id.empty()) << "sharing did not resume after Redis came back";
  absl::SleepFor(absl::Seconds(6));  // every replica reconnected; the bucket's burst spent
  const int64_t again = UpstreamRequests();
  absl::SleepFor(absl::Seconds(2));
  const double shared_rate = static_cast<double>(UpstreamRequests() - again) / 2.0;
  std::printf("Redis back: upstream %.1f req/s\n", shared_rate);
  EXPECT_LE(shared_rate, 105.0);
  // One log line per change of state: down once, up once.
  for (int i = 0; i < 3; ++i) {
    const std::string out = gateways_[i]->RecentOutput();
    int down = 0, up_after = 0;
    for (size_t at = 0; (at = out.find("\"msg\":\"redis ", at)) != std::string::npos; ++at) {
      if (out.compare(at + 13, 11, "unavailable") == 0) ++down;
      if (out.compare(at + 13, 3, "up\"") == 0 && down > 0) ++up_after;
    }
    EXPECT_EQ(down, 1) << "replica " << i << ":\n" << out;
    EXPECT_EQ(up_after, 1) << "replica " << i << ":\n" << out;
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << "calls failed while Redis was down: " << last_error;
}

TEST_F(RedisScale, AnUploadCancelledOnOneReplicaIsGoneOnAll) {
  const std::string id = StartUpload(0, "/redis/cancel.bin", 10);
  ASSERT_FALSE(id.empty());
  files::v1::QueryUploadStatusResponse status;
  ASSERT_TRUE(Query(1, id, &status).ok());
  EXPECT_EQ(status.persisted_size(), 0);
  EXPECT_FALSE(status.complete());
  {
    grpc::ClientContext ctx;
    files::v1::CancelResumableUploadRequest request;
    request.set_upload_id(id);
    google::protobuf::Empty empty;
    ASSERT_TRUE(Transfer(2)->CancelResumableUpload(&ctx, request, &empty).ok());
  }
  grpc::Status gone = Query(0, id, &status);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND) << isolation::Describe(gone);
  EXPECT_EQ(isolation::ErrorReason(gone), "UPLOAD_NOT_FOUND");
  grpc::Status resumed = Resume(1, id, "0123456789", 0);
  EXPECT_EQ(resumed.error_code(), grpc::StatusCode::NOT_FOUND) << isolation::Describe(resumed);
  grpc::Status unknown = Query(1, "up-00000000000000000000000000000000", &status);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
}

// rediss://: Redis serving TLS only (a throwaway CA made with openssl), one
// gateway trusting that CA with --ca-file: resumable uploads (which need
// Redis) work; a gateway without the CA refuses the server and says so.
TEST(RedisTls, RedissWithCaFileWorksAndAnUntrustedServerIsRefused) {
  if (!Exists("/usr/bin/redis-server") || !Exists("/usr/bin/openssl")) {
    GTEST_SKIP() << "redis-server or openssl is not installed: skipped";
  }
  char dir_template[] = "/tmp/filesgw-redis-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string make = absl::StrCat(
      "cd ", dir, " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt ",
      "-days 1 -subj /CN=test-ca && openssl req -newkey rsa:2048 -nodes -keyout server.key ",
      "-out server.csr -subj /CN=localhost && printf 'subjectAltName=DNS:localhost\n' > ext && ",
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt ",
      "-days 1 -extfile ext) >/dev/null 2>&1");
  ASSERT_EQ(std::system(("(" + make).c_str()), 0);
  const int port = FreePort();
  Process redis;
  ASSERT_TRUE(redis
                  .Start({"/usr/bin/redis-server", "--port", "0", "--tls-port",
                          std::to_string(port), "--bind", "127.0.0.1", "--tls-cert-file",
                          dir + "/server.crt", "--tls-key-file", dir + "/server.key",
                          "--tls-ca-cert-file", dir + "/ca.crt", "--tls-auth-clients", "no",
                          "--save", "", "--appendonly", "no"},
                         {}, "Ready to accept connections", absl::Seconds(20))
                  .ok());
  auto start_upload = [](const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    files::v1::StartResumableUploadRequest request;
    request.mutable_spec()->set_path("/tls.bin");
    files::v1::StartResumableUploadResponse response;
    return files::v1::TransferService::NewStub(channel)->StartResumableUpload(&ctx, request,
                                                                              &response);
  };
  for (const bool trusted : {true, false}) {
    Process gateway;
    std::vector<std::string> args = {FILESGW_GATEWAY_BINARY, "--listen", "127.0.0.1:0",
                                     "--metrics-listen", "127.0.0.1:0", "--redis-url",
                                     absl::StrCat("rediss://localhost:", port)};
    if (trusted) args.insert(args.end(), {"--ca-file", dir + "/ca.crt"});
    ASSERT_TRUE(gateway.Start(args, {}, "\"listening\"", absl::Seconds(60)).ok());
    const std::string line = gateway.ready_line();
    const int gw_port = std::atoi(line.c_str() + line.find("\"port\":") + 7);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", gw_port),
                                       grpc::InsecureChannelCredentials());
    grpc::Status s = start_upload(channel);
    // filesgw_redis_up{profile="default"} says which it is.
    std::string metrics_port_text;
    {
      const std::string out = gateway.RecentOutput();
      const size_t m = out.find("\"msg\":\"metrics\"");
      ASSERT_NE(m, std::string::npos) << out;
      const size_t p = out.find("\"port\":", m);
      metrics_port_text = out.substr(p + 7, out.find_first_of(",}", p) - p - 7);
    }
    const std::string metrics = Http(std::atoi(metrics_port_text.c_str()), "GET", "/metrics");
    EXPECT_NE(metrics.find(absl::StrCat("filesgw_redis_up{profile=\"default\"} ", trusted ? 1 : 0)),
              std::string::npos)
        << metrics;
    if (!trusted) {
      EXPECT_NE(metrics.find("filesgw_redis_errors_total "), std::string::npos);
    }
    if (trusted) {
      EXPECT_TRUE(s.ok()) << isolation::Describe(s) << "\n" << gateway.RecentOutput();
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << isolation::Describe(s);
      EXPECT_EQ(isolation::ErrorReason(s), "REDIS_UNAVAILABLE");
      EXPECT_NE(gateway.RecentOutput().find("certificate verify failed"), std::string::npos)
          << gateway.RecentOutput();
    }
  }
  std::system(absl::StrCat("rm -rf ", dir).c_str());
}

}  // namespace
}  // namespace filesgw
