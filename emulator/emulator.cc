// HTTP glue: cpp-httplib in, control endpoint, faults, auth, params, then the
// route's action. Everything per-RPC lives in router / actions / query.
#include "emulator/emulator.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "emulator/params.h"
#include "emulator/router.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::emulator {
namespace {

constexpr absl::string_view kControlPrefix = "/__emulator/";

int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return -1;
}

// httplib gives handlers no socket; find the connection by its two ports and
// shut it down so the client sees the connection close without an answer.
void DropConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (PortOf(local) != req.local_port || PortOf(peer) != req.remote_port) continue;
    linger abort_on_close{1, 0};  // RST instead of FIN when httplib closes it
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
    shutdown(fd, SHUT_RDWR);
    break;
  }
  closedir(dir);
}

// httplib listens with a backlog of 5: 32 clients connecting at once would
// see SYNs dropped and one-second retransmits. Listening again on the bound
// socket raises the backlog (Linux keeps the socket, changes the queue).
void RaiseListenBacklog(int port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd)) continue;
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) continue;
    sockaddr_storage local{};
    socklen_t local_len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (PortOf(local) == port) listen(fd, SOMAXCONN);
  }
  closedir(dir);
}

// The error type a bare fault status stands for.
std::string FaultType(int status) {
  if (status == 429) return "rate-limited/too-many-requests";
  if (status == 401) return "not-authenticated";
  if (status == 403) return "not-authorized";
  if (status == 404) return "not-found";
  if (status >= 500) return "service-unavailable";
  return "bad-request";
}

std::string PathOf(const httplib::Request& req) {
  // req.path is already percent-decoded; keep the raw form so "%2F" in a
  // {path} stays distinguishable from a segment separator until routing.
  std::string target = req.target.empty() ? req.path : req.target;
  size_t query = target.find('?');
  if (query != std::string::npos) target.resize(query);
  return target;
}

// An HTTPS server for one certificate and key given as PEM text.
absl::StatusOr<std::unique_ptr<httplib::Server>> NewTlsServer(const std::string& cert_pem,
                                                              const std::string& key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = cert_bio != nullptr ? PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key =
      key_bio != nullptr ? PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(key_bio);
  std::unique_ptr<httplib::SSLServer> server;
  if (cert != nullptr && key != nullptr) {
    // The server's SSL_CTX takes its own references to both.
    server = std::make_unique<httplib::SSLServer>(cert, key);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (server == nullptr || !server->is_valid()) {
    return absl::InvalidArgumentError(
        "cannot use the TLS certificate and key (PEM expected; the key must match the certificate)");
  }
  return std::unique_ptr<httplib::Server>(std::move(server));
}

// The emulator has no translations. What it does with Accept-Language, so a
// client can see its language arrived: the answer says Content-Language, and
// an error's message (Files.com's localised part) starts with "[<language>] ".
void Localize(const std::string& language, HttpReply* reply) {
  reply->headers.emplace_back("Content-Language", language);
  if (reply->status < 400 || reply->body.empty()) return;
  rapidjson::Document doc;
  doc.Parse(reply->body.data(), reply->body.size());
  if (doc.HasParseError() || !doc.IsObject()) return;
  auto error = doc.FindMember("error");
  if (error == doc.MemberEnd() || !error->value.IsString()) return;
  const std::string text = absl::StrCat("[", language, "] ", error->value.GetString());
  error->value.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()),
                         doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  reply->body.assign(buffer.GetString(), buffer.GetSize());
}

FileSystemOptions FsOptions(const EmulatorOptions& o, std::function<absl::Time()> clock) {
  FileSystemOptions fs;
  fs.storage_dir = o.storage_dir;
  fs.clock = std::move(clock);
  return fs;
}

}  // namespace

