// The noisy-neighbour suite (issue 14): each abuse the issue lists runs
// against a real files-gateway process, with an attacker caller and a victim
// caller (each its own bearer token), and the test asserts what the victim
// would notice (its calls succeed, its transfers finish, its latency stays
// within a bound of its own unattacked figure measured in the same run) and
// what an operator would notice (the gateway's RSS and threads, read from
// /proc, stay within stated bounds).
//
// Today's gateway fails these cases for the reasons the issue gives; the
// issue-14 flags (the marked block below) are passed when the gateway knows them (see
// tests/isolation/README.md and FILESGW_ISOLATION_FLAGS).
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "files/v1/transfer.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/isolation/noisy_kit.h"

namespace filesgw::isolation {
namespace {

// ===========================================================================
// THE ISSUE-14 FLAGS. Their base values are the one list in noisy_kit.cc
// (NewGatewayFlags(), shared with bench/isolation_bench); the changes each case
// makes are here. They are passed to the gateway only when `files-gateway
// --help` lists them (FILESGW_ISOLATION_FLAGS=auto, the default), always
// ("all": a gateway that does not know one refuses to start) or never ("none").
// ===========================================================================
enum class Case {
  kPreAuth,
  kNeverRead,
  kStalledUploads,
  kIdleThreads,
  kIdleEnd,
  kQuota,
  kAbandoned,
  kUpstream
};

std::map<std::string, std::string> CaseFlags(Case c) {
  std::map<std::string, std::string> flags = NewGatewayFlags();
  switch (c) {
    case Case::kIdleEnd:
      flags["--stream-idle-timeout"] = "2s";
      flags["--download-stall-release"] = "1s";
      break;
    case Case::kQuota:
      flags["--caller-max-streams"] = "4";
      flags["--caller-max-calls"] = "16";
      break;
    case Case::kAbandoned:
      // PROPOSED, on no branch yet: the embedded emulator's idle time for
      // abandoned upload sessions (files-emulator --upload-idle-ttl, 10 min by
      // default on the upstream branch). Without a way to shorten it this case
      // waits 30 s, not 10 min.
      flags["--emulator-upload-idle-ttl"] = "5s";
      break;
    default:
      break;
  }
  return flags;
}

// Per-caller YAML limits (callers[].limits), written when the gateway knows
// caller limits. Where a case needs the attacker's streams admitted to test
// something else (threads, pools), the attacker gets a larger share.
std::map<std::string, int64_t> AttackerLimits(Case c) {
  switch (c) {
    case Case::kNeverRead:
      return {{"max_streams", 100}, {"max_calls", 200}};
    case Case::kIdleThreads:
    case Case::kIdleEnd:
      return {{"max_streams", 1000}, {"max_calls", 1000}};
    default:
      return {};
  }
}
// ===========================================================================

Binaries TestBinaries() { return {FILESGW_GATEWAY_BINARY, FILESGW_EMULATOR_BINARY}; }

std::unique_ptr<Stack> StartStack(Case c, StackSpec spec = {}) {
  spec.new_flags = CaseFlags(c);
  for (auto& caller : spec.callers) {
    if (caller.name == "attacker") caller.limits = AttackerLimits(c);
  }
  auto stack = Stack::Start(spec, TestBinaries());
  EXPECT_TRUE(stack.ok()) << stack.status();
  if (!stack.ok()) return nullptr;
  if (!(*stack)->dropped_flags().empty()) {
    std::printf("[isolation] this gateway does not know: %s (running without them)\n",
                absl::StrJoin((*stack)->dropped_flags(), " ").c_str());
  }
  return std::move(*stack);
}

// The victim's latency bound under attack: p50 at most 3x its own unattacked
// p50 (same run, same machine) plus 20 ms for scheduling noise on 2 shared cores.
double LatencyBound(const Latencies& unattacked) { return 3 * unattacked.P50() + 20; }

Latencies Baseline(Caller& victim) {
  (void)MeasureFindUser(victim, 20);  // warm-up: connections, caches
  return MeasureFindUser(victim, 100);
}

void Report(const std::string& what, const std::string& figure) {
  std::printf("[isolation] %-44s %s\n", what.c_str(), figure.c_str());
  std::fflush(stdout);
}

// ---- 1. memory before authentication ----

TEST(Isolation, UnauthenticatedFloodIsNotBufferedBeforeAdmission) {
  auto stack = StartStack(Case::kPreAuth);
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  const Latencies base = Baseline(victim);
  ASSERT_EQ(base.failures, 0) << base.Summary();
  const pid_t pid = stack->gateway_pid();
  const double idle = RssMiB(pid);

  std::map<int, int> codes;
  std::atomic<bool> flood_done{false};
  std::thread flood([&] {
    PreAuthFlood(*stack, 64, 32LL << 20, 60LL << 20, 8, &codes);
    flood_done = true;
  });
  Latencies during;
  while (!flood_done.load() || during.ms.size() + during.failures < 20) {
    Latencies one = MeasureFindUser(victim, 1);
    during.ms.insert(during.ms.end(), one.ms.begin(), one.ms.end());
    during.failures += one.failures;
    during.deadline_exceeded += one.deadline_exceeded;
    if (!one.last_error.empty()) during.last_error = one.last_error;
  }
  flood.join();
  const double peak = PeakRssMiB(pid);
  const double after = WaitRssAtMost(pid, idle + 64, absl::Seconds(10));
  Report("pre-auth flood: victim unattacked", base.Summary());
  Report("pre-auth flood: victim during flood", during.Summary());
  Report("pre-auth flood: gateway RSS idle/peak/after MiB",
         absl::StrCat(static_cast<int>(idle), " / ", static_cast<int>(peak), " / ",
                      static_cast<int>(after)));

  EXPECT_EQ(codes[0], 0) << "an unauthenticated call succeeded";
  EXPECT_EQ(during.failures, 0) << during.Summary();
  EXPECT_LE(during.P50(), LatencyBound(base)) << during.Summary() << " vs " << base.Summary();
  EXPECT_LE(peak, 256) << "gateway peak RSS (MiB) under a flood of unauthenticated 32-60 MiB "
                          "calls: it read them before checking the caller";
  EXPECT_LE(after, idle + 64) << "RSS (MiB) still held after the flood; idle was " << idle;
}

// ---- 2. never-read downloads ----

TEST(Isolation, NeverReadDownloadsDoNotBlockOtherCallers) {
  StackSpec spec;
  spec.emulator_args = {"--threads", "160"};  // the upstream is not the bottleneck here
  auto stack = StartStack(Case::kNeverRead, spec);
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  const std::string big = Pattern(16 << 20, 'b');
  const std::string small = Pattern(1 << 20, 's');
  ASSERT_TRUE(victim.Upload("isolation/big.bin", big, absl::Seconds(60)).ok());
  ASSERT_TRUE(victim.Upload("isolation/small.bin", small, absl::Seconds(60)).ok());
  const Latencies base = Baseline(victim);
  ASSERT_EQ(base.failures, 0) << base.Summary();

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 4; ++i) channels.push_back(stack->NewChannel());
  StreamFleet fleet(channels);
  for (int i = 0; i < 80; ++i) fleet.OpenDownload(kAttackerToken, "isolation/big.bin");
  fleet.WaitSent(absl::Seconds(20));
  // Let the downloads take what they can upstream (a 2 s window, sampled).
  int upstream = 0;
  for (absl::Time end = absl::Now() + absl::Seconds(2); absl::Now() < end;) {
    upstream = std::max(upstream, TcpConnectionsTo(stack->gateway_pid(), stack->emulator_port()));
    absl::SleepFor(absl::Milliseconds(100));  // sampling interval
  }
  const Latencies during = MeasureFindUser(victim, 50, absl::Seconds(20));
  std::string got;
  const absl::Time download_start = absl::Now();
  const grpc::Status download = victim.Download("isolation/small.bin", &got, absl::Seconds(10));
  const absl::Duration download_time = absl::Now() - download_start;
  Report("never-read downloads: victim unattacked", base.Summary());
  Report("never-read downloads: victim under attack", during.Summary());
  Report("never-read downloads: upstream sockets (peak)", absl::StrCat(upstream));
  Report("never-read downloads: victim 1 MiB download",
         absl::StrCat(Describe(download), " in ", absl::FormatDuration(download_time)));

