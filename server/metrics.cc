#include "server/metrics.h"

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace filesgw::server {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

// Seconds: 1 ms .. 5 min (transfer streams run for minutes).
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return *b;
}

const Histogram::BucketBoundaries& WaitBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *b;
}

constexpr int kCodes = 17;
const char* CodeName(int code) {
  static const char* const kNames[kCodes] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < kCodes ? kNames[code] : "UNKNOWN";
}

const char* TargetName(UpstreamTarget t) { return t == UpstreamTarget::kApi ? "api" : "storage"; }

// "/files.v1.UserService/FindUser" -> {"files.v1.UserService", "FindUser"}.
std::pair<std::string, std::string> SplitMethod(std::string_view full_method) {
  if (!full_method.empty() && full_method.front() == '/') full_method.remove_prefix(1);
  size_t slash = full_method.rfind('/');
  if (slash == std::string_view::npos) return {"", std::string(full_method)};
  return {std::string(full_method.substr(0, slash)), std::string(full_method.substr(slash + 1))};
}

// Counts and times each request on the way through.
class InstrumentedTransport : public client_core::HttpTransport {
 public:
  InstrumentedTransport(std::shared_ptr<client_core::HttpTransport> inner,
                        std::shared_ptr<Metrics> metrics, std::string base_url)
      : inner_(std::move(inner)), metrics_(std::move(metrics)),
        api_prefix_(absl::StrCat(base_url, "/api/")) {}

  std::shared_ptr<client_core::HttpCall> Start(client_core::HttpRequest request,
                                               client_core::HttpCallback done) override {
    const UpstreamTarget target = absl::StartsWith(request.url, api_prefix_)
                                      ? UpstreamTarget::kApi
                                      : UpstreamTarget::kStorage;
    const absl::Time started = absl::Now();
    return inner_->Start(std::move(request), [metrics = metrics_, target, started,
                                              done = std::move(done)](client_core::HttpResult r) {
      const absl::Duration elapsed = absl::Now() - started;
      if (r.transport.ok()) {
        metrics->UpstreamAnswer(target, r.response.status, elapsed);
      } else {
        metrics->UpstreamFailure(target, r.transport, elapsed);
      }
      done(std::move(r));
    });
  }

 private:
  std::shared_ptr<client_core::HttpTransport> inner_;
  std::shared_ptr<Metrics> metrics_;
  std::string api_prefix_;
};

}  // namespace

struct Metrics::MethodSeries {
  Histogram* latency = nullptr;
  Counter* codes[kCodes] = {};
  Counter* retries = nullptr;
  std::pair<std::string, std::string> names;  // service, method
};

