#include "server/request_context.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <iterator>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace filesgw::server {
namespace {

constexpr size_t kMaxRequestId = 128;
constexpr size_t kMaxTraceState = 512;
constexpr size_t kTraceParentSize = 55;  // version 00

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

bool IsPrintable(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

absl::BitGen& Gen() {
  thread_local absl::BitGen gen;
  return gen;
}

std::string_view View(const grpc::string_ref& r) { return std::string_view(r.data(), r.size()); }

thread_local std::shared_ptr<const RequestContext> current_context;

}  // namespace

std::string TraceParent::ToHeader() const {
  return absl::StrCat("00-", trace_id, "-", parent_id, "-", flags);
}

std::optional<TraceParent> ParseTraceParent(std::string_view value, std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<TraceParent> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  if (value.size() < kTraceParentSize) return fail("traceparent is too short");
  const std::string_view version = value.substr(0, 2);
  if (!IsLowerHex(version)) return fail("traceparent version is not lowercase hex");
  if (version == "ff") return fail("traceparent version ff is invalid");
  if (version == "00" && value.size() != kTraceParentSize) {
    return fail("traceparent version 00 must be 55 characters");
  }
  // A later version may append fields after a dash; its first 55 characters
  // read as version 00.
  if (value.size() > kTraceParentSize && value[kTraceParentSize] != '-') {
    return fail("traceparent has trailing data");
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return fail("traceparent fields are not dash-separated");
  }
  TraceParent out;
  out.trace_id = std::string(value.substr(3, 32));
  out.parent_id = std::string(value.substr(36, 16));
  out.flags = std::string(value.substr(53, 2));
  if (!IsLowerHex(out.trace_id) || !IsLowerHex(out.parent_id) || !IsLowerHex(out.flags)) {
    return fail("traceparent fields are not lowercase hex");
  }
  if (AllZero(out.trace_id)) return fail("traceparent trace id is all zeros");
  if (AllZero(out.parent_id)) return fail("traceparent parent id is all zeros");
  return out;
}

bool IsSaneRequestId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxRequestId && IsPrintable(id) && id.front() != ' ' &&
         id.back() != ' ';
}

std::string NewRequestId() {
  absl::BitGen& gen = Gen();
  uint64_t hi = absl::Uniform<uint64_t>(gen), lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);  // variant 10
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

std::string NewSpanId() {
  uint64_t id = 0;
  while (id == 0) id = absl::Uniform<uint64_t>(Gen());
  return absl::StrFormat("%016x", id);
}

