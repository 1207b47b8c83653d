#include "emulator/files_api.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "emulator/params.h"
#include "emulator/query.h"
#include "httplib.h"

namespace filesgw::emulator {
namespace {

constexpr char kDemoFileText[] = "Hello from the Files.com emulator.\n";
constexpr int64_t kMaxPiece = int64_t{4} << 20;

// ---- params ----------------------------------------------------------------

std::string TextParam(const ActionRequest& r, absl::string_view key) {
  const JsonValue* v = Member(r.params, key);
  if (v == nullptr || v->IsNull()) return "";
  return AsText(*v).value_or("");
}

std::optional<bool> BoolParam(const ActionRequest& r, absl::string_view key) {
  const JsonValue* v = Member(r.params, key);
  if (v == nullptr || v->IsNull()) return std::nullopt;
  return AsBool(*v);
}

std::optional<int64_t> IntParam(const ActionRequest& r, absl::string_view key) {
  const JsonValue* v = Member(r.params, key);
  if (v == nullptr || v->IsNull()) return std::nullopt;
  return AsInt64(*v);
}

absl::StatusOr<std::optional<absl::Time>> TimeParam(const ActionRequest& r, absl::string_view key) {
  std::string text = TextParam(r, key);
  if (text.empty()) return std::optional<absl::Time>();
  absl::Time t;
  std::string error;
  // An SDK sends Python's isoformat() of a naive time
  // ("2026-12-07T18:26:56.373948"); Files.com reads that as UTC.
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error) &&
      !absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, absl::UTCTimeZone(), &t, &error)) {
    return ApiError("bad-request/datetime-parse",
                    absl::StrCat("Cannot read ", key, " `", text, "` as an RFC 3339 time."));
  }
  return std::optional<absl::Time>(t);
}

// ---- JSON ------------------------------------------------------------------