bool IsLoopbackAddress(std::string_view address_in) {
  const absl::string_view address(address_in.data(), address_in.size());
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view host = address.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) return false;
  if (host == "[::1]" || absl::EqualsIgnoreCase(host, "localhost")) return true;
  // 127.0.0.0/8 in dotted quad.
  int parts = 0;
  for (absl::string_view rest = host; !rest.empty();) {
    size_t dot = rest.find('.');
    absl::string_view part = rest.substr(0, dot);
    int value = 0;
    if (part.empty() || part.size() > 3 || !absl::SimpleAtoi(part, &value) || value < 0 ||
        value > 255) {
      return false;
    }
    if (parts == 0 && value != 127) return false;
    ++parts;
    if (dot == absl::string_view::npos) break;
    rest.remove_prefix(dot + 1);
    if (rest.empty()) return false;
  }
  return parts == 4;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      calls_(prometheus::BuildCounter()
                 .Name("filesgw_grpc_calls_total")
                 .Help("gRPC calls finished, by service, method and status code")
                 .Register(*registry_)),
      call_seconds_(prometheus::BuildHistogram()
                        .Name("filesgw_grpc_call_duration_seconds")
                        .Help("gRPC call latency (whole stream for TransferService), by method")
                        .Register(*registry_)),
      inflight_calls_(prometheus::BuildGauge()
                          .Name("filesgw_grpc_inflight_calls")
                          .Help("Unary gRPC calls in progress")
                          .Register(*registry_)),
      inflight_streams_(prometheus::BuildGauge()
                            .Name("filesgw_transfer_inflight_streams")
                            .Help("TransferService Upload/Download streams in progress")
                            .Register(*registry_)),
      upstream_answers_(prometheus::BuildCounter()
                            .Name("filesgw_upstream_responses_total")
                            .Help("HTTP answers from upstream (every attempt), by target "
                                  "(api, storage), status class and status")
                            .Register(*registry_)),
      upstream_failures_(prometheus::BuildCounter()
                             .Name("filesgw_upstream_failures_total")
                             .Help("Upstream requests that got no HTTP answer, by target and "
                                   "reason")
                             .Register(*registry_)),
      upstream_seconds_(prometheus::BuildHistogram()
                            .Name("filesgw_upstream_request_duration_seconds")
                            .Help("Upstream HTTP request latency (one attempt), by target")
                            .Register(*registry_)),
      upstream_retries_(prometheus::BuildCounter()
                            .Name("filesgw_upstream_retries_total")
                            .Help("Upstream requests repeated after a retryable failure, by "
                                  "the gRPC method they served")
                            .Register(*registry_)),
      transfer_bytes_(prometheus::BuildCounter()
                          .Name("filesgw_transfer_bytes_total")
                          .Help("File content moved by TransferService, by direction")
                          .Register(*registry_)),
      serving_(prometheus::BuildGauge()
                   .Name("filesgw_health_serving")
                   .Help("1 when grpc.health.v1 reports SERVING, else 0")
                   .Register(*registry_)),
      credential_rejected_(prometheus::BuildGauge()
                               .Name("filesgw_upstream_credential_rejected")
                               .Help("1 while Files.com refuses the gateway's own credential")
                               .Register(*registry_)),
      governor_wait_(prometheus::BuildHistogram()
                         .Name("filesgw_governor_wait_seconds")
                         .Help("Time calls waited in the rate governor, by profile")
                         .Register(*registry_)),
      governor_rejections_(prometheus::BuildCounter()
                               .Name("filesgw_governor_rejections_total")
                               .Help("Calls the rate governor refused (deadline could not be "
                                     "met), by profile")
                               .Register(*registry_)),
      limit_rejections_(prometheus::BuildCounter()
                            .Name("filesgw_limit_rejections_total")
                            .Help("Calls refused or ended by an isolation limit (per-caller "
                                  "share, request size, idle stream), by limit")
                            .Register(*registry_)),
      unmapped_fields_(prometheus::BuildCounter()
                           .Name("filesgw_upstream_unmapped_fields_total")
                           .Help("Keys of Files.com answers kept in unmapped_fields: unknown "
                                 "(the proto lacks the key) or misfit (its JSON shape does not "
                                 "fit the field)")
                           .Register(*registry_)),
      redis_up_(prometheus::BuildGauge()
                    .Name("filesgw_redis_up")
                    .Help("1 while the profile's shared state in Redis is reachable, else 0 "
                          "(local fallback limits apply)")
                    .Register(*registry_)),
      redis_errors_(prometheus::BuildCounter()
                        .Name("filesgw_redis_errors_total")
                        .Help("Redis commands that failed (no answer or an error answer)")
                        .Register(*registry_)),
      inflight_unary_(&inflight_calls_.Add({})),
      inflight_upload_(&inflight_streams_.Add({{"direction", "upload"}})),
      inflight_download_(&inflight_streams_.Add({{"direction", "download"}})),
      bytes_up_(&transfer_bytes_.Add({{"direction", "upload"}})),
      bytes_down_(&transfer_bytes_.Add({{"direction", "download"}})),
      unmapped_unknown_(&unmapped_fields_.Add({{"kind", "unknown"}})),
      unmapped_misfit_(&unmapped_fields_.Add({{"kind", "misfit"}})),
      serving_gauge_(&serving_.Add({})),
      rejected_gauge_(&credential_rejected_.Add({})) {}

Metrics::~Metrics() = default;

absl::Status Metrics::Serve(const std::string& address, bool allow_remote) {
  if (!allow_remote && !IsLoopbackAddress(address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address ", address,
        " is not loopback (127.0.0.1:PORT, [::1]:PORT, localhost:PORT); pass "
        "--metrics-allow-remote to expose metrics beyond this host"));
  }
  std::string bind = address;
  if (absl::StartsWithIgnoreCase(bind, "localhost:")) {
    bind = absl::StrCat("127.0.0.1", bind.substr(9));
  }
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", bind, "num_threads", "2"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

Metrics::MethodSeries& Metrics::SeriesFor(std::string_view full_method) {
  auto it = methods_.find(full_method);
  if (it != methods_.end()) return *it->second;
  auto series = std::make_unique<MethodSeries>();
  series->names = SplitMethod(full_method);
  series->latency = &call_seconds_.Add(
      {{"service", series->names.first}, {"method", series->names.second}}, LatencyBuckets());
  return *methods_.emplace(std::string(full_method), std::move(series)).first->second;
}

void Metrics::UnaryStarted() { inflight_unary_->Increment(); }
void Metrics::UnaryFinished() { inflight_unary_->Decrement(); }

