// TransferService end to end: real gRPC client -> gateway -> libcurl ->
// emulator file system over loopback. Bytes are compared after every round
// trip; failure cases check that nothing appears at the destination.
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client_core/checksum.h"
#include "files/v1/transfer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

using files::v1::DownloadRequest;
using files::v1::DownloadResponse;
using files::v1::TransferService;
using files::v1::UploadRequest;
using files::v1::UploadResponse;
using files::v1::UploadSpec;

constexpr int64_t kPart = 256 * 1024;  // the emulator's part size in these tests

// Deterministic bytes: byte i of a file seeded `seed`.
std::string Bytes(int64_t n, uint32_t seed = 1) {
  std::string out(static_cast<size_t>(n), '\0');
  uint32_t x = seed * 2654435761u + 12345;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    out[static_cast<size_t>(i)] = static_cast<char>(x >> 24);
  }
  return out;
}

struct UploadOutcome {
  grpc::Status status;
  UploadResponse response;
};

class TransferTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    HarnessOptions options;
    options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = kPart; };
    options.gateway_setup = [](server::GatewayOptions* g) { g->chunk_size = 64 * 1024; };
    harness_ = new GatewayHarness(options);
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }
  void SetUp() override {
    harness_->ResetEmulator();
    stub_ = TransferService::NewStub(harness_->channel());
  }

  UploadOutcome Upload(const UploadSpec& spec, const std::string& data, size_t chunk = 100000) {
    UploadOutcome out;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto writer = stub_->Upload(&ctx, &out.response);
    UploadRequest first;
    *first.mutable_spec() = spec;
    bool ok = writer->Write(first);
    for (size_t at = 0; ok && at < data.size(); at += chunk) {
      UploadRequest m;
      m.set_data(data.substr(at, chunk));
      ok = writer->Write(m);
    }
    writer->WritesDone();
    out.status = writer->Finish();
    return out;
  }

  UploadOutcome Upload(const std::string& path, const std::string& data) {
    UploadSpec spec;
    spec.set_path(path);
    spec.set_mkdir_parents(true);
    return Upload(spec, data);
  }

  grpc::Status Download(const std::string& path, std::string* data, files::v1::File* metadata = nullptr,
                        int64_t offset = 0, int64_t length = 0) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    DownloadRequest req;
    req.set_path(path);
    req.set_offset(offset);
    req.set_length(length);
    auto reader = stub_->Download(&ctx, req);
    DownloadResponse m;
    data->clear();
    bool first = true;
    while (reader->Read(&m)) {
      if (first) {
        EXPECT_TRUE(m.has_metadata());
        if (metadata != nullptr) *metadata = m.metadata();
        first = false;
      }
      EXPECT_EQ(m.offset(), offset + static_cast<int64_t>(data->size()));
      data->append(m.data());
    }
    return reader->Finish();
  }

  bool Exists(const std::string& path) {
    auto r = harness_->Call("files.v1.FileService/FindFile",
                            absl::StrCat(R"({"path":")", path, R"("})"));
    return r.status.ok();
  }

  static GatewayHarness* harness_;
  std::unique_ptr<TransferService::Stub> stub_;
};
GatewayHarness* TransferTest::harness_ = nullptr;

TEST_F(TransferTest, RoundTripsEdgeSizes) {
  for (int64_t size : {int64_t{0}, int64_t{1}, kPart - 1, kPart, kPart + 1, 3 * kPart + 17}) {
    SCOPED_TRACE(size);
    const std::string path = absl::StrCat("sizes/file-", size, ".bin");
    const std::string data = Bytes(size, static_cast<uint32_t>(size));
    auto up = Upload(path, data);
    ASSERT_TRUE(up.status.ok()) << up.status.error_message();
    EXPECT_EQ(up.response.file().size(), size);
    client_core::Md5 md5;
    md5.Update(data);
    EXPECT_EQ(up.response.crc32c(), client_core::Crc32c(0, data));
    EXPECT_TRUE(up.response.md5().empty()) << "md5 is only computed when expected_md5 is given";
    EXPECT_EQ(up.response.file().md5(), md5.Hex());
    std::string back;
    files::v1::File meta;
    auto down = Download(path, &back, &meta);
    ASSERT_TRUE(down.ok()) << down.error_message();
    EXPECT_EQ(back.size(), data.size());
    EXPECT_TRUE(back == data);
    EXPECT_EQ(meta.size(), size);
    EXPECT_TRUE(meta.download_uri().empty()) << "presigned URLs are not handed out";
  }
}

