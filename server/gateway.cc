#include "server/gateway.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client_core/curl_transport.h"
#include "client_core/scheduler.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "proto/api_pool.h"
#include "server/redis_budget.h"
#include "server/redis_client.h"
#include "server/reflection_service.h"

namespace filesgw::server {
namespace {

// Plaintext, TLS, or TLS requiring client certificates signed by the client
// CA (mTLS). Certificates and keys are re-read when their files change
// (cert-manager and Kubernetes Secret rotation), without a restart.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  const auto interval = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(tls.reload_interval)));
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (tls.client_ca_file.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.key_file, tls.cert_file, interval);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.key_file, tls.cert_file, tls.client_ca_file, interval);
  }
  grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
  tls_options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) {
    tls_options.watch_root_certs();
    tls_options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls_options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  auto credentials = grpc::experimental::TlsServerCredentials(tls_options);
  if (credentials == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls: cannot use ", tls.cert_file, " / ", tls.key_file));
  }
  return credentials;
}

}  // namespace

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
  // Two upstream pools: the Files.com API and the presigned storage URLs, so
  // that downloads and part uploads, however many and however stalled, never
  // take the connections API calls need. A transport given by a test serves both.
  std::shared_ptr<client_core::HttpTransport> storage_transport = transport;
  if (transport == nullptr) {
    client_core::CurlTransportOptions curl;
    curl.source_ip = options.source_ip;
    curl.ca_file = options.ca_file;
    curl.max_total_connections = options.api_connections;
    transport = client_core::MakeCurlTransport(curl);
    curl.max_total_connections = options.storage_connections;
    storage_transport = client_core::MakeCurlTransport(curl);
  }
  transport = InstrumentTransport(std::move(transport), gw->metrics_, options.base_url);
  storage_transport =
      InstrumentTransport(std::move(storage_transport), gw->metrics_, options.base_url);
  std::map<std::string, CallerLimits> caller_limits;
  for (const CallerOptions& c : options.callers) caller_limits[c.name] = c.limits;
  auto scheduler = client_core::MakeRealScheduler();
  gw->quotas_ = CallerQuotas::Create(options.caller_limits, std::move(caller_limits),
                                     gw->metrics_.get(), scheduler);
  const std::vector<ProfileOptions> profiles = EffectiveProfiles(options);
  gw->health_->SetProfileCount(static_cast<int>(profiles.size()));
  // Redis: one client per distinct server and password, shared by the
  // profiles that use it (a profile's own redis: overrides the top level).
  auto redis_for = [&options](const ProfileOptions& p) {
    return p.redis_url.empty() ? std::make_pair(options.redis.url, options.redis.password)
                               : std::make_pair(p.redis_url, p.redis_password);
  };
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> redis_users;
  for (const ProfileOptions& p : profiles) {
    auto key = redis_for(p);
    if (!key.first.empty()) redis_users[key].push_back(p.name);
  }
  std::map<std::pair<std::string, std::string>, std::shared_ptr<RedisClient>> redis_clients;
  for (const auto& [key, users] : redis_users) {
    auto endpoint = ParseRedisUrl(key.first);
    if (!endpoint.ok()) return endpoint.status();
    RedisClientOptions ro;
    ro.endpoint = *endpoint;
    ro.password = key.second;
    ro.ca_file = options.ca_file;
    std::shared_ptr<Metrics> metrics = gw->metrics_;
    ro.on_error = [metrics] { metrics->RedisError(); };
    for (const auto& name : users) metrics->SetRedisUp(name, false);
    redis_clients[key] = RedisClient::Start(
        std::move(ro), log, [metrics, users = users](bool up, const std::string&) {
          for (const auto& name : users) metrics->SetRedisUp(name, up);
        });
    gw->redis_.push_back(redis_clients[key]);
  }
  std::map<std::string, const ProfileRuntime*> by_name;
  for (const ProfileOptions& p : profiles) {
    auto runtime = std::make_unique<ProfileRuntime>();
    runtime->name = p.name;
    runtime->allow_caller_credentials = p.allow_caller_credentials;
    client_core::ClientOptions client;
    client.base_url = p.base_url;
    client.api_key = p.api_key;
    client.open_timeout = options.open_timeout;
    client.read_timeout = options.read_timeout;
    client.initial_retry_delay = options.initial_retry_delay;
    client.max_retry_delay = options.max_retry_delay;
    client.max_retries = options.max_retries;
    HealthReporter* health = gw->health_.get();
    const std::string name = p.name;
    if (!p.api_key_file.empty()) {
      auto key = client_core::SecretSource::FromFile(p.api_key_file, scheduler);
      if (!key.ok()) return key.status();
      // A rotated key deserves a fresh judgement from Files.com.
      (*key)->OnChange([health, name] { health->CredentialChanged(name); });
      client.api_key_source = *key;
    } else if (p.api_key.empty() && !p.username.empty()) {
      std::shared_ptr<client_core::SecretSource> password;
      if (!p.password_file.empty()) {
        auto file = client_core::SecretSource::FromFile(p.password_file, scheduler);
        if (!file.ok()) return file.status();
        (*file)->OnChange([health, name] { health->CredentialChanged(name); });
        password = *file;
      } else {
        password = client_core::SecretSource::Fixed(p.password);
      }
      client_core::SessionAuthOptions session;
      session.open_timeout = options.open_timeout;
      session.read_timeout = options.read_timeout;
      client.session_auth = client_core::SessionAuth::Create(
          transport, p.base_url, client_core::SecretSource::Fixed(p.username),
          std::move(password), session);
    }
    if (p.max_concurrent_requests > 0 || p.requests_per_second > 0) {
      client_core::GovernorOptions governor;
      governor.max_concurrent = p.max_concurrent_requests;
      governor.requests_per_second = p.requests_per_second;
      if (auto redis = redis_clients.find(redis_for(p)); redis != redis_clients.end()) {
        RedisBudgetOptions shared;
        shared.profile = p.name;
        shared.max_concurrent = p.max_concurrent_requests;
        shared.requests_per_second = p.requests_per_second;
        shared.lease_ttl = options.redis.lease_ttl;
        governor.shared = RedisBudget::Create(shared, redis->second, scheduler);
        governor.expected_replicas = options.redis.expected_replicas;
      }
      client.governor = client_core::Governor::Create(governor, scheduler);
    }
    runtime->telemetry.metrics = gw->metrics_;
    runtime->telemetry.health = gw->health_.get();
    runtime->telemetry.profile = p.name;
    if (client.governor != nullptr) {
      runtime->telemetry.governor_profile = p.name;
      gw->metrics_->RegisterProfile(p.name);
    }
    runtime->client = std::make_shared<client_core::FilesClient>(transport, scheduler, client);
    by_name[p.name] = runtime.get();
    gw->profiles_.push_back(std::move(runtime));
  }
  if (by_name.count("default") == 0) {
    return absl::InvalidArgumentError("no profile named \"default\"");
  }
  gw->auth_ = std::make_unique<CallerAuth>(options.callers, by_name);
  const ProfileRuntime& default_profile = *by_name["default"];
  Telemetry telemetry;
  telemetry.metrics = gw->metrics_;
  telemetry.health = gw->health_.get();
  gw->forwarder_ = std::make_unique<Forwarder>(gw->auth_.get(), log, telemetry, gw->quotas_);
  TransferDeps transfer;
  transfer.auth = gw->auth_.get();
  transfer.client = default_profile.client;
  transfer.transport = storage_transport;
  transfer.quotas = gw->quotas_;
  transfer.scheduler = scheduler;
  transfer.options = options;
  transfer.options.api_key.clear();  // the clients hold the secrets; keep one copy
  transfer.options.password.clear();
  transfer.options.profiles.clear();
  transfer.log = log;
  transfer.telemetry = default_profile.telemetry;
  for (const ProfileOptions& p : profiles) {
    if (p.name != "default") continue;
    if (auto redis = redis_clients.find(redis_for(p)); redis != redis_clients.end()) {
      transfer.redis = redis->second;
    }
  }
  gw->transfer_ = std::make_unique<TransferService>(std::move(transfer));

  auto credentials = ServerCredentialsFor(options.tls);
  if (!credentials.ok()) return credentials.status();
  if (!IsLocalAddress(options.listen) && options.callers.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on ", options.listen, " without caller authentication"));
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *credentials, &gw->port_);
  RequestLimits request_limits;
  request_limits.max_request_bytes = options.max_request_bytes;
  // gRPC checks its receive limit only once a whole message is buffered, and
  // only server-wide: it is the largest message any method takes, and each
  // method's own limit is checked on top (api_service.h, the transfer code).
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(
      INT32_MAX, std::max({options.max_request_bytes, request_limits.max_binary_request_bytes,
                           options.max_upload_message_bytes}))));
  // gRPC's own memory (connections, calls, buffered messages): under
  // pressure gRPC shrinks its read buffers and reads less. Not a hard ceiling
  // (a message being read is finished), so admission still matters.
  grpc::ResourceQuota quota("filesgw");
  quota.Resize(static_cast<size_t>(options.grpc_memory_quota));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_streams_per_connection);
  auto ms = [](absl::Duration d) {
    return static_cast<int>(std::min<int64_t>(INT32_MAX, absl::ToInt64Milliseconds(d)));
  };
  if (options.connection_idle_timeout > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               ms(options.connection_idle_timeout));
  }
  // Dead peers (a pod gone without a FIN) are found by our pings. Peers that
  // ping us more than once per 10 s without data are cut off after two
  // strikes (GOAWAY too_many_pings) instead of costing CPU; gRPC's default of
  // 5 min would also cut off clients with an ordinary 20-60 s keepalive.
  if (options.keepalive_time > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(options.keepalive_time));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(options.keepalive_timeout));
  }
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  // Bound what one stream may buffer: with BDP probing on loopback gRPC grows
  // each stream's receive window to tens of MiB, so a fast uploader parked
  // ~100 MiB in the gateway while its parts went up. A fixed 1 MiB window
  // keeps the bound per stream and still fills a loopback link.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(options.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, ms(options.drain_timeout));
  }
  std::vector<std::string> names;
  for (const auto* service : proto::Api().services) {
    auto built = ApiService::Create(service, gw->forwarder_.get(), request_limits);
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
  if (options.unix_socket_mode >= 0 && absl::StartsWith(options.listen, "unix:")) {
    const std::string path = options.listen.substr(5);
    if (chmod(path.c_str(), static_cast<mode_t>(options.unix_socket_mode)) != 0) {
      return absl::InternalError(absl::StrCat("cannot chmod ", path, ": ", std::strerror(errno)));
    }
  }
  if (!options.health_listen.empty()) {
    // Probes only: this listener serves grpc.health.v1 and nothing else, so
    // it needs no caller credentials wherever it listens.
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(),
                                    &gw->health_port_);
    // Anyone may reach it: its requests are a few bytes, its connections short.
    health_builder.SetMaxReceiveMessageSize(64 << 10);
    health_builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
    health_builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, ms(absl::Minutes(1)));
    // gRPC needs a polled service beside the default health service; server
    // reflection listing only grpc.health.v1.Health is one, and harmless.
    gw->health_extra_services_ =
        MakeReflectionServices(proto::Api().pool.get(), {"grpc.health.v1.Health"});
    for (auto& s : gw->health_extra_services_) health_builder.RegisterService(s.get());
    gw->health_server_ = health_builder.BuildAndStart();
    if (gw->health_server_ == nullptr || gw->health_port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.health_listen,
                                                 " (health)"));
    }
    gw->health_->AttachAlso(gw->health_server_->GetHealthCheckService());
    log->Info("health listener", {{"address", options.health_listen}, {"port", gw->health_port_}});
  }
  log->Info("listening", {{"address", options.listen},
                          {"port", gw->port_},
                          {"tls", options.tls.enabled()},
                          {"mtls", !options.tls.client_ca_file.empty()},
                          {"callers", static_cast<int64_t>(options.callers.size())},
                          {"profiles", static_cast<int64_t>(gw->profiles_.size())},
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
  if (health_server_ != nullptr) health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
  log_->Info("stopped", {});
}

void Gateway::Wait() {
  server_->Wait();
  if (health_server_ != nullptr) health_server_->Wait();
}

Gateway::~Gateway() {
  if (server_ != nullptr) {
    Shutdown(absl::ZeroDuration());
    Wait();
    health_->Attach(nullptr);  // the health service goes with server_
  }
  // Before the profiles go: no Redis thread may end up dropping the last
  // reference to its own client.
  for (auto& redis : redis_) redis->Stop();
}

}  // namespace filesgw::server