std::string Seconds(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}
std::string Precise(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string MimeType(absl::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos) return "application/octet-stream";
  std::string ext = absl::AsciiStrToLower(name.substr(dot + 1));
  static const std::pair<const char*, const char*> kTypes[] = {
      {"txt", "text/plain"},        {"log", "text/plain"},          {"md", "text/markdown"},
      {"csv", "text/csv"},          {"html", "text/html"},          {"htm", "text/html"},
      {"css", "text/css"},          {"js", "application/javascript"}, {"json", "application/json"},
      {"xml", "application/xml"},   {"pdf", "application/pdf"},     {"zip", "application/zip"},
      {"gz", "application/gzip"},   {"tar", "application/x-tar"},   {"png", "image/png"},
      {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},         {"gif", "image/gif"},
      {"svg", "image/svg+xml"},     {"webp", "image/webp"},         {"mp3", "audio/mpeg"},
      {"mp4", "video/mp4"},         {"doc", "application/msword"},  {"gpg", "application/pgp-encrypted"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

JsonValue EntryJson(const Entry& e, absl::string_view download_uri = {}) {
  JsonValue o(rapidjson::kObjectType);
  auto set = [&o](const char* key, JsonValue v) { o.AddMember(JsonString(key), std::move(v), Alloc()); };
  set("path", JsonString(e.path));
  set("display_name", JsonString(e.name));
  set("type", JsonString(e.folder ? "directory" : "file"));
  if (!e.folder) set("size", JsonValue(static_cast<int64_t>(e.size)));
  set("created_at", JsonString(Seconds(e.created_at)));
  set("mtime", JsonString(Seconds(e.mtime)));
  set("provided_mtime", e.provided_mtime ? JsonString(Precise(*e.provided_mtime)) : JsonValue());
  if (!e.folder) {
    set("crc32", JsonString(e.digests.crc32));
    set("md5", JsonString(e.digests.md5));
    set("sha1", JsonString(e.digests.sha1));
    set("sha256", JsonString(e.digests.sha256));
    set("mime_type", JsonString(MimeType(e.name)));
  }
  set("region", JsonString("us-east-1"));
  set("permissions", JsonString("rwd"));
  set("subfolders_locked?", JsonValue(false));
  set("is_locked", JsonValue(false));
  set("priority_color", e.priority_color.empty() ? JsonValue() : JsonString(e.priority_color));
  JsonDoc metadata;
  if (!e.custom_metadata.empty()) metadata.Parse(e.custom_metadata.c_str());
  if (metadata.HasParseError() || !metadata.IsObject()) metadata.SetObject();
  set("custom_metadata", JsonValue(metadata, Alloc()));
  if (!download_uri.empty()) set("download_uri", JsonString(download_uri));
  return o;
}

HttpReply EntryReply(int status, const Entry& e, absl::string_view download_uri = {}) {
  return HttpReply::Json(status, ToJson(EntryJson(e, download_uri)));
}

// ---- S3-style answers of the URL routes ------------------------------------

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void S3Error(httplib::Response& res, int status, absl::string_view code, absl::string_view message) {
  res.status = status;
  res.set_content(absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>", code,
                               "</Code><Message>", XmlEscape(message), "</Message><RequestId>",
                               RandomHex().substr(0, 16), "</RequestId></Error>"),
                  "application/xml");
}

void Expired(httplib::Response& res) { S3Error(res, 403, "AccessDenied", "Request has expired"); }

void FaultReply(httplib::Response& res, const FaultRule& fault) {
  if (!fault.retry_after.empty()) res.set_header("Retry-After", fault.retry_after);
  if (!fault.body.empty()) {
    res.status = fault.status;
    bool json = absl::StartsWith(absl::StripLeadingAsciiWhitespace(fault.body), "{");
    res.set_content(fault.body, json ? "application/json" : "application/xml");
    return;
  }
  int s = fault.status;
  const char* code = s == 400   ? "BadRequest"
                     : s == 403 ? "AccessDenied"
                     : s == 404 ? "NoSuchKey"
                     : s == 408 ? "RequestTimeout"
                     : s == 429 ? "SlowDown"
                     : s == 503 ? "ServiceUnavailable"
                     : s >= 500 ? "InternalError"
                                : "InvalidRequest";
  S3Error(res, s, code, "Injected fault.");
}

// False (and an answer written) when the URL's signature or time is not good.
bool CheckUrl(const UrlSigner& signer, const httplib::Request& req, httplib::Response& res) {
  switch (signer.Verify(req.method, req.path, req.get_param_value("X-Files-Date"),
                        req.get_param_value("X-Files-Expires"),
                        req.get_param_value("X-Files-Signature"))) {
    case UrlSigner::Check::kOk:
      return true;
    case UrlSigner::Check::kMissing:
      S3Error(res, 403, "AccessDenied",
              "Query-string authentication requires the X-Files-Date, X-Files-Expires and "
              "X-Files-Signature parameters");
      return false;
    case UrlSigner::Check::kBadSignature:
      S3Error(res, 403, "SignatureDoesNotMatch",
              "The request signature we calculated does not match the signature you provided.");
      return false;
    case UrlSigner::Check::kExpired:
      Expired(res);
      return false;
  }
  return false;
}

struct ByteRange {
  int64_t start = 0;
  int64_t length = 0;
  bool partial = false;
  bool unsatisfiable = false;
};

// One `bytes=` range of RFC 9110 (a-b, a-, -n); anything else (several
// ranges, other units, nonsense) means the whole body, as S3 does.
ByteRange ParseRange(absl::string_view header, int64_t size) {
  ByteRange whole{0, size, false, false};
  absl::string_view spec = absl::StripAsciiWhitespace(header);
  if (!absl::ConsumePrefix(&spec, "bytes=") || absl::StrContains(spec, ',')) return whole;
  size_t dash = spec.find('-');
  if (dash == absl::string_view::npos) return whole;
  absl::string_view first = absl::StripAsciiWhitespace(spec.substr(0, dash));
  absl::string_view last = absl::StripAsciiWhitespace(spec.substr(dash + 1));
  ByteRange r;
  r.partial = true;
  if (first.empty()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(last, &n) || n < 0) return whole;
    if (n == 0 || size == 0) {
      r.unsatisfiable = true;
      return r;
    }
    n = std::min(n, size);
    r.start = size - n;
    r.length = n;
    return r;
  }
  int64_t a = 0, b = size - 1;
  if (!absl::SimpleAtoi(first, &a) || a < 0) return whole;
  if (!last.empty() && (!absl::SimpleAtoi(last, &b) || b < a)) return whole;
  if (a >= size) {
    r.unsatisfiable = true;
    return r;
  }
  b = std::min(b, size - 1);
  r.start = a;
  r.length = b - a + 1;
  return r;
}

std::string HttpDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone());
}

}  // namespace

FilesApi::FilesApi(FileSystem* fs, FilesApiOptions options, HttpHooks hooks)
    : fs_(fs),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      signer_(options_.clock),
      uploads_(options_.clock, options_.upload_idle_ttl),
      downloads_(options_.clock) {
  if (options_.part_size <= 0) options_.part_size = kDefaultPartSize;
}

