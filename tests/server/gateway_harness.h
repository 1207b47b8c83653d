// Test harness: the real emulator and the real gateway in-process over
// loopback (port 0), plus a generic gRPC caller that takes and returns JSON so
// tests can walk every RPC from its descriptor.
#ifndef FILESGW_TESTS_SERVER_GATEWAY_HARNESS_H_
#define FILESGW_TESTS_SERVER_GATEWAY_HARNESS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client_core/http_transport.h"
#include "emulator/emulator.h"
#include "google/protobuf/message.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "server/gateway.h"

namespace filesgw::testing {

struct CallResult {
  grpc::Status status;
  std::unique_ptr<google::protobuf::Message> response;  // set when OK
  std::string json;  // the response as Files.com JSON (when OK)

  // The rich error details, when the status carries them.
  bool ErrorInfo(google::rpc::ErrorInfo* out) const;
  bool RetryInfo(google::rpc::RetryInfo* out) const;
};

struct HarnessOptions {
  bool demo_site = true;
  int max_retries = 3;
  absl::Duration initial_retry_delay = absl::Milliseconds(10);
  absl::Duration max_retry_delay = absl::Milliseconds(50);
  // Last word on the emulator's and the gateway's options.
  std::function<void(emulator::EmulatorOptions*)> emulator_setup;
  std::function<void(server::GatewayOptions*)> gateway_setup;
  // The gateway's log level, and where its lines go (stderr when unset).
  server::LogLevel log_level = server::LogLevel::kWarn;
  server::Logger::Sink log_sink;
  // Wraps the gateway's HTTP transport (a test seam, e.g. to corrupt bytes).
  std::function<std::shared_ptr<client_core::HttpTransport>(
      std::shared_ptr<client_core::HttpTransport>)>
      wrap_transport;
  // Set: a gateway that fails to start is not a test failure; its error
  // goes here ("" when it started).
  std::string* start_error = nullptr;
};

// How CallWith reaches the gateway: another channel (TLS, a client
// certificate) and extra metadata (authorization, per-call credentials).
struct CallOptions {
  std::shared_ptr<grpc::Channel> channel;  // null: the harness's plaintext channel
  std::vector<std::pair<std::string, std::string>> metadata;
  absl::Duration timeout = absl::Seconds(30);
};

class GatewayHarness {
 public:
  explicit GatewayHarness(HarnessOptions options = {});
  ~GatewayHarness();

  // Calls "files.v1.UserService/FindUser" (or "/files.v1.UserService/FindUser")
  // with a request given as JSON (proto field names), deadline `timeout`.
  CallResult Call(const std::string& method, const std::string& request_json,
                  absl::Duration timeout = absl::Seconds(30));
  CallResult CallWith(const CallOptions& options, const std::string& method,
                      const std::string& request_json);

  // The emulator's control endpoint (sends the emulator's API key, as it requires).
  std::string ControlPost(const std::string& path, const std::string& json);
  std::string ControlGet(const std::string& path);
  void ResetEmulator() { ControlPost("/__emulator/reset", "{}"); }
  // Requests the emulator received for "METHOD /api/rest/v1/path" since reset.
  int RequestCount(const std::string& method_and_path);

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  emulator::Emulator& emulator() { return *emulator_; }
  const std::string& api_key() const { return api_key_; }
  int gateway_port() const { return gateway_->port(); }
  server::Gateway& gateway() { return *gateway_; }

 private:
  std::string api_key_ = "harness-key";
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<server::Logger> log_;
  std::unique_ptr<server::Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace filesgw::testing

#endif  // FILESGW_TESTS_SERVER_GATEWAY_HARNESS_H_