void Metrics::StreamStarted(Direction direction) {
  (direction == Direction::kUpload ? inflight_upload_ : inflight_download_)->Increment();
}

void Metrics::StreamFinished(Direction direction) {
  (direction == Direction::kUpload ? inflight_upload_ : inflight_download_)->Decrement();
}

void Metrics::CallFinished(std::string_view full_method, grpc::StatusCode code,
                           absl::Duration elapsed) {
  int c = static_cast<int>(code);
  if (c < 0 || c >= kCodes) c = static_cast<int>(grpc::StatusCode::UNKNOWN);
  Counter* counter;
  Histogram* latency;
  {
    absl::MutexLock lock(&mu_);
    MethodSeries& s = SeriesFor(full_method);
    if (s.codes[c] == nullptr) {
      s.codes[c] = &calls_.Add(
          {{"service", s.names.first}, {"method", s.names.second}, {"code", CodeName(c)}});
    }
    counter = s.codes[c];
    latency = s.latency;
  }
  counter->Increment();
  latency->Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::UpstreamAnswer(UpstreamTarget target, int http_status, absl::Duration elapsed) {
  std::string status = "other", klass = "other";
  if (http_status >= 100 && http_status <= 599) {
    status = absl::StrCat(http_status);
    klass = absl::StrCat(http_status / 100, "xx");
  }
  upstream_answers_.Add({{"target", TargetName(target)}, {"class", klass}, {"status", status}})
      .Increment();
  upstream_seconds_.Add({{"target", TargetName(target)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::UpstreamFailure(UpstreamTarget target, const absl::Status& transport,
                              absl::Duration elapsed) {
  const char* reason = "unavailable";
  if (absl::IsDeadlineExceeded(transport)) reason = "deadline_exceeded";
  else if (absl::IsCancelled(transport)) reason = "cancelled";
  else if (!absl::IsUnavailable(transport)) reason = "other";
  upstream_failures_.Add({{"target", TargetName(target)}, {"reason", reason}}).Increment();
  upstream_seconds_.Add({{"target", TargetName(target)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::UpstreamRetries(std::string_view full_method, int retries) {
  if (retries <= 0 || full_method.empty()) return;
  Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    MethodSeries& s = SeriesFor(full_method);
    if (s.retries == nullptr) {
      s.retries = &upstream_retries_.Add({{"service", s.names.first}, {"method", s.names.second}});
    }
    counter = s.retries;
  }
  counter->Increment(retries);
}

void Metrics::TransferBytes(Direction direction, int64_t bytes) {
  if (bytes <= 0) return;
  Counter* counter = direction == Direction::kUpload ? bytes_up_ : bytes_down_;
  counter->Increment(static_cast<double>(bytes));
}

void Metrics::SetServing(bool serving) { serving_gauge_->Set(serving ? 1 : 0); }

void Metrics::SetCredentialRejected(bool rejected) { rejected_gauge_->Set(rejected ? 1 : 0); }

void Metrics::SetRedisUp(std::string_view profile, bool up) {
  redis_up_.Add({{"profile", std::string(profile)}}).Set(up ? 1 : 0);
}

void Metrics::RedisError() { redis_errors_.Add({}).Increment(); }

void Metrics::RegisterProfile(std::string_view profile) {
  governor_wait_.Add({{"profile", std::string(profile)}}, WaitBuckets());
  governor_rejections_.Add({{"profile", std::string(profile)}});
}

void Metrics::GovernorWait(std::string_view profile, absl::Duration waited) {
  governor_wait_.Add({{"profile", std::string(profile)}}, WaitBuckets())
      .Observe(absl::ToDoubleSeconds(waited));
}

void Metrics::GovernorRejection(std::string_view profile) {
  governor_rejections_.Add({{"profile", std::string(profile)}}).Increment();
}

void Metrics::UnmappedFields(int64_t unknown, int64_t misfit) {
  if (unknown > 0) unmapped_unknown_->Increment(static_cast<double>(unknown));
  if (misfit > 0) unmapped_misfit_->Increment(static_cast<double>(misfit));
}

void Metrics::LimitRejection(std::string_view limit) {
  limit_rejections_.Add({{"limit", std::string(limit)}}).Increment();
}

std::shared_ptr<client_core::HttpTransport> InstrumentTransport(
    std::shared_ptr<client_core::HttpTransport> inner, std::shared_ptr<Metrics> metrics,
    std::string base_url) {
  return std::make_shared<InstrumentedTransport>(std::move(inner), std::move(metrics),
                                                 std::move(base_url));
}

}  // namespace filesgw::server