void FilesApi::Register(Actions* actions) {
  auto bind = [this, actions](const char* name, HttpReply (FilesApi::*fn)(const ActionRequest&)) {
    actions->Override(name, [this, fn](const ActionRequest& r) { return (this->*fn)(r); });
  };
  bind("files.v1.FileService.BeginUploadFile", &FilesApi::BeginUpload);
  bind("files.v1.FileService.CreateFile", &FilesApi::CreateFile);
  bind("files.v1.FileService.DownloadFile", &FilesApi::Download);
  bind("files.v1.FileService.FindFile", &FilesApi::Find);
  bind("files.v1.FileService.UpdateFile", &FilesApi::Update);
  bind("files.v1.FileService.DeleteFile", &FilesApi::Delete);
  bind("files.v1.FolderService.ListForFolder", &FilesApi::List);
  bind("files.v1.FolderService.CreateFolder", &FilesApi::CreateFolder);
  actions->Override("files.v1.FileService.CopyFile",
                    [this](const ActionRequest& r) { return CopyOrMove(r, /*move=*/false); });
  actions->Override("files.v1.FileService.MoveFile",
                    [this](const ActionRequest& r) { return CopyOrMove(r, /*move=*/true); });
}

void FilesApi::SeedDemo() {
  for (const char* folder : {"demo", "demo/reports", "shared"}) {
    auto entry = fs_->Stat(folder);
    if (entry.ok() && entry->folder) continue;
    if (entry.ok()) fs_->Delete(folder, /*recursive=*/true).IgnoreError();
    fs_->CreateFolder(folder, /*mkdir_parents=*/true, std::nullopt).IgnoreError();
  }
  FileDigests digests = DigestsOf(kDemoFileText);
  auto file = fs_->Stat("demo/hello.txt");
  if (file.ok() && !file->folder && file->digests.md5 == digests.md5) return;
  if (file.ok() && file->folder) fs_->Delete("demo/hello.txt", /*recursive=*/true).IgnoreError();
  fs_->CommitFile("demo/hello.txt", true, MemoryBlob(kDemoFileText), digests, std::nullopt)
      .IgnoreError();
}

std::string FilesApi::BaseUrl(const ActionRequest& r) const {
  std::string scheme = options_.https ? "https://" : "http://";
  if (!r.host.empty()) return absl::StrCat(scheme, r.host);
  return options_.base_url ? options_.base_url() : absl::StrCat(scheme, "127.0.0.1");
}

bool FilesApi::IsFixture(absl::string_view path) const {
  if (!options_.demo_site) return false;
  std::vector<std::string> segments = SplitApiPath(path);
  return segments.size() == 1 && NameKey(segments[0]) == "demo";
}

// ---- RPCs ------------------------------------------------------------------

HttpReply FilesApi::BeginUpload(const ActionRequest& r) {
  auto session = OpenUpload(r);
  if (!session.ok()) return ErrorReply(session.status());
  int64_t part = IntParam(r, "part").value_or(1);
  int64_t count = IntParam(r, "parts").value_or(1);
  count = std::clamp<int64_t>(count, 1, kAvailableParts - part + 1);
  JsonValue list(rapidjson::kArrayType);
  list.Reserve(static_cast<rapidjson::SizeType>(count), Alloc());
  for (int64_t n = part; n < part + count; ++n) {
    list.PushBack(PartDescriptor(*session, n, BaseUrl(r)), Alloc());
  }
  return HttpReply::Json(r.route->sdk.success_status(), ToJson(list));
}

absl::StatusOr<UploadSession> FilesApi::OpenUpload(const ActionRequest& r) {
  downloads_.SweepIfDue();  // old contents pinned by expired URLs go
  int64_t part = IntParam(r, "part").value_or(1);
  if (part < 1 || part > kAvailableParts) {
    return ApiError("bad-request/part-number-too-large",
                    absl::StrCat("part must be between 1 and ", kAvailableParts, "."));
  }
  std::string ref = TextParam(r, "ref");
  if (!ref.empty()) {
    auto found = uploads_.Find(ref);
    if (!found) {
      return ApiError("not-found/file-upload-not-found",
                      absl::StrCat("Upload ", ref, " not found (ended or never begun)."));
    }
    return *std::move(found);
  }
  bool mkdir_parents = BoolParam(r, "mkdir_parents").value_or(false);
  std::string path = absl::StrJoin(SplitApiPath(TextParam(r, "path")), "/");
  if (absl::Status s = fs_->CheckParentFolder(path, mkdir_parents); !s.ok()) return s;
  return uploads_.Begin(path, mkdir_parents);
}

