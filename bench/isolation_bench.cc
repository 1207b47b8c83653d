// Isolation benchmark (issue 14): what one caller's abuse costs another. The
// victim's FindUser p50/p99 with no attacker and under each attack, the
// gateway's RSS around an unauthenticated flood, its threads and RSS with
// 1,000 idle streams open, and how long an over-quota caller waits for its
// answer. Figures with their goals beside them; asserts nothing (the
// assertions are tests/isolation/isolation_test.cc, on the same attack code).
//
//   build/bench/isolation_bench [--build DIR] [--quick] [--calls N]
//                               [--idle-streams N] [--flood-calls N]
//
// Each attack runs against a fresh files-gateway + files-emulator pair, so
// that one attack's leftovers (RSS high-water mark, held connections) do not
// count against the next. The issue-14 flags are passed as the suite passes
// them (FILESGW_ISOLATION_FLAGS, see tests/isolation/README.md).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/isolation/noisy_kit.h"

namespace {

namespace iso = filesgw::isolation;

struct Options {
  std::string build = "build";
  int calls = 200;          // victim FindUser calls per measurement
  int idle_streams = 1000;  // 40 % uploads, 40 % downloads, 20 % reflection
  int flood_calls = 64;     // unauthenticated 32-60 MiB calls
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "%s\nusage: isolation_bench [--build DIR] [--quick] [--calls N] "
               "[--idle-streams N] [--flood-calls N]\n",
               why.c_str());
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      o.calls = 50;
      o.idle_streams = 300;
      o.flood_calls = 16;
      continue;
    }
    if (i + 1 >= argc) Usage("missing value for " + arg);
    const std::string v = argv[++i];
    bool ok = true;
    if (arg == "--build") {
      o.build = v;
    } else if (arg == "--calls") {
      ok = absl::SimpleAtoi(v, &o.calls) && o.calls > 0;
    } else if (arg == "--idle-streams") {
      ok = absl::SimpleAtoi(v, &o.idle_streams) && o.idle_streams > 0;
    } else if (arg == "--flood-calls") {
      ok = absl::SimpleAtoi(v, &o.flood_calls) && o.flood_calls > 0;
    } else {
      Usage("unknown flag " + arg);
    }
    if (!ok) Usage("bad value for " + arg);
  }
  return o;
}

struct Row {
  std::string metric, figure, goal;
  int met;  // 1 yes, 0 no, -1 not applicable
};

class Bench {
 public:
  explicit Bench(Options o)
      : o_(std::move(o)),
        binaries_{o_.build + "/server/files-gateway", o_.build + "/emulator/files-emulator"} {}

  int Run() {
    PreAuthFlood();
    NeverReadDownloads();
    StalledUploads();
    IdleStreams();
    OverQuota();
    Print();
    return 0;
  }

 private:
  // A fresh emulator + gateway; the attacker's share is raised where the
  // attack must be admitted to be measured (the quota attack keeps it small).
  std::unique_ptr<iso::Stack> Start(bool small_share) {
    iso::StackSpec spec;
    spec.emulator_args = {"--threads", "256"};
    spec.new_flags = iso::NewGatewayFlags();
    if (small_share) {
      spec.new_flags["--caller-max-streams"] = "4";
      spec.new_flags["--caller-max-calls"] = "16";
    } else {
      spec.callers[0].limits = {{"max_streams", 2 * o_.idle_streams},
                                {"max_calls", 2 * o_.idle_streams}};
    }
    auto stack = iso::Stack::Start(spec, binaries_);
    if (!stack.ok()) {
      std::fprintf(stderr, "isolation_bench: %s\n", std::string(stack.status().message()).c_str());
      std::exit(1);
    }
    if (dropped_.empty() && !(*stack)->dropped_flags().empty()) {
      dropped_ = absl::StrJoin((*stack)->dropped_flags(), " ");
    }
    return std::move(*stack);
  }

  iso::Latencies Baseline(iso::Caller& victim) {
    (void)iso::MeasureFindUser(victim, 20);
    return iso::MeasureFindUser(victim, o_.calls);
  }

