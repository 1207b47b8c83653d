// The emulator over HTTPS, as Files.com is reached: a throwaway CA made in
// the test, the emulator serving TLS with https:// upload and download URLs,
// and the real gateway trusting that CA through its ca_file (--ca-file)
// for a FindUser, an upload and a download. Without the CA the gateway must
// refuse the emulator's certificate.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "emulator/tls.h"
#include "files/v1/transfer.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::emulator {
namespace {

using ::filesgw::testing::GatewayHarness;
using ::filesgw::testing::HarnessOptions;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kPart = 64 * 1024;

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tls = MakeSelfSignedTls();
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = *tls;
    ca_file_ = absl::StrCat(::testing::TempDir(), "/emulator-ca-", ::getpid(), ".pem");
    std::ofstream(ca_file_) << tls_.ca_pem;
  }
  void TearDown() override { std::remove(ca_file_.c_str()); }

  HarnessOptions Options(bool trust_ca) {
    HarnessOptions options;
    options.max_retries = 0;
    options.emulator_setup = [this](EmulatorOptions* e) {
      e->tls_cert_pem = tls_.cert_pem;
      e->tls_key_pem = tls_.key_pem;
      e->part_size = kPart;
    };
    options.gateway_setup = [this, trust_ca](server::GatewayOptions* g) {
      if (trust_ca) g->ca_file = ca_file_;
    };
    return options;
  }

  TlsPems tls_;
  std::string ca_file_;
};

TEST_F(TlsTest, GatewayTrustingTheCaFindsUploadsAndDownloads) {
  GatewayHarness harness(Options(/*trust_ca=*/true));
  EXPECT_THAT(harness.emulator().base_url(), StartsWith("https://127.0.0.1:"));

  auto user = harness.Call("files.v1.UserService/FindUser", R"({"id": 1})");
  ASSERT_TRUE(user.status.ok()) << user.status.error_message();
  EXPECT_THAT(user.json, HasSubstr(R"("username":"admin")"));

  auto stub = files::v1::TransferService::NewStub(harness.channel());
  const std::string data = Bytes(3 * kPart + 7, 7);  // four parts over TLS
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    files::v1::UploadResponse response;
    auto writer = stub->Upload(&ctx, &response);
    files::v1::UploadRequest first;
    first.mutable_spec()->set_path("tls/data.bin");
    first.mutable_spec()->set_mkdir_parents(true);
    ASSERT_TRUE(writer->Write(first));
    files::v1::UploadRequest chunk;
    chunk.set_data(data);
    ASSERT_TRUE(writer->Write(chunk));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.file().size(), static_cast<int64_t>(data.size()));
  }

  // The URL the gateway follows is an https:// one.
  auto meta = harness.Call("files.v1.FileService/DownloadFile", R"({"path":"tls/data.bin"})");
  ASSERT_TRUE(meta.status.ok()) << meta.status.error_message();
  EXPECT_THAT(meta.json, HasSubstr(absl::StrCat(R"("download_uri":"https://127.0.0.1:)",
                                                harness.emulator().port())));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  files::v1::DownloadRequest request;
  request.set_path("tls/data.bin");
  auto reader = stub->Download(&ctx, request);
  files::v1::DownloadResponse message;
  std::string back;
  while (reader->Read(&message)) back.append(message.data());
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data) << "downloaded bytes differ";
}

TEST_F(TlsTest, GatewayWithoutTheCaRefusesTheCertificate) {
  GatewayHarness harness(Options(/*trust_ca=*/false));
  auto user = harness.Call("files.v1.UserService/FindUser", R"({"id": 1})");
  EXPECT_FALSE(user.status.ok());
  // Not retryable: an untrusted certificate stays untrusted.
  EXPECT_EQ(user.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << user.status.error_message();
  EXPECT_THAT(user.status.error_message(), HasSubstr("certificate"));
}

TEST_F(TlsTest, PlainHttpClientsAreNotServed) {
  GatewayHarness harness(Options(/*trust_ca=*/true));
  httplib::Client plain("127.0.0.1", harness.emulator().port());
  plain.set_connection_timeout(5, 0);
  plain.set_read_timeout(5, 0);
  auto res = plain.Get("/api/rest/v1/users/1");
  EXPECT_TRUE(!res || res->status >= 400) << "plain HTTP answered on the TLS port";
}

TEST(SelfSignedTls, CertificateIsForLoopbackAndSignedByTheCa) {
  auto tls = MakeSelfSignedTls();
  ASSERT_TRUE(tls.ok()) << tls.status();
  EmulatorOptions options;
  options.api_key = "tlskey";
  options.tls_cert_pem = tls->cert_pem;
  options.tls_key_pem = tls->key_pem;
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  // An HTTPS client that trusts only the CA reaches it by name and by address.
  std::string ca_file = absl::StrCat(::testing::TempDir(), "/self-signed-ca-", ::getpid(), ".pem");
  std::ofstream(ca_file) << tls->ca_pem;
  for (const char* host : {"127.0.0.1", "localhost"}) {
    httplib::SSLClient client(host, emulator.port());
    client.set_ca_cert_path(ca_file.c_str());
    client.enable_server_certificate_verification(true);
    client.set_default_headers({{"X-FilesAPI-Key", "tlskey"}});
    auto res = client.Get("/api/rest/v1/files/demo/hello.txt");
    ASSERT_TRUE(res) << host << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << host;
    EXPECT_THAT(res->body, HasSubstr(R"("download_uri":"https://)")) << host;
  }
  std::remove(ca_file.c_str());
  // A key that is not the certificate's is refused at start.
  auto other = MakeSelfSignedTls();
  ASSERT_TRUE(other.ok());
  options.tls_key_pem = other->key_pem;
  Emulator mismatched(options);
  EXPECT_FALSE(mismatched.Start().ok());
}

}  // namespace
}  // namespace filesgw::emulator