struct Emulator::Impl {
  explicit Impl(EmulatorOptions o)
      : options(std::move(o)),
        clock(options.clock ? options.clock : [] { return absl::Now(); }),
        sessions(clock, options.session_ttl),
        actions(&Router::Default(), &store, &sessions, clock),
        fs(FsOptions(options, clock)),
        files(&fs, ApiOptions(), Hooks()),
        rate_limit({options.rate_limit_per_second, options.rate_limit_burst}) {
    files.Register(&actions);
  }

  FilesApiOptions ApiOptions() {
    FilesApiOptions o;
    o.part_size = options.part_size;
    o.upload_url_ttl = options.upload_url_ttl;
    o.upload_idle_ttl = options.upload_idle_ttl;
    o.download_url_ttl = options.download_url_ttl;
    o.demo_site = options.demo_site;
    o.clock = clock;
    o.https = Tls();
    o.part_token_header = options.part_token_header;
    o.base_url = [this] { return absl::StrCat(Scheme(), options.listen_host, ":", port); };
    return o;
  }
  bool Tls() const { return !options.tls_cert_pem.empty() && !options.tls_key_pem.empty(); }
  const char* Scheme() const { return Tls() ? "https://" : "http://"; }
  HttpHooks Hooks() {
    HttpHooks h;
    h.wait = [this](int64_t ms) { Wait(ms); };
    h.stopping = [this] { return stopping.HasBeenNotified(); };
    h.drop = [](const httplib::Request& req) { DropConnection(req); };
    return h;
  }

  void Serve(const httplib::Request& req, httplib::Response& res);
  void Upload(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader);
  void Control(const std::string& path, const httplib::Request& req, httplib::Response& res);
  bool ControlAllowed(const httplib::Request& req) const;
  HttpReply Api(const httplib::Request& req, const std::string& path);
  absl::Status Authenticate(const httplib::Request& req, ActionRequest* action) const;
  void Write(HttpReply reply, const FaultRule* fault, httplib::Response& res);
  // Waits `ms`, returning early when the emulator stops.
  void Wait(int64_t ms) {
    if (ms > 0) stopping.WaitForNotificationWithTimeout(absl::Milliseconds(ms));
  }

  EmulatorOptions options;
  std::function<absl::Time()> clock;
  Store store;
  Sessions sessions;
  Actions actions;
  FaultSet faults;
  RequestCounter counter;
  FileSystem fs;
  FilesApi files;
  KeyRateLimiter rate_limit;
  bool fs_ready = false;
  // An SSLServer when options ask for TLS (made in Start, which can fail).
  std::unique_ptr<httplib::Server> server_holder;
  httplib::Server* server = nullptr;
  std::thread thread;
  int port = 0;
  bool started = false;
  absl::Notification stopping;
  std::atomic<bool> loop_exited{false};
  absl::Notification loop_exited_note;
};