JsonValue FilesApi::PartDescriptor(const UploadSession& session, int64_t n,
                                   const std::string& base) {
  int64_t ttl_seconds = std::max<int64_t>(0, absl::ToInt64Seconds(options_.upload_url_ttl));
  std::string expires = Seconds(options_.clock() + absl::Seconds(ttl_seconds));
  std::string resource = absl::StrCat(kUploadPrefix, session.ref, "/", n);
  JsonValue d(rapidjson::kObjectType);
  auto set = [&d](const char* key, JsonValue v) { d.AddMember(JsonString(key), std::move(v), Alloc()); };
  JsonValue send(rapidjson::kObjectType);
  send.AddMember("partsize", JsonString("required-header Content-Length"), Alloc());
  send.AddMember("partdata", JsonString("body"), Alloc());
  set("send", std::move(send));
  set("action", JsonString("put/write"));
  set("ask_about_overwrites", JsonValue(false));
  set("available_parts", JsonValue(static_cast<int64_t>(kAvailableParts)));
  set("expires", JsonString(expires));
  // Files.com's own storage needs no header: the URL's signature is enough,
  // and the official SDKs send none. An emulator that asks for one (tests of
  // clients that must apply `headers`) puts it here.
  JsonValue headers(rapidjson::kObjectType);
  if (options_.part_token_header) {
    headers.AddMember(JsonString(kPartTokenHeader), JsonString(session.part_token), Alloc());
  }
  set("headers", std::move(headers));
  set("http_method", JsonString("PUT"));
  set("next_partsize", JsonValue(static_cast<int64_t>(options_.part_size)));
  set("parallel_parts", JsonValue(true));
  set("retry_parts", JsonValue(true));
  set("parameters", JsonValue(rapidjson::kObjectType));
  set("part_number", JsonValue(static_cast<int64_t>(n)));
  set("partsize", JsonValue(static_cast<int64_t>(options_.part_size)));
  set("path", JsonString(session.path));
  set("ref", JsonString(session.ref));
  set("upload_uri", JsonString(absl::StrCat(base, resource, "?",
                                            signer_.Sign("PUT", resource, options_.upload_url_ttl))));
  return d;
}

HttpReply FilesApi::CreateFile(const ActionRequest& r) {
  std::string action = TextParam(r, "action");
  if (action == "end" || (action.empty() && !TextParam(r, "ref").empty())) return EndUpload(r);
  if (action == "put") {
    // The SDKs' upload protocol: one FileUploadPart per call ({action:"put"}
    // begins, {action:"put",part:N,ref} asks for part N); nothing is created
    // until `end`.
    auto session = OpenUpload(r);
    if (!session.ok()) return ErrorReply(session.status());
    int64_t part = IntParam(r, "part").value_or(1);
    return HttpReply::Json(r.route->sdk.success_status(),
                           ToJson(PartDescriptor(*session, part, BaseUrl(r))));
  }
  // No upload to finish: make sure the file exists (an empty one when missing).
  std::string path = TextParam(r, "path");
  auto existing = fs_->Stat(path);
  if (existing.ok()) return EntryReply(r.route->sdk.success_status(), *existing);
  auto provided = TimeParam(r, "provided_mtime");
  if (!provided.ok()) return ErrorReply(provided.status());
  auto entry = fs_->CommitFile(path, BoolParam(r, "mkdir_parents").value_or(false), MemoryBlob(""),
                               DigestsOf(""), *provided);
  if (!entry.ok()) return ErrorReply(entry.status());
  return EntryReply(r.route->sdk.success_status(), *entry);
}