  void Victim(const std::string& attack, const iso::Latencies& base, const iso::Latencies& during) {
    if (rows_.empty()) {
      rows_.push_back({"victim FindUser p50 / p99, no attacker",
                       absl::StrFormat("%.2f / %.2f ms", base.P50(), base.P99()), "-", -1});
    }
    const bool met = during.failures == 0 && during.P50() <= 2 * base.P50();
    rows_.push_back({"victim FindUser p50 / p99, " + attack,
                     absl::StrFormat("%.2f / %.2f ms (unattacked %.2f), %d failed", during.P50(),
                                     during.P99(), base.P50(), during.failures),
                     "p50 <= 2x unattacked, 0 failed", met ? 1 : 0});
  }

  void PreAuthFlood() {
    auto stack = Start(false);
    iso::Caller victim(stack->NewChannel(), iso::kVictimToken);
    const iso::Latencies base = Baseline(victim);
    const pid_t pid = stack->gateway_pid();
    const double idle = iso::RssMiB(pid);
    std::map<int, int> codes;
    std::atomic<bool> done{false};
    std::thread flood([&] {
      iso::PreAuthFlood(*stack, o_.flood_calls, 32LL << 20, 60LL << 20, 8, &codes);
      done = true;
    });
    iso::Latencies during;
    while (!done.load() || during.ms.size() + during.failures < 20) {
      iso::Latencies one = iso::MeasureFindUser(victim, 1);
      during.ms.insert(during.ms.end(), one.ms.begin(), one.ms.end());
      during.failures += one.failures;
    }
    flood.join();
    const double peak = iso::PeakRssMiB(pid);
    const double after = iso::WaitRssAtMost(pid, idle + 64, absl::Seconds(10));
    Victim(absl::StrCat(o_.flood_calls, " unauthenticated 32-60 MiB calls"), base, during);
    rows_.push_back({absl::StrCat("gateway RSS under the pre-auth flood (idle ",
                                  static_cast<int>(idle), " MiB)"),
                     absl::StrFormat("%.0f MiB peak", peak), "<= 256 MiB", peak <= 256 ? 1 : 0});
    rows_.push_back({"gateway RSS 10 s after the flood",
                     absl::StrFormat("%.0f MiB (+%.0f)", after, after - idle), "<= idle + 64 MiB",
                     after <= idle + 64 ? 1 : 0});
  }

  void NeverReadDownloads() {
    auto stack = Start(false);
    iso::Caller victim(stack->NewChannel(), iso::kVictimToken);
    (void)victim.Upload("bench/big.bin", iso::Pattern(16 << 20, 'b'), absl::Seconds(60));
    const iso::Latencies base = Baseline(victim);
    iso::StreamFleet fleet({stack->NewChannel(), stack->NewChannel(), stack->NewChannel()});
    for (int i = 0; i < 80; ++i) fleet.OpenDownload(iso::kAttackerToken, "bench/big.bin");
    fleet.WaitSent(absl::Seconds(20));
    (void)iso::PeakThreads(stack->gateway_pid(), absl::Seconds(2));  // let it take hold
    Victim("80 never-read downloads", base, iso::MeasureFindUser(victim, o_.calls));
  }

  void StalledUploads() {
    auto stack = Start(false);
    iso::Caller victim(stack->NewChannel(), iso::kVictimToken);
    const iso::Latencies base = Baseline(victim);
    iso::StreamFleet fleet({stack->NewChannel()});
    for (int i = 0; i < 25; ++i) {
      fleet.OpenUpload(iso::kAttackerToken, absl::StrCat("bench/stalled-", i, ".bin"), 1);
    }
    fleet.WaitSent(absl::Seconds(20));
    (void)iso::PeakThreads(stack->gateway_pid(), absl::Seconds(1));
    Victim("25 uploads stalled after 1 byte", base, iso::MeasureFindUser(victim, o_.calls));
    const std::string data = iso::Pattern(20 << 20, 'v');
    const absl::Time start = absl::Now();
    const grpc::Status s = victim.Upload("bench/victim.bin", data, absl::Seconds(30));
    rows_.push_back({"victim 20 MiB upload beside 25 stalled uploads",
                     s.ok() ? absl::FormatDuration(absl::Now() - start) : iso::Describe(s),
                     "finishes", s.ok() ? 1 : 0});
  }

