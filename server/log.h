// Structured logs: one JSON object per line on stderr (or a sink). Callers
// pass typed fields; nothing here formats secrets, and call sites log route
// templates, never URLs (presigned) or headers (keys, sessions). While a
// ScopedLogFields lives, lines logged on its thread also carry its request_id
// (and trace_id) unless the line names its own.
//
//   log.Info("call", {{"method", "/files.v1.UserService/FindUser"}, {"ms", 3}});
#ifndef FILESGW_SERVER_LOG_H_
#define FILESGW_SERVER_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace filesgw::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

bool ParseLogLevel(std::string_view text, LogLevel* level);

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

// Gives lines logged on this thread the call's request id and trace id
// (empty ones are left out) for as long as it lives; nests.
class ScopedLogFields {
 public:
  ScopedLogFields(std::string request_id, std::string trace_id);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

  const std::string& request_id() const { return request_id_; }
  const std::string& trace_id() const { return trace_id_; }
  static const ScopedLogFields* Current();

 private:
  std::string request_id_;
  std::string trace_id_;
  const ScopedLogFields* previous_;
};

class Logger {
 public:
  // Receives each finished line (without the newline) instead of stderr.
  using Sink = std::function<void(std::string_view line)>;
  explicit Logger(LogLevel level, Sink sink = nullptr) : level_(level), sink_(std::move(sink)) {}
  bool Enabled(LogLevel level) const { return level >= level_; }
  void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void Debug(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, msg, f); }
  void Info(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, msg, f); }
  void Warn(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, msg, f); }
  void Error(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, msg, f); }

 private:
  LogLevel level_;
  Sink sink_;
  std::mutex mu_;
};

}  // namespace filesgw::server

#endif  // FILESGW_SERVER_LOG_H_