  EXPECT_EQ(during.deadline_exceeded, 0) << during.Summary();
  EXPECT_EQ(during.failures, 0) << during.Summary();
  EXPECT_LE(during.P50(), LatencyBound(base)) << during.Summary() << " vs " << base.Summary();
  EXPECT_TRUE(download.ok()) << Describe(download);
  EXPECT_TRUE(got == small) << "got " << got.size() << " bytes of " << small.size();
}

// ---- 3. stalled uploads ----

TEST(Isolation, StalledUploadsDoNotFreezeOtherUploads) {
  auto stack = StartStack(Case::kStalledUploads);
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  const std::string data = Pattern(20 << 20, 'v');
  absl::Time start = absl::Now();
  ASSERT_TRUE(victim.Upload("isolation/victim-0.bin", data, absl::Seconds(60)).ok());
  const absl::Duration unattacked = absl::Now() - start;

  StreamFleet fleet({stack->NewChannel(), stack->NewChannel()});
  for (int i = 0; i < 25; ++i) {
    fleet.OpenUpload(kAttackerToken, absl::StrCat("isolation/stalled-", i, ".bin"), 1);
  }
  fleet.WaitSent(absl::Seconds(20));
  (void)PeakThreads(stack->gateway_pid(), absl::Seconds(1));  // let the stalled uploads settle
  const absl::Duration bound = 3 * unattacked + absl::Seconds(2);
  start = absl::Now();
  const grpc::Status attacked =
      victim.Upload("isolation/victim-1.bin", data, std::max(bound, absl::Seconds(15)));
  const absl::Duration took = absl::Now() - start;
  Report("stalled uploads: victim 20 MiB upload unattacked", absl::FormatDuration(unattacked));
  Report("stalled uploads: victim 20 MiB upload attacked",
         absl::StrCat(Describe(attacked), " in ", absl::FormatDuration(took)));
  Report("stalled uploads: gateway RSS MiB", absl::StrCat(RssMiB(stack->gateway_pid())));

  EXPECT_TRUE(attacked.ok()) << Describe(attacked) << " after " << took
                             << ": 25 uploads stalled after 1 byte hold the upload memory";
  EXPECT_LE(took, bound);
  EXPECT_TRUE(victim.FindUser(1).ok());
}

// ---- 4. idle streams and threads ----

TEST(Isolation, IdleStreamsHoldNoThreads) {
  StackSpec spec;
  spec.emulator_args = {"--threads", "160"};
  auto stack = StartStack(Case::kIdleThreads, spec);
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  ASSERT_TRUE(
      victim.Upload("isolation/idle-source.bin", Pattern(4 << 20, 'i'), absl::Seconds(60)).ok());
  const pid_t pid = stack->gateway_pid();
  const int idle_threads = Threads(pid);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 5; ++i) channels.push_back(stack->NewChannel());  // 100 streams each
  StreamFleet fleet(channels);
  for (int i = 0; i < 200; ++i) {
    fleet.OpenUpload(kAttackerToken, absl::StrCat("isolation/idle-", i, ".bin"), 0);
    fleet.OpenDownload(kAttackerToken, "isolation/idle-source.bin", 16 * 1024);
  }
  for (int i = 0; i < 100; ++i) fleet.OpenReflection();
  const int sent = fleet.WaitSent(absl::Seconds(30));
  const int threads = PeakThreads(pid, absl::Seconds(1));
  const std::string data = Pattern(2 << 20, 'w');
  const grpc::Status up = victim.Upload("isolation/victim.bin", data, absl::Seconds(15));
  std::string got;
  const grpc::Status down = victim.Download("isolation/victim.bin", &got, absl::Seconds(15));
  Report("idle streams: opened / sent / ended",
         absl::StrCat(fleet.opened(), " / ", sent, " / ", fleet.ended().size()));
  Report("idle streams: gateway threads idle / with 500",
         absl::StrCat(idle_threads, " / ", threads));
  Report("idle streams: victim upload, download", Describe(up) + ", " + Describe(down));