TEST_F(TransferTest, RoundTrips300MiBWithoutHoldingIt) {
  constexpr int64_t kSize = int64_t{300} << 20;
  uint32_t sent = 0;  // CRC-32C of what was sent
  UploadResponse response;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    auto writer = stub_->Upload(&ctx, &response);
    UploadRequest first;
    first.mutable_spec()->set_path("large/300MiB.bin");
    first.mutable_spec()->set_mkdir_parents(true);
    first.mutable_spec()->set_expected_size(kSize);
    ASSERT_TRUE(writer->Write(first));
    const std::string block = Bytes(1 << 20, 99);
    for (int64_t at = 0; at < kSize; at += block.size()) {
      UploadRequest m;
      m.set_data(block);
      // Vary each MiB so that misplaced parts cannot go unnoticed.
      std::string* d = m.mutable_data();
      std::memcpy(d->data(), &at, sizeof(at));
      sent = client_core::Crc32c(sent, *d);
      ASSERT_TRUE(writer->Write(m));
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(response.file().size(), kSize);
  EXPECT_EQ(response.crc32c(), sent);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  DownloadRequest req;
  req.set_path("large/300MiB.bin");
  auto reader = stub_->Download(&ctx, req);
  DownloadResponse m;
  uint32_t received = 0;
  int64_t bytes = 0;
  while (reader->Read(&m)) {
    received = client_core::Crc32c(received, m.data());
    bytes += static_cast<int64_t>(m.data().size());
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(bytes, kSize);
  EXPECT_EQ(received, sent);
}

TEST_F(TransferTest, UnicodeAndSpaceLadenPaths) {
  for (std::string path : {"spaced out/a file with spaces.txt", "ünïcødé/日本語 ファイル.txt",
                           "odd/hash#question?percent%20plus+.txt"}) {
    SCOPED_TRACE(path);
    const std::string data = Bytes(1000, 7);
    auto up = Upload(path, data);
    ASSERT_TRUE(up.status.ok()) << up.status.error_message();
    std::string back;
    ASSERT_TRUE(Download(path, &back).ok());
    EXPECT_TRUE(back == data);
    EXPECT_TRUE(Exists(path));
  }
}

TEST_F(TransferTest, RangesReturnExactlyTheAskedBytes) {
  const std::string data = Bytes(5 * kPart + 3, 3);
  ASSERT_TRUE(Upload("ranges/r.bin", data).status.ok());
  std::string back;
  ASSERT_TRUE(Download("ranges/r.bin", &back, nullptr, kPart + 5, 1000).ok());
  EXPECT_TRUE(back == data.substr(kPart + 5, 1000));
  ASSERT_TRUE(Download("ranges/r.bin", &back, nullptr, 4 * kPart, 0).ok());
  EXPECT_TRUE(back == data.substr(4 * kPart));
  grpc::Status past = Download("ranges/r.bin", &back, nullptr, data.size() + 1, 0);
  EXPECT_EQ(past.error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(TransferTest, PartFailingTwiceIsRetriedFromTheGatewaysBuffer) {
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"PUT","path":"/__emulator/upload/*","status":503,"times":2})");
  const std::string data = Bytes(6 * kPart + 99, 11);
  auto up = Upload("retry/parts.bin", data);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  std::string back;
  ASSERT_TRUE(Download("retry/parts.bin", &back).ok());
  EXPECT_TRUE(back == data);
}

TEST_F(TransferTest, CancelledUploadLeavesNothing) {
  grpc::ClientContext ctx;
  UploadResponse response;
  auto writer = stub_->Upload(&ctx, &response);
  UploadRequest first;
  first.mutable_spec()->set_path("cancel/never.bin");
  first.mutable_spec()->set_mkdir_parents(true);
  ASSERT_TRUE(writer->Write(first));
  const std::string data = Bytes(3 * kPart, 5);
  for (size_t at = 0; at < data.size(); at += 65536) {
    UploadRequest m;
    m.set_data(data.substr(at, 65536));
    ASSERT_TRUE(writer->Write(m));
  }
  ctx.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(Exists("cancel/never.bin"));
}

TEST_F(TransferTest, ShortStreamWithExpectedSizeCommitsNothing) {
  UploadSpec spec;
  spec.set_path("short/file.bin");
  spec.set_mkdir_parents(true);
  spec.set_expected_size(2 * kPart);
  auto up = Upload(spec, Bytes(kPart + 10));
  EXPECT_EQ(up.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(up.status.error_message(), ::testing::HasSubstr("nothing was committed"));
  EXPECT_FALSE(Exists("short/file.bin"));
}

TEST_F(TransferTest, WrongExpectedChecksumCommitsNothing) {
  const std::string data = Bytes(kPart + 1, 9);
  UploadSpec spec;
  spec.set_path("sums/bad.bin");
  spec.set_mkdir_parents(true);
  spec.set_expected_md5("00000000000000000000000000000000");
  EXPECT_EQ(Upload(spec, data).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  spec.clear_expected_md5();
  spec.set_expected_crc32c(client_core::Crc32c(0, data) ^ 1);
  EXPECT_EQ(Upload(spec, data).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Exists("sums/bad.bin"));
  spec.set_expected_crc32c(client_core::Crc32c(0, data));
  client_core::Md5 md5;
  md5.Update(data);
  spec.set_expected_md5(md5.Hex());
  auto good = Upload(spec, data);
  EXPECT_TRUE(good.status.ok()) << good.status.error_message();
  EXPECT_EQ(good.response.crc32c(), client_core::Crc32c(0, data));
  EXPECT_EQ(good.response.md5(), md5.Hex());
}

TEST_F(TransferTest, MissingParentWithoutMkdirParentsIsAFilesComError) {
  UploadSpec spec;
  spec.set_path("no/such/parent/file.txt");
  auto up = Upload(spec, "hello");
  EXPECT_FALSE(up.status.ok());
  EXPECT_NE(up.status.error_code(), grpc::StatusCode::INTERNAL) << up.status.error_message();
  EXPECT_FALSE(Exists("no/such/parent/file.txt"));
}

TEST_F(TransferTest, OverwritePolicyFailIfExists) {
  ASSERT_TRUE(Upload("exists/f.txt", "one").status.ok());
  UploadSpec spec;
  spec.set_path("exists/f.txt");
  spec.set_overwrite(files::v1::OVERWRITE_POLICY_FAIL_IF_EXISTS);
  EXPECT_EQ(Upload(spec, "two").status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  spec.set_overwrite(files::v1::OVERWRITE_POLICY_UNSPECIFIED);
  ASSERT_TRUE(Upload(spec, "three").status.ok());
  std::string back;
  ASSERT_TRUE(Download("exists/f.txt", &back).ok());
  EXPECT_EQ(back, "three");
}

TEST_F(TransferTest, ResumesAfterTheCallerDisconnects) {
  files::v1::StartResumableUploadRequest start;
  start.mutable_spec()->set_path("resume/big.bin");
  start.mutable_spec()->set_mkdir_parents(true);
  files::v1::StartResumableUploadResponse started;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StartResumableUpload(&ctx, start, &started).ok());
  }
  const std::string data = Bytes(7 * kPart + 1234, 21);
  // First stream: 3.5 parts, then the caller vanishes.
  {
    grpc::ClientContext ctx;
    UploadResponse response;
    auto writer = stub_->Upload(&ctx, &response);
    UploadRequest first;
    first.set_upload_id(started.upload_id());
    first.set_write_offset(0);
    ASSERT_TRUE(writer->Write(first));
    for (int64_t at = 0; at < 3 * kPart + kPart / 2; at += 32768) {
      UploadRequest m;
      m.set_data(data.substr(at, 32768));
      ASSERT_TRUE(writer->Write(m));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let parts land
    ctx.TryCancel();
    writer->Finish();
  }
  EXPECT_FALSE(Exists("resume/big.bin"));
  files::v1::QueryUploadStatusResponse status;
  for (int i = 0; i < 50; ++i) {  // the gateway notices the cancel within ~100 ms
    grpc::ClientContext ctx;
    files::v1::QueryUploadStatusRequest q;
    q.set_upload_id(started.upload_id());
    ASSERT_TRUE(stub_->QueryUploadStatus(&ctx, q, &status).ok());
    if (status.persisted_size() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t persisted = status.persisted_size();
  EXPECT_FALSE(status.complete());
  EXPECT_EQ(persisted % kPart, 0) << "only whole parts are durable";
  EXPECT_GE(persisted, kPart);
  EXPECT_LE(persisted, 3 * kPart);

  // A wrong offset is refused; the right one continues and finishes.
  {
    grpc::ClientContext ctx;
    UploadResponse response;
    auto writer = stub_->Upload(&ctx, &response);
    UploadRequest first;
    first.set_upload_id(started.upload_id());
    first.set_write_offset(persisted + 1);
    first.set_data("x");
    writer->Write(first);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    UploadResponse response;
    auto writer = stub_->Upload(&ctx, &response);
    UploadRequest first;
    first.set_upload_id(started.upload_id());
    first.set_write_offset(persisted);
    ASSERT_TRUE(writer->Write(first));
    for (int64_t at = persisted; at < static_cast<int64_t>(data.size()); at += 50000) {
      UploadRequest m;
      m.set_data(data.substr(at, 50000));
      m.set_finish_upload(at + 50000 >= static_cast<int64_t>(data.size()));
      ASSERT_TRUE(writer->Write(m));
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.file().size(), static_cast<int64_t>(data.size()));
  }
  std::string back;
  ASSERT_TRUE(Download("resume/big.bin", &back).ok());
  EXPECT_TRUE(back == data);
  grpc::ClientContext ctx;
  files::v1::QueryUploadStatusRequest q;
  q.set_upload_id(started.upload_id());
  ASSERT_TRUE(stub_->QueryUploadStatus(&ctx, q, &status).ok());
  EXPECT_TRUE(status.complete());
}

TEST_F(TransferTest, DownloadResumesAfterConnectionResetMidBody) {
  const std::string data = Bytes(8 * kPart, 31);
  ASSERT_TRUE(Upload("reset/d.bin", data).status.ok());
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"GET","path":"/__emulator/download/*","cut_after_bytes":300000,"times":2})");
  std::string back;
  grpc::Status s = Download("reset/d.bin", &back);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(back == data);
}

TEST_F(TransferTest, DownloadRefreshesAnExpiredUrl) {
  const std::string data = Bytes(2 * kPart, 41);
  ASSERT_TRUE(Upload("expire/d.bin", data).status.ok());
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"GET","path":"/__emulator/download/*","expire":true,"times":1})");
  std::string back;
  grpc::Status s = Download("expire/d.bin", &back);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(back == data);
  EXPECT_EQ(harness_->RequestCount("GET /api/rest/v1/files/expire/d.bin"), 2)
      << "one GET /files for the first URL, one for the fresh one";
}

TEST_F(TransferTest, DownloadRefreshesAUrlThatExpiresMidStream) {
  const std::string data = Bytes(6 * kPart, 43);
  ASSERT_TRUE(Upload("expire/mid.bin", data).status.ok());
  // The first GET breaks after 200 KB; the URL has expired by the time the
  // gateway asks for the rest with a Range request.
  harness_->ControlPost(
      "/__emulator/faults",
      R"([{"method":"GET","path":"/__emulator/download/*","cut_after_bytes":200000,"times":1},)"
      R"( {"method":"GET","path":"/__emulator/download/*","expire":true,"times":1}])");
  std::string back;
  grpc::Status s = Download("expire/mid.bin", &back);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(back == data);
  EXPECT_EQ(harness_->RequestCount("GET /api/rest/v1/files/expire/mid.bin"), 2);
}

TEST_F(TransferTest, MissingFileIsNotFound) {
  std::string back;
  EXPECT_EQ(Download("nope/missing.bin", &back).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TransferTest, DotSegmentsAndNulInPathsAreRefusedNotDropped) {
  // "a/../b" would otherwise quietly become "b": another file than the one named.
  ASSERT_TRUE(Upload("dots/b.txt", "keep me").status.ok());
  for (const std::string& path :
       {std::string("dots/x/../b.txt"), std::string("dots/./b.txt"), std::string("dots/b\0.txt", 12)}) {
    SCOPED_TRACE(path);
    UploadOutcome up = Upload(path, "overwritten?");
    EXPECT_EQ(up.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << up.status.error_message();
    std::string back;
    EXPECT_EQ(Download(path, &back).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  std::string back;
  ASSERT_TRUE(Download("dots/b.txt", &back).ok());
  EXPECT_EQ(back, "keep me");
}

TEST_F(TransferTest, CancelledDownloadStopsTheStream) {
  const std::string data = Bytes(16 * kPart, 51);
  ASSERT_TRUE(Upload("cancel/d.bin", data).status.ok());
  grpc::ClientContext ctx;
  DownloadRequest req;
  req.set_path("cancel/d.bin");
  auto reader = stub_->Download(&ctx, req);
  DownloadResponse m;
  ASSERT_TRUE(reader->Read(&m));  // metadata
  ASSERT_TRUE(reader->Read(&m));  // some data
  ctx.TryCancel();
  while (reader->Read(&m)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// Flips one byte of every download body: the whole-file md5 must catch it.
class CorruptingTransport : public client_core::HttpTransport {
 public:
  explicit CorruptingTransport(std::shared_ptr<client_core::HttpTransport> inner)
      : inner_(std::move(inner)) {}
  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
    if (request.body_sink && enabled.load()) {
      auto sink = std::move(request.body_sink);
      auto flipped = std::make_shared<bool>(false);
      request.body_sink = [sink, flipped](const client_core::HttpResponse& head,
                                          std::string_view data) {
        if (*flipped || data.empty()) return sink(head, data);
        std::string copy(data);
        copy[0] = static_cast<char>(copy[0] ^ 0x01);
        auto action = sink(head, copy);
        if (action == client_core::BodyAction::kAccept) *flipped = true;
        return action;
      };
    }
    return inner_->Start(std::move(request), std::move(done));
  }
  static std::atomic<bool> enabled;

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
};
std::atomic<bool> CorruptingTransport::enabled{false};

TEST(TransferIntegrity, CorruptedDownloadFailsWithDataLoss) {
  HarnessOptions options;
  options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = kPart; };
  options.wrap_transport = [](std::shared_ptr<client_core::HttpTransport> inner) {
    return std::make_shared<CorruptingTransport>(std::move(inner));
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  const std::string data = Bytes(kPart + 5, 61);
  {
    grpc::ClientContext ctx;
    UploadResponse response;
    auto writer = stub->Upload(&ctx, &response);
    UploadRequest first;
    first.mutable_spec()->set_path("integrity/f.bin");
    first.mutable_spec()->set_mkdir_parents(true);
    first.set_data(data);
    writer->Write(first);
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  CorruptingTransport::enabled = true;
  grpc::ClientContext ctx;
  DownloadRequest req;
  req.set_path("integrity/f.bin");
  auto reader = stub->Download(&ctx, req);
  DownloadResponse m;
  while (reader->Read(&m)) {
  }
  grpc::Status s = reader->Finish();
  CorruptingTransport::enabled = false;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
}

// Counts the download bytes the gateway accepts from upstream.
class CountingTransport : public client_core::HttpTransport {
 public:
  explicit CountingTransport(std::shared_ptr<client_core::HttpTransport> inner)
      : inner_(std::move(inner)) {}
  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
    if (request.body_sink) {
      auto sink = std::move(request.body_sink);
      request.body_sink = [sink](const client_core::HttpResponse& head, std::string_view data) {
        auto action = sink(head, data);
        if (action == client_core::BodyAction::kAccept) accepted.fetch_add(data.size());
        return action;
      };
    }
    return inner_->Start(std::move(request), std::move(done));
  }
  static std::atomic<int64_t> accepted;

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
};
std::atomic<int64_t> CountingTransport::accepted{0};

TEST(TransferFlowControl, SlowReaderSlowsTheUpstreamDownload) {
  HarnessOptions options;
  options.emulator_setup = [](emulator::EmulatorOptions* e) { e->part_size = 8 << 20; };
  options.gateway_setup = [](server::GatewayOptions* g) { g->chunk_size = 256 * 1024; };
  options.wrap_transport = [](std::shared_ptr<client_core::HttpTransport> inner) {
    return std::make_shared<CountingTransport>(std::move(inner));
  };
  GatewayHarness harness(options);
  auto stub = TransferService::NewStub(harness.channel());
  constexpr int64_t kSize = 128 << 20;
  {
    grpc::ClientContext ctx;
    UploadResponse response;
    auto writer = stub->Upload(&ctx, &response);
    UploadRequest first;
    first.mutable_spec()->set_path("flow/big.bin");
    first.mutable_spec()->set_mkdir_parents(true);
    ASSERT_TRUE(writer->Write(first));
    const std::string block = Bytes(1 << 20, 3);
    for (int64_t at = 0; at < kSize; at += block.size()) {
      UploadRequest m;
      m.set_data(block);
      ASSERT_TRUE(writer->Write(m));
    }
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  CountingTransport::accepted = 0;
  grpc::ClientContext ctx;
  DownloadRequest req;
  req.set_path("flow/big.bin");
  auto reader = stub->Download(&ctx, req);
  DownloadResponse m;
  ASSERT_TRUE(reader->Read(&m));  // metadata
  ASSERT_TRUE(reader->Read(&m));  // first data
  // The caller stops reading: the gateway may hold its queue and gRPC's and the
  // sockets' buffers, but must not pull the whole 128 MiB from upstream.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const int64_t pulled_while_stalled = CountingTransport::accepted.load();
  EXPECT_LT(pulled_while_stalled, 48 << 20) << "a stalled reader did not stall the upstream";
  int64_t bytes = static_cast<int64_t>(m.data().size());
  while (reader->Read(&m)) bytes += static_cast<int64_t>(m.data().size());
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(bytes, kSize);
  EXPECT_EQ(CountingTransport::accepted.load(), kSize);
}

TEST_F(TransferTest, SlowUpstreamSlowsTheCaller) {
  // Every part PUT takes 150 ms: 64 parts at 4 in flight need about 2.4 s, so
  // a caller that could hand over 16 MiB at once must be held back.
  harness_->ControlPost("/__emulator/faults",
                        R"({"method":"PUT","path":"/__emulator/upload/*","delay_ms":150})");
  grpc::ClientContext ctx;
  UploadResponse response;
  auto writer = stub_->Upload(&ctx, &response);
  UploadRequest first;
  first.mutable_spec()->set_path("flow/slow-upstream.bin");
  first.mutable_spec()->set_mkdir_parents(true);
  ASSERT_TRUE(writer->Write(first));
  const std::string data = Bytes(64 * kPart, 13);
  auto start = std::chrono::steady_clock::now();
  for (size_t at = 0; at < data.size(); at += 65536) {
    UploadRequest m;
    m.set_data(data.substr(at, 65536));
    ASSERT_TRUE(writer->Write(m));
  }
  auto written = std::chrono::steady_clock::now() - start;
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  auto total = std::chrono::steady_clock::now() - start;
  EXPECT_GT(std::chrono::duration<double>(total).count(), 2.0);
  EXPECT_GT(std::chrono::duration<double>(written).count(), 1.0)
      << "the caller's writes were not slowed by the slow upstream";
  harness_->ControlPost("/__emulator/reset", "{}");
  std::string back;
  ASSERT_TRUE(Download("flow/slow-upstream.bin", &back).ok());
  EXPECT_TRUE(back == data);
}

TEST_F(TransferTest, FolderListingOf2500EntriesPagesFoldersFirst) {
  for (int i = 0; i < 2450; ++i) {
    auto r = harness_->Call("files.v1.FolderService/CreateFolder",
                            absl::StrCat(R"({"path":"big/d)", 10000 + i, R"(","mkdir_parents":true})"));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Upload(absl::StrCat("big/a-file-", i, ".txt"), "x").status.ok());
  }
  std::string cursor;
  int total = 0, pages = 0;
  bool seen_file = false;
  do {
    std::string req = R"({"path":"big","per_page":1000)";
    if (!cursor.empty()) absl::StrAppend(&req, R"(,"cursor":")", cursor, R"(")");
    auto r = harness_->Call("files.v1.FolderService/ListForFolder", req + "}");
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    rapidjson::Document doc;
    doc.Parse(r.json.c_str());
    ASSERT_TRUE(doc.IsObject());
    for (const auto& item : doc["items"].GetArray()) {
      std::string type = item.HasMember("type") ? item["type"].GetString() : "";
      if (type == "file") seen_file = true;
      if (type == "directory") {
        EXPECT_FALSE(seen_file) << "folders come before files";
      }
      ++total;
    }
    cursor = doc.HasMember("next_cursor") ? doc["next_cursor"].GetString() : "";
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(total, 2500);
  EXPECT_EQ(pages, 3);
  EXPECT_TRUE(seen_file);
}

TEST_F(TransferTest, CopyMoveDelete) {
  const std::string data = Bytes(kPart + 7, 71);
  ASSERT_TRUE(Upload("cmd/src/f.bin", data).status.ok());
  auto copy = harness_->Call("files.v1.FileService/CopyFile",
                             R"({"path":"cmd/src/f.bin","destination":"cmd/copy.bin"})");
  ASSERT_TRUE(copy.status.ok()) << copy.status.error_message();
  auto move = harness_->Call("files.v1.FileService/MoveFile",
                             R"({"path":"cmd/src","destination":"cmd/moved"})");
  ASSERT_TRUE(move.status.ok()) << move.status.error_message();
  std::string back;
  ASSERT_TRUE(Download("cmd/copy.bin", &back).ok());
  EXPECT_TRUE(back == data);
  ASSERT_TRUE(Download("cmd/moved/f.bin", &back).ok());
  EXPECT_TRUE(back == data);
  EXPECT_FALSE(Exists("cmd/src/f.bin"));
  auto del = harness_->Call("files.v1.FileService/DeleteFile", R"({"path":"cmd/moved"})");
  EXPECT_FALSE(del.status.ok()) << "a non-empty folder needs recursive";
  del = harness_->Call("files.v1.FileService/DeleteFile", R"({"path":"cmd/moved","recursive":true})");
  ASSERT_TRUE(del.status.ok()) << del.status.error_message();
  EXPECT_FALSE(Exists("cmd/moved/f.bin"));
  EXPECT_TRUE(Exists("cmd/copy.bin"));
}

}  // namespace
}  // namespace filesgw::testing
