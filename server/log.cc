#include "server/log.h"

#include <cstdio>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::server {

namespace {
thread_local const ScopedLogFields* current_fields = nullptr;
}  // namespace

ScopedLogFields::ScopedLogFields(std::string request_id, std::string trace_id)
    : request_id_(std::move(request_id)), trace_id_(std::move(trace_id)), previous_(current_fields) {
  current_fields = this;
}

ScopedLogFields::~ScopedLogFields() { current_fields = previous_; }

const ScopedLogFields* ScopedLogFields::Current() { return current_fields; }

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warn" || text == "warning") *level = LogLevel::kWarn;
  else if (text == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

void Logger::Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  static const char* const kNames[] = {"debug", "info", "warn", "error"};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("ts");
  std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  w.String(ts.data(), static_cast<rapidjson::SizeType>(ts.size()));
  w.Key("level");
  w.String(kNames[static_cast<int>(level)]);
  w.Key("msg");
  w.String(msg.data(), static_cast<rapidjson::SizeType>(msg.size()));
  if (const ScopedLogFields* ambient = current_fields; ambient != nullptr) {
    bool has_id = false, has_trace = false;
    for (const auto& f : fields) {
      has_id = has_id || f.key == "request_id";
      has_trace = has_trace || f.key == "trace_id";
    }
    if (!has_id && !ambient->request_id().empty()) {
      w.Key("request_id");
      w.String(ambient->request_id().data(),
               static_cast<rapidjson::SizeType>(ambient->request_id().size()));
    }
    if (!has_trace && !ambient->trace_id().empty()) {
      w.Key("trace_id");
      w.String(ambient->trace_id().data(),
               static_cast<rapidjson::SizeType>(ambient->trace_id().size()));
    }
  }
  for (const auto& f : fields) {
    w.Key(f.key.data(), static_cast<rapidjson::SizeType>(f.key.size()));
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      w.String(s->data(), static_cast<rapidjson::SizeType>(s->size()));
    } else if (const auto* i = std::get_if<int64_t>(&f.value)) {
      w.Int64(*i);
    } else if (const auto* d = std::get_if<double>(&f.value)) {
      w.Double(*d);
    } else if (const auto* b = std::get_if<bool>(&f.value)) {
      w.Bool(*b);
    }
  }
  w.EndObject();
  std::lock_guard<std::mutex> lock(mu_);
  if (sink_) {
    sink_(std::string_view(buf.GetString(), buf.GetSize()));
    return;
  }
  std::fwrite(buf.GetString(), 1, buf.GetSize(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace filesgw::server