HttpReply FilesApi::EndUpload(const ActionRequest& r) {
  downloads_.SweepIfDue();
  std::string ref = TextParam(r, "ref");
  if (ref.empty()) return ErrorReply("bad-request/request-params-required", "Missing required parameter: ref");
  auto session = uploads_.Find(ref);
  auto parts = uploads_.Parts(ref);
  if (!session || !parts) {
    return ErrorReply("not-found/file-upload-not-found",
                      absl::StrCat("Upload ", ref, " not found (ended or never begun)."));
  }
  std::string path = TextParam(r, "path");
  bool mkdir_parents = BoolParam(r, "mkdir_parents").value_or(session->mkdir_parents);
  auto provided = TimeParam(r, "provided_mtime");
  if (!provided.ok()) return ErrorReply(provided.status());

  std::vector<std::pair<int64_t, std::string>> chosen;
  const JsonValue* etags = Member(r.params, "etags");
  if (etags != nullptr && etags->IsArray() && !etags->Empty()) {
    for (const auto& item : etags->GetArray()) {
      const JsonValue* part = Member(item, "part");
      const JsonValue* etag = Member(item, "etag");
      std::optional<int64_t> number = part == nullptr ? std::nullopt : AsInt64(*part);
      std::optional<std::string> text = etag == nullptr ? std::nullopt : AsText(*etag);
      if (!number || !text) {
        return ErrorReply("bad-request/invalid-etags",
                          "Each etags item needs an `etag` and a `part` number.");
      }
      absl::string_view clean = absl::StripAsciiWhitespace(*text);
      absl::ConsumePrefix(&clean, "W/");
      clean = absl::StripSuffix(absl::StripPrefix(clean, "\""), "\"");
      chosen.emplace_back(*number, absl::AsciiStrToLower(clean));
    }
  } else {
    for (const auto& [number, part] : *parts) chosen.emplace_back(number, part.md5);
  }
  if (chosen.empty()) {
    // No part PUT and none named: an empty file, as Files.com makes it (the
    // SDKs upload 0 bytes so: `put`, then `end` with no part). A size above
    // 0 means parts were meant to come.
    if (auto size = IntParam(r, "size"); size && *size > 0) {
      return ErrorReply("processing-failure/file-not-uploaded",
                        absl::StrCat("No part of upload ", ref, " was uploaded."));
    }
    if (absl::Status s = fs_->CheckWritable(path, mkdir_parents); !s.ok()) return ErrorReply(s);
    auto entry = fs_->CommitFile(path, mkdir_parents, MemoryBlob(""), DigestsOf(""), *provided);
    if (!entry.ok()) return ErrorReply(entry.status());
    uploads_.Finish(ref);
    return EntryReply(r.route->sdk.success_status(), *entry);
  }
  std::sort(chosen.begin(), chosen.end());
  int64_t total = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (i > 0 && chosen[i].first == chosen[i - 1].first) {
      return ErrorReply("bad-request/invalid-etags",
                        absl::StrCat("Part ", chosen[i].first, " is listed twice."));
    }
    if (chosen[i].first != static_cast<int64_t>(i) + 1) {
      return ErrorReply("bad-request/invalid-upload-part-gap",
                        absl::StrCat("Parts must be numbered 1 to ", chosen.size(),
                                     " without gaps; part ", i + 1, " is missing."));
    }
    auto it = parts->find(chosen[i].first);
    if (it == parts->end()) {
      return ErrorReply("bad-request/invalid-etags",
                        absl::StrCat("Part ", chosen[i].first, " of ", ref, " was not uploaded."));
    }
    if (it->second.md5 != chosen[i].second) {
      return ErrorReply("bad-request/invalid-etags",
                        absl::StrCat("The etag given for part ", chosen[i].first, " (",
                                     chosen[i].second, ") does not match the uploaded part (",
                                     it->second.md5, ")."));
    }
    total += it->second.blob->size();
  }
  if (auto size = IntParam(r, "size"); size && *size != total) {
    return ErrorReply("bad-request/invalid-upload-part-size",
                      absl::StrCat("size is ", *size, " but the parts hold ", total, " bytes."));
  }
  if (absl::Status s = fs_->CheckWritable(path, mkdir_parents); !s.ok()) return ErrorReply(s);
  auto assembled = uploads_.Assemble(ref, chosen);
  if (!assembled.ok()) return ErrorReply(assembled.status());
  auto entry = fs_->CommitFile(path, mkdir_parents, std::move(assembled->content),
                               std::move(assembled->digests), *provided);
  if (!entry.ok()) return ErrorReply(entry.status());
  uploads_.Finish(ref);
  return EntryReply(r.route->sdk.success_status(), *entry);
}

HttpReply FilesApi::Download(const ActionRequest& r) {
  auto opened = fs_->Open(TextParam(r, "path"));
  if (!opened.ok()) return ErrorReply(opened.status());
  const Entry& entry = opened->first;
  int status = r.route->sdk.success_status();
  if (entry.folder || TextParam(r, "action") == "stat") return EntryReply(status, entry);
  DownloadTicket ticket;
  ticket.content = std::move(opened->second);
  ticket.name = entry.name;
  ticket.mime_type = MimeType(entry.name);
  ticket.md5 = entry.digests.md5;
  ticket.mtime = entry.mtime;
  ticket.expires = options_.clock() + options_.download_url_ttl;
  std::string token = downloads_.Issue(std::move(ticket));
  std::string resource = absl::StrCat(kDownloadPrefix, token);
  std::string uri = absl::StrCat(BaseUrl(r), resource, "?",
                                 signer_.Sign("GET", resource, options_.download_url_ttl));
  return EntryReply(status, entry, uri);
}

HttpReply FilesApi::Find(const ActionRequest& r) {
  auto entry = fs_->Stat(TextParam(r, "path"));
  if (!entry.ok()) return ErrorReply(entry.status());
  return EntryReply(r.route->sdk.success_status(), *entry);
}

