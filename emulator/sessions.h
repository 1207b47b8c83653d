// Live login sessions (`POST /sessions`), each with an expiry read from an
// injected clock so tests can expire them without sleeping. Session ids are
// secrets: never log them.
#ifndef FILESGW_EMULATOR_SESSIONS_H_
#define FILESGW_EMULATOR_SESSIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace filesgw::emulator {

class Sessions {
 public:
  Sessions(std::function<absl::Time()> clock, absl::Duration ttl);

  // A new session for `user_id`; returns its id.
  std::string Create(int64_t user_id);
  // The user of a live session, or nullopt (unknown or expired).
  std::optional<int64_t> UserOf(const std::string& session_id) const;
  bool End(const std::string& session_id);
  void ExpireAll();

 private:
  struct Entry {
    int64_t user_id = 0;
    absl::Time expires;
  };
  std::function<absl::Time()> clock_;
  absl::Duration ttl_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> sessions_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_SESSIONS_H_
