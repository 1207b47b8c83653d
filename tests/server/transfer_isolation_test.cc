// TransferService on a shared gateway: what one caller's idle, stalled or
// oversized streams may cost the others. Real gateway and emulator over
// loopback (tests/server/gateway_harness.h) with short limits in the options;
// each test asserts what a caller would notice (statuses, reasons, bytes)
// and, for the idle-stream flood, the gateway process's thread count.
#include <dirent.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "files/v1/transfer.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/config.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using files::v1::DownloadRequest;
using files::v1::DownloadResponse;
using files::v1::TransferService;
using files::v1::UploadRequest;
using files::v1::UploadResponse;

constexpr int64_t kPart = 256 * 1024;  // the emulator's part size in most tests

std::string Bytes(int64_t n, uint32_t seed = 1) {
  std::string out(static_cast<size_t>(n), '\0');
  uint32_t x = seed * 2654435761u + 12345;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    out[static_cast<size_t>(i)] = static_cast<char>(x >> 24);
  }
  return out;
}

// The ErrorInfo reason of a failed call ("" when none).
std::string Reason(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return "";
  for (const auto& any : rich.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

bool HasRetryInfo(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return false;
  for (const auto& any : rich.details()) {
    google::rpc::RetryInfo info;
    if (any.UnpackTo(&info)) return true;
  }
  return false;
}

int ThreadCount() {
  int n = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

server::CallerOptions Caller(std::string name, const std::string& token) {
  server::CallerOptions c;
  c.name = std::move(name);
  c.token_sha256 = server::Sha256Hex(token);
  c.allow = {"*"};
  return c;
}

void Authorize(grpc::ClientContext* ctx, const std::string& token) {
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

// A channel with a connection of its own (not shared with other channels to
// the same address), so many streams spread over several connections.
std::shared_ptr<grpc::Channel> OwnChannel(int port, int n) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("filesgw.test_channel", n);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

grpc::Status UploadAll(TransferService::Stub* stub, const std::string& path,
                       const std::string& data, const std::string& token = "",
                       size_t chunk = 256 * 1024, UploadResponse* out = nullptr) {
  grpc::ClientContext ctx;
  Authorize(&ctx, token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  UploadResponse response;
  auto writer = stub->Upload(&ctx, &response);
  UploadRequest first;
  first.mutable_spec()->set_path(path);
  first.mutable_spec()->set_mkdir_parents(true);
  bool ok = writer->Write(first);
  for (size_t at = 0; ok && at < data.size(); at += chunk) {
    UploadRequest m;
    m.set_data(data.substr(at, chunk));
    ok = writer->Write(m);
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (out != nullptr) *out = response;
  return s;
}

grpc::Status DownloadAll(TransferService::Stub* stub, const std::string& path, std::string* data,
                         const std::string& token = "") {
  grpc::ClientContext ctx;
  Authorize(&ctx, token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  DownloadRequest req;
  req.set_path(path);
  auto reader = stub->Download(&ctx, req);
  DownloadResponse m;
  data->clear();
  while (reader->Read(&m)) data->append(m.data());
  return reader->Finish();
}

// Waits for a count of events signalled from gRPC's callback threads.
class Latch {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool WaitFor(int n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return n_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

// An upload that sends its first message (and optionally some data), then
// nothing: the caller neither writes nor half-closes. No client thread.
class IdleUpload : public grpc::ClientWriteReactor<UploadRequest> {
 public:
  IdleUpload(TransferService::Stub* stub, const std::string& path, Latch* started, Latch* done,
             const std::string& token = "", std::string data = "")
      : started_(started), done_(done) {
    Authorize(&ctx_, token);
    first_.mutable_spec()->set_path(path);
    first_.mutable_spec()->set_mkdir_parents(true);
    first_.set_data(std::move(data));
    stub->async()->Upload(&ctx_, &response_, this);
    StartWrite(&first_);
    StartCall();
  }
  // Started: the first message is sent and the gateway has admitted the
  // stream (it sends its initial metadata then).
  void OnWriteDone(bool /*ok*/) override { Step(); }
  void OnReadInitialMetadataDone(bool /*ok*/) override { Step(); }
  void OnDone(const grpc::Status& s) override {
    status_ = s;
    done_->Add();
  }
  void Cancel() { ctx_.TryCancel(); }
  const grpc::Status& status() const { return status_; }

 private:
  void Step() {
    if (steps_.fetch_add(1) == 1) started_->Add();
  }
  Latch* started_;
  Latch* done_;
  std::atomic<int> steps_{0};
  grpc::ClientContext ctx_;
  UploadRequest first_;
  UploadResponse response_;
  grpc::Status status_;
};

// A download that reads the metadata message, then stops reading.
class IdleDownload : public grpc::ClientReadReactor<DownloadResponse> {
 public:
  IdleDownload(TransferService::Stub* stub, const std::string& path, Latch* started, Latch* done)
      : started_(started), done_(done) {
    request_.set_path(path);
    stub->async()->Download(&ctx_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  void OnReadDone(bool /*ok*/) override { started_->Add(); }
  void OnDone(const grpc::Status& s) override {
    status_ = s;
    done_->Add();
  }
  void Cancel() { ctx_.TryCancel(); }

 private:
  Latch* started_;
  Latch* done_;
  grpc::ClientContext ctx_;
  DownloadRequest request_;
  DownloadResponse message_;
  grpc::Status status_;
};

TEST(TransferIsolation, ManyIdleStreamsHoldNoThreads) {
  HarnessOptions options;
  // The emulator runs in this process too, a thread per worker: enough that
  // it is not the bottleneck, and subtracted from the count below.
  constexpr int kEmulatorThreads = 200;
  options.emulator_setup = [](emulator::EmulatorOptions* e) {
    e->part_size = kPart;
    e->threads = kEmulatorThreads;
  };
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->chunk_size = 64 * 1024;
    g->stream_idle_timeout = absl::Seconds(60);
    g->download_stall_release = absl::Milliseconds(500);
    g->caller_limits.max_streams = 0;  // one anonymous caller opens them all
    g->caller_limits.max_calls = 0;
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  const std::string file = Bytes(2 << 20, 5);
  ASSERT_TRUE(UploadAll(stub.get(), "idle/source.bin", file).ok());

  constexpr int kEach = 150;
  constexpr int kChannels = 6;
  std::vector<std::unique_ptr<TransferService::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    stubs.push_back(TransferService::NewStub(OwnChannel(harness.gateway_port(), i)));
  }
  const int before = ThreadCount();
  Latch started, done;
  std::vector<std::unique_ptr<IdleUpload>> uploads;
  std::vector<std::unique_ptr<IdleDownload>> downloads;
  for (int i = 0; i < kEach; ++i) {
    uploads.push_back(std::make_unique<IdleUpload>(stubs[i % kChannels].get(),
                                                   absl::StrCat("idle/u", i), &started, &done));
    downloads.push_back(std::make_unique<IdleDownload>(stubs[(i + 1) % kChannels].get(),
                                                       "idle/source.bin", &started, &done));
  }
  ASSERT_TRUE(started.WaitFor(2 * kEach, absl::Seconds(60))) << "streams did not open";
  const int threads = ThreadCount() - kEmulatorThreads;
  EXPECT_LT(threads, 64) << "threads with " << 2 * kEach << " idle streams open";
  EXPECT_LE(ThreadCount() - before, 8) << "threads grew with the streams";
  RecordProperty("threads_with_idle_streams", threads);

  // Another caller's transfers go through meanwhile.
  auto other = TransferService::NewStub(OwnChannel(harness.gateway_port(), 100));
  const std::string data = Bytes(3 * kPart + 5, 6);
  grpc::Status up = UploadAll(other.get(), "idle/other.bin", data);
  ASSERT_TRUE(up.ok()) << up.error_message();
  std::string back;
  grpc::Status down = DownloadAll(other.get(), "idle/other.bin", &back);
  ASSERT_TRUE(down.ok()) << down.error_message();
  EXPECT_TRUE(back == data);
  CallResult user = harness.Call("files.v1.UserService/FindUser", R"({"id":1})", absl::Seconds(5));
  EXPECT_TRUE(user.status.ok()) << "API calls too: " << user.status.error_message();
  EXPECT_LT(ThreadCount() - kEmulatorThreads, 64);

  for (auto& u : uploads) u->Cancel();
  for (auto& d : downloads) d->Cancel();
  ASSERT_TRUE(done.WaitFor(2 * kEach, absl::Seconds(60)));
}

class IdleLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    HarnessOptions options;
    options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = kPart; };
    options.gateway_setup = [](server::GatewayOptions* g) {
      g->chunk_size = 64 * 1024;
      g->stream_idle_timeout = absl::Milliseconds(400);
      g->download_stall_release = absl::Milliseconds(150);
      g->max_upload_message_bytes = 1 << 20;
    };
    harness_ = std::make_unique<GatewayHarness>(options);
    stub_ = TransferService::NewStub(harness_->channel());
  }
  bool Exists(const std::string& path) {
    return harness_
        ->Call("files.v1.FileService/FindFile", absl::StrCat(R"({"path":")", path, R"("})"))
        .status.ok();
  }
  std::unique_ptr<GatewayHarness> harness_;
  std::unique_ptr<TransferService::Stub> stub_;
};

TEST_F(IdleLimits, IdleUploadEndsWithStreamIdleAndStaysResumable) {
  files::v1::StartResumableUploadRequest start;
  start.mutable_spec()->set_path("idle/resumable.bin");
  start.mutable_spec()->set_mkdir_parents(true);
  files::v1::StartResumableUploadResponse started;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StartResumableUpload(&ctx, start, &started).ok());
  }
  const std::string data = Bytes(3 * kPart + 100, 7);
  // One and a half parts, then the caller goes quiet without closing.
  grpc::ClientContext ctx;
  UploadResponse response;
  auto writer = stub_->Upload(&ctx, &response);
  UploadRequest first;
  first.set_upload_id(started.upload_id());
  first.set_write_offset(0);
  first.set_data(data.substr(0, kPart + kPart / 2));
  ASSERT_TRUE(writer->Write(first));
  grpc::Status idle = writer->Finish();  // the gateway ends it
  EXPECT_EQ(idle.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << idle.error_message();
  EXPECT_EQ(Reason(idle), "STREAM_IDLE");
  EXPECT_FALSE(Exists("idle/resumable.bin"));

  files::v1::QueryUploadStatusResponse status;
  {
    grpc::ClientContext q;
    files::v1::QueryUploadStatusRequest request;
    request.set_upload_id(started.upload_id());
    ASSERT_TRUE(stub_->QueryUploadStatus(&q, request, &status).ok());
  }
  EXPECT_EQ(status.persisted_size(), kPart) << "the whole first part is kept";
  EXPECT_FALSE(status.complete());

  grpc::ClientContext resume;
  UploadResponse finished;
  auto rest = stub_->Upload(&resume, &finished);
  UploadRequest next;
  next.set_upload_id(started.upload_id());
  next.set_write_offset(status.persisted_size());
  next.set_data(data.substr(static_cast<size_t>(status.persisted_size())));
  next.set_finish_upload(true);
  ASSERT_TRUE(rest->Write(next));
  rest->WritesDone();
  grpc::Status s = rest->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(finished.file().size(), static_cast<int64_t>(data.size()));
  std::string back;
  ASSERT_TRUE(DownloadAll(stub_.get(), "idle/resumable.bin", &back).ok());
  EXPECT_TRUE(back == data);
}

TEST_F(IdleLimits, CancellingAResumableUploadEndsTheStreamWritingIt) {
  files::v1::StartResumableUploadRequest start;
  start.mutable_spec()->set_path("idle/cancelled.bin");
  start.mutable_spec()->set_mkdir_parents(true);
  files::v1::StartResumableUploadResponse started;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StartResumableUpload(&ctx, start, &started).ok());
  }
  grpc::ClientContext ctx;
  UploadResponse response;
  auto writer = stub_->Upload(&ctx, &response);
  UploadRequest first;
  first.set_upload_id(started.upload_id());
  first.set_data(Bytes(1000, 19));
  ASSERT_TRUE(writer->Write(first));
  // Whether the cancel comes before the gateway attaches the stream to the
  // upload (NOT_FOUND) or after (ABORTED), the stream fails, nothing committed.
  {
    grpc::ClientContext cancel;
    files::v1::CancelResumableUploadRequest request;
    request.set_upload_id(started.upload_id());
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub_->CancelResumableUpload(&cancel, request, &empty).ok());
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::ABORTED ||
              s.error_code() == grpc::StatusCode::NOT_FOUND)
      << s.error_code() << " " << s.error_message();
  EXPECT_FALSE(Exists("idle/cancelled.bin"));
}

TEST_F(IdleLimits, DownloadWhoseCallerNeverReadsEndsWithStreamIdle) {
  const std::string data = Bytes(8 << 20, 8);
  ASSERT_TRUE(UploadAll(stub_.get(), "idle/never-read.bin", data).ok());
  grpc::ClientContext ctx;
  DownloadRequest req;
  req.set_path("idle/never-read.bin");
  auto reader = stub_->Download(&ctx, req);
  DownloadResponse m;
  ASSERT_TRUE(reader->Read(&m));  // metadata; then the caller stops reading
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the caller's pause
  int64_t bytes = 0;
  while (reader->Read(&m)) bytes += static_cast<int64_t>(m.data().size());
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_EQ(Reason(s), "STREAM_IDLE");
  EXPECT_LT(bytes, static_cast<int64_t>(data.size()));
}

TEST_F(IdleLimits, UploadMessageOverTheLimitIsRefused) {
  grpc::ClientContext ctx;
  UploadResponse response;
  auto writer = stub_->Upload(&ctx, &response);
  UploadRequest first;
  first.mutable_spec()->set_path("idle/too-big.bin");
  first.mutable_spec()->set_mkdir_parents(true);
  ASSERT_TRUE(writer->Write(first));
  UploadRequest big;
  big.set_data(Bytes((1 << 20) + 1, 9));
  writer->Write(big);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(Reason(s), "MESSAGE_TOO_LARGE");
  EXPECT_FALSE(Exists("idle/too-big.bin"));
  // At the limit is fine.
  const std::string ok_data = Bytes(1 << 20, 10);
  grpc::Status fits = UploadAll(stub_.get(), "idle/fits.bin", ok_data, "", 1 << 20);
  EXPECT_TRUE(fits.ok()) << fits.error_message();
}

TEST_F(IdleLimits, DownloadUrlThatStaysExpiredIsUnavailable) {
  ASSERT_TRUE(UploadAll(stub_.get(), "idle/expired.bin", Bytes(1000, 11)).ok());
  harness_->ControlPost(
      "/__emulator/faults",
      R"({"method":"GET","path":"/__emulator/download/*","expire":true,"times":100})");
  std::string back;
  grpc::Status s = DownloadAll(stub_.get(), "idle/expired.bin", &back);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(Reason(s), "DOWNLOAD_URL_EXPIRED");
}

TEST(TransferIsolation, ResumableUploadLivesFromItsLastActivity) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->resumable_ttl = absl::Milliseconds(1500);
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  files::v1::StartResumableUploadRequest start;
  start.mutable_spec()->set_path("ttl/f.bin");
  start.mutable_spec()->set_mkdir_parents(true);
  files::v1::StartResumableUploadResponse started;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->StartResumableUpload(&ctx, start, &started).ok());
  }
  auto query = [&] {
    grpc::ClientContext ctx;
    files::v1::QueryUploadStatusRequest request;
    request.set_upload_id(started.upload_id());
    files::v1::QueryUploadStatusResponse status;
    return stub->QueryUploadStatus(&ctx, request, &status).error_code();
  };
  // Each query counts as activity: 2.4 s after the start it is still there.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    ASSERT_EQ(query(), grpc::StatusCode::OK) << "query " << i;
  }
  // Left alone past its time to live, it is gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  EXPECT_EQ(query(), grpc::StatusCode::NOT_FOUND);
}

TEST(TransferIsolation, FullUploadBudgetSlowsUploadsWithoutRefusingThem) {
  HarnessOptions options;
  options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = kPart; };
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->upload_memory = 1 << 20;  // four parts for four concurrent uploads
    g->caller_limits.max_streams = 0;
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  constexpr int kUploads = 4;
  std::vector<std::string> data;
  for (int i = 0; i < kUploads; ++i) data.push_back(Bytes(12 * kPart + 7, 20 + i));
  std::vector<grpc::Status> status(kUploads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kUploads; ++i) {
    threads.emplace_back([&, i] {
      status[i] = UploadAll(stub.get(), absl::StrCat("budget/f", i), data[i], "", 64 << 10);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kUploads; ++i) {
    ASSERT_TRUE(status[i].ok()) << i << ": " << status[i].error_message();
    std::string back;
    ASSERT_TRUE(DownloadAll(stub.get(), absl::StrCat("budget/f", i), &back).ok());
    EXPECT_TRUE(back == data[i]) << i;
  }
}

TEST(TransferIsolation, BudgetFullOfPartlyReceivedPartsStillProgresses) {
  // Four uploads each send 300 KiB of a 512 KiB part into a 1 MiB budget:
  // the budget is full of parts none of which can finish, and no part is in
  // flight to free any. One stream may go over to finish its part; then all
  // finish, long before the idle timeout.
  HarnessOptions options;
  options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = 512 << 10; };
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->upload_memory = 1 << 20;
    g->stream_idle_timeout = absl::Seconds(60);
    g->caller_limits.max_streams = 0;
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  constexpr int kUploads = 4;
  constexpr size_t kFirst = 300 << 10;
  struct Writer {
    grpc::ClientContext ctx;
    UploadResponse response;
    std::unique_ptr<grpc::ClientWriter<UploadRequest>> stream;
    std::string data;
  };
  std::vector<std::unique_ptr<Writer>> writers;
  auto send = [](Writer* w, size_t from, size_t to) {
    for (size_t at = from; at < to; at += 60 << 10) {
      UploadRequest m;
      m.set_data(w->data.substr(at, std::min<size_t>(60 << 10, to - at)));
      if (!w->stream->Write(m)) return false;
    }
    return true;
  };
  for (int i = 0; i < kUploads; ++i) {
    auto w = std::make_unique<Writer>();
    w->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    w->data = Bytes(1 << 20, 30 + i);
    w->stream = stub->Upload(&w->ctx, &w->response);
    UploadRequest first;
    first.mutable_spec()->set_path(absl::StrCat("overdraft/f", i));
    first.mutable_spec()->set_mkdir_parents(true);
    ASSERT_TRUE(w->stream->Write(first));
    ASSERT_TRUE(send(w.get(), 0, kFirst));
    writers.push_back(std::move(w));
  }
  for (auto& w : writers) {
    ASSERT_TRUE(send(w.get(), kFirst, w->data.size()));
    w->stream->WritesDone();
  }
  for (int i = 0; i < kUploads; ++i) {
    grpc::Status s = writers[i]->stream->Finish();
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
    EXPECT_EQ(writers[i]->response.file().size(), 1 << 20);
  }
}

// Counts storage GETs that carry a Range header (resumes).
class RangeCountingTransport : public client_core::HttpTransport {
 public:
  explicit RangeCountingTransport(std::shared_ptr<client_core::HttpTransport> inner)
      : inner_(std::move(inner)) {}
  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
    if (request.method == "GET") {
      for (const auto& [name, value] : request.headers) {
        if (name == "Range") ranged.fetch_add(1);
      }
    }
    return inner_->Start(std::move(request), std::move(done));
  }
  static std::atomic<int> ranged;

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
};
std::atomic<int> RangeCountingTransport::ranged{0};

TEST(TransferIsolation, StalledReaderReleasesItsConnectionAndResumesWithARange) {
  HarnessOptions options;
  options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = kPart; };
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->chunk_size = 64 * 1024;
    g->stream_idle_timeout = absl::Seconds(30);
    g->download_stall_release = absl::Milliseconds(200);
  };
  options.wrap_transport = [](std::shared_ptr<client_core::HttpTransport> inner) {
    return std::make_shared<RangeCountingTransport>(std::move(inner));
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  const std::string data = Bytes(16 << 20, 12);
  ASSERT_TRUE(UploadAll(stub.get(), "stall/big.bin", data).ok());
  RangeCountingTransport::ranged = 0;

  grpc::ClientContext ctx;
  DownloadRequest req;
  req.set_path("stall/big.bin");
  auto reader = stub->Download(&ctx, req);
  DownloadResponse m;
  ASSERT_TRUE(reader->Read(&m));  // metadata
  ASSERT_TRUE(m.has_metadata());
  std::string back;
  ASSERT_TRUE(reader->Read(&m));
  back.append(m.data());
  // The caller stops reading for longer than download_stall_release.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  while (reader->Read(&m)) {
    EXPECT_EQ(m.offset(), static_cast<int64_t>(back.size()));
    back.append(m.data());
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(back == data) << "got " << back.size() << " bytes";
  EXPECT_GE(RangeCountingTransport::ranged.load(), 1) << "no Range request resumed the download";
}

class SharedGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    HarnessOptions options;
    options.gateway_setup = [](server::GatewayOptions* g) {
      g->upload_memory = 32 << 20;
      g->stream_idle_timeout = absl::Seconds(30);
      server::CallerOptions hog = Caller("hog", "tok-hog");
      hog.limits.max_streams = 24;
      server::CallerOptions capped = Caller("capped", "tok-capped");
      capped.limits.max_streams = 2;
      server::CallerOptions small = Caller("small", "tok-small");
      small.limits.upload_memory = 512 << 10;  // less than one 5 MiB part
      server::CallerOptions narrow = Caller("narrow", "tok-narrow");
      narrow.limits.max_upstream_requests = 1;
      g->callers = {hog, capped, small, narrow, Caller("victim", "tok-victim")};
    };
    harness_ = std::make_unique<GatewayHarness>(options);
    stub_ = TransferService::NewStub(harness_->channel());
  }
  std::unique_ptr<GatewayHarness> harness_;
  std::unique_ptr<TransferService::Stub> stub_;
};

TEST_F(SharedGateway, CallerOverItsStreamShareIsRefusedOthersAreNot) {
  Latch started, done;
  std::vector<std::unique_ptr<IdleUpload>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<IdleUpload>(stub_.get(), absl::StrCat("share/c", i), &started,
                                                &done, "tok-capped"));
  }
  ASSERT_TRUE(started.WaitFor(2, absl::Seconds(30)));
  grpc::Status third = UploadAll(stub_.get(), "share/c3", "x", "tok-capped");
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
  EXPECT_EQ(Reason(third), "CALLER_QUOTA_EXCEEDED");
  EXPECT_TRUE(HasRetryInfo(third));

  const std::string data = Bytes(300000, 13);
  grpc::Status victim = UploadAll(stub_.get(), "share/victim.bin", data, "tok-victim");
  EXPECT_TRUE(victim.ok()) << victim.error_message();
  std::string back;
  EXPECT_TRUE(DownloadAll(stub_.get(), "share/victim.bin", &back, "tok-victim").ok());
  EXPECT_TRUE(back == data);

  for (auto& u : open) u->Cancel();
  ASSERT_TRUE(done.WaitFor(2, absl::Seconds(30)));
}

TEST_F(SharedGateway, StalledUploadsHoldNoUploadMemory) {
  // 20 uploads that send one byte and stall: with 5 MiB parts reserved on the
  // first byte they would hold 100 MiB of a 32 MiB budget.
  Latch started, done;
  std::vector<std::unique_ptr<IdleUpload>> stalled;
  for (int i = 0; i < 20; ++i) {
    stalled.push_back(std::make_unique<IdleUpload>(stub_.get(), absl::StrCat("stall/u", i),
                                                   &started, &done, "tok-hog", "x"));
  }
  ASSERT_TRUE(started.WaitFor(20, absl::Seconds(30)));
  const std::string data = Bytes(20 << 20, 14);
  grpc::ClientContext ctx;
  Authorize(&ctx, "tok-victim");
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  UploadResponse response;
  auto writer = stub_->Upload(&ctx, &response);
  UploadRequest first;
  first.mutable_spec()->set_path("stall/victim.bin");
  first.mutable_spec()->set_mkdir_parents(true);
  ASSERT_TRUE(writer->Write(first));
  for (size_t at = 0; at < data.size(); at += 1 << 20) {
    UploadRequest m;
    m.set_data(data.substr(at, 1 << 20));
    ASSERT_TRUE(writer->Write(m));
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.file().size(), static_cast<int64_t>(data.size()));

  for (auto& u : stalled) u->Cancel();
  ASSERT_TRUE(done.WaitFor(20, absl::Seconds(30)));
}

TEST_F(SharedGateway, CallerOverItsUploadMemoryShareEndsWithCallerQuotaExceeded) {
  // Its share fills before a part does, and no part of its own is in flight
  // to free any: after a few seconds' wait the stream ends, nothing committed.
  grpc::Status s = UploadAll(stub_.get(), "share/small.bin", Bytes(2 << 20, 16), "tok-small",
                             128 << 10);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(Reason(s), "CALLER_QUOTA_EXCEEDED");
  EXPECT_TRUE(HasRetryInfo(s));
  EXPECT_FALSE(harness_
                   ->Call("files.v1.FileService/FindFile", R"({"path":"share/small.bin"})")
                   .status.ok());
  // Within its share it uploads fine.
  const std::string fits = Bytes(256 << 10, 17);
  grpc::Status ok = UploadAll(stub_.get(), "share/small-ok.bin", fits, "tok-small", 64 << 10);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST_F(SharedGateway, StorageRequestsQueueForTheCallersUpstreamShare) {
  // One upstream request at a time for this caller: its parts and GETs wait
  // their turn instead of failing.
  const std::string data = Bytes(12 << 20, 18);
  ASSERT_TRUE(UploadAll(stub_.get(), "narrow/a.bin", data, "tok-narrow", 1 << 20).ok());
  grpc::Status up;
  std::thread uploader([&] {
    up = UploadAll(stub_.get(), "narrow/b.bin", data, "tok-narrow", 1 << 20);
  });
  std::string back;
  grpc::Status down = DownloadAll(stub_.get(), "narrow/a.bin", &back, "tok-narrow");
  uploader.join();
  ASSERT_TRUE(up.ok()) << up.error_message();
  ASSERT_TRUE(down.ok()) << down.error_message();
  EXPECT_TRUE(back == data);
}

TEST_F(SharedGateway, UnauthenticatedUploadIsRefusedBeforeItsBytesAreRead) {
  grpc::Status s = UploadAll(stub_.get(), "share/anon.bin", Bytes(1 << 20, 15));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::string back;
  EXPECT_EQ(DownloadAll(stub_.get(), "share/anon.bin", &back).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace filesgw::testing
