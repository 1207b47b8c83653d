#include "emulator/faults.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "emulator/json.h"
#include "emulator/reply.h"

namespace filesgw::emulator {
namespace {

absl::Status Bad(absl::string_view what) {
  return ApiError("bad-request/request-params-invalid", absl::StrCat("fault rule: ", what));
}

absl::StatusOr<FaultRule> RuleFromJson(const JsonValue& v) {
  if (!v.IsObject()) return Bad("each rule must be a JSON object");
  FaultRule rule;
  for (const auto& m : v.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    const JsonValue& value = m.value;
    auto text = AsText(value);
    if (key == "method") {
      if (!value.IsString()) return Bad("method must be a string");
      rule.method = value.GetString();
    } else if (key == "path") {
      if (!value.IsString()) return Bad("path must be a string");
      rule.path = value.GetString();
    } else if (key == "status") {
      auto n = AsInt64(value);
      if (!n || *n < 0 || *n > 999) return Bad("status must be an HTTP status");
      rule.status = static_cast<int>(*n);
    } else if (key == "retry_after") {
      if (!text) return Bad("retry_after must be a string or number");
      rule.retry_after = *text;
    } else if (key == "body") {
      if (value.IsString()) rule.body = value.GetString();
      else rule.body = ToJson(value);
    } else if (key == "times" || key == "delay_ms" || key == "stall_ms") {
      auto n = AsInt64(value);
      if (!n || *n < 0) return Bad(absl::StrCat(key, " must be a non-negative integer"));
      (key == "times" ? rule.times : key == "delay_ms" ? rule.delay_ms : rule.stall_ms) = *n;
    } else if (key == "fraction") {
      auto d = AsDouble(value);
      if (!d || *d < 0 || *d > 1) return Bad("fraction must be between 0 and 1");
      rule.fraction = *d;
    } else if (key == "cut_after_bytes") {
      auto n = AsInt64(value);
      if (!n || *n < 0) return Bad("cut_after_bytes must be a non-negative integer");
      rule.cut_after_bytes = *n;
    } else if (key == "expire") {
      auto b = AsBool(value);
      if (!b) return Bad("expire must be a boolean");
      rule.expire = *b;
    } else if (key == "drop") {
      auto b = AsBool(value);
      if (!b) return Bad("drop must be a boolean");
      rule.drop = *b;
    } else if (key == "drop_after_action") {
      auto b = AsBool(value);
      if (!b) return Bad("drop_after_action must be a boolean");
      rule.drop_after_action = *b;
    } else if (key != "id" && key != "hits") {
      return Bad(absl::StrCat("unknown key ", key));
    }
  }
  if (rule.status == 0 && !rule.drop && !rule.drop_after_action && rule.delay_ms == 0 &&
      rule.stall_ms == 0 && rule.cut_after_bytes < 0 && !rule.expire) {
    return Bad(
        "a rule needs status, drop, drop_after_action, delay_ms, stall_ms, cut_after_bytes or "
        "expire");
  }
  return rule;
}

}  // namespace

absl::StatusOr<FaultRule> ParseFaultRule(absl::string_view json) {
  JsonDoc doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Bad("not JSON");
  return RuleFromJson(doc);
}

absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(absl::string_view json) {
  JsonDoc doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return Bad("not JSON");
  std::vector<FaultRule> rules;
  if (doc.IsObject()) {
    auto rule = RuleFromJson(doc);
    if (!rule.ok()) return rule.status();
    rules.push_back(std::move(*rule));
    return rules;
  }
  if (!doc.IsArray()) return Bad("expected a rule or a list of rules");
  for (const auto& v : doc.GetArray()) {
    auto rule = RuleFromJson(v);
    if (!rule.ok()) return rule.status();
    rules.push_back(std::move(*rule));
  }
  return rules;
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative wildcard match with one backtrack point (linear in practice).
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

int64_t FaultSet::Add(FaultRule rule) {
  absl::MutexLock lock(&mu_);
  rule.id = next_id_++;
  rule.hits = 0;
  rules_.push_back(std::move(rule));
  return rules_.back().id;
}

void FaultSet::Clear() {
  absl::MutexLock lock(&mu_);
  rules_.clear();
}

std::optional<FaultRule> FaultSet::Take(absl::string_view method, absl::string_view absolute_path) {
  absl::string_view api_path = absolute_path;
  bool is_api = absl::ConsumePrefix(&api_path, kApiPrefix);
  absl::MutexLock lock(&mu_);
  for (auto& rule : rules_) {
    if (rule.times != 0 && rule.hits >= rule.times) continue;
    if (rule.method != "*" && rule.method != method) continue;
    bool path_ok = GlobMatch(rule.path, absolute_path) || (is_api && GlobMatch(rule.path, api_path));
    if (!path_ok) continue;
    if (rule.fraction < 1.0) {
      double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
      if (roll >= rule.fraction) continue;
    }
    ++rule.hits;
    return rule;
  }
  return std::nullopt;
}

std::string FaultSet::ToJson() const {
  absl::MutexLock lock(&mu_);
  JsonValue list(rapidjson::kArrayType);
  for (const auto& r : rules_) {
    JsonValue o(rapidjson::kObjectType);
    o.AddMember("id", JsonValue(static_cast<int64_t>(r.id)), Alloc());
    o.AddMember("method", JsonString(r.method), Alloc());
    o.AddMember("path", JsonString(r.path), Alloc());
    o.AddMember("status", JsonValue(r.status), Alloc());
    if (!r.retry_after.empty()) o.AddMember("retry_after", JsonString(r.retry_after), Alloc());
    o.AddMember("times", JsonValue(static_cast<int64_t>(r.times)), Alloc());
    o.AddMember("fraction", JsonValue(r.fraction), Alloc());
    o.AddMember("delay_ms", JsonValue(static_cast<int64_t>(r.delay_ms)), Alloc());
    o.AddMember("drop", JsonValue(r.drop), Alloc());
    if (r.drop_after_action) o.AddMember("drop_after_action", JsonValue(true), Alloc());
    o.AddMember("stall_ms", JsonValue(static_cast<int64_t>(r.stall_ms)), Alloc());
    if (r.cut_after_bytes >= 0) {
      o.AddMember("cut_after_bytes", JsonValue(static_cast<int64_t>(r.cut_after_bytes)), Alloc());
    }
    o.AddMember("expire", JsonValue(r.expire), Alloc());
    o.AddMember("hits", JsonValue(static_cast<int64_t>(r.hits)), Alloc());
    list.PushBack(std::move(o), Alloc());
  }
  return emulator::ToJson(list);
}

void RequestCounter::Count(absl::string_view method, absl::string_view absolute_path) {
  absl::MutexLock lock(&mu_);
  ++counts_[absl::StrCat(method, " ", absolute_path)];
  ++total_;
}

int64_t RequestCounter::Get(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

void RequestCounter::Reset() {
  absl::MutexLock lock(&mu_);
  counts_.clear();
  total_ = 0;
}

std::string RequestCounter::ToJson() const {
  absl::MutexLock lock(&mu_);
  JsonValue counts(rapidjson::kObjectType);
  for (const auto& [key, n] : counts_) {
    counts.AddMember(JsonString(key), JsonValue(static_cast<int64_t>(n)), Alloc());
  }
  JsonValue out(rapidjson::kObjectType);
  out.AddMember("requests", std::move(counts), Alloc());
  out.AddMember("total", JsonValue(static_cast<int64_t>(total_)), Alloc());
  return emulator::ToJson(out);
}

}  // namespace filesgw::emulator