HttpReply FilesApi::Update(const ActionRequest& r) {
  auto provided = TimeParam(r, "provided_mtime");
  if (!provided.ok()) return ErrorReply(provided.status());
  std::optional<std::string> color;
  if (const JsonValue* v = Member(r.params, "priority_color"); v != nullptr && v->IsString()) {
    color = v->GetString();
  }
  auto entry = fs_->Update(TextParam(r, "path"), *provided, Member(r.params, "custom_metadata"),
                           std::move(color));
  if (!entry.ok()) return ErrorReply(entry.status());
  return EntryReply(r.route->sdk.success_status(), *entry);
}

HttpReply FilesApi::Delete(const ActionRequest& r) {
  std::string path = TextParam(r, "path");
  absl::Status s = fs_->Delete(path, BoolParam(r, "recursive").value_or(false));
  if (!s.ok() && ErrorTypeOf(s) == "processing-failure/folder-not-empty" && IsFixture(path)) {
    s = fs_->Delete(path, /*recursive=*/true);  // the demo fixture; SeedDemo() brings it back
  }
  if (!s.ok()) return ErrorReply(s);
  return HttpReply::NoBody(r.route->sdk.success_status());
}

HttpReply FilesApi::CopyOrMove(const ActionRequest& r, bool move) {
  std::string from = TextParam(r, "path");
  std::string to = TextParam(r, "destination");
  bool overwrite = BoolParam(r, "overwrite").value_or(false);
  absl::Status s = move ? fs_->Move(from, to, overwrite)
                        : fs_->Copy(from, to, overwrite, BoolParam(r, "structure").value_or(false));
  if (!s.ok()) return ErrorReply(s);
  return HttpReply::Json(r.route->sdk.success_status(), R"({"status":"completed"})");
}

HttpReply FilesApi::List(const ActionRequest& r) {
  auto entries = fs_->List(TextParam(r, "path"));
  if (!entries.ok()) return ErrorReply(entries.status());
  // `search`: entries whose name holds the text (letters without case), as
  // Files.com's folder listing narrows by name.
  if (std::string search = TextParam(r, "search"); !search.empty()) {
    entries->erase(std::remove_if(entries->begin(), entries->end(),
                                  [&search](const Entry& e) {
                                    return !ContainsNoCase(e.name, search);
                                  }),
                   entries->end());
  }
  std::string type = TextParam(r, "type");
  if (type == "file" || type == "directory" || type == "folder") {
    bool folders = type != "file";
    entries->erase(std::remove_if(entries->begin(), entries->end(),
                                  [folders](const Entry& e) { return e.folder != folders; }),
                   entries->end());
  }
  // One sort field; folders come first whatever the field and direction.
  std::string field = "path";
  bool descending = false;
  if (const JsonValue* sort = Member(r.params, "sort_by"); sort != nullptr && sort->IsObject()) {
    if (sort->MemberCount() > 1) {
      return ErrorReply("bad-request/multiple-sort-params-not-allowed",
                        "Only one sort_by field is allowed.");
    }
    for (const auto& m : sort->GetObject()) {
      field = m.name.GetString();
      std::string dir = AsText(m.value).value_or("");
      if (dir != "asc" && dir != "desc") {
        return ErrorReply("bad-request/request-params-invalid",
                          absl::StrCat("sort_by[", field, "] must be asc or desc."));
      }
      descending = dir == "desc";
      // Files.com documents path, size, modified_at_datetime and
      // provided_modified_at (the last two are mtime and provided_mtime).
      bool documented = false;
      if (const auto* fields = DocumentedListFields(r.route->method)) {
        for (const auto& p : fields->params()) {
          if (p.param() != "sort_by") continue;
          documented = std::find(p.fields().begin(), p.fields().end(), field) != p.fields().end();
        }
      } else {
        documented = ParamField(r.route->model, field) != nullptr;
      }
      if (!documented) {
        return ErrorReply("bad-request/invalid-sort-field", absl::StrCat("Cannot sort by ", field, "."));
      }
      if (field == "modified_at_datetime") field = "mtime";
      if (field == "provided_modified_at") field = "provided_mtime";
    }
  }
  // The list engine pages records {"path": <sort key>, "id": <entry id>}.
  std::vector<JsonValue> records;
  records.reserve(entries->size());
  for (const Entry& e : *entries) {
    std::string key = e.folder != descending ? "0" : "1";
    if (field == "size" && !e.folder) {
      absl::StrAppend(&key, absl::StrFormat("%020d", e.size));
    } else if (field == "mtime") {
      absl::StrAppend(&key, Precise(e.mtime));
    } else if (field == "created_at") {
      absl::StrAppend(&key, Precise(e.created_at));
    } else if (field == "provided_mtime" && e.provided_mtime) {
      absl::StrAppend(&key, Precise(*e.provided_mtime));
    }
    absl::StrAppend(&key, "\x1f", e.key);
    JsonValue record(rapidjson::kObjectType);
    record.AddMember("path", JsonString(key), Alloc());
    record.AddMember("id", JsonValue(static_cast<int64_t>(e.id)), Alloc());
    records.push_back(std::move(record));
  }
  JsonValue params(rapidjson::kObjectType);
  for (const char* key : {"per_page", "cursor"}) {
    if (const JsonValue* v = Member(r.params, key)) SetMember(params, key, JsonValue(*v, Alloc()));
  }
  JsonValue sort(rapidjson::kObjectType);
  sort.AddMember("path", JsonString(descending ? "desc" : "asc"), Alloc());
  params.AddMember("sort_by", std::move(sort), Alloc());
  auto query = ParseListQuery(params, r.route->model, /*paginated=*/true);
  if (!query.ok()) return ErrorReply(query.status());
  std::vector<const JsonValue*> pointers;
  pointers.reserve(records.size());
  for (const JsonValue& record : records) pointers.push_back(&record);
  PageResult page = RunQuery(*query, pointers);
  JsonValue list(rapidjson::kArrayType);
  for (const JsonValue* item : page.items) {
    list.PushBack(EntryJson((*entries)[static_cast<size_t>(item - records.data())]), Alloc());
  }
  HttpReply reply = HttpReply::Json(r.route->sdk.success_status(), ToJson(list));
  if (!page.next_cursor.empty()) {
    reply.headers.emplace_back("X-Files-Cursor", page.next_cursor);
    reply.headers.emplace_back("X-Files-Cursor-Next", page.next_cursor);
  }
  return reply;
}

