// The TransferService contract as the C++ client keeps it, against an
// in-process TransferService: uploads send the spec first and then fixed-size
// chunks, commit only on Close and cancel otherwise; downloads check offsets
// and completeness; Cancel stops the stream at the server.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "clients/cpp/client.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace filesgw::client {
namespace {

std::string RandomBytes(std::size_t n) {
  std::mt19937 gen(static_cast<unsigned>(n));
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string out(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

class FakeTransfer final : public files::v1::TransferService::Service {
 public:
  // What the last upload stream did.
  struct Upload {
    files::v1::UploadSpec spec;
    bool spec_first = false;
    std::vector<std::size_t> chunk_sizes;
    std::string data;
    bool committed = false;  // half-closed by the client, not cancelled
    bool cancelled = false;
  };

  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<files::v1::UploadRequest>* reader,
                      files::v1::UploadResponse* response) override {
    struct Upload u;
    files::v1::UploadRequest request;
    bool first = true;
    while (reader->Read(&request)) {
      if (first) {
        u.spec_first = request.has_spec();
        u.spec = request.spec();
        first = false;
        if (upload_status.error_code() != grpc::StatusCode::OK) break;
        continue;
      }
      u.chunk_sizes.push_back(request.data().size());
      u.data += request.data();
    }
    u.cancelled = context->IsCancelled();
    if (!u.cancelled && upload_status.ok()) u.committed = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      last = u;
      ++uploads;
    }
    cv.notify_all();
    if (!upload_status.ok()) return upload_status;
    response->mutable_file()->set_path(u.spec.path());
    response->mutable_file()->set_size(static_cast<int64_t>(u.data.size()));
    response->set_md5("abc");
    return grpc::Status::OK;
  }

  grpc::Status Download(grpc::ServerContext* context, const files::v1::DownloadRequest* request,
                        grpc::ServerWriter<files::v1::DownloadResponse>* writer) override {
    if (request->path() == "missing.txt") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "File Not Found");
    }
    files::v1::DownloadResponse first;
    first.mutable_metadata()->set_path(request->path());
    first.mutable_metadata()->set_size(static_cast<int64_t>(content.size()) + size_lie);
    writer->Write(first);
    int64_t offset = 0;
    const std::size_t chunk = 64 * 1024;
    while (offset < static_cast<int64_t>(content.size())) {
      if (context->IsCancelled()) break;
      if (fail_at >= 0 && offset >= fail_at) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "upstream broke");
      }
      files::v1::DownloadResponse m;
      m.set_offset(offset + (offset > 0 ? gap : 0));
      m.set_data(content.substr(static_cast<std::size_t>(offset), chunk));
      if (!writer->Write(m)) break;
      offset += static_cast<int64_t>(m.data().size());
      sent = offset;
    }
    download_cancelled = context->IsCancelled();
    return grpc::Status::OK;
  }

  bool WaitForUploads(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return uploads >= n; });
  }

  std::mutex mu;
  std::condition_variable cv;
  struct Upload last;
  int uploads = 0;
  grpc::Status upload_status;
  std::string content;
  int64_t size_lie = 0;
  int64_t gap = 0;
  int64_t fail_at = -1;
  std::atomic<int64_t> sent{0};
  std::atomic<bool> download_cancelled{false};
};

class TransferContractTest : public ::testing::Test {
 protected:
  TransferContractTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ConnectOptions o;
    o.target = "127.0.0.1:" + std::to_string(port);
    client_ = std::make_unique<Client>(o);
    dir_ = std::filesystem::temp_directory_path() / ("cpp-transfer-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  ~TransferContractTest() override {
    client_.reset();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    std::filesystem::remove_all(dir_);
  }

  FakeTransfer service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Client> client_;
  std::filesystem::path dir_;
};