  EXPECT_LE(threads, 64) << "a thread per idle stream";
  EXPECT_TRUE(up.ok()) << Describe(up);
  EXPECT_TRUE(down.ok()) << Describe(down);
  EXPECT_TRUE(got == data);
}

TEST(Isolation, IdleStreamsEndWithStreamIdle) {
  auto stack = StartStack(Case::kIdleEnd);
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  ASSERT_TRUE(
      victim.Upload("isolation/idle-source.bin", Pattern(4 << 20, 'i'), absl::Seconds(60)).ok());
  const absl::Duration idle_timeout = absl::Seconds(2);
  const absl::Duration slack = absl::Seconds(4);

  StreamFleet fleet({stack->NewChannel()});
  for (int i = 0; i < 20; ++i) {
    fleet.OpenUpload(kAttackerToken, absl::StrCat("isolation/idle-", i, ".bin"), 1);
  }
  // Downloads read once, then never again (synchronous readers, no threads).
  auto channel = stack->NewChannel();
  auto stub = files::v1::TransferService::NewStub(channel);
  struct Reader {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<files::v1::DownloadResponse>> stream;
  };
  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < 10; ++i) {
    auto r = std::make_unique<Reader>();
    r->ctx.AddMetadata("authorization", std::string("Bearer ") + kAttackerToken);
    r->ctx.set_deadline(absl::ToChronoTime(absl::Now() + idle_timeout + slack + absl::Seconds(20)));
    files::v1::DownloadRequest request;
    request.set_path("isolation/idle-source.bin");
    request.set_chunk_size(16 * 1024);
    r->stream = stub->Download(&r->ctx, request);
    files::v1::DownloadResponse first;
    EXPECT_TRUE(r->stream->Read(&first));
    readers.push_back(std::move(r));
  }
  const absl::Time opened = absl::Now();
  fleet.WaitEnded(20, idle_timeout + slack);
  const auto ended = fleet.ended();
  int idle_uploads = 0;
  for (const auto& e : ended) {
    if (e.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
        ErrorReason(e.status) == "STREAM_IDLE") {
      ++idle_uploads;
    } else {
      ADD_FAILURE() << "idle upload ended with " << Describe(e.status);
    }
  }
  // A reader that comes back finds the rest of what was sent, then the reason.
  absl::SleepFor(idle_timeout + slack - (absl::Now() - opened));  // the idle period itself
  int idle_downloads = 0;
  std::string last;
  for (auto& r : readers) {
    files::v1::DownloadResponse message;
    while (r->stream->Read(&message)) {
    }
    const grpc::Status s = r->stream->Finish();
    last = Describe(s);
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && ErrorReason(s) == "STREAM_IDLE") {
      ++idle_downloads;
    }
  }
  Report("idle end: uploads ended STREAM_IDLE", absl::StrCat(idle_uploads, " of 20"));
  Report("idle end: downloads ended STREAM_IDLE",
         absl::StrCat(idle_downloads, " of 10 (last: ", last, ")"));
  EXPECT_EQ(idle_uploads, 20) << "silent uploads are not ended after --stream-idle-timeout";
  EXPECT_EQ(idle_downloads, 10) << "unread downloads are not ended: " << last;
  EXPECT_TRUE(victim.FindUser(1).ok());
}

