// What every Resource, ListObj and RemoteFile of one Client shares: the
// channel, the options and the unary call over grpc::GenericStub.
#ifndef FILESGW_CLIENTS_CPP_INTERNAL_CORE_H_
#define FILESGW_CLIENTS_CPP_INTERNAL_CORE_H_

#include <memory>
#include <string>

#include "clients/cpp/client.h"
#include "files/v1/transfer.grpc.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"

namespace filesgw::client {

class ClientCore {
 public:
  ClientCore(std::shared_ptr<grpc::Channel> channel, ConnectOptions options);

  // One unary call by full method name; throws the typed error on failure.
  void Invoke(const std::string& full_method, const google::protobuf::Message& request,
              google::protobuf::Message* response, const CallOptions& options) const;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const ConnectOptions& options() const { return options_; }
  files::v1::TransferService::Stub& transfer() const { return *transfer_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  ConnectOptions options_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::unique_ptr<files::v1::TransferService::Stub> transfer_;
};

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_INTERNAL_CORE_H_