void Emulator::Impl::Serve(const httplib::Request& req, httplib::Response& res) {
  // Any request may find abandoned uploads past their idle time, not only
  // upload traffic: the memory must come back even if no upload follows.
  files.uploads().SweepIfDue();
  std::string path = PathOf(req);
  bool download = absl::StartsWith(path, kDownloadPrefix) &&
                  (req.method == "GET" || req.method == "HEAD");
  if (!download && absl::StartsWith(path, kControlPrefix)) return Control(path, req, res);
  counter.Count(req.method, path);
  std::optional<FaultRule> fault = faults.Take(req.method, path);
  if (fault) {
    Wait(fault->delay_ms);
    if (fault->drop) {
      DropConnection(req);
      res.status = 500;  // never reaches the client
      return;
    }
  }
  const FaultRule* rule = fault ? &*fault : nullptr;
  if (rule != nullptr && rule->drop_after_action) {
    if (!download) Api(req, path);  // takes effect; the answer is lost
    DropConnection(req);
    res.status = 500;  // never reaches the client
    return;
  }
  if (download) return files.ServeDownload(req, res, rule);
  if (rate_limit.enabled() && absl::StartsWith(path, kApiPrefix)) {
    // One bucket per credential, as Files.com counts: the API key, else the
    // session. Unauthenticated requests are refused by auth anyway.
    std::string who = req.has_header("X-FilesAPI-Key")
                          ? "key:" + req.get_header_value("X-FilesAPI-Key")
                          : req.has_header("X-FilesAPI-Auth")
                                ? "session:" + req.get_header_value("X-FilesAPI-Auth")
                                : std::string();
    if (!who.empty()) {
      KeyRateLimiter::Verdict verdict = rate_limit.Admit(who, clock());
      if (!verdict.allowed) {
        HttpReply reply = ErrorReply(
            ApiError("rate-limited/too-many-requests",
                     absl::StrCat("Too Many Requests: retry after ", verdict.retry_after_seconds,
                                  " s.")),
            429);
        reply.headers.emplace_back("Retry-After", absl::StrCat(verdict.retry_after_seconds));
        return Write(std::move(reply), rule, res);
      }
    }
  }
  if (rule != nullptr && rule->status != 0) {
    HttpReply reply = rule->body.empty()
                          ? ErrorReply(ApiError(FaultType(rule->status), "Injected fault."),
                                       rule->status)
                          : HttpReply::Json(rule->status, rule->body);
    if (!rule->retry_after.empty()) reply.headers.emplace_back("Retry-After", rule->retry_after);
    return Write(std::move(reply), rule, res);
  }
  Write(Api(req, path), rule, res);
}

void Emulator::Impl::Upload(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
  std::string path = PathOf(req);
  counter.Count(req.method, path);
  std::optional<FaultRule> fault = faults.Take(req.method, path);
  if (fault) {
    Wait(fault->delay_ms);
    if (fault->drop) {
      DropConnection(req);
      res.status = 500;
      return;
    }
  }
  files.ServeUpload(req, res, reader, fault ? &*fault : nullptr);
  if (fault && fault->drop_after_action) {
    DropConnection(req);  // the part is stored; the answer is lost
    res.status = 500;
  }
}

absl::Status Emulator::Impl::Authenticate(const httplib::Request& req, ActionRequest* action) const {
  if (req.has_header("X-FilesAPI-Key")) {
    std::string key = req.get_header_value("X-FilesAPI-Key");
    bool ok = options.api_key.empty() ? !key.empty() : key == options.api_key;
    if (ok) return absl::OkStatus();
    return ApiError("not-authenticated/invalid-credentials", "Invalid API key.");
  }
  if (req.has_header("X-FilesAPI-Auth")) {
    std::string session_id = req.get_header_value("X-FilesAPI-Auth");
    if (auto user = sessions.UserOf(session_id)) {
      action->session_user = *user;
      action->session_id = std::move(session_id);
      return absl::OkStatus();
    }
    return ApiError("not-authenticated/invalid-session", "Invalid or expired session.");
  }
  return ApiError("not-authenticated/authentication-required",
                  "Authentication required: send X-FilesAPI-Key or X-FilesAPI-Auth.");
}