HttpReply FilesApi::CreateFolder(const ActionRequest& r) {
  std::string path = TextParam(r, "path");
  auto provided = TimeParam(r, "provided_mtime");
  if (!provided.ok()) return ErrorReply(provided.status());
  auto entry = fs_->CreateFolder(path, BoolParam(r, "mkdir_parents").value_or(false), *provided);
  if (!entry.ok() && ErrorTypeOf(entry.status()) == "processing-failure/destination-exists" &&
      IsFixture(path)) {
    entry = fs_->Stat(path);  // the demo fixture: already there
  }
  if (!entry.ok()) return ErrorReply(entry.status());
  return EntryReply(r.route->sdk.success_status(), *entry);
}

// ---- presigned URLs --------------------------------------------------------

void FilesApi::ServeUpload(const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& reader, const FaultRule* fault) {
  auto drain = [&reader] { reader([](const char*, size_t) { return true; }); };
  auto refuse = [&](int status, absl::string_view code, absl::string_view message) {
    drain();
    S3Error(res, status, code, message);
  };
  if (fault != nullptr && fault->expire) {
    drain();
    return Expired(res);
  }
  if (fault != nullptr && fault->status != 0) {
    drain();
    return FaultReply(res, *fault);
  }
  absl::string_view rest = req.path;
  std::vector<std::string> parts;
  if (absl::ConsumePrefix(&rest, kUploadPrefix)) parts = absl::StrSplit(rest, '/');
  int64_t part = 0;
  if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &part)) {
    return refuse(404, "NoSuchKey", "The specified key does not exist.");
  }
  if (!CheckUrl(signer_, req, res)) return drain();
  auto session = uploads_.Find(parts[0]);
  if (!session) {
    return refuse(404, "NoSuchUpload",
                  "The specified upload does not exist. The upload ID may be invalid, or the "
                  "upload may have been aborted or completed.");
  }
  // The signature is the credential. When the descriptors ask for the token
  // header, it must come; a token sent anyway must be the right one.
  if (options_.part_token_header && !req.has_header(kPartTokenHeader)) {
    return refuse(400, "MissingSecurityHeader",
                  absl::StrCat("Your request was missing a required header: ", kPartTokenHeader,
                               " (send every header the part descriptor lists)"));
  }
  if (req.has_header(kPartTokenHeader) &&
      req.get_header_value(kPartTokenHeader) != session->part_token) {
    return refuse(403, "AccessDenied", absl::StrCat(kPartTokenHeader, " does not match the upload"));
  }
  if (part < 1 || part > kAvailableParts) {
    return refuse(400, "InvalidArgument",
                  "Part number must be an integer between 1 and 10000, inclusive");
  }
  int64_t declared = 0;
  if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &declared)) declared = 0;
  std::unique_ptr<BlobWriter> writer;
  if (fs_->on_disk()) {
    auto disk = NewDiskWriter(fs_->TempPath("part"));
    if (!disk.ok()) return refuse(500, "InternalError", "We encountered an internal error.");
    writer = *std::move(disk);
  } else {
    writer = NewMemoryWriter(declared);
  }
  Md5Stream md5;
  int64_t received = 0;
  const int64_t cut = fault != nullptr ? fault->cut_after_bytes : -1;
  const int64_t stall = fault != nullptr ? fault->stall_ms : 0;
  bool stalled = false, cut_hit = false, write_failed = false;
  bool ok = reader([&](const char* data, size_t n) {
    absl::string_view piece(data, n);
    if (cut >= 0 && received + static_cast<int64_t>(n) > cut) {
      piece = piece.substr(0, static_cast<size_t>(cut - received));
      cut_hit = true;
    }
    if (stall > 0 && !stalled && received + static_cast<int64_t>(piece.size()) >= declared / 2) {
      stalled = true;
      hooks_.wait(stall);
    }
    if (!writer->Append(piece)) {
      write_failed = true;
      return false;
    }
    md5.Update(piece);
    received += static_cast<int64_t>(piece.size());
    return !cut_hit && !hooks_.stopping();
  });
  if (cut_hit || write_failed) {
    hooks_.drop(req);  // reset mid-body: no answer
    res.status = 500;
    return;
  }
  if (!ok) {
    res.status = 400;  // the client went away
    return;
  }
  auto blob = writer->Finish();
  if (!blob.ok()) return S3Error(res, 500, "InternalError", "We encountered an internal error.");
  std::string etag = md5.FinishHex();
  if (!uploads_.PutPart(parts[0], part, *std::move(blob), etag)) {
    return S3Error(res, 404, "NoSuchUpload", "The specified upload does not exist.");
  }
  res.status = 200;
  res.set_header("ETag", absl::StrCat("\"", etag, "\""));
}

