// Per-caller shares of one gateway, so that no caller (buggy or hostile) can
// take what the others need: RPCs in progress, transfer streams, upload
// memory and upstream requests are counted per caller key and refused past
// the caller's limit with RESOURCE_EXHAUSTED, ErrorInfo reason
// CALLER_QUOTA_EXCEEDED and a RetryInfo delay. Nothing waits here: a refusal
// is immediate, and every other caller is untouched.
//
// The key is the configured caller's name ("caller:<name>") or, without
// configured callers, the connection's peer (so each connection of a local
// app has its own share).
//
//   CallerQuotas quotas(options.caller_limits, per_caller, metrics);
//   auto slot = quotas.Admit(caller_key, caller_name, CallerQuotas::kStream);
//   if (!slot.ok()) return Finish(slot.status());   // a grpc::Status inside
//   ... the call runs; the slot is given back when `*slot` is destroyed.
#ifndef FILESGW_SERVER_CALLER_QUOTA_H_
#define FILESGW_SERVER_CALLER_QUOTA_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "grpcpp/support/status.h"
#include "server/options.h"

namespace filesgw::server {

class Metrics;

class CallerQuotas : public std::enable_shared_from_this<CallerQuotas> {
 public:
  enum Resource { kCall = 0, kStream = 1, kUploadMemory = 2, kUpstream = 3 };
  static constexpr int kResources = 4;

  // Holds `amount` of one resource for one caller until destroyed (or
  // Shrink'ed to zero). Movable, not copyable.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    int64_t amount() const { return amount_; }
    // Gives back part of what the slot holds (upload memory that was sent).
    void Shrink(int64_t by);
    void Release();

   private:
    friend class CallerQuotas;
    std::shared_ptr<CallerQuotas> owner_;
    std::string key_;
    std::string name_;
    Resource resource_ = kCall;
    int64_t amount_ = 0;
  };

  // `defaults` fill what a caller's own entry leaves unset (negative). A
  // resulting 0 means no cap for that resource.
  CallerQuotas(CallerLimits defaults, std::map<std::string, CallerLimits> by_caller_name,
               Metrics* metrics = nullptr);

  static std::shared_ptr<CallerQuotas> Create(CallerLimits defaults,
                                              std::map<std::string, CallerLimits> by_caller_name,
                                              Metrics* metrics = nullptr) {
    return std::make_shared<CallerQuotas>(std::move(defaults), std::move(by_caller_name), metrics);
  }

  // Takes `amount` of `resource` for caller `key` (configured name `name`,
  // empty for anonymous callers). OK with the slot filled, or the
  // RESOURCE_EXHAUSTED status to answer with.
  grpc::Status Admit(const std::string& key, const std::string& name, Resource resource,
                     Slot* slot, int64_t amount = 1);
  // Grows a held slot by `amount` (upload memory as data arrives); false,
  // and nothing taken, when that would pass the caller's limit.
  bool Grow(Slot* slot, int64_t amount);

  // The limits that apply to caller `name` ("" for anonymous callers).
  CallerLimits LimitsFor(const std::string& name) const;
  // What caller `key` holds now (tests, metrics).
  int64_t InUse(const std::string& key, Resource resource) const;

  static const char* ResourceName(Resource r);
  static grpc::Status Exceeded(Resource resource, const std::string& who, int64_t limit);

 private:
  struct Usage {
    std::array<int64_t, kResources> used{};
  };
  static int64_t LimitOf(const CallerLimits& limits, Resource r);
  void Give(const std::string& key, Resource resource, int64_t amount);

  const CallerLimits defaults_;
  const std::map<std::string, CallerLimits> by_name_;
  Metrics* const metrics_;
  mutable std::mutex mu_;
  std::map<std::string, Usage> usage_;  // entries vanish when all zero
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_CALLER_QUOTA_H_