  void IdleStreams() {
    auto stack = Start(false);
    iso::Caller victim(stack->NewChannel(), iso::kVictimToken);
    (void)victim.Upload("bench/idle-source.bin", iso::Pattern(4 << 20, 'i'), absl::Seconds(60));
    const iso::Latencies base = Baseline(victim);
    const pid_t pid = stack->gateway_pid();
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < (o_.idle_streams + 99) / 100; ++i) channels.push_back(stack->NewChannel());
    iso::StreamFleet fleet(channels);
    const int transfers = o_.idle_streams * 2 / 5;
    for (int i = 0; i < transfers; ++i) {
      fleet.OpenUpload(iso::kAttackerToken, absl::StrCat("bench/idle-", i, ".bin"), 0);
      fleet.OpenDownload(iso::kAttackerToken, "bench/idle-source.bin", 16 * 1024);
    }
    for (int i = 0; i < o_.idle_streams - 2 * transfers; ++i) fleet.OpenReflection();
    fleet.WaitSent(absl::Seconds(60));
    const int threads = iso::PeakThreads(pid, absl::Seconds(2));
    const double rss = iso::RssMiB(pid);
    Victim(absl::StrCat(o_.idle_streams, " idle streams"), base,
           iso::MeasureFindUser(victim, o_.calls));
    rows_.push_back({absl::StrCat("gateway threads with ", o_.idle_streams, " idle streams (",
                                  fleet.ended().size(), " refused/ended)"),
                     absl::StrCat(threads), "<= 64", threads <= 64 ? 1 : 0});
    rows_.push_back({absl::StrCat("gateway RSS with ", o_.idle_streams, " idle streams"),
                     absl::StrFormat("%.0f MiB", rss), "-", -1});
  }

  void OverQuota() {
    auto stack = Start(true);
    iso::Caller victim(stack->NewChannel(), iso::kVictimToken);
    const iso::Latencies base = Baseline(victim);
    iso::StreamFleet fleet({stack->NewChannel()});
    for (int i = 0; i < 12; ++i) {
      fleet.OpenUpload(iso::kAttackerToken, absl::StrCat("bench/quota-", i, ".bin"), 1);
    }
    fleet.WaitEnded(8, absl::Seconds(5));
    std::vector<double> waits;
    int with_retry_info = 0;
    for (const auto& e : fleet.ended()) {
      if (e.status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) continue;
      waits.push_back(absl::ToDoubleMilliseconds(e.after));
      with_retry_info += iso::RetryDelay(e.status) > absl::ZeroDuration();
    }
    std::sort(waits.begin(), waits.end());
    Victim("attacker at its stream share (4)", base, iso::MeasureFindUser(victim, o_.calls));
    rows_.push_back(
        {"over-quota caller: refused of 8 extra streams, wait p50 / max",
         waits.empty()
             ? "0 refused (all admitted: no per-caller share)"
             : absl::StrFormat("%zu refused (%d with RetryInfo), %.1f / %.1f ms", waits.size(),
                               with_retry_info, waits[waits.size() / 2], waits.back()),
         "8 refused at once (RESOURCE_EXHAUSTED)",
         waits.size() == 8 && waits.back() < 1000 ? 1 : 0});
  }

  void Print() {
    size_t w0 = 6, w1 = 6, w2 = 4;
    for (const auto& r : rows_) {
      w0 = std::max(w0, r.metric.size());
      w1 = std::max(w1, r.figure.size());
      w2 = std::max(w2, r.goal.size());
    }
    std::printf("\nisolation_bench: %s\n",
                dropped_.empty() ? "every issue-14 flag passed"
                                 : ("this gateway does not know: " + dropped_).c_str());
    std::printf("%-*s  %-*s  %-*s  %s\n", static_cast<int>(w0), "metric", static_cast<int>(w1),
                "figure", static_cast<int>(w2), "goal", "met?");
    for (const auto& r : rows_) {
      std::printf("%-*s  %-*s  %-*s  %s\n", static_cast<int>(w0), r.metric.c_str(),
                  static_cast<int>(w1), r.figure.c_str(), static_cast<int>(w2), r.goal.c_str(),
                  r.met < 0 ? "-"
                  : r.met   ? "yes"
                            : "no");
    }
    std::fflush(stdout);
  }

  Options o_;
  iso::Binaries binaries_;
  std::vector<Row> rows_;
  std::string dropped_;
};

}  // namespace

int main(int argc, char** argv) { return Bench(Parse(argc, argv)).Run(); }