void FilesApi::ServeDownload(const httplib::Request& req, httplib::Response& res,
                             const FaultRule* fault) {
  // Ranges are served here; httplib must not apply them again, nor to an
  // error body (a Range past the end of the XML would turn a 403 into a 416).
  const_cast<httplib::Request&>(req).ranges.clear();
  if (fault != nullptr && fault->expire) return Expired(res);
  if (fault != nullptr && fault->status != 0) return FaultReply(res, *fault);
  absl::string_view token = req.path;
  if (!absl::ConsumePrefix(&token, kDownloadPrefix) || token.empty() || absl::StrContains(token, '/')) {
    return S3Error(res, 404, "NoSuchKey", "The specified key does not exist.");
  }
  if (!CheckUrl(signer_, req, res)) return;
  auto ticket = downloads_.Find(std::string(token));
  if (!ticket) return S3Error(res, 404, "NoSuchKey", "The specified key does not exist.");
  const int64_t size = ticket->content->size();
  ByteRange range = ParseRange(req.get_header_value("Range"), size);
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("ETag", absl::StrCat("\"", ticket->md5, "\""));
  res.set_header("Last-Modified", HttpDate(ticket->mtime));
  if (range.unsatisfiable) {
    res.set_header("Content-Range", absl::StrCat("bytes */", size));
    return S3Error(res, 416, "InvalidRange", "The requested range is not satisfiable");
  }
  res.status = range.partial ? 206 : 200;
  if (range.partial) {
    res.set_header("Content-Range", absl::StrCat("bytes ", range.start, "-",
                                                 range.start + range.length - 1, "/", size));
  }
  if (range.length == 0) {
    res.set_content("", ticket->mime_type.c_str());
    return;
  }
  const int64_t cut = fault != nullptr ? fault->cut_after_bytes : -1;
  const int64_t stall = fault != nullptr ? fault->stall_ms : 0;
  const int64_t half = range.length / 2;
  auto stalled = std::make_shared<bool>(false);
  BlobPtr content = ticket->content;
  const int64_t start = range.start;
  HttpHooks hooks = hooks_;
  res.set_content_provider(
      static_cast<size_t>(range.length), ticket->mime_type,
      [content, start, cut, stall, half, stalled, hooks](size_t offset_u, size_t length_u,
                                                         httplib::DataSink& sink) {
        int64_t offset = static_cast<int64_t>(offset_u);
        int64_t length = std::min(static_cast<int64_t>(length_u), kMaxPiece);
        if (hooks.stopping()) return false;
        if (cut >= 0) {
          if (offset >= cut) return false;  // headers and `cut` bytes out: close
          length = std::min(length, cut - offset);
        }
        if (stall > 0 && !*stalled) {
          if (offset < half) {
            length = std::min(length, half - offset);
          } else {
            *stalled = true;
            hooks.wait(stall);
            if (hooks.stopping()) return false;
          }
        }
        return content->Read(start + offset, length, [&sink](absl::string_view piece) {
          return sink.write(piece.data(), piece.size());
        });
      });
}

}  // namespace filesgw::emulator
