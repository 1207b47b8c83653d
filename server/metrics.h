// Prometheus metrics of the gateway, served on their own listener (never the
// gRPC port): gRPC calls by method and code with latency histograms, calls and
// streams in flight, upstream HTTP answers by target and status, upstream
// retries, bytes moved by TransferService, health, and the rate governor's
// waits and rejections. Label values come from fixed sets only (method names
// from the descriptors, status codes, directions, configured profiles), never
// from paths or other caller input.
//
//   auto metrics = std::make_shared<Metrics>();
//   if (auto s = metrics->Serve("127.0.0.1:9464", /*allow_remote=*/false); !s.ok()) ...
//   metrics->CallFinished("/files.v1.UserService/FindUser", grpc::StatusCode::OK, elapsed);
//   transport = InstrumentTransport(transport, metrics, base_url);  // upstream answers
//   curl http://127.0.0.1:9464/metrics
#ifndef FILESGW_SERVER_METRICS_H_
#define FILESGW_SERVER_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client_core/http_transport.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace filesgw::server {

enum class Direction { kUpload, kDownload };

// Where an upstream HTTP request went: the Files.com API (base URL
// /api/...) or a presigned storage URL (upload parts, downloads).
enum class UpstreamTarget { kApi, kStorage };

// True when a "HOST:PORT" address is on loopback: 127.0.0.0/8, [::1] or
// localhost. A bare port (every interface) is not.
bool IsLoopbackAddress(std::string_view address);

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves GET /metrics on `address` ("HOST:PORT"; port 0 picks one). Refuses
  // addresses other than loopback unless `allow_remote`.
  absl::Status Serve(const std::string& address, bool allow_remote);
  // The bound port, 0 when not serving.
  int port() const { return port_; }
  // The exposition text (what a scrape returns).
  std::string Scrape() const;

  // gRPC calls. `full_method` is "/package.Service/Method".
  void UnaryStarted();
  void UnaryFinished();
  void StreamStarted(Direction direction);
  void StreamFinished(Direction direction);
  void CallFinished(std::string_view full_method, grpc::StatusCode code, absl::Duration elapsed);

  // Upstream: every HTTP exchange (wrap the transport with Instrument), and
  // the retries a call needed (ApiResult.attempts - 1, part retries, ...).
  void UpstreamAnswer(UpstreamTarget target, int http_status, absl::Duration elapsed);
  void UpstreamFailure(UpstreamTarget target, const absl::Status& transport,
                       absl::Duration elapsed);
  void UpstreamRetries(std::string_view full_method, int retries);

  void TransferBytes(Direction direction, int64_t bytes);

  // Health as reported by grpc.health.v1, and whether Files.com refuses the
  // gateway's own credential.
  void SetServing(bool serving);
  void SetCredentialRejected(bool rejected);

  // Rate governor (client_core/governor.h), per credential profile: the time
  // a call queued before it was let through, and calls refused because their
  // deadline could not be met. RegisterProfile makes a profile's series show
  // (as zeros) before its first use.
  void RegisterProfile(std::string_view profile);
  void GovernorWait(std::string_view profile, absl::Duration waited);
  void GovernorRejection(std::string_view profile);

  // Isolation limits: a call refused or ended because a limit was reached.
  // `limit` is one of a fixed set (caller_calls, caller_streams,
  // caller_upload_memory, caller_upstream_requests, request_size,
  // stream_idle, ...): never caller input.
  void LimitRejection(std::string_view limit);

  // Keys of Files.com answers kept in `unmapped_fields` (server/codec.h):
  // `unknown` keys the protos lack, `misfit` keys whose JSON shape did not fit.
  void UnmappedFields(int64_t unknown, int64_t misfit);
  // Redis (README "Scaling out"): whether a profile's shared state is
  // reachable (filesgw_redis_up{profile}) and failed commands.
  void SetRedisUp(std::string_view profile, bool up);
  void RedisError();

 private:
  struct MethodSeries;
  MethodSeries& SeriesFor(std::string_view full_method);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& call_seconds_;
  prometheus::Family<prometheus::Gauge>& inflight_calls_;
  prometheus::Family<prometheus::Gauge>& inflight_streams_;
  prometheus::Family<prometheus::Counter>& upstream_answers_;
  prometheus::Family<prometheus::Counter>& upstream_failures_;
  prometheus::Family<prometheus::Histogram>& upstream_seconds_;
  prometheus::Family<prometheus::Counter>& upstream_retries_;
  prometheus::Family<prometheus::Counter>& transfer_bytes_;
  prometheus::Family<prometheus::Gauge>& serving_;
  prometheus::Family<prometheus::Gauge>& credential_rejected_;
  prometheus::Family<prometheus::Histogram>& governor_wait_;
  prometheus::Family<prometheus::Counter>& governor_rejections_;
  prometheus::Family<prometheus::Counter>& limit_rejections_;
  prometheus::Family<prometheus::Counter>& unmapped_fields_;
  prometheus::Family<prometheus::Gauge>& redis_up_;
  prometheus::Family<prometheus::Counter>& redis_errors_;

  prometheus::Gauge* inflight_unary_;
  prometheus::Gauge* inflight_upload_;
  prometheus::Gauge* inflight_download_;
  prometheus::Counter* bytes_up_;
  prometheus::Counter* bytes_down_;
  prometheus::Counter* unmapped_unknown_;
  prometheus::Counter* unmapped_misfit_;
  prometheus::Gauge* serving_gauge_;
  prometheus::Gauge* rejected_gauge_;

  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<MethodSeries>, std::less<>> methods_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<prometheus::Exposer> exposer_;  // after registry_: stops first
  int port_ = 0;
};

// Wraps `inner` so that every request through it is counted and timed in
// `metrics`. URLs under `base_url` + "/api/" count as the API, others as
// storage (presigned URLs).
std::shared_ptr<client_core::HttpTransport> InstrumentTransport(
    std::shared_ptr<client_core::HttpTransport> inner, std::shared_ptr<Metrics> metrics,
    std::string base_url);

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_METRICS_H_
