// files-emulator: a stateful stand-in for the Files.com REST API v1 on
// loopback. Every (files.v1.rest) route answers; resources created through the
// API can be found, updated, listed (cursor paging, sort_by, filters) and
// deleted; errors use Files.com's JSON error bodies and catalogue types; faults
// can be injected by route and rate. Used by every test here and as the
// gateway's embedded default when no Files.com credentials are configured.
//
//   EmulatorOptions options;
//   options.api_key = "test-key";
//   Emulator emulator(options);
//   if (absl::Status s = emulator.Start(); !s.ok()) return s;
//   httplib::Client client("127.0.0.1", emulator.port());  // or emulator.base_url()
//   emulator.AddFault(R"({"method":"GET","path":"/users/*","status":503,"times":2})");
//
// Control endpoint (no Files.com auth, reserved prefix /__emulator/):
//   POST   /__emulator/faults            add one rule or a list -> {"ids":[...]}
//   GET    /__emulator/faults            the rules, with their hit counts
//   DELETE /__emulator/faults            clear every rule
//   GET    /__emulator/requests          {"requests":{"GET /api/rest/v1/users/1":3,...},"total":3}
//   POST   /__emulator/reset             clear counts and faults
//   POST   /__emulator/sessions/expire   end every session
#ifndef FILESGW_EMULATOR_EMULATOR_H_
#define FILESGW_EMULATOR_EMULATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "emulator/actions.h"
#include "emulator/faults.h"

namespace filesgw::emulator {

struct EmulatorOptions {
  std::string listen_host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // The X-FilesAPI-Key accepted. Empty: any non-empty key is accepted.
  std::string api_key;
  bool demo_site = true;    // seed demo records (id 1 of every resource, users, groups, folders)
  std::string storage_dir;  // reserved for the file-system module; unused for now
  int threads = 8;
  absl::Duration session_ttl = absl::Hours(6);
  std::function<absl::Time()> clock;  // default absl::Now; tests inject their own
};

class Emulator {
 public:
  explicit Emulator(EmulatorOptions options);
  ~Emulator();  // Stop()s
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Binds and serves on background threads. Connections are accepted as soon
  // as it returns.
  absl::Status Start();
  // Stops serving; waits for the server thread. Idempotent.
  void Stop();

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT"

  // In-process equivalents of the control endpoint.
  absl::StatusOr<int64_t> AddFault(absl::string_view rule_json);
  int64_t AddFault(FaultRule rule);
  void ClearFaults();
  // Requests received for "METHOD /absolute/path" since the last reset.
  int64_t RequestCount(const std::string& method_and_path) const;
  std::string RequestCountsJson() const;
  void Reset();  // counts and faults
  void ExpireSessions();

  // Replaces the behaviour of one RPC, e.g. "files.v1.FileService.FindFile".
  void OverrideAction(std::string full_method_name, ActionHandler handler);
  Actions& actions();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_EMULATOR_H_