HttpReply Emulator::Impl::Api(const httplib::Request& req, const std::string& path) {
  absl::string_view api_path = path;
  if (!absl::ConsumePrefix(&api_path, kApiPrefix) ||
      !(api_path.empty() || api_path.front() == '/')) {
    return ErrorReply("not-found", absl::StrCat("Not Found: ", req.method, " ", path));
  }
  auto match = Router::Default().Match(req.method, api_path);
  if (!match) {
    return ErrorReply("not-found",
                      absl::StrCat("Not Found: no route for ", req.method, " ", path));
  }
  const Route& route = *match->route;
  ActionRequest action;
  action.route = &route;
  action.http_method = req.method;
  action.path = std::string(api_path);
  action.body = req.body;
  action.host = req.get_header_value("Host");
  action.path_params = match->path_params;
  bool is_login = route.sdk.resource() == "Session" && route.sdk.action() == "create";
  if (absl::Status auth = Authenticate(req, &action); !auth.ok() && !is_login) {
    return ErrorReply(auth);
  }
  if (req.has_header("X-Files-Workspace-Id")) {
    int64_t workspace = 0;
    if (!absl::SimpleAtoi(req.get_header_value("X-Files-Workspace-Id"), &workspace) ||
        workspace < 0) {
      return ErrorReply("bad-request/invalid-workspace-id-header",
                        "X-Files-Workspace-Id must be a workspace id (an integer).");
    }
    action.workspace_id = workspace;
  }
  action.language = req.get_header_value("Accept-Language");
  const auto* request_type = route.method->input_type();
  FlatParams flat(req.params.begin(), req.params.end());  // query (and urlencoded form)
  for (const auto& [name, part] : req.files) flat.emplace_back(name, part.content);
  action.params = ParamsFromFlat(flat, request_type);
  // DELETE may carry a JSON body too: the JS SDK sends `{"recursive": true}` so.
  bool json_body = req.method != "GET" && req.method != "HEAD" &&
                   !(req.method == "DELETE" && req.body.empty()) && !req.is_multipart_form_data() &&
                   !absl::StartsWith(req.get_header_value("Content-Type"),
                                     "application/x-www-form-urlencoded");
  if (json_body) {
    auto body = ParamsFromJsonBody(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    for (auto& m : body->GetObject()) {
      SetMember(action.params, absl::string_view(m.name.GetString(), m.name.GetStringLength()),
                std::move(m.value));
    }
  }
  for (const auto& [name, value] : match->path_params) {
    SetMember(action.params, name, JsonString(value));
  }
  if (absl::Status s = CoerceParams(request_type, &action.params); !s.ok()) return ErrorReply(s);
  if (absl::Status s = CheckRequired(request_type, action.params); !s.ok()) return ErrorReply(s);
  HttpReply reply = actions.Handle(action);
  reply.headers.emplace_back("X-Emulator-Rpc", route.method->full_name());
  if (!action.language.empty()) Localize(action.language, &reply);
  return reply;
}

void Emulator::Impl::Write(HttpReply reply, const FaultRule* fault, httplib::Response& res) {
  res.status = reply.status;
  for (auto& [name, value] : reply.headers) res.set_header(name.c_str(), value);
  if (reply.body.empty()) return;
  const int64_t stall_ms = fault != nullptr ? fault->stall_ms : 0;
  const int64_t cut = fault != nullptr ? fault->cut_after_bytes : -1;
  if (stall_ms <= 0 && cut < 0) {
    res.set_content(reply.body, reply.content_type.c_str());
    return;
  }
  // Headers and the first half of the body go out, then the rest after a
  // stall; or the first `cut` bytes, then the connection closes.
  auto body = std::make_shared<std::string>(std::move(reply.body));
  size_t half = body->size() / 2;
  res.set_content_provider(
      body->size(), reply.content_type,
      [this, body, half, stall_ms, cut](size_t offset, size_t, httplib::DataSink& sink) {
        size_t end = body->size();
        if (cut >= 0) {
          if (offset >= static_cast<size_t>(cut)) return false;
          end = std::min(end, static_cast<size_t>(cut));
        }
        if (stall_ms > 0 && offset < half) {
          end = std::min(end, half);
        } else if (stall_ms > 0 && offset == half) {
          Wait(stall_ms);
          if (stopping.HasBeenNotified()) return false;
        }
        return sink.write(body->data() + offset, end - offset);
      });
}

bool Emulator::Impl::ControlAllowed(const httplib::Request& req) const {
  if (!options.control_token.empty() && req.has_header(kControlTokenHeader) &&
      req.get_header_value(kControlTokenHeader) == options.control_token) {
    return true;
  }
  if (!req.has_header("X-FilesAPI-Key")) return false;
  const std::string key = req.get_header_value("X-FilesAPI-Key");
  return options.api_key.empty() ? !key.empty() : key == options.api_key;
}

void Emulator::Impl::Control(const std::string& path, const httplib::Request& req,
                             httplib::Response& res) {
  auto json = [&res](int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
  };
  if (!options.control_endpoints) {
    HttpReply error = ErrorReply("not-found", absl::StrCat("Not Found: ", req.method, " ", path));
    return json(error.status, error.body);
  }
  if (!ControlAllowed(req)) {
    HttpReply error = ErrorReply(ApiError(
        "not-authenticated/authentication-required",
        absl::StrCat("Control endpoints need X-FilesAPI-Key or ", kControlTokenHeader, ".")));
    return json(error.status, error.body);
  }
  std::string what = path.substr(kControlPrefix.size());
  if (what == "faults" && req.method == "POST") {
    auto rules = ParseFaultRules(req.body);
    if (!rules.ok()) {
      HttpReply error = ErrorReply(rules.status());
      return json(error.status, error.body);
    }
    JsonValue ids(rapidjson::kArrayType);
    for (auto& rule : *rules) ids.PushBack(JsonValue(static_cast<int64_t>(faults.Add(std::move(rule)))), Alloc());
    JsonValue out(rapidjson::kObjectType);
    if (ids.Size() > 0) out.AddMember("id", JsonValue(ids[0], Alloc()), Alloc());
    out.AddMember("ids", std::move(ids), Alloc());
    return json(201, ToJson(out));
  }
  if (what == "faults" && req.method == "GET") return json(200, faults.ToJson());
  if (what == "faults" && req.method == "DELETE") {
    faults.Clear();
    res.status = 204;
    return;
  }
  if (what == "requests" && req.method == "GET") return json(200, counter.ToJson());
  if (what == "rate_limit" && req.method == "GET") return json(200, rate_limit.ToJson());
  if (what == "reset" && req.method == "POST") {
    faults.Clear();
    counter.Reset();
    rate_limit.Reset();
    // Records too: a test that deleted user 1 must not leave the next one
    // without it (seen when a test binary ran all its cases in one process).
    store.Clear();
    if (options.demo_site) actions.SeedDemoSite();
    if (options.demo_site && fs_ready) files.SeedDemo();
    return json(200, R"({"reset":true})");
  }
  if (what == "urls/expire" && req.method == "POST") {
    files.ExpireUrls();
    return json(200, R"({"expired":true})");
  }
  if (what == "uploads" && req.method == "GET") {
    UploadSessions::Stats stats = files.uploads().GetStats();
    return json(200, absl::StrCat(R"({"sessions":)", stats.sessions, R"(,"parts":)", stats.parts,
                                  R"(,"bytes":)", stats.bytes, "}"));
  }
  if (what == "sessions/expire" && req.method == "POST") {
    sessions.ExpireAll();
    return json(200, R"({"expired":true})");
  }
  HttpReply error = ErrorReply("not-found", absl::StrCat("No control endpoint ", req.method, " ", path));
  json(error.status, error.body);
}

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->options.demo_site) impl_->actions.SeedDemoSite();
}

