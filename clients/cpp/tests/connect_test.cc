// Connecting: TLS with a private certificate (and the bearer token over it),
// refusals of untrusted and plaintext connections, and wait-for-ready.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "clients/cpp/client.h"
#include "clients/cpp/tests/fake_gateway.h"
#include "gtest/gtest.h"

namespace filesgw::client {
namespace {

using testing::FakeCall;
using testing::FakeGateway;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A self-signed certificate for 127.0.0.1 / localhost, made once with the openssl tool.
class ConnectTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("cpp-connect-" + std::to_string(getpid())));
    std::filesystem::create_directories(*dir_);
    std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
                          " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
                          (*dir_ / "key.pem").string() + "' -out '" + (*dir_ / "cert.pem").string() +
                          "' >/dev/null 2>&1";
    made_ = std::system(command.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    if (!made_) GTEST_SKIP() << "the openssl tool is needed to make a test certificate";
    cert_ = ReadText(*dir_ / "cert.pem");
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({ReadText(*dir_ / "key.pem"), cert_});
    gateway_ = std::make_unique<FakeGateway>(grpc::SslServerCredentials(ssl));
  }

  ConnectOptions Options() const {
    ConnectOptions o;
    o.target = gateway_->target();
    o.timeout = std::chrono::seconds(5);
    return o;
  }

  static inline std::filesystem::path* dir_ = nullptr;
  static inline bool made_ = false;
  std::string cert_;
  std::unique_ptr<FakeGateway> gateway_;
};

TEST_F(ConnectTlsTest, AConnectionTrustingTheCertificateCarriesTheBearerToken) {
  ConnectOptions o = Options();
  o.root_certs_pem = cert_;
  o.bearer_token = "tls-token";
  Client client(o);
  client["users"].Find(1);
  ASSERT_EQ(gateway_->calls().size(), 1u);
  EXPECT_EQ(gateway_->calls()[0].metadata.find("authorization")->second, "Bearer tls-token");
}

TEST_F(ConnectTlsTest, AnUntrustedCertificateIsRefused) {
  ConnectOptions o = Options();
  o.tls = true;  // the system's roots, which do not hold the test certificate
  EXPECT_THROW(Client(o)["users"].Find(1), APIConnectionError);
  EXPECT_TRUE(gateway_->calls().empty());
}

TEST_F(ConnectTlsTest, PlaintextToATlsGatewayFails) {
  EXPECT_THROW(Client(Options())["users"].Find(1), APIConnectionError);
  EXPECT_TRUE(gateway_->calls().empty());
}

TEST(Connect, WaitForReadyWaitsForTheDeadlineInsteadOfFailingAtOnce) {
  ConnectOptions o;
  o.target = "127.0.0.1:1";  // nothing listens on port 1
  o.timeout = std::chrono::milliseconds(1500);
  try {
    Client(o)["users"].Find(1);
    FAIL() << "no gateway answered";
  } catch (const APIConnectionError& e) {
    EXPECT_STREQ(e.class_name(), "APIConnectionError");  // UNAVAILABLE, not the deadline
  }
  o.wait_for_ready = true;
  try {
    Client(o)["users"].Find(1);
    FAIL() << "no gateway answered";
  } catch (const APIConnectionError& e) {
    EXPECT_STREQ(e.class_name(), "DeadlineExceededError");
  }
}

}  // namespace
}  // namespace filesgw::client
