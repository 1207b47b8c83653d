// The consumer projects (consumer/consumer.cmake builds them outside the
// source tree from the installed client, with CMake and with pkg-config) run
// the typed scenario against a real files-emulator and files-gateway.
#include <chrono>
#include <memory>
#include <string>

#include "clients/cpp/tests/process.h"
#include "gtest/gtest.h"

namespace filesgw::client::testing {
namespace {

const Value& FieldOf(const Value& v, const char* key) {
  static const Value null;
  if (!v.is_object()) return null;
  auto it = v.as_object().find(key);
  return it == v.as_object().end() ? null : it->second;
}

class ConsumerProject : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string bin = FILESGW_BINARY_DIR_DEFAULT;
    const std::string key = "consumerkey0001";
    emulator_ = Process::Start(bin + "/emulator/files-emulator",
                               {"--listen", "127.0.0.1:0", "--api-key", key}, {},
                               [](const Value& l) { return FieldOf(l, "base_url").is_string(); });
    gateway_ = Process::Start(
        bin + "/server/files-gateway",
        {"--listen", "127.0.0.1:0", "--base-url", FieldOf(emulator_->ready_line(), "base_url").as_string(),
         "--metrics-listen", "off", "--drain-timeout", "1s"},
        {"FILES_API_KEY=" + key}, [](const Value& l) { return FieldOf(l, "msg") == Value("listening"); });
    target_ = "127.0.0.1:" + std::to_string(FieldOf(gateway_->ready_line(), "port").as_int());
  }
  static void TearDownTestSuite() {
    gateway_.reset();
    emulator_.reset();
  }
  static void RunConsumer(const std::string& program, const std::string& run) {
    std::string out;
    int status = Process::Run(program, {target_, run}, &out, std::chrono::seconds(120));
    EXPECT_EQ(status, 0) << program << ":\n" << out;
    EXPECT_NE(out.find("consumer scenario: ok"), std::string::npos) << out;
  }
  static std::unique_ptr<Process> emulator_, gateway_;
  static std::string target_;
};
std::unique_ptr<Process> ConsumerProject::emulator_, ConsumerProject::gateway_;
std::string ConsumerProject::target_;

TEST_F(ConsumerProject, FindPackageBuildRunsTheScenario) {
  RunConsumer(std::string(FILESGW_CONSUMER_DIR) + "/cmake/consumer", "cmake");
}

TEST_F(ConsumerProject, PkgConfigBuildRunsTheScenario) {
  RunConsumer(std::string(FILESGW_CONSUMER_DIR) + "/consumer-pkgconfig", "pkgconfig");
}

}  // namespace
}  // namespace filesgw::client::testing
