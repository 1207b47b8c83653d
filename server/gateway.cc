#include "server/gateway.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "client_core/curl_transport.h"
#include "client_core/scheduler.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "proto/api_pool.h"
#include "server/reflection_service.h"

namespace filesgw::server {

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(
    const GatewayOptions& options, Logger* log,
    std::shared_ptr<client_core::HttpTransport> transport) {
  std::unique_ptr<Gateway> gw(new Gateway);
  gw->log_ = log;
  gw->metrics_ = std::make_shared<Metrics>();
  gw->health_ = std::make_unique<HealthReporter>(log, gw->metrics_.get());
  if (!options.metrics_listen.empty()) {
    absl::Status serving =
        gw->metrics_->Serve(options.metrics_listen, options.metrics_allow_remote);
    if (!serving.ok()) {
      // An address asked for must work; the default one is best effort (two
      // gateways on one host must not fail on it).
      if (options.metrics_required || absl::IsInvalidArgument(serving)) return serving;
      log->Warn("metrics not served", {{"error", std::string(serving.message())}});
    } else {
      log->Info("metrics", {{"address", options.metrics_listen}, {"port", gw->metrics_->port()}});
    }
  }
  if (transport == nullptr) {
    client_core::CurlTransportOptions curl;
    curl.source_ip = options.source_ip;
    transport = client_core::MakeCurlTransport(curl);
  }
  transport = InstrumentTransport(std::move(transport), gw->metrics_, options.base_url);
  client_core::ClientOptions client;
  client.base_url = options.base_url;
  client.api_key = options.api_key;
  client.open_timeout = options.open_timeout;
  client.read_timeout = options.read_timeout;
  client.initial_retry_delay = options.initial_retry_delay;
  client.max_retry_delay = options.max_retry_delay;
  client.max_retries = options.max_retries;
  auto scheduler = client_core::MakeRealScheduler();
  if (!options.api_key_file.empty()) {
    auto key = client_core::SecretSource::FromFile(options.api_key_file, scheduler);
    if (!key.ok()) return key.status();
    client.api_key_source = *key;
  } else if (options.api_key.empty() && !options.username.empty()) {
    std::shared_ptr<client_core::SecretSource> password;
    if (!options.password_file.empty()) {
      auto file = client_core::SecretSource::FromFile(options.password_file, scheduler);
      if (!file.ok()) return file.status();
      password = *file;
    } else {
      password = client_core::SecretSource::Fixed(options.password);
    }
    client_core::SessionAuthOptions session;
    session.open_timeout = options.open_timeout;
    session.read_timeout = options.read_timeout;
    client.session_auth = client_core::SessionAuth::Create(
        transport, options.base_url, client_core::SecretSource::Fixed(options.username),
        std::move(password), session);
  }
  if (options.max_concurrent_requests > 0 || options.requests_per_second > 0) {
    client_core::GovernorOptions governor;
    governor.max_concurrent = options.max_concurrent_requests;
    governor.requests_per_second = options.requests_per_second;
    client.governor = client_core::Governor::Create(governor, scheduler);
  }
  Telemetry telemetry;
  telemetry.metrics = gw->metrics_;
  telemetry.health = gw->health_.get();
  if (client.governor != nullptr) {
    telemetry.governor_profile = "default";
    gw->metrics_->RegisterProfile(telemetry.governor_profile);
  }
  gw->client_ = std::make_shared<client_core::FilesClient>(transport, scheduler, client);
  gw->forwarder_ = std::make_unique<Forwarder>(gw->client_, log, telemetry);
  TransferDeps transfer;
  transfer.client = gw->client_;
  transfer.transport = transport;
  transfer.scheduler = scheduler;
  transfer.options = options;
  transfer.options.api_key.clear();  // the client holds the secrets; keep one copy
  transfer.options.password.clear();
  transfer.log = log;
  transfer.telemetry = telemetry;
  gw->transfer_ = std::make_unique<TransferService>(std::move(transfer));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &gw->port_);
  builder.SetMaxReceiveMessageSize(64 << 20);
  // Bound what one stream may buffer: with BDP probing on loopback gRPC grows
  // each stream's receive window to tens of MiB, so a fast uploader parked
  // ~100 MiB in the gateway while its parts went up. A fixed 1 MiB window
  // keeps the bound per stream and still fills a loopback link.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
  std::vector<std::string> names;
  for (const auto* service : proto::Api().services) {
    auto built = ApiService::Create(service, gw->forwarder_.get());
    if (!built.ok()) return built.status();
    names.push_back(service->full_name());
    builder.RegisterService(built->get());
    gw->services_.push_back(std::move(*built));
  }
  builder.RegisterService(gw->transfer_.get());
  names.push_back("files.v1.TransferService");
  names.push_back("grpc.health.v1.Health");
  gw->extra_services_ = MakeReflectionServices(proto::Api().pool.get(), names);
  for (auto& s : gw->extra_services_) builder.RegisterService(s.get());

  gw->server_ = builder.BuildAndStart();
  if (gw->server_ == nullptr || gw->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  gw->health_->Attach(gw->server_->GetHealthCheckService());
  log->Info("listening", {{"address", options.listen},
                          {"port", gw->port_},
                          {"services", static_cast<int64_t>(gw->services_.size())},
                          {"rpcs", static_cast<int64_t>(gw->rpc_count())}});
  return gw;
}

size_t Gateway::rpc_count() const {
  size_t n = 0;
  for (const auto& s : services_) n += s->routes().size();
  return n;
}

void Gateway::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  health_->SetDraining();
  log_->Info("draining", {{"in_flight", forwarder_->in_flight()},
                          {"streams", transfer_->active_streams()},
                          {"grace_s", absl::ToDoubleSeconds(grace)}});
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  log_->Info("stopped", {});
}

void Gateway::Wait() { server_->Wait(); }

Gateway::~Gateway() {
  if (server_ != nullptr) {
    Shutdown(absl::ZeroDuration());
    server_->Wait();
    health_->Attach(nullptr);  // the health service goes with server_
  }
}

}  // namespace filesgw::server
