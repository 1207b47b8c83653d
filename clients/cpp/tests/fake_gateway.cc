#include "clients/cpp/tests/fake_gateway.h"

#include <chrono>

#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"

namespace filesgw::client::testing {

// One call: reads the single request, answers through the handler.
class FakeGateway::Reactor : public grpc::ServerGenericBidiReactor {
 public:
  Reactor(FakeGateway* gateway, grpc::GenericCallbackServerContext* context)
      : gateway_(gateway), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "the fake gateway got no request"));
      return;
    }
    FakeCall call;
    call.method = context_->method();
    std::vector<grpc::Slice> slices;
    (void)request_.Dump(&slices);
    for (const auto& s : slices) call.request.append(reinterpret_cast<const char*>(s.begin()), s.size());
    for (const auto& [key, value] : context_->client_metadata()) {
      call.metadata.emplace(std::string(key.data(), key.size()), std::string(value.data(), value.size()));
    }
    call.has_deadline = context_->deadline() < std::chrono::system_clock::now() + std::chrono::hours(24 * 365);
    std::string response;
    grpc::Status status = gateway_->Handle(call, &response);
    if (!status.ok()) {
      Finish(status);
      return;
    }
    grpc::Slice slice(response);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
  }

  void OnDone() override { delete this; }

 private:
  FakeGateway* gateway_;
  grpc::GenericCallbackServerContext* context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class FakeGateway::Service : public grpc::CallbackGenericService {
 public:
  explicit Service(FakeGateway* gateway) : gateway_(gateway) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override {
    return new Reactor(gateway_, context);
  }

 private:
  FakeGateway* gateway_;
};

FakeGateway::FakeGateway(std::shared_ptr<grpc::ServerCredentials> credentials)
    : service_(std::make_unique<Service>(this)) {
  handler_ = [](const FakeCall&, std::string*) { return grpc::Status::OK; };
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0",
                           credentials ? credentials : grpc::InsecureServerCredentials(), &port_);
  builder.RegisterCallbackGenericService(service_.get());
  server_ = builder.BuildAndStart();
}

FakeGateway::~FakeGateway() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
}

void FakeGateway::set_handler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

std::vector<FakeCall> FakeGateway::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

grpc::Status FakeGateway::Handle(const FakeCall& call, std::string* response) {
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(call);
    handler = handler_;
  }
  return handler(call, response);
}

}  // namespace filesgw::client::testing