// ---- 5. over-quota caller ----

TEST(Isolation, OverQuotaCallerIsRefusedQuicklyAndVictimIsUntouched) {
  StackSpec spec;
  // The attacker's FindUser(2) takes 3 s upstream: its calls stay in flight.
  const std::string faults = "/tmp/filesgw-isolation-faults-" + std::to_string(getpid()) + ".json";
  {
    FILE* f = std::fopen(faults.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"([{"method":"GET","path":"/users/2","delay_ms":3000}])", f);
    std::fclose(f);
  }
  spec.emulator_args = {"--faults", faults};
  auto stack = StartStack(Case::kQuota, spec);
  std::remove(faults.c_str());
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  const Latencies base = Baseline(victim);

  // Streams: a share of 4, then 8 more asked for.
  StreamFleet fleet({stack->NewChannel()});
  for (int i = 0; i < 12; ++i) {
    fleet.OpenUpload(kAttackerToken, absl::StrCat("isolation/quota-", i, ".bin"), 1);
  }
  fleet.WaitEnded(8, absl::Seconds(5));
  int refused_streams = 0;
  absl::Duration slowest_stream_refusal;
  for (const auto& e : fleet.ended()) {
    if (e.status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) continue;
    ++refused_streams;
    slowest_stream_refusal = std::max(slowest_stream_refusal, e.after);
    EXPECT_EQ(ErrorReason(e.status), "CALLER_QUOTA_EXCEEDED") << Describe(e.status);
    EXPECT_GT(RetryDelay(e.status), absl::ZeroDuration()) << "no RetryInfo: " << Describe(e.status);
  }

  // Calls: with 4 streams held, 20 slow calls against a share of 16.
  std::vector<Outcome> calls;
  std::thread attacker([&] {
    calls = ConcurrentFindUsers(stack->NewChannel(), kAttackerToken, 2, 20, absl::Seconds(10));
  });
  // The victim, while the attacker is at its share.
  const Latencies during = MeasureFindUser(victim, 30, absl::Seconds(10));
  const grpc::Status upload =
      victim.Upload("isolation/victim.bin", Pattern(1 << 20, 'q'), absl::Seconds(15));
  attacker.join();
  int refused_calls = 0;
  absl::Duration slowest_call_refusal;
  for (const auto& c : calls) {
    if (c.status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) continue;
    ++refused_calls;
    slowest_call_refusal = std::max(slowest_call_refusal, c.after);
    EXPECT_EQ(ErrorReason(c.status), "CALLER_QUOTA_EXCEEDED") << Describe(c.status);
    EXPECT_GT(RetryDelay(c.status), absl::ZeroDuration()) << "no RetryInfo: " << Describe(c.status);
  }
  Report("quota: streams refused of 12 (share 4)",
         absl::StrCat(refused_streams, ", slowest answer ",
                      absl::FormatDuration(slowest_stream_refusal)));
  Report(
      "quota: calls refused of 20 (share 16 - 4)",
      absl::StrCat(refused_calls, ", slowest answer ", absl::FormatDuration(slowest_call_refusal)));
  Report("quota: victim unattacked", base.Summary());
  Report("quota: victim while attacker at its share", during.Summary());

  EXPECT_EQ(refused_streams, 8) << "streams beyond the caller's share were admitted";
  EXPECT_GE(refused_calls, 8) << "calls beyond the caller's share were admitted";
  EXPECT_LE(slowest_stream_refusal, absl::Seconds(1));
  EXPECT_LE(slowest_call_refusal, absl::Seconds(1));
  EXPECT_EQ(during.failures, 0) << during.Summary();
  EXPECT_LE(during.P50(), LatencyBound(base)) << during.Summary() << " vs " << base.Summary();
  // Not one victim call may queue behind the attacker's held calls (3 s each).
  EXPECT_LE(during.Max(), 1000) << "a victim call waited for the attacker: " << during.Summary();
  EXPECT_TRUE(upload.ok()) << Describe(upload);
}

