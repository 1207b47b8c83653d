#include "client_core/query.h"

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "client_core/internal/string_view.h"

namespace filesgw::client_core {

using internal::AsAbsl;
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Quotes and line breaks would end the header parameter early; browsers
// (WHATWG HTML) percent-encode them, and so do we.
std::string EscapeDispositionParam(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '"': out += "%22"; break;
      case '\r': out += "%0D"; break;
      case '\n': out += "%0A"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void AppendPercentEncoded(std::string_view in, bool keep_slash, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

std::string PercentEncode(std::string_view in, bool keep_slash) {
  std::string out;
  out.reserve(in.size());
  AppendPercentEncoded(in, keep_slash, &out);
  return out;
}

void QueryBuilder::Add(std::string_view key, std::string_view value) {
  params_.emplace_back(key, value);
}

std::string QueryBuilder::Build() const {
  std::string out;
  for (const auto& [key, value] : params_) {
    if (!out.empty()) out.push_back('&');
    AppendPercentEncoded(key, /*keep_slash=*/false, &out);
    out.push_back('=');
    AppendPercentEncoded(value, /*keep_slash=*/false, &out);
  }
  return out;
}

MultipartBuilder::MultipartBuilder(std::string boundary) : boundary_(std::move(boundary)) {
  if (boundary_.empty()) {
    static constexpr char kAlphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    absl::BitGen gen;
    boundary_ = "----filesgw";
    for (int i = 0; i < 24; ++i) {
      boundary_.push_back(kAlphabet[absl::Uniform<size_t>(gen, 0, sizeof(kAlphabet) - 1)]);
    }
  }
}

void MultipartBuilder::OpenPart(std::string_view name) {
  absl::StrAppend(&body_, "--", boundary_, "\r\nContent-Disposition: form-data; name=\"",
                  EscapeDispositionParam(name), "\"");
}

void MultipartBuilder::AddField(std::string_view name, std::string_view value) {
  OpenPart(name);
  absl::StrAppend(&body_, "\r\n\r\n", AsAbsl(value), "\r\n");
}

void MultipartBuilder::AddFile(std::string_view name, std::string_view filename,
                               std::string_view content_type, std::string_view bytes) {
  OpenPart(name);
  absl::StrAppend(&body_, "; filename=\"", EscapeDispositionParam(filename), "\"\r\nContent-Type: ",
                  content_type.empty() ? "application/octet-stream" : AsAbsl(content_type),
                  "\r\n\r\n", AsAbsl(bytes), "\r\n");
}

std::string MultipartBuilder::Finish() {
  absl::StrAppend(&body_, "--", boundary_, "--\r\n");
  return std::move(body_);
}

std::string MultipartBuilder::ContentType() const {
  return absl::StrCat("multipart/form-data; boundary=", boundary_);
}

}  // namespace filesgw::client_core
