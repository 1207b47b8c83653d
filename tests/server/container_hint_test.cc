// The start-up hint for a loopback listener inside a container: which
// markers count, and which listen addresses get a hint.
#include "server/container_hint.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "gtest/gtest.h"

namespace filesgw::server {
namespace {

char* NoEnv(const char*) { return nullptr; }
char* InKubernetes(const char* name) {
  static char host[] = "10.96.0.1";
  return std::string(name) == "KUBERNETES_SERVICE_HOST" ? host : nullptr;
}

class ContainerMarkerTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("container_hint_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "run");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Touch(const std::string& relative) {
    std::FILE* f = std::fopen((root_.string() + relative).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  std::filesystem::path root_;
};

TEST_F(ContainerMarkerTest, NothingOutsideAContainer) {
  EXPECT_EQ(ContainerMarker(root_.string(), &NoEnv), "");
}

TEST_F(ContainerMarkerTest, DockerPodmanAndKubernetesAreRecognised) {
  EXPECT_EQ(ContainerMarker(root_.string(), &InKubernetes), "KUBERNETES_SERVICE_HOST");
  Touch("/run/.containerenv");
  EXPECT_EQ(ContainerMarker(root_.string(), &NoEnv), "/run/.containerenv");
  Touch("/.dockerenv");
  EXPECT_EQ(ContainerMarker(root_.string(), &InKubernetes), "/.dockerenv");
}

TEST(LoopbackInContainerHintTest, LoopbackInDockerSaysHowToPublish) {
  for (const char* listen : {"127.0.0.1:50051", "localhost:50051", "[::1]:50051"}) {
    const std::string hint = LoopbackInContainerHint(listen, "/.dockerenv");
    EXPECT_NE(hint.find("connection refused"), std::string::npos) << listen;
    EXPECT_NE(hint.find("0.0.0.0:50051 with callers:"), std::string::npos) << listen;
  }
}

TEST(LoopbackInContainerHintTest, KubernetesSidecarGetsAnInformativeLine) {
  const std::string hint = LoopbackInContainerHint("127.0.0.1:50051", "KUBERNETES_SERVICE_HOST");
  EXPECT_NE(hint.find("only containers of this pod"), std::string::npos);
}

TEST(LoopbackInContainerHintTest, NoHintWhenReachableOrNotInAContainer) {
  EXPECT_EQ(LoopbackInContainerHint("127.0.0.1:50051", ""), "");
  EXPECT_EQ(LoopbackInContainerHint("0.0.0.0:50051", "/.dockerenv"), "");
  EXPECT_EQ(LoopbackInContainerHint("[::]:50051", "/run/.containerenv"), "");
  EXPECT_EQ(LoopbackInContainerHint("unix:/run/files-gateway/grpc.sock", "/.dockerenv"), "");
  EXPECT_EQ(LoopbackInContainerHint("10.0.0.5:50051", "KUBERNETES_SERVICE_HOST"), "");
}

}  // namespace
}  // namespace filesgw::server