// ---- 6. abandoned uploads in the embedded emulator ----

TEST(Isolation, AbandonedUploadsAreFreedByTheEmbeddedEmulator) {
  StackSpec spec;
  spec.embedded_emulator = true;
  auto stack = StartStack(Case::kAbandoned, spec);
  ASSERT_NE(stack, nullptr);
  Caller victim(stack->NewChannel(), kVictimToken);
  // Idle is measured after one whole 20 MiB upload, then deleted: the
  // gateway's own part buffers are then in the figure, and what grows after
  // is what the abandoned uploads leave behind.
  ASSERT_TRUE(victim.Upload("isolation/warm.bin", Pattern(20 << 20, 'w'), absl::Seconds(30)).ok());
  ASSERT_TRUE(victim.Unary("files.v1.FileService/DeleteFile", R"({"path":"isolation/warm.bin"})",
                           absl::Seconds(10))
                  .ok());
  ASSERT_TRUE(victim.FindUser(1).ok());
  const pid_t pid = stack->gateway_pid();
  const double idle = RssMiB(pid);

  auto stub = files::v1::TransferService::NewStub(stack->NewChannel());
  const std::string mib = Pattern(1 << 20, 'a');
  // Half are cancelled after 12 of 20 MiB; half end short (16 of 20 MiB, then
  // half-close), which the gateway refuses to commit once the parts it cut
  // are upstream: both leave an upload session the emulator never sees end.
  int committed = 0;
  for (int i = 0; i < 30; ++i) {
    const bool cancel = i % 2 == 0;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kAttackerToken);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    files::v1::UploadResponse response;
    auto writer = stub->Upload(&ctx, &response);
    files::v1::UploadRequest first;
    first.mutable_spec()->set_path(absl::StrCat("isolation/abandoned-", i, ".bin"));
    first.mutable_spec()->set_mkdir_parents(true);
    first.mutable_spec()->set_expected_size(20 << 20);
    bool ok = writer->Write(first);
    for (int m = 0; ok && m < (cancel ? 12 : 16); ++m) {
      files::v1::UploadRequest chunk;
      chunk.set_data(mib);
      ok = writer->Write(chunk);
    }
    if (cancel) {
      ctx.TryCancel();
    } else {
      writer->WritesDone();
    }
    committed += writer->Finish().ok();
  }
  EXPECT_EQ(committed, 0) << "an incomplete upload was committed";
  const double abandoned = RssMiB(pid);
  // The gateway keeps serving while it should let go: a small upload a
  // second (an emulator may sweep idle sessions when it sees activity).
  double after = abandoned;
  for (absl::Time end = absl::Now() + absl::Seconds(30); after > idle + 64 && absl::Now() < end;) {
    EXPECT_TRUE(
        victim.Upload("isolation/alive.bin", Pattern(64 << 10, 'k'), absl::Seconds(10)).ok());
    after = WaitRssAtMost(pid, idle + 64, absl::Seconds(1));
  }
  Report("abandoned uploads: gateway RSS idle/after 30/later MiB",
         absl::StrCat(static_cast<int>(idle), " / ", static_cast<int>(abandoned), " / ",
                      static_cast<int>(after)));
  EXPECT_LE(after, idle + 64) << "the embedded emulator keeps abandoned upload sessions";
  EXPECT_TRUE(victim.FindUser(1).ok());
}