Emulator::~Emulator() { Stop(); }

absl::Status Emulator::Start() {
  Impl& s = *impl_;
  if (s.started) return absl::FailedPreconditionError("emulator already started");
  if (!s.fs_ready) {
    if (absl::Status fs = s.fs.Init(); !fs.ok()) return fs;
    if (s.options.demo_site) s.files.SeedDemo();
    s.fs_ready = true;
  }
  if (s.server_holder == nullptr) {
    if (s.Tls()) {
      auto tls = NewTlsServer(s.options.tls_cert_pem, s.options.tls_key_pem);
      if (!tls.ok()) return tls.status();
      s.server_holder = *std::move(tls);
    } else {
      s.server_holder = std::make_unique<httplib::Server>();
    }
    s.server = s.server_holder.get();
  }
  int threads = s.options.threads > 0 ? s.options.threads : 1;
  s.server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.server->set_tcp_nodelay(true);  // headers and body are separate writes
  // httplib's default sets SO_REUSEPORT, with which a second emulator binds
  // the same port silently and the kernel splits connections between the
  // two. SO_REUSEADDR alone still allows a restart over TIME_WAIT sockets
  // while an address in use fails to bind.
  s.server->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.server->set_keep_alive_max_count(10000);
  s.server->set_keep_alive_timeout(30);
  s.server->set_read_timeout(30, 0);
  s.server->set_write_timeout(30, 0);
  auto handler = [&s](const httplib::Request& req, httplib::Response& res) { s.Serve(req, res); };
  // Part uploads stream their body into storage (not into req.body first).
  s.server->Put(absl::StrCat(kUploadPrefix, ".*"),
               [&s](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) { s.Upload(req, res, reader); });
  s.server->Get(".*", handler);
  s.server->Post(".*", handler);
  s.server->Put(".*", handler);
  s.server->Patch(".*", handler);
  s.server->Delete(".*", handler);
  s.server->Options(".*", handler);
  if (s.options.port == 0) {
    s.port = s.server->bind_to_any_port(s.options.listen_host);
    if (s.port <= 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", s.options.listen_host));
    }
  } else {
    if (!s.server->bind_to_port(s.options.listen_host, s.options.port)) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", s.options.listen_host, ":", s.options.port,
                       " (address in use, or not an address of this host)"));
    }
    s.port = s.options.port;
  }
  RaiseListenBacklog(s.port);
  s.started = true;
  // The socket already listens: connections queue until the accept loop runs.
  s.thread = std::thread([&s] {
    s.server->listen_after_bind();
    s.loop_exited.store(true);
    s.loop_exited_note.Notify();
  });
  return absl::OkStatus();
}