TEST_F(TransferContractTest, UploadFileSendsTheSpecFirstThenWholeChunks) {
  std::string data = RandomBytes((5 << 20) / 2 + 17);  // 2.5 MiB and a bit
  std::string local = (dir_ / "up.bin").string();
  std::ofstream(local, std::ios::binary) << data;
  Model file = client_->UploadFile(local, "dir/up.bin", /*mkdir_parents=*/true);
  ASSERT_TRUE(service_.WaitForUploads(1));
  const auto& u = service_.last;
  EXPECT_TRUE(u.spec_first);
  EXPECT_EQ(u.spec.path(), "dir/up.bin");
  EXPECT_TRUE(u.spec.mkdir_parents());
  EXPECT_EQ(u.spec.expected_size(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(u.chunk_sizes, (std::vector<std::size_t>{1 << 20, 1 << 20, (1 << 19) + 17}));
  EXPECT_TRUE(u.data == data);
  EXPECT_TRUE(u.committed);
  EXPECT_EQ(file.GetInt("size"), static_cast<int64_t>(data.size()));
  EXPECT_EQ(file.GetString("path"), "dir/up.bin");
}

TEST_F(TransferContractTest, OpenWriteChunksUnevenWritesAndCommitsOnClose) {
  TransferOptions o;
  o.chunk_size = 1000;
  o.no_overwrite = true;
  RemoteFile f = client_->Open("a.txt", "w", o);
  std::string data = RandomBytes(3500);
  f.Write(data.substr(0, 1));
  f.Write(data.substr(1, 2200));
  f.Write(data.substr(2201));
  EXPECT_EQ(f.bytes_transferred(), 3500);
  f.Close();
  ASSERT_TRUE(service_.WaitForUploads(1));
  EXPECT_EQ(service_.last.chunk_sizes, (std::vector<std::size_t>{1000, 1000, 1000, 500}));
  EXPECT_EQ(service_.last.spec.overwrite(), files::v1::OVERWRITE_POLICY_FAIL_IF_EXISTS);
  EXPECT_TRUE(service_.last.committed);
  EXPECT_EQ(f.metadata().GetInt("size"), 3500);
  EXPECT_EQ(f.md5(), "abc");
  EXPECT_THROW(f.Write("more"), InvalidRequestError);
}

TEST_F(TransferContractTest, AbortCancelsAndCommitsNothing) {
  RemoteFile f = client_->Open("a.txt", "wb");
  f.Write("some bytes");
  f.Abort();
  EXPECT_THROW(f.Write("x"), CancelledError);
  EXPECT_THROW(f.Close(), CancelledError);
  ASSERT_TRUE(service_.WaitForUploads(1));
  EXPECT_FALSE(service_.last.committed);
  EXPECT_TRUE(service_.last.cancelled);
}

TEST_F(TransferContractTest, AnExceptionBetweenOpenAndCloseCommitsNothing) {
  try {
    RemoteFile f = client_->Open("a.txt", "w");
    f.Write("half a line");
    throw std::runtime_error("the caller failed");
  } catch (const std::runtime_error&) {
  }
  ASSERT_TRUE(service_.WaitForUploads(1));
  EXPECT_FALSE(service_.last.committed);
  EXPECT_TRUE(service_.last.cancelled);
}

TEST_F(TransferContractTest, AServerErrorReachesTheWriter) {
  service_.upload_status = grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "exists");
  RemoteFile f = client_->Open("a.txt", "w");
  // The server ends the stream after the spec: a write or the Close says why.
  std::string chunk(1 << 20, 'x');
  EXPECT_THROW(
      {
        for (int i = 0; i < 64; ++i) f.Write(chunk);
        f.Close();
      },
      DestinationExistsError);
}

TEST_F(TransferContractTest, DownloadsDeliverMetadataThenTheBytes) {
  service_.content = RandomBytes(300000);
  RemoteFile f = client_->Open("d.bin", "rb");
  EXPECT_EQ(f.metadata().GetInt("size"), 300000);
  EXPECT_TRUE(f.ReadAll() == service_.content);
  EXPECT_EQ(f.Read(10), "");

  std::string local = (dir_ / "out.bin").string();
  Model meta = client_->DownloadFile("d.bin", local);
  EXPECT_EQ(meta.GetString("path"), "d.bin");
  EXPECT_TRUE(ReadFile(local) == service_.content);
}

TEST_F(TransferContractTest, AMissingFileFailsAtOpen) {
  EXPECT_THROW(client_->Open("missing.txt", "r"), NotFoundError);
  std::string local = (dir_ / "never.bin").string();
  EXPECT_THROW(client_->DownloadFile("missing.txt", local), NotFoundError);
  EXPECT_FALSE(std::filesystem::exists(local));
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST_F(TransferContractTest, OffsetGapsAndShortFilesAreDataLoss) {
  service_.content = RandomBytes(200000);
  service_.gap = 5;
  EXPECT_THROW(client_->Open("d.bin", "r").ReadAll(), DataLossError);
  service_.gap = 0;
  service_.size_lie = 10;  // the metadata promises more than arrives
  std::string local = (dir_ / "short.bin").string();
  EXPECT_THROW(client_->DownloadFile("d.bin", local), DataLossError);
  EXPECT_FALSE(std::filesystem::exists(local));
}

TEST_F(TransferContractTest, AServerFailureMidStreamArrivesTyped) {
  service_.content = RandomBytes(500000);
  service_.fail_at = 200000;
  RemoteFile f = client_->Open("d.bin", "r");
  EXPECT_THROW(f.ReadAll(), GatewayError);
}

TEST_F(TransferContractTest, CancelStopsTheStreamAtTheServer) {
  service_.content = RandomBytes(64 << 20);
  RemoteFile f = client_->Open("d.bin", "rb");
  EXPECT_EQ(f.Read(1 << 20).size(), static_cast<std::size_t>(1 << 20));
  f.Cancel();
  try {
    f.ReadAll();
    FAIL() << "read on after Cancel";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::CANCELLED);
  }
  f.Close();
  EXPECT_LT(f.bytes_transferred(), 16 << 20);
  EXPECT_LT(service_.sent.load(), 32 << 20);
}

TEST_F(TransferContractTest, ModesAndOptionsAreChecked) {
  EXPECT_THROW(client_->Open("a", "a"), InvalidParameterError);
  TransferOptions upload_only;
  upload_only.mkdir_parents = true;
  EXPECT_THROW(client_->Open("a", "r", upload_only), InvalidParameterError);
  TransferOptions range;
  range.offset = 5;
  EXPECT_THROW(client_->Open("a", "w", range), InvalidParameterError);
  service_.content = "abc";
  RemoteFile r = client_->Open("a", "r");
  EXPECT_THROW(r.Write("x"), InvalidRequestError);
  RemoteFile w = client_->Open("b", "w");
  char c;
  EXPECT_THROW(w.Read(&c, 1), InvalidRequestError);
}

}  // namespace
}  // namespace filesgw::client