// ---- 7. upstream connections ----

TEST(Isolation, CreatesLeaveFewIdleUpstreamConnections) {
  StackSpec spec;
  // An upstream with 32 workers (as many as today's API pool holds
  // connections): every connection the gateway keeps idle is a worker that
  // another client of the same server cannot have.
  spec.emulator_args = {"--threads", "32"};
  auto stack = StartStack(Case::kUpstream, spec);
  ASSERT_NE(stack, nullptr);
  Caller attacker(stack->NewChannel(), kAttackerToken);
  int created = 0;
  std::string last_error;
  for (int i = 0; i < 200; ++i) {
    const grpc::Status s = attacker.Unary(
        "files.v1.UserService/CreateUser",
        absl::StrCat(R"({"username":"iso-)", i, R"(","email":"iso-)", i, R"(@example.com"})"),
        absl::Seconds(10));
    if (s.ok()) {
      ++created;
    } else {
      last_error = Describe(s);
    }
  }
  const int idle_connections = TcpConnectionsTo(stack->gateway_pid(), stack->emulator_port());
  std::string status_line;
  const absl::Duration waited = SecondClientWait(stack->emulator_port(), "/api/rest/v1/users/1",
                                                 absl::Seconds(10), &status_line);
  Report("upstream: creates ok of 200", absl::StrCat(created, " ", last_error));
  Report("upstream: gateway sockets to the emulator after", absl::StrCat(idle_connections));
  Report("upstream: another client of the emulator waited",
         absl::StrCat(absl::FormatDuration(waited), " (", status_line, ")"));
  EXPECT_EQ(created, 200) << last_error;
  EXPECT_LE(idle_connections, 8) << "one-shot POST connections are kept idle";
  EXPECT_LT(waited, absl::Seconds(2)) << "another client of the upstream was kept waiting";
  EXPECT_NE(status_line.find(" 200"), std::string::npos) << status_line;
}

}  // namespace
}  // namespace filesgw::isolation
