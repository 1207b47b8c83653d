// An in-process stand-in for files-gateway: a gRPC server on loopback port 0
// that answers every unary method through one handler and records each call
// (method, request bytes, metadata, deadline), for the client's unit tests.
#ifndef FILESGW_CLIENTS_CPP_TESTS_FAKE_GATEWAY_H_
#define FILESGW_CLIENTS_CPP_TESTS_FAKE_GATEWAY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace filesgw::client::testing {

struct FakeCall {
  std::string method;   // "/files.v1.UserService/ListUsers"
  std::string request;  // the encoded request
  std::multimap<std::string, std::string> metadata;
  bool has_deadline = false;
};

class FakeGateway {
 public:
  // Answers a call: fills `response` (encoded) and gives the status.
  using Handler = std::function<grpc::Status(const FakeCall& call, std::string* response)>;

  // Plaintext unless `credentials` are given (e.g. grpc::SslServerCredentials).
  explicit FakeGateway(std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  ~FakeGateway();

  void set_handler(Handler handler);
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::vector<FakeCall> calls() const;

 private:
  class Reactor;
  class Service;
  grpc::Status Handle(const FakeCall& call, std::string* response);

  mutable std::mutex mu_;
  Handler handler_;
  std::vector<FakeCall> calls_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace filesgw::client::testing

#endif  // FILESGW_CLIENTS_CPP_TESTS_FAKE_GATEWAY_H_
