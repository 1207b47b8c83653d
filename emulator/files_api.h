// The Files.com file-system API on top of FileSystem, installed through the
// Actions override registry, plus the presigned URLs the emulator serves
// itself (no Files.com auth; the URL's signature and expiry are the auth):
//
//   POST /file_actions/begin_upload/{path} {size?,mkdir_parents?,ref?,part?,parts?}
//        -> [part descriptor...]; upload_uri = PUT {base}/__emulator/upload/<ref>/<part>
//           ?X-Files-Date&X-Files-Expires&X-Files-Signature (the signature is
//           the credential; `headers` is {} unless part_token_header), answering
//           200 with ETag: "<md5 of the part>"
//   POST /files/{path} {action:"put",ref?,part?,mkdir_parents?} -> 201 one part
//        descriptor (the SDKs' way to begin and continue; creates nothing)
//   POST /files/{path} {action:"end",ref,etags?:[{etag,part}],provided_mtime?,size?,mkdir_parents?}
//        -> 201 File (atomic commit; nothing is visible before; without etags
//           the parts that arrived, 1..N, make the file)
//   GET  /files/{path}[?action=stat] -> File with download_uri =
//           GET {base}/__emulator/download/<token>?X-Files-Date&X-Files-Expires&X-Files-Signature
//           (Range -> 206; expired -> 403 S3-style XML; content pinned at issue time)
//   GET  /file_actions/metadata/{path}, PATCH /files/{path}, DELETE /files/{path}[?recursive]
//   POST /file_actions/copy/{path}, /file_actions/move/{path} {destination,overwrite?,structure?}
//   GET  /folders/{path} (folders first, cursor paging), POST /folders/{path} {mkdir_parents?}
//
// The demo site's fixture (folders `demo`, `demo/reports`, `shared`, the file
// `demo/hello.txt`) is (re)created by SeedDemo(). Generic callers address
// `demo` with only required params, so for that one folder creating it again
// answers it and deleting it without `recursive` deletes its contents too.
//
//   FilesApi api(&fs, options, hooks);
//   api.Register(&actions);
//   api.SeedDemo();
//   server.Put("/__emulator/upload/.*", [&](auto& req, auto& res, auto& reader) {
//     api.ServeUpload(req, res, reader, /*fault=*/nullptr);
//   });
#ifndef FILESGW_EMULATOR_FILES_API_H_
#define FILESGW_EMULATOR_FILES_API_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "emulator/actions.h"
#include "emulator/faults.h"
#include "emulator/file_system.h"
#include "emulator/reply.h"
#include "emulator/transfers.h"

namespace httplib {
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace filesgw::emulator {

inline constexpr absl::string_view kUploadPrefix = "/__emulator/upload/";
inline constexpr absl::string_view kDownloadPrefix = "/__emulator/download/";
inline constexpr char kPartTokenHeader[] = "X-Emulator-Part-Token";
inline constexpr int64_t kDefaultPartSize = int64_t{5} << 20;
inline constexpr int64_t kAvailableParts = 10000;

struct FilesApiOptions {
  int64_t part_size = kDefaultPartSize;
  absl::Duration upload_url_ttl = absl::Minutes(15);
  // Upload sessions idle this long are dropped with their parts.
  absl::Duration upload_idle_ttl = absl::Minutes(10);
  absl::Duration download_url_ttl = absl::Seconds(60);
  bool demo_site = true;  // the `demo` fixture and its leniencies
  std::function<absl::Time()> clock;
  // "http://host:port" for URLs when a request carries no Host header.
  std::function<std::string()> base_url;
  // URLs handed out start with https:// (the emulator serves TLS).
  bool https = false;
  // Part descriptors carry `headers: {X-Emulator-Part-Token: ...}` and part
  // PUTs must send it (for testing clients that apply `headers`). Off, as on
  // Files.com: the URL's signature is the only credential.
  bool part_token_header = false;
};

// What the HTTP layer lends the data routes.
struct HttpHooks {
  std::function<void(int64_t ms)> wait;                     // returns early when stopping
  std::function<bool()> stopping;
  std::function<void(const httplib::Request&)> drop;        // reset the connection
};

class FilesApi {
 public:
  FilesApi(FileSystem* fs, FilesApiOptions options, HttpHooks hooks);

  // Overrides the file and folder RPCs (FileService, FolderService).
  void Register(Actions* actions);
  // Creates whatever is missing of the demo fixture and restores its file.
  void SeedDemo();
  // Every URL issued so far answers 403 (expired) from now on.
  void ExpireUrls() { signer_.ExpireAll(); }

  // PUT {kUploadPrefix}<ref>/<part>. `fault` (may be null): status, expire,
  // stall_ms (pause after half the body) and cut_after_bytes (reset the
  // connection after reading that many bytes) apply here.
  void ServeUpload(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader, const FaultRule* fault);
  // GET {kDownloadPrefix}<token>. `fault`: status, expire, stall_ms (pause
  // after half the body) and cut_after_bytes (close after that many bytes).
  void ServeDownload(const httplib::Request& req, httplib::Response& res, const FaultRule* fault);

  UploadSessions& uploads() { return uploads_; }
  DownloadTickets& downloads() { return downloads_; }

 private:
  HttpReply BeginUpload(const ActionRequest& r);
  // The session `ref` names, or a new one for `path` (checking its folder).
  absl::StatusOr<UploadSession> OpenUpload(const ActionRequest& r);
  // Part `n`'s descriptor (a FileUploadPart) with a freshly signed upload_uri.
  JsonValue PartDescriptor(const UploadSession& session, int64_t n, const std::string& base);
  HttpReply CreateFile(const ActionRequest& r);
  HttpReply EndUpload(const ActionRequest& r);
  HttpReply Download(const ActionRequest& r);
  HttpReply Find(const ActionRequest& r);
  HttpReply Update(const ActionRequest& r);
  HttpReply Delete(const ActionRequest& r);
  HttpReply CopyOrMove(const ActionRequest& r, bool move);
  HttpReply List(const ActionRequest& r);
  HttpReply CreateFolder(const ActionRequest& r);

  std::string BaseUrl(const ActionRequest& r) const;
  bool IsFixture(absl::string_view path) const;

  FileSystem* fs_;
  FilesApiOptions options_;
  HttpHooks hooks_;
  UrlSigner signer_;
  UploadSessions uploads_;
  DownloadTickets downloads_;
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_FILES_API_H_