void Emulator::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  if (!s.stopping.HasBeenNotified()) s.stopping.Notify();
  // httplib's stop() is a no-op until the accept loop has begun: keep asking
  // until the loop has returned.
  while (!s.loop_exited.load()) {
    s.server->stop();
    s.loop_exited_note.WaitForNotificationWithTimeout(absl::Milliseconds(5));
  }
  s.thread.join();
  s.started = false;
}

int Emulator::port() const { return impl_->port; }

std::string Emulator::base_url() const {
  return absl::StrCat(impl_->Scheme(), impl_->options.listen_host, ":", impl_->port);
}

absl::StatusOr<int64_t> Emulator::AddFault(absl::string_view rule_json) {
  auto rule = ParseFaultRule(rule_json);
  if (!rule.ok()) return rule.status();
  return impl_->faults.Add(std::move(*rule));
}

int64_t Emulator::AddFault(FaultRule rule) { return impl_->faults.Add(std::move(rule)); }
void Emulator::ClearFaults() { impl_->faults.Clear(); }
int64_t Emulator::RequestCount(const std::string& key) const { return impl_->counter.Get(key); }
KeyRateLimiter::Counts Emulator::RateLimitCounts() const { return impl_->rate_limit.counts(); }
std::string Emulator::RequestCountsJson() const { return impl_->counter.ToJson(); }

void Emulator::Reset() {
  impl_->faults.Clear();
  impl_->counter.Reset();
  impl_->rate_limit.Reset();
  if (impl_->options.demo_site && impl_->fs_ready) impl_->files.SeedDemo();
}

void Emulator::ExpireSessions() { impl_->sessions.ExpireAll(); }
void Emulator::ExpireUrls() { impl_->files.ExpireUrls(); }

UploadStats Emulator::Uploads() {
  UploadSessions::Stats s = impl_->files.uploads().GetStats();
  return UploadStats{s.sessions, s.parts, s.bytes};
}
FileSystem& Emulator::file_system() { return impl_->fs; }
FilesApi& Emulator::files_api() { return impl_->files; }

void Emulator::OverrideAction(std::string full_method_name, ActionHandler handler) {
  impl_->actions.Override(std::move(full_method_name), std::move(handler));
}

Actions& Emulator::actions() { return impl_->actions; }

}  // namespace filesgw::emulator