namespace {

// The one value of metadata `key`: nullopt when absent, an error when given twice.
absl::StatusOr<std::optional<std::string_view>> OneValue(const RequestContext::Metadata& metadata,
                                                         const char* key) {
  auto range = metadata.equal_range(key);
  if (range.first == range.second) return std::optional<std::string_view>();
  if (std::next(range.first) != range.second) {
    return absl::InvalidArgumentError(absl::StrCat("metadata ", key, " is given more than once"));
  }
  return std::optional<std::string_view>(View(range.first->second));
}

// Files.com's per-request options. The values are the caller's: the errors
// say what is wrong, never echo them.
absl::Status ParseFilesOptions(const RequestContext::Metadata& metadata, std::string* workspace_id,
                               std::string* language) {
  auto workspace = OneValue(metadata, kWorkspaceIdMetadata);
  if (!workspace.ok()) return workspace.status();
  if (workspace->has_value()) {
    const std::string_view text = **workspace;
    uint64_t id = 0;
    bool digits = !text.empty() && text.size() <= 19;
    for (char c : text) digits = digits && c >= '0' && c <= '9';
    if (!digits || !absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &id) ||
        id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata ", kWorkspaceIdMetadata,
          " must be a Files.com workspace id: a decimal integer (digits only, at most 19)"));
    }
    *workspace_id = absl::StrCat(id);
  }
  auto lang = OneValue(metadata, kLanguageMetadata);
  if (!lang.ok()) return lang.status();
  if (lang->has_value()) {
    const std::string_view text = **lang;
    if (text.empty() || text.size() > kMaxLanguageTag || !IsPrintable(text)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata ", kLanguageMetadata, " must be a language tag (e.g. \"de\" or \"pt-BR\"): 1 to ",
          kMaxLanguageTag, " printable ASCII characters"));
    }
    *language = std::string(text);
  }
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<const RequestContext> RequestContext::FromMetadata(
    const Metadata& metadata, std::string_view full_method,
    std::shared_ptr<const CallerIdentity> caller) {
  std::shared_ptr<RequestContext> rc(new RequestContext);
  rc->full_method_ = std::string(full_method);
  rc->caller_ = std::move(caller);
  auto id = metadata.find("x-request-id");
  if (id != metadata.end() && IsSaneRequestId(View(id->second))) {
    rc->request_id_ = std::string(View(id->second));
    rc->request_id_from_caller_ = true;
  } else {
    rc->request_id_ = NewRequestId();
  }
  auto parents = metadata.equal_range("traceparent");
  if (parents.first != parents.second) {
    std::string why;
    if (std::next(parents.first) != parents.second) {
      rc->dropped_trace_ = "more than one traceparent";
    } else if (auto parsed = ParseTraceParent(View(parents.first->second), &why)) {
      rc->trace_ = std::move(*parsed);
      // Several tracestate entries join with commas, in order.
      auto states = metadata.equal_range("tracestate");
      std::string state;
      for (auto it = states.first; it != states.second; ++it) {
        if (!state.empty()) state.push_back(',');
        state.append(it->second.data(), it->second.size());
      }
      if (state.size() > kMaxTraceState || !IsPrintable(state)) {
        rc->dropped_trace_ = "tracestate is too long or not printable; dropped (traceparent kept)";
      } else {
        rc->tracestate_ = std::move(state);
      }
    } else {
      rc->dropped_trace_ = std::move(why);
    }
  }
  rc->metadata_status_ = ParseFilesOptions(metadata, &rc->workspace_id_, &rc->language_);
  if (!rc->metadata_status_.ok()) {
    rc->workspace_id_.clear();
    rc->language_.clear();
  }
  return rc;
}

std::shared_ptr<const RequestContext> RequestContext::Make(std::string request_id,
                                                           std::optional<TraceParent> trace,
                                                           std::string tracestate,
                                                           std::string_view full_method) {
  std::shared_ptr<RequestContext> rc(new RequestContext);
  rc->request_id_ = std::move(request_id);
  rc->trace_ = std::move(trace);
  if (rc->trace_.has_value()) rc->tracestate_ = std::move(tracestate);
  rc->full_method_ = std::string(full_method);
  return rc;
}

void RequestContext::AddUpstreamHeaders(client_core::HeaderList* headers) const {
  headers->emplace_back("X-Request-Id", request_id_);
  if (!workspace_id_.empty()) headers->emplace_back("X-Files-Workspace-Id", workspace_id_);
  if (!language_.empty()) headers->emplace_back("Accept-Language", language_);
  if (!trace_.has_value()) return;
  TraceParent child = *trace_;
  child.parent_id = NewSpanId();
  headers->emplace_back("traceparent", child.ToHeader());
  if (!tracestate_.empty()) headers->emplace_back("tracestate", tracestate_);
}

void RequestContext::LogDroppedTrace(Logger* log) const {
  if (dropped_trace_.empty() || log == nullptr || !log->Enabled(LogLevel::kDebug)) return;
  // The reason only: the value is the caller's and may be anything.
  log->Debug("trace context dropped", {{"request_id", request_id_},
                                       {"method", full_method_},
                                       {"reason", dropped_trace_}});
}

const std::shared_ptr<const RequestContext>& RequestContext::Current() { return current_context; }

ScopedRequestContext::ScopedRequestContext(std::shared_ptr<const RequestContext> context)
    : previous_(std::move(current_context)),
      log_fields_(context != nullptr ? context->request_id() : std::string(),
                  context != nullptr && context->trace().has_value() ? context->trace()->trace_id
                                                                     : std::string()) {
  current_context = std::move(context);
}

ScopedRequestContext::~ScopedRequestContext() { current_context = std::move(previous_); }

}  // namespace filesgw::server
