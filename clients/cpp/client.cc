#include "clients/cpp/client.h"

#include <arpa/inet.h>

#include <future>

#include "clients/cpp/internal/core.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "proto/api_pool.h"

namespace filesgw::client {
namespace {

// True for unix sockets and loopback addresses, where a bearer token may go
// without TLS (the sidecar case).
bool IsLocalTarget(std::string host) {
  if (host.rfind("unix:", 0) == 0 || host.rfind("unix-abstract:", 0) == 0) return true;
  for (const char* scheme : {"dns:///", "ipv4:", "ipv6:", "passthrough:///"}) {
    if (host.rfind(scheme, 0) == 0) host = host.substr(std::string_view(scheme).size());
  }
  if (!host.empty() && host.front() == '[') {  // [::1]:port
    auto close = host.find(']');
    host = close == std::string::npos ? host : host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    host = host.substr(0, host.find(':'));
  }
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool WantsTls(const ConnectOptions& o) {
  return o.tls || !o.root_certs_pem.empty() || !o.client_cert_pem.empty();
}

std::shared_ptr<grpc::Channel> MakeChannel(const ConnectOptions& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(o.max_message_bytes);
  args.SetMaxSendMessageSize(o.max_message_bytes);
  if (o.keepalive_time.count() > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(o.keepalive_time.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(o.keepalive_timeout.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, o.keepalive_without_calls ? 1 : 0);
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (WantsTls(o)) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = o.root_certs_pem;
    ssl.pem_cert_chain = o.client_cert_pem;
    ssl.pem_private_key = o.client_key_pem;
    creds = grpc::SslCredentials(ssl);
    if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(o.target, creds, args);
}

}  // namespace

// --- ClientCore -------------------------------------------------------------

ClientCore::ClientCore(std::shared_ptr<grpc::Channel> channel, ConnectOptions options)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      stub_(std::make_unique<grpc::GenericStub>(channel_)),
      transfer_(files::v1::TransferService::NewStub(channel_)) {
  if (!options_.bearer_token.empty() && !WantsTls(options_) && !IsLocalTarget(options_.target)) {
    ThrowError("InvalidParameterError",
               "a bearer token is sent without TLS only to loopback addresses and unix sockets, "
               "not to " + options_.target);
  }
}

void internal::PrepareContext(const ClientCore& core, const CallOptions& options, bool transfer,
                              grpc::ClientContext* context) {
  const ConnectOptions& o = core.options();
  for (const auto& [key, value] : o.metadata) context->AddMetadata(key, value);
  for (const auto& [key, value] : options.metadata) context->AddMetadata(key, value);
  if (!options.api_key.empty()) context->AddMetadata("x-files-api-key", options.api_key);
  if (!options.session_id.empty()) context->AddMetadata("x-files-session-id", options.session_id);
  if (options.workspace_id) {
    context->AddMetadata("x-files-workspace-id", std::to_string(*options.workspace_id));
  }
  if (!options.language.empty()) context->AddMetadata("x-files-language", options.language);
  if (!o.bearer_token.empty()) context->AddMetadata("authorization", "Bearer " + o.bearer_token);
  std::chrono::milliseconds timeout = transfer ? o.transfer_timeout : o.timeout;
  if (options.timeout) timeout = *options.timeout;
  if (timeout.count() > 0) context->set_deadline(std::chrono::system_clock::now() + timeout);
  context->set_wait_for_ready(options.wait_for_ready.value_or(o.wait_for_ready));
}

void ClientCore::Invoke(const std::string& full_method, const google::protobuf::Message& request,
                        google::protobuf::Message* response, const CallOptions& options) const {
  grpc::ClientContext context;
  internal::PrepareContext(*this, options, false, &context);
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    ThrowError("InvalidRequestError", "cannot encode " + request.GetDescriptor()->full_name());
  }
  grpc::Slice slice(std::move(bytes));
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  std::promise<grpc::Status> done;
  stub_->UnaryCall(&context, full_method, grpc::StubOptions(), &request_buffer, &response_buffer,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  ThrowIfError(status);
  grpc::ProtoBufferReader reader(&response_buffer);
  if (!response->ParseFromZeroCopyStream(&reader)) {
    ThrowError("GatewayError", "cannot decode the " + response->GetDescriptor()->full_name() +
                                   " the gateway answered to " + full_method);
  }
}

// --- Client -----------------------------------------------------------------

Client::Client(ConnectOptions options) {
  auto channel = MakeChannel(options);
  core_ = std::make_shared<const ClientCore>(std::move(channel), std::move(options));
}

Client::Client(std::shared_ptr<grpc::Channel> channel, ConnectOptions options)
    : core_(std::make_shared<const ClientCore>(std::move(channel), std::move(options))) {}

Resource Client::resource(std::string_view name) const {
  auto sdk_name = ResolveResource(name);
  if (!sdk_name) ThrowError("InvalidParameterError", "no Files.com resource named \"" + std::string(name) + "\"");
  return Resource(core_, *sdk_name);
}

ListObj Client::ListFor(const std::string& folder, const Params& params) const {
  return resource("Folder").ListAction("list_for", {folder}, params);
}

std::shared_ptr<grpc::Channel> Client::channel() const { return core_->channel(); }
const std::string& Client::target() const { return core_->options().target; }

// --- Resource ---------------------------------------------------------------

const Method& Resource::Require(std::string_view action, bool paginated) const {
  const Method* m = LookupMethod(name_, action);
  if (m == nullptr) {
    std::string actions;
    for (const auto& a : Actions()) actions += (actions.empty() ? "" : ", ") + a;
    ThrowError("InvalidParameterError",
               name_ + " has no action \"" + std::string(action) + "\" (it has: " + actions + ")");
  }
  if (m->paginated != paginated) {
    ThrowError("InvalidParameterError",
               name_ + "." + std::string(action) +
                   (m->paginated ? " pages: call it through List or ListAction"
                                 : " does not page: use Call"));
  }
  return *m;
}

Model Resource::Call(std::string_view action, const std::vector<Value>& args,
                     const Params& params, const CallOptions& options) const {
  const Method& m = Require(action, false);
  auto request = BuildRequest(m, args, params);
  std::shared_ptr<google::protobuf::Message> response(proto::Prototype(m.output)->New());
  core_->Invoke(m.full_method, *request, response.get(), options);
  if (m.ReturnsNothing()) return Model();
  return Model(std::move(response));
}

Model Resource::CallOn(const Model& object, std::string_view action, const Params& params,
                       const CallOptions& options) const {
  const Method& m = Require(action, false);
  std::vector<Value> args;
  for (const auto& p : m.path_params) {
    if (!object.Has(p)) {
      ThrowError("MissingParameterError",
                 name_ + "." + std::string(action) + " needs the object's " + p);
    }
    args.push_back(object.Get(p));
  }
  return Call(action, args, params, options);
}

Model Resource::Find(const Value& id_or_path, const Params& params,
                     const CallOptions& options) const {
  return Call("find", {id_or_path}, params, options);
}

Model Resource::Create(const Params& params, const CallOptions& options) const {
  return Call("create", {}, params, options);
}

Model Resource::Update(const Value& id_or_path, const Params& params,
                       const CallOptions& options) const {
  return Call("update", {id_or_path}, params, options);
}

void Resource::Delete(const Value& id_or_path, const Params& params,
                      const CallOptions& options) const {
  Call("delete", {id_or_path}, params, options);
}

ListObj Resource::List(const Params& params, const CallOptions& options) const {
  return ListAction("list", {}, params, options);
}

ListObj Resource::ListAction(std::string_view action, const std::vector<Value>& args,
                             const Params& params, const CallOptions& options) const {
  const Method& m = Require(action, true);
  std::shared_ptr<google::protobuf::Message> request = BuildRequest(m, args, params);
  ListObj list(core_, &m, std::move(request), options);
  list.Load("");
  return list;
}

// --- ListObj ----------------------------------------------------------------

ListObj::ListObj(std::shared_ptr<const ClientCore> core, const Method* method,
                 std::shared_ptr<google::protobuf::Message> request, CallOptions options)
    : core_(std::move(core)),
      method_(method),
      request_(std::move(request)),
      options_(std::move(options)) {}

void ListObj::Load(const std::string& cursor) {
  std::unique_ptr<google::protobuf::Message> request(request_->New());
  request->CopyFrom(*request_);
  if (!cursor.empty()) {
    const auto* fd = request->GetDescriptor()->FindFieldByName("cursor");
    if (fd == nullptr) {
      ThrowError("GatewayError", request->GetDescriptor()->full_name() + " has no cursor field");
    }
    request->GetReflection()->SetString(request.get(), fd, cursor);
  }
  std::shared_ptr<google::protobuf::Message> response(proto::Prototype(method_->output)->New());
  core_->Invoke(method_->full_method, *request, response.get(), options_);
  const auto* type = response->GetDescriptor();
  const auto* r = response->GetReflection();
  std::vector<Model> page;
  if (const auto* items = type->FindFieldByName("items");
      items != nullptr && items->is_repeated() &&
      items->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
    for (int i = 0; i < r->FieldSize(*response, items); ++i) {
      page.emplace_back(std::shared_ptr<const google::protobuf::Message>(
          response, &r->GetRepeatedMessage(*response, items, i)));
    }
  }
  std::string next;
  if (const auto* fd = type->FindFieldByName("next_cursor");
      fd != nullptr && fd->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
    next = r->GetString(*response, fd);
  }
  page_ = std::move(page);
  cursor_ = std::move(next);
}

void ListObj::LoadNextPage() {
  if (cursor_.empty()) {
    ThrowError("InvalidRequestError",
               method_->resource + "." + method_->action + ": there is no next page");
  }
  Load(cursor_);
}

std::vector<Model> ListObj::All() {
  std::vector<Model> out;
  for (const Model& m : *this) out.push_back(m);
  return out;
}

ListObj::iterator::iterator(ListObj* list) : list_(list) { Settle(); }

void ListObj::iterator::Settle() {
  while (list_ != nullptr && index_ >= list_->page_.size()) {
    if (!list_->HasNextPage()) {
      list_ = nullptr;
      index_ = 0;
      return;
    }
    list_->LoadNextPage();
    index_ = 0;
  }
}

ListObj::iterator& ListObj::iterator::operator++() {
  ++index_;
  Settle();
  return *this;
}

}  // namespace filesgw::client
