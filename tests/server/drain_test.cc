// SIGTERM on the real files-gateway process (embedded emulator): health turns
// NOT_SERVING on the probe listener, new calls are refused, an upload and a
// download in flight both finish intact, then the process exits 0.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"

namespace filesgw::testing {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// 1: SERVING, 2: NOT_SERVING, 0: no answer.
int Health(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::Slice empty(std::string{});
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  if (!done.get_future().get().ok()) return 0;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 12));
  return s;
}

grpc::Status Upload(files::v1::TransferService::Stub* stub, const std::string& path,
                    const std::string& data) {
  grpc::ClientContext context;
  files::v1::UploadResponse response;
  auto writer = stub->Upload(&context, &response);
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path(path);
  first.mutable_spec()->set_mkdir_parents(true);
  if (!writer->Write(first)) return writer->Finish();
  for (size_t off = 0; off < data.size(); off += 1 << 20) {
    files::v1::UploadRequest chunk;
    chunk.set_data(data.substr(off, 1 << 20));
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

// Exit status of `files-gateway --probe` against the health listener.
int ProbeExit(int health_port, const std::string& service) {
  const std::string command = absl::StrCat(FILESGW_GATEWAY_BINARY, " --probe=127.0.0.1:",
                                           health_port, " --probe-service=", service,
                                           " >/dev/null 2>&1");
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Drain, SigtermFinishesStreamsInFlightThenExits) {
  const int port = FreePort();
  const int health_port = FreePort();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string listen = absl::StrCat("--listen=127.0.0.1:", port);
    const std::string health = absl::StrCat("--health-listen=127.0.0.1:", health_port);
    execl(FILESGW_GATEWAY_BINARY, "files-gateway", listen.c_str(), health.c_str(),
          "--drain-timeout=30s", "--metrics-listen=off", "--log-level=warn",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto health_channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port),
                                            grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(30))));
  ASSERT_EQ(Health(health_channel), 1);
  EXPECT_EQ(ProbeExit(health_port, ""), 0) << "ready";
  EXPECT_EQ(ProbeExit(health_port, "liveness"), 0);
  auto stub = files::v1::TransferService::NewStub(channel);
  const std::string big = Pattern(24 << 20, 'a');
  ASSERT_TRUE(Upload(stub.get(), "drain/big.bin", big).ok());

  // A download read slowly, and an upload that is half sent, at SIGTERM.
  grpc::ClientContext download_context;
  files::v1::DownloadRequest request;
  request.set_path("drain/big.bin");
  auto reader = stub->Download(&download_context, request);
  files::v1::DownloadResponse message;
  std::string received;
  ASSERT_TRUE(reader->Read(&message));
  received += message.data();

  grpc::ClientContext upload_context;
  files::v1::UploadResponse uploaded;
  auto writer = stub->Upload(&upload_context, &uploaded);
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path("drain/late.bin");
  ASSERT_TRUE(writer->Write(first));
  const std::string late = Pattern(6 << 20, 'z');
  files::v1::UploadRequest half;
  half.set_data(late.substr(0, late.size() / 2));
  ASSERT_TRUE(writer->Write(half));

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int health = 1;
  for (int i = 0; i < 50 && health == 1; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    health = Health(health_channel);
  }
  EXPECT_NE(health, 1) << "health still SERVING while draining";
  EXPECT_EQ(ProbeExit(health_port, ""), 1) << "not ready while draining";
  EXPECT_EQ(ProbeExit(health_port, "liveness"), 0) << "but alive: no restart while draining";
  {
    // A new call after SIGTERM is refused.
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    files::v1::QueryUploadStatusRequest query;
    query.set_upload_id("none");
    files::v1::QueryUploadStatusResponse answer;
    EXPECT_EQ(stub->QueryUploadStatus(&context, query, &answer).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }

  files::v1::UploadRequest rest;
  rest.set_data(late.substr(late.size() / 2));
  EXPECT_TRUE(writer->Write(rest));
  writer->WritesDone();
  const grpc::Status upload_status = writer->Finish();
  EXPECT_TRUE(upload_status.ok()) << upload_status.error_message();
  EXPECT_EQ(uploaded.file().size(), static_cast<int64_t>(late.size()));

  while (reader->Read(&message)) {
    received += message.data();
    absl::SleepFor(absl::Milliseconds(2));  // a slow reader
  }
  const grpc::Status download_status = reader->Finish();
  EXPECT_TRUE(download_status.ok()) << download_status.error_message();
  EXPECT_TRUE(received == big) << "received " << received.size() << " of " << big.size();

  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 300 && done == 0; ++i) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0) absl::SleepFor(absl::Milliseconds(100));
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "the gateway did not exit after its streams finished";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace filesgw::testing

namespace filesgw::testing {
namespace {

TEST(Drain, UnixSocketListenerTakesTheAskedMode) {
  const std::string socket = absl::StrCat("/tmp/gw-drain-", getpid(), ".sock");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string listen = "--listen=unix:" + socket;
    execl(FILESGW_GATEWAY_BINARY, "files-gateway", listen.c_str(), "--unix-socket-mode=0660",
          "--metrics-listen=off", "--log-level=warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(30))));
  struct stat st {};
  ASSERT_EQ(stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(Health(channel), 1);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace filesgw::testing
