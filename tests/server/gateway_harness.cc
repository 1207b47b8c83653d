#include "tests/server/gateway_harness.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "httplib.h"
#include "proto/api_pool.h"
#include "rapidjson/document.h"
#include "client_core/curl_transport.h"
#include "server/codec.h"

namespace filesgw::testing {
namespace {

template <typename T>
bool FindDetail(const grpc::Status& status, T* out) {
  google::rpc::Status rich;
  if (status.error_details().empty() || !rich.ParseFromString(status.error_details())) return false;
  for (const auto& any : rich.details()) {
    if (any.type_url() == absl::StrCat("type.googleapis.com/", T::descriptor()->full_name())) {
      return out->ParseFromString(any.value());
    }
  }
  return false;
}

}  // namespace

bool CallResult::ErrorInfo(google::rpc::ErrorInfo* out) const { return FindDetail(status, out); }
bool CallResult::RetryInfo(google::rpc::RetryInfo* out) const { return FindDetail(status, out); }

GatewayHarness::GatewayHarness(HarnessOptions options) {
  emulator::EmulatorOptions emu;
  emu.api_key = api_key_;
  emu.demo_site = options.demo_site;
  if (options.emulator_setup) options.emulator_setup(&emu);
  emulator_ = std::make_unique<emulator::Emulator>(emu);
  auto started = emulator_->Start();
  EXPECT_TRUE(started.ok()) << started;

  server::GatewayOptions gw;
  gw.listen = "127.0.0.1:0";
  gw.base_url = emulator_->base_url();
  gw.api_key = api_key_;
  gw.max_retries = options.max_retries;
  gw.initial_retry_delay = options.initial_retry_delay;
  gw.max_retry_delay = options.max_retry_delay;
  if (options.gateway_setup) options.gateway_setup(&gw);
  log_ = std::make_unique<server::Logger>(options.log_level, options.log_sink);
  std::shared_ptr<client_core::HttpTransport> transport;
  if (options.wrap_transport) transport = options.wrap_transport(client_core::MakeCurlTransport());
  auto gateway = server::Gateway::Start(gw, log_.get(), transport);
  if (options.start_error != nullptr) {
    *options.start_error = gateway.ok() ? "" : std::string(gateway.status().message());
  } else {
    EXPECT_TRUE(gateway.ok()) << gateway.status();
  }
  if (gateway.ok()) gateway_ = std::move(*gateway);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  channel_ = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", gateway_ ? gateway_->port() : 1),
                                       grpc::InsecureChannelCredentials(), args);
}

GatewayHarness::~GatewayHarness() {
  gateway_.reset();
  if (emulator_) emulator_->Stop();
}

CallResult GatewayHarness::Call(const std::string& method, const std::string& request_json,
                                absl::Duration timeout) {
  CallOptions options;
  options.timeout = timeout;
  return CallWith(options, method, request_json);
}

CallResult GatewayHarness::CallWith(const CallOptions& options, const std::string& method,
                                    const std::string& request_json) {
  const absl::Duration timeout = options.timeout;
  CallResult result;
  std::string name = method[0] == '/' ? method.substr(1) : method;
  auto slash = name.find('/');
  const auto* service = proto::Api().pool->FindServiceByName(name.substr(0, slash));
  const auto* rpc = service == nullptr ? nullptr : service->FindMethodByName(name.substr(slash + 1));
  if (rpc == nullptr) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL, "test: no such method " + method);
    return result;
  }
  std::unique_ptr<google::protobuf::Message> request(proto::Prototype(rpc->input_type())->New());
  google::protobuf::util::JsonParseOptions parse;
  auto parsed = google::protobuf::util::JsonStringToMessage(request_json, request.get(), parse);
  if (!parsed.ok()) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL, "test: bad request JSON " + parsed.ToString());
    return result;
  }
  const std::string serialized = request->SerializeAsString();
  grpc::Slice request_slice(serialized);
  grpc::ByteBuffer request_bytes(&request_slice, 1), response_bytes;

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  for (const auto& [key, value] : options.metadata) context.AddMetadata(key, value);
  grpc::GenericStub stub(options.channel != nullptr ? options.channel : channel_);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/" + name, grpc::StubOptions(), &request_bytes, &response_bytes,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  result.status = done.get_future().get();
  if (!result.status.ok()) return result;
  result.response.reset(proto::Prototype(rpc->output_type())->New());
  grpc::ProtoBufferReader reader(&response_bytes);
  if (!result.response->ParseFromZeroCopyStream(&reader)) {
    result.status = grpc::Status(grpc::StatusCode::INTERNAL, "test: unparseable response");
    return result;
  }
  auto json = server::MessageToJson(*result.response, &result.json);
  if (!json.ok()) result.status = grpc::Status(grpc::StatusCode::INTERNAL, json.ToString());
  return result;
}

// httplib's default 5 s read timeout is too short for a reset of a large
// emulator state under TSan (10x slower); a hung emulator still fails the test.
constexpr time_t kControlTimeoutSeconds = 60;

std::string GatewayHarness::ControlPost(const std::string& path, const std::string& json) {
  httplib::Client client("127.0.0.1", emulator_->port());
  client.set_read_timeout(kControlTimeoutSeconds, 0);
  // Control endpoints take the same key as the API.
  auto res = client.Post(path.c_str(), {{"X-FilesAPI-Key", api_key_}}, json, "application/json");
  EXPECT_TRUE(res) << "control POST " << path;
  return res ? res->body : "";
}

std::string GatewayHarness::ControlGet(const std::string& path) {
  httplib::Client client("127.0.0.1", emulator_->port());
  client.set_read_timeout(kControlTimeoutSeconds, 0);
  auto res = client.Get(path.c_str(), {{"X-FilesAPI-Key", api_key_}});
  EXPECT_TRUE(res) << "control GET " << path;
  return res ? res->body : "";
}

int GatewayHarness::RequestCount(const std::string& method_and_path) {
  rapidjson::Document doc;
  doc.Parse(ControlGet("/__emulator/requests").c_str());
  if (!doc.IsObject()) return -1;
  // Accept either {"GET /path": n} or {"requests": {"GET /path": n}}.
  const rapidjson::Value* counts = &doc;
  if (doc.HasMember("requests") && doc["requests"].IsObject()) counts = &doc["requests"];
  auto it = counts->FindMember(method_and_path.c_str());
  if (it == counts->MemberEnd() || !it->value.IsInt()) return 0;
  return it->value.GetInt();
}

}  // namespace filesgw::testing
