// Transfer throughput and memory: 1 GiB download and upload through
// files-gateway's TransferService vs libcurl straight to the emulator's
// download URL / part URLs, with the gateway's CPU seconds per GiB and peak
// RSS; RSS for 100 MiB vs 1 GiB streams; 32 concurrent 100 MiB streams; and a
// download chunk-size sweep. Prints figures and targets side by side.
//
//   build/bench/transfer_bench [--build DIR] [--gib N] [--streams N] [--skip-sweep] [--tls]
//                              [--only upload|download|many|ceiling|sweep|relay|parts]...
//
// --tls: the emulator serves HTTPS (--tls-self-signed), the gateway trusts its
// CA (--ca-file) and the direct libcurl baseline does too, so both sides pay
// for TLS as they would against Files.com.
//
// The emulator and a fresh gateway per scenario run as separate processes so
// the gateway's CPU and peak RSS (VmHWM) are its own.
//
// --only relay: the transfer floor, a do-nothing relay on the same stacks
// (RelayService below), its CPU s/GiB each way.
//
// gRPC's own ceiling on the machine: this program re-run as a trivial
// TransferService (--ceiling-server proto|raw) streaming pre-made messages to
// the same client code as the gateway's download: "proto" writes a prepared
// DownloadResponse (gRPC serialises it: one copy per message), "raw" writes a
// prepared serialised ByteBuffer (no copy at all).
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/method_handler.h"
#include "rapidjson/document.h"

namespace {

using filesgw::bench::CpuSeconds;
using filesgw::bench::PeakRssMiB;
using filesgw::bench::Proc;
using filesgw::bench::Spawn;
using filesgw::bench::Threads;

constexpr int64_t kMiB = 1 << 20;
const std::string kKey = "bench-key";

struct Env {
  std::string build;
  std::string base;  // emulator base URL
};

struct Gateway {
  Proc proc;
  std::shared_ptr<grpc::Channel> channel;
};

// Extra environment for every gateway (--gateway-env NAME=VALUE), e.g. glibc
// malloc tunables to compare allocator settings without rebuilding.
std::vector<std::string> g_gateway_env;
pid_t g_emulator = -1;  // its CPU is measured alongside
// --tls: the emulator's CA, trusted by the gateway and by the direct curl calls.
std::string g_ca_file;
void TrustEmulator(CURL* c) {
  if (!g_ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, g_ca_file.c_str());
}
// Words put before the gateway's command line (--gateway-prefix "heaptrack"),
// to run it under a profiler; CPU and RSS then are the wrapper's.
std::vector<std::string> g_gateway_prefix;

// The last gateway started ("127.0.0.1:PORT").
std::string g_gateway_target;

// A channel of its own (its own connection: a distinct channel argument stops
// gRPC sharing one), as a separate caller would have.
std::unique_ptr<files::v1::TransferService::Stub> OwnStub(int n) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetInt("filesgw.bench.caller", n);
  return files::v1::TransferService::NewStub(
      grpc::CreateCustomChannel(g_gateway_target, grpc::InsecureChannelCredentials(), args));
}

Gateway StartGateway(const Env& env, const std::vector<std::string>& extra = {}) {
  std::string line;
  std::vector<std::string> argv = {env.build + "/server/files-gateway", "--listen", "127.0.0.1:0",
                                   "--base-url", env.base, "--log-level", "info"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (!g_ca_file.empty()) {
    argv.push_back("--ca-file");
    argv.push_back(g_ca_file);
  }
  argv.insert(argv.begin(), g_gateway_prefix.begin(), g_gateway_prefix.end());
  Gateway g;
  std::vector<std::string> environment = g_gateway_env;
  environment.push_back("FILES_API_KEY=" + kKey);
  g.proc = Spawn(argv, "\"listening\"", &line, environment);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  g_gateway_target = absl::StrCat("127.0.0.1:", filesgw::bench::PortFrom(line));
  g.channel = grpc::CreateCustomChannel(g_gateway_target, grpc::InsecureChannelCredentials(), args);
  // The gateway trims its heap just after it says it listens: let it, so the
  // scenario starts from the idle RSS.
  absl::SleepFor(absl::Milliseconds(300));
  return g;
}

// One MiB of pattern, varied per MiB so misplaced parts would show.
void FillBlock(std::string* block, int64_t at) {
  std::memcpy(block->data(), &at, sizeof(at));
}

bool UploadThroughGateway(files::v1::TransferService::Stub* stub, const std::string& path,
                          int64_t size) {
  grpc::ClientContext ctx;
  files::v1::UploadResponse response;
  auto writer = stub->Upload(&ctx, &response);
  files::v1::UploadRequest first;
  first.mutable_spec()->set_path(path);
  first.mutable_spec()->set_mkdir_parents(true);
  first.mutable_spec()->set_expected_size(size);
  if (!writer->Write(first)) return false;
  files::v1::UploadRequest m;
  std::string* block = m.mutable_data();
  block->assign(kMiB, 'x');
  for (int64_t at = 0; at < size; at += kMiB) {
    block->resize(static_cast<size_t>(std::min(kMiB, size - at)));
    FillBlock(block, at);
    if (!writer->Write(m)) break;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) std::fprintf(stderr, "upload %s: %s\n", path.c_str(), s.error_message().c_str());
  return s.ok() && response.file().size() == size;
}

int64_t DownloadThroughGateway(files::v1::TransferService::Stub* stub, const std::string& path,
                               int chunk = 0) {
  grpc::ClientContext ctx;
  files::v1::DownloadRequest req;
  req.set_path(path);
  req.set_chunk_size(chunk);
  auto reader = stub->Download(&ctx, req);
  files::v1::DownloadResponse m;
  int64_t bytes = 0;
  while (reader->Read(&m)) bytes += static_cast<int64_t>(m.data().size());
  grpc::Status s = reader->Finish();
  if (!s.ok()) std::fprintf(stderr, "download %s: %s\n", path.c_str(), s.error_message().c_str());
  return s.ok() ? bytes : -1;
}

size_t CountBytes(char* /*ptr*/, size_t size, size_t n, void* out) {
  *static_cast<int64_t*>(out) += static_cast<int64_t>(size * n);
  return size * n;
}
size_t Collect(char* ptr, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(ptr, size * n);
  return size * n;
}

std::string ApiCall(const Env& env, const std::string& method, const std::string& path,
                    const std::string& body = "") {
  CURL* c = curl_easy_init();
  std::string out;
  std::string url = env.base + "/api/rest/v1" + path;
  curl_slist* headers = curl_slist_append(nullptr, ("X-FilesAPI-Key: " + kKey).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  TrustEmulator(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  }
  curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return out;
}

// libcurl GET of the download URL, no gateway.
int64_t DownloadDirect(const Env& env, const std::string& path) {
  rapidjson::Document doc;
  std::string meta = ApiCall(env, "GET", "/files/" + path);
  doc.Parse(meta.c_str());
  if (!doc.IsObject() || !doc.HasMember("download_uri")) return -1;
  CURL* c = curl_easy_init();
  int64_t bytes = 0;
  curl_easy_setopt(c, CURLOPT_URL, doc["download_uri"].GetString());
  TrustEmulator(c);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CountBytes);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  return rc == CURLE_OK ? bytes : -1;
}

struct PartUrl {
  std::string url;
  std::vector<std::string> headers;
  int64_t size = 0;
};

// The upload protocol with libcurl, no gateway: begin_upload, part PUTs with up
// to `parallel` in flight (curl multi), end.
bool UploadDirect(const Env& env, const std::string& path, int64_t size, int parallel) {
  std::string ref;
  std::vector<PartUrl> parts;
  int64_t partsize = 0;
  auto fetch = [&](int from) {
    std::string body = ref.empty() ? absl::StrCat(R"({"size":)", size, R"(,"mkdir_parents":true})")
                                   : absl::StrCat(R"({"ref":")", ref, R"(","part":)", from, R"(,"parts":8})");
    rapidjson::Document doc;
    std::string answer = ApiCall(env, "POST", "/file_actions/begin_upload/" + path, body);
    doc.Parse(answer.c_str());
    if (!doc.IsArray()) return false;
    for (const auto& p : doc.GetArray()) {
      if (ref.empty()) ref = p["ref"].GetString();
      partsize = p["partsize"].GetInt64();
      PartUrl u;
      u.url = p["upload_uri"].GetString();
      if (p.HasMember("headers") && p["headers"].IsObject()) {
        for (const auto& h : p["headers"].GetObject()) {
          u.headers.push_back(absl::StrCat(h.name.GetString(), ": ", h.value.GetString()));
        }
      }
      int n = p["part_number"].GetInt();
      if (static_cast<int>(parts.size()) < n) parts.resize(n);
      parts[n - 1] = u;
    }
    return true;
  };
  if (!fetch(1)) return false;
  const int count = static_cast<int>((size + partsize - 1) / partsize);
  CURLM* multi = curl_multi_init();
  struct Running {
    CURL* easy;
    curl_slist* headers;
    std::string body;
    std::string response_headers;
    int part;
  };
  std::vector<std::unique_ptr<Running>> running;
  std::vector<std::string> etags(count);
  int next = 1, done = 0;
  std::string block(kMiB, 'x');
  while (done < count) {
    while (next <= count && static_cast<int>(running.size()) < parallel) {
      if (static_cast<int>(parts.size()) < next || parts[next - 1].url.empty()) fetch(next);
      auto r = std::make_unique<Running>();
      r->part = next;
      int64_t from = (next - 1) * partsize, n = std::min(partsize, size - from);
      r->body.reserve(n);
      for (int64_t at = from; at < from + n; at += kMiB) {
        FillBlock(&block, at);
        r->body.append(block, 0, static_cast<size_t>(std::min(kMiB, from + n - at)));
      }
      r->easy = curl_easy_init();
      r->headers = nullptr;
      for (const auto& h : parts[next - 1].headers) r->headers = curl_slist_append(r->headers, h.c_str());
      r->headers = curl_slist_append(r->headers, "Expect:");
      curl_easy_setopt(r->easy, CURLOPT_URL, parts[next - 1].url.c_str());
      TrustEmulator(r->easy);
      curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body.data());
      curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r->body.size()));
      curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
      curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, &Collect);
      curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, &r->response_headers);
      curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, &CountBytes);
      int64_t ignored = 0;
      curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &ignored);
      curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r.get());
      curl_multi_add_handle(multi, r->easy);
      running.push_back(std::move(r));
      ++next;
    }
    int still = 0;
    curl_multi_perform(multi, &still);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Running* r = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
      auto at = r->response_headers.find("ETag: \"");
      if (at == std::string::npos) at = r->response_headers.find("etag: \"");
      if (at != std::string::npos) {
        at += 7;
        etags[r->part - 1] = r->response_headers.substr(at, r->response_headers.find('"', at) - at);
      }
      curl_multi_remove_handle(multi, r->easy);
      curl_easy_cleanup(r->easy);
      curl_slist_free_all(r->headers);
      running.erase(std::find_if(running.begin(), running.end(),
                                 [r](const auto& p) { return p.get() == r; }));
      ++done;
    }
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  curl_multi_cleanup(multi);
  std::string end = absl::StrCat(R"({"action":"end","ref":")", ref, R"(","size":)", size, R"(,"etags":[)");
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&end, i ? "," : "", R"({"etag":")", etags[i], R"(","part":")", i + 1, R"("})");
  }
  end += "]}";
  std::string answer = ApiCall(env, "POST", "/files/" + path, end);
  return answer.find("\"size\":" + std::to_string(size)) != std::string::npos;
}

// --ceiling-server: Download streams request.length() bytes in messages of
// request.chunk_size() bytes, made once; the server has the gateway's channel
// settings (no BDP probing, 1 MiB stream window).
class CeilingService final : public files::v1::TransferService::Service {
 public:
  explicit CeilingService(bool raw) {
    if (!raw) return;
    // Download (method 1) as a stream of ready ByteBuffers.
    MarkMethodStreamed(1, new grpc::internal::BidiStreamingHandler<
                              CeilingService, files::v1::DownloadRequest, grpc::ByteBuffer>(
                              [](CeilingService*, grpc::ServerContext*,
                                 grpc::ServerReaderWriter<grpc::ByteBuffer, files::v1::DownloadRequest>* stream) {
                                files::v1::DownloadRequest req;
                                if (!stream->Read(&req)) return grpc::Status::CANCELLED;
                                files::v1::DownloadResponse m;
                                m.mutable_data()->assign(static_cast<size_t>(req.chunk_size()), 'x');
                                m.set_offset(1);
                                std::string bytes = m.SerializeAsString();
                                grpc::Slice slice(bytes);
                                grpc::ByteBuffer ready(&slice, 1);
                                for (int64_t sent = 0; sent < req.length(); sent += req.chunk_size()) {
                                  if (!stream->Write(ready)) return grpc::Status::CANCELLED;
                                }
                                return grpc::Status::OK;
                              },
                              this));
  }
  grpc::Status Download(grpc::ServerContext*, const files::v1::DownloadRequest* req,
                        grpc::ServerWriter<files::v1::DownloadResponse>* writer) override {
    files::v1::DownloadResponse m;
    m.mutable_data()->assign(static_cast<size_t>(req->chunk_size()), 'x');
    m.set_offset(1);
    for (int64_t sent = 0; sent < req->length(); sent += req->chunk_size()) {
      if (!writer->Write(m)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }
};

int CeilingServer(bool raw) {
  CeilingService service(raw);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::printf("{\"msg\":\"listening\",\"address\":\"127.0.0.1:%d\"}\n", port);
  std::fflush(stdout);
  pause();  // until SIGTERM
  return 0;
}

// --relay-server BASE_URL [CA_FILE]: the floor for transfers, a do-nothing
// relay on the gateway's own stacks (gRPC sync server, libcurl) with none of
// its checks, retries, parallel parts or flow control: Download = one API
// call for the download URL, then curl GET -> gRPC messages of the request's
// chunk size (the gateway's 512 KiB default when 0); Upload = gRPC messages
// -> part buffers of `partsize` -> one curl PUT per part, begin_upload before
// each, then end. Its CPU s/GiB is what the gateway's is compared with.
struct RelaySink {
  grpc::ServerWriter<files::v1::DownloadResponse>* writer;
  files::v1::DownloadResponse m;
  size_t chunk;
  int64_t offset = 0;
  bool ok = true;
  bool Flush() {
    if (m.data().empty()) return true;
    m.set_offset(offset);
    offset += static_cast<int64_t>(m.data().size());
    ok = writer->Write(m);
    m.mutable_data()->clear();
    return ok;
  }
};

size_t RelayWrite(char* ptr, size_t size, size_t n, void* out) {
  auto* k = static_cast<RelaySink*>(out);
  size_t len = size * n, at = 0;
  while (at < len) {
    size_t take = std::min(len - at, k->chunk - k->m.data().size());
    k->m.mutable_data()->append(ptr + at, take);
    at += take;
    if (k->m.data().size() == k->chunk && !k->Flush()) return 0;
  }
  return len;
}

class RelayService final : public files::v1::TransferService::Service {
 public:
  explicit RelayService(Env env) : env_(std::move(env)) {}

  grpc::Status Download(grpc::ServerContext*, const files::v1::DownloadRequest* req,
                        grpc::ServerWriter<files::v1::DownloadResponse>* writer) override {
    rapidjson::Document doc;
    std::string meta = ApiCall(env_, "GET", "/files/" + req->path());
    doc.Parse(meta.c_str());
    if (!doc.IsObject() || !doc.HasMember("download_uri") || !doc["download_uri"].IsString()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no download_uri");
    }
    RelaySink sink{writer, {}, req->chunk_size() > 0 ? static_cast<size_t>(req->chunk_size()) : 512u << 10};
    sink.m.mutable_data()->reserve(sink.chunk);
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, doc["download_uri"].GetString());
    TrustEmulator(c);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &RelayWrite);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || !sink.Flush()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay GET failed");
    return grpc::Status::OK;
  }

  grpc::Status Upload(grpc::ServerContext*, grpc::ServerReader<files::v1::UploadRequest>* reader,
                      files::v1::UploadResponse* response) override {
    files::v1::UploadRequest m;
    if (!reader->Read(&m) || !m.has_spec()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec first");
    const std::string path = m.spec().path();
    const int64_t size = m.spec().expected_size();
    std::string ref, url, part_buffer;
    int64_t partsize = 0, sent = 0;
    int part = 0;
    std::vector<std::string> etags;
    auto begin = [&]() {
      std::string body = ref.empty() ? absl::StrCat(R"({"size":)", size, R"(,"mkdir_parents":true})")
                                     : absl::StrCat(R"({"ref":")", ref, R"(","part":)", part + 1, "}");
      rapidjson::Document doc;
      doc.Parse(ApiCall(env_, "POST", "/file_actions/begin_upload/" + path, body).c_str());
      if (!doc.IsArray() || doc.Empty() || !doc[0].IsObject()) return false;
      const auto& p = doc[0];
      if (ref.empty()) ref = p["ref"].GetString();
      partsize = p["partsize"].GetInt64();
      url = p["upload_uri"].GetString();
      part = p["part_number"].GetInt();
      return true;
    };
    auto put = [&]() {
      std::string headers_in;
      CURL* c = curl_easy_init();
      curl_slist* headers = curl_slist_append(nullptr, "Expect:");
      curl_easy_setopt(c, CURLOPT_URL, url.c_str());
      TrustEmulator(c);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, part_buffer.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(part_buffer.size()));
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Collect);
      curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers_in);
      int64_t ignored = 0;
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CountBytes);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &ignored);
      CURLcode rc = curl_easy_perform(c);
      curl_easy_cleanup(c);
      curl_slist_free_all(headers);
      auto at = headers_in.find("ETag: \"");
      if (at == std::string::npos) at = headers_in.find("etag: \"");
      if (rc != CURLE_OK || at == std::string::npos) return false;
      at += 7;
      etags.push_back(headers_in.substr(at, headers_in.find('"', at) - at));
      sent += static_cast<int64_t>(part_buffer.size());
      part_buffer.clear();
      return true;
    };
    if (!begin()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "begin_upload failed");
    part_buffer.reserve(static_cast<size_t>(partsize));
    while (reader->Read(&m)) {
      const std::string& data = m.data();
      size_t at = 0;
      while (at < data.size()) {
        size_t take = std::min(data.size() - at, static_cast<size_t>(partsize) - part_buffer.size());
        part_buffer.append(data, at, take);
        at += take;
        if (part_buffer.size() == static_cast<size_t>(partsize)) {
          if (!put() || (sent < size && !begin())) {
            return grpc::Status(grpc::StatusCode::UNAVAILABLE, "part PUT failed");
          }
        }
      }
    }
    if (!part_buffer.empty() && !put()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "part PUT failed");
    std::string end = absl::StrCat(R"({"action":"end","ref":")", ref, R"(","size":)", sent, R"(,"etags":[)");
    for (size_t i = 0; i < etags.size(); ++i) {
      absl::StrAppend(&end, i ? "," : "", R"({"etag":")", etags[i], R"(","part":")", i + 1, R"("})");
    }
    end += "]}";
    std::string answer = ApiCall(env_, "POST", "/files/" + path, end);
    if (answer.find("\"size\":" + std::to_string(sent)) == std::string::npos) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "end failed");
    }
    response->mutable_file()->set_size(sent);
    return grpc::Status::OK;
  }

 private:
  Env env_;
};

int RelayServer(const std::string& base, const std::string& ca_file) {
  g_ca_file = ca_file;
  Env env;
  env.base = base;
  RelayService service(env);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::printf("{\"msg\":\"listening\",\"address\":\"127.0.0.1:%d\"}\n", port);
  std::fflush(stdout);
  pause();  // until SIGTERM
  return 0;
}

int64_t DownloadCeiling(files::v1::TransferService::Stub* stub, int64_t size, int chunk) {
  grpc::ClientContext ctx;
  files::v1::DownloadRequest req;
  req.set_length(size);
  req.set_chunk_size(chunk);
  auto reader = stub->Download(&ctx, req);
  files::v1::DownloadResponse m;
  int64_t bytes = 0;
  while (reader->Read(&m)) bytes += static_cast<int64_t>(m.data().size());
  return reader->Finish().ok() ? bytes : -1;
}

struct Measure {
  double seconds = 0;
  double cpu = 0;
  double client_cpu = 0;  // this process (the benchmark's client side)
  double emulator_cpu = 0;
  // Gateway memory: RSS when the scenario starts, and the largest anonymous
  // and file-backed (shared libraries) parts of RSS sampled while it runs.
  double idle_mib = 0;
  double anon_mib = 0;
  double file_mib = 0;
  double faults = 0;  // minor page faults in the gateway
  double peak_mib = 0;
  int threads = 0;
  bool ok = true;
};

// Minor page faults so far (field 10 of /proc/PID/stat).
double MinorFaults(pid_t pid) {
  const std::string s = filesgw::bench::ReadProcFile(absl::StrCat("/proc/", pid, "/stat"));
  auto close_paren = s.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(s.substr(close_paren + 2), ' ');
  return f.size() > 7 ? std::atof(f[7].c_str()) : 0;
}

// A "Name:   123 kB" line of /proc/PID/status, in MiB.
double StatusMiB(pid_t pid, const std::string& name) {
  const std::string s = filesgw::bench::ReadProcFile(absl::StrCat("/proc/", pid, "/status"));
  auto at = s.find("\n" + name + ":");
  return at == std::string::npos ? 0 : std::atof(s.c_str() + at + name.size() + 2) / 1024.0;
}

Measure Timed(Gateway* g, const std::function<bool()>& body) {
  Measure m;
  double cpu0 = g ? CpuSeconds(g->proc.pid) : 0;
  const double client0 = CpuSeconds(getpid());
  const double emulator0 = CpuSeconds(g_emulator);
  absl::Time t0 = absl::Now();
  std::atomic<int> peak_threads{0};
  std::atomic<bool> stop{false};
  const double faults0 = g != nullptr ? MinorFaults(g->proc.pid) : 0;
  if (g != nullptr) {
    m.idle_mib = StatusMiB(g->proc.pid, "VmRSS");
    // Start the peak (VmHWM) afresh: the start-up transient (descriptor pool
    // parsing, about 10 MiB above the idle RSS, given back before serving)
    // is not the stream's.
    std::FILE* f = std::fopen(absl::StrCat("/proc/", g->proc.pid, "/clear_refs").c_str(), "w");
    if (f != nullptr) {
      std::fputs("5", f);
      std::fclose(f);
    }
  }
  std::thread sampler([&] {
    while (!stop.load() && g != nullptr) {
      peak_threads = std::max(peak_threads.load(), Threads(g->proc.pid));
      m.anon_mib = std::max(m.anon_mib, StatusMiB(g->proc.pid, "RssAnon"));
      m.file_mib = std::max(m.file_mib, StatusMiB(g->proc.pid, "RssFile"));
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  m.ok = body();
  m.seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  stop = true;
  sampler.join();
  m.client_cpu = CpuSeconds(getpid()) - client0;
  m.emulator_cpu = CpuSeconds(g_emulator) - emulator0;
  if (g != nullptr) {
    m.cpu = CpuSeconds(g->proc.pid) - cpu0;
    m.peak_mib = PeakRssMiB(g->proc.pid);
    m.faults = MinorFaults(g->proc.pid) - faults0;
    m.threads = peak_threads.load();
  }
  return m;
}

double MiBps(int64_t bytes, double seconds) { return static_cast<double>(bytes) / kMiB / seconds; }


// The median of each figure over repeated runs (each run on a fresh gateway).
Measure Median(std::vector<Measure> runs) {
  auto med = [&runs](auto field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(static_cast<double>(r.*field));
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
  };
  Measure m;
  m.seconds = med(&Measure::seconds);
  m.cpu = med(&Measure::cpu);
  m.client_cpu = med(&Measure::client_cpu);
  m.emulator_cpu = med(&Measure::emulator_cpu);
  m.idle_mib = med(&Measure::idle_mib);
  m.anon_mib = med(&Measure::anon_mib);
  m.file_mib = med(&Measure::file_mib);
  m.faults = med(&Measure::faults);
  m.peak_mib = med(&Measure::peak_mib);
  m.threads = static_cast<int>(med(&Measure::threads));
  for (const auto& r : runs) m.ok = m.ok && r.ok;
  return m;
}

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--ceiling-server") {
    return CeilingServer(std::string(argv[2]) == "raw");
  }
  if ((argc == 3 || argc == 4) && std::string(argv[1]) == "--relay-server") {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return RelayServer(argv[2], argc == 4 ? argv[3] : "");
  }
  Env env;
  env.build = "build";
  int64_t big = 1024 * kMiB;
  int streams = 32;
  int repeat = 1;
  std::vector<std::string> only;
  std::vector<std::string> gateway_args;
  bool sweep = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--build" && i + 1 < argc) env.build = argv[++i];
    else if (a == "--gib" && i + 1 < argc) big = static_cast<int64_t>(std::atof(argv[++i]) * 1024) * kMiB;
    else if (a == "--streams" && i + 1 < argc) streams = std::atoi(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--only" && i + 1 < argc) only.push_back(argv[++i]);
    else if (a == "--gateway-arg" && i + 1 < argc) gateway_args.push_back(argv[++i]);
    else if (a == "--gateway-env" && i + 1 < argc) g_gateway_env.push_back(argv[++i]);
    else if (a == "--gateway-prefix" && i + 1 < argc) {
      for (absl::string_view w : absl::StrSplit(argv[++i], ' ', absl::SkipEmpty())) g_gateway_prefix.emplace_back(w);
    }
    else if (a == "--skip-sweep") sweep = false;
    else if (a == "--tls") g_ca_file = absl::StrCat("/tmp/transfer_bench-ca-", getpid(), ".pem");
    else {
      std::fprintf(stderr,
                   "usage: transfer_bench [--build DIR] [--gib N] [--streams N] [--repeat N] [--skip-sweep] [--tls]\n"
                   "       [--only upload|download|many|ceiling|sweep|parts|relay]... [--gateway-arg ARG]...\n"
                   "       [--gateway-env NAME=VALUE]... [--gateway-prefix \"WRAPPER ARGS\"]\n");
      return 2;
    }
  }
  auto section = [&](const std::string& name) {
    if (only.empty()) return name != "parts" && name != "relay" && (name != "sweep" || sweep);
    return std::find(only.begin(), only.end(), name) != only.end();
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string line;
  std::vector<std::string> emulator_argv = {env.build + "/emulator/files-emulator", "--listen",
                                            "127.0.0.1:0", "--api-key", kKey, "--empty"};
  if (!g_ca_file.empty()) {
    emulator_argv.push_back("--tls-self-signed");
    emulator_argv.push_back(g_ca_file);
  }
  Proc emu = Spawn(emulator_argv, "base_url", &line);
  env.base = filesgw::bench::JsonString(line, "base_url");
  g_emulator = emu.pid;
  const double gib = static_cast<double>(big) / (1024.0 * kMiB);
  std::printf("transfer_bench: %.2f GiB streams, emulator %s, %u cores, median of %d run(s)\n\n", gib,
              env.base.c_str(), std::thread::hardware_concurrency(), repeat);
  std::printf("%-44s %12s %12s %8s %10s %10s %8s\n", "scenario", "gateway", "direct", "ratio",
              "gw cpu s/GiB", "gw peak MiB", "threads");

  // `ratio` is the median of per-run ratios (direct and gateway timed back to back).
  auto row = [&](const std::string& name, int64_t bytes, const Measure& gw, const Measure* direct,
                 double ratio) {
    const double per_gib = gw.cpu / (static_cast<double>(bytes) / (1024.0 * kMiB));
    if (direct != nullptr) {
      std::printf("%-44s %8.0f MiB/s %8.0f MiB/s %8.2f %10.2f %10.1f %8d%s\n", name.c_str(),
                  MiBps(bytes, gw.seconds), MiBps(bytes, direct->seconds), ratio, per_gib, gw.peak_mib,
                  gw.threads, gw.ok && direct->ok ? "" : "  FAILED");
    } else {
      std::printf("%-44s %8.0f MiB/s %12s %8s %10.2f %10.1f %8d%s\n", name.c_str(), MiBps(bytes, gw.seconds),
                  "-", "-", per_gib, gw.peak_mib, gw.threads, gw.ok ? "" : "  FAILED");
    }
    std::fflush(stdout);
  };
  auto memory = [&](const Measure& m) {
    std::printf("  gateway RSS: %.1f MiB at start, peak %.1f MiB (sampled peaks: anonymous %.1f, file-backed %.1f); "
                "%.0f minor page faults\n",
                m.idle_mib, m.peak_mib, m.anon_mib, m.file_mib, m.faults);
  };
  // `body` runs once per repeat against a fresh gateway; returns the median.
  auto runs = [&](const std::vector<std::string>& extra,
                  const std::function<bool(files::v1::TransferService::Stub*)>& body) {
    std::vector<Measure> all;
    for (int r = 0; r < repeat; ++r) {
      std::vector<std::string> args = gateway_args;
      args.insert(args.end(), extra.begin(), extra.end());
      Gateway g = StartGateway(env, args);
      auto stub = files::v1::TransferService::NewStub(g.channel);
      all.push_back(Timed(&g, [&] { return body(stub.get()); }));
      filesgw::bench::Stop(g.proc);
    }
    return Median(all);
  };
  // Direct then through the gateway, `repeat` times; the median of each and of the ratios.
  auto paired = [&](const std::function<bool()>& direct_body,
                    const std::function<bool(files::v1::TransferService::Stub*)>& body, Measure* direct,
                    Measure* gw, double* ratio) {
    std::vector<Measure> d, g;
    std::vector<double> ratios;
    for (int r = 0; r < repeat; ++r) {
      d.push_back(Timed(nullptr, direct_body));
      Gateway gateway = StartGateway(env, gateway_args);
      auto stub = files::v1::TransferService::NewStub(gateway.channel);
      g.push_back(Timed(&gateway, [&] { return body(stub.get()); }));
      filesgw::bench::Stop(gateway.proc);
      ratios.push_back(d.back().seconds / g.back().seconds);
    }
    *direct = Median(d);
    *gw = Median(g);
    *ratio = MedianOf(ratios);
  };

  // Files the download scenarios read (written by the upload scenarios when they run).
  auto ensure = [&](const std::string& path, int64_t size) {
    if (!UploadDirect(env, path, size, 4)) {
      std::fprintf(stderr, "cannot create %s\n", path.c_str());
      std::exit(1);
    }
  };

  double up_small_peak = 0, up_big_peak = 0, down_small_peak = 0, down_big_peak = 0;
  double down_big_mibps = 0, down_big_client_cpu = 0;
  if (section("upload")) {
    Measure m = runs({}, [&](auto* stub) { return UploadThroughGateway(stub, "bench/up-100.bin", 100 * kMiB); });
    up_small_peak = m.peak_mib;
    row("upload 100 MiB", 100 * kMiB, m, nullptr, 0);
    memory(m);
    Measure direct, gw;
    double ratio = 0;
    paired([&] { return UploadDirect(env, "bench/up-direct.bin", big, 4); },
           [&](auto* stub) { return UploadThroughGateway(stub, "bench/up-big.bin", big); }, &direct, &gw, &ratio);
    up_big_peak = gw.peak_mib;
    row(absl::StrCat("upload ", gib, " GiB (direct: curl multi, 4 parts)"), big, gw, &direct, ratio);
    memory(gw);
    std::printf("  CPU s/GiB, upload: direct = emulator %.2f + client %.2f; through the gateway = "
                "emulator %.2f + gateway %.2f + client %.2f\n",
                direct.emulator_cpu / gib, direct.client_cpu / gib, gw.emulator_cpu / gib, gw.cpu / gib,
                gw.client_cpu / gib);
  } else if (section("download") || section("sweep")) {
    ensure("bench/up-100.bin", 100 * kMiB);
    ensure("bench/up-big.bin", big);
  }
  if (section("download")) {
    Measure m = runs({}, [&](auto* stub) { return DownloadThroughGateway(stub, "bench/up-100.bin") == 100 * kMiB; });
    down_small_peak = m.peak_mib;
    row("download 100 MiB", 100 * kMiB, m, nullptr, 0);
    memory(m);
    Measure direct, gw;
    double ratio = 0;
    paired([&] { return DownloadDirect(env, "bench/up-big.bin") == big; },
           [&](auto* stub) { return DownloadThroughGateway(stub, "bench/up-big.bin") == big; }, &direct, &gw,
           &ratio);
    down_big_peak = gw.peak_mib;
    down_big_mibps = MiBps(big, gw.seconds);
    down_big_client_cpu = gw.client_cpu / gib;
    row(absl::StrCat("download ", gib, " GiB (direct: curl GET)"), big, gw, &direct, ratio);
    memory(gw);
    // Both paths are CPU-bound on a small machine: what each costs in all.
    std::printf("  CPU s/GiB, download: direct = emulator %.2f + client %.2f; through the gateway = "
                "emulator %.2f + gateway %.2f + client %.2f\n",
                direct.emulator_cpu / gib, direct.client_cpu / gib, gw.emulator_cpu / gib, gw.cpu / gib,
                gw.client_cpu / gib);
  }
  if (section("relay")) {
    // The floor: the same client code against a do-nothing relay (see
    // RelayService), 1 GiB each way; CPU s/GiB of the relay process.
    if (!section("upload") && !section("download")) ensure("bench/up-big.bin", big);
    std::printf("\ndo-nothing relay on the same stacks (gRPC sync server + libcurl, one part at a time), %.2f GiB:\n", gib);
    for (const char* what : {"upload", "download"}) {
      const bool up = std::string(what) == "upload";
      std::vector<Measure> all;
      for (int r = 0; r < repeat; ++r) {
        Gateway g;
        std::vector<std::string> relay_argv = {argv[0], "--relay-server", env.base};
        if (!g_ca_file.empty()) relay_argv.push_back(g_ca_file);
        g.proc = Spawn(relay_argv, "\"listening\"", &line);
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(64 << 20);
        g.channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", filesgw::bench::PortFrom(line)),
                                              grpc::InsecureChannelCredentials(), args);
        auto stub = files::v1::TransferService::NewStub(g.channel);
        all.push_back(Timed(&g, [&] {
          return up ? UploadThroughGateway(stub.get(), "bench/relay-up.bin", big)
                    : DownloadThroughGateway(stub.get(), "bench/up-big.bin") == big;
        }));
        filesgw::bench::Stop(g.proc);
      }
      Measure m = Median(all);
      std::printf("relay %-8s %8.0f MiB/s, relay cpu %.2f s/GiB, peak %.1f MiB%s\n", what, MiBps(big, m.seconds),
                  m.cpu / gib, m.peak_mib, m.ok ? "" : "  FAILED");
      std::fflush(stdout);
    }
  }
  if (section("many")) {
    for (const char* what : {"upload", "download"}) {
      const bool up = std::string(what) == "upload";
      Measure m = runs({}, [&](auto*) {
        // One caller (connection) per stream: the gateway shares its
        // transfer capacity per caller, so 32 streams on one connection would
        // be refused past that caller's share.
        std::vector<std::thread> threads;
        std::atomic<int> failures{0};
        for (int i = 0; i < streams; ++i) {
          threads.emplace_back([&, i] {
            auto own = OwnStub(i);
            bool ok = up ? UploadThroughGateway(own.get(), absl::StrCat("bench/many-", i, ".bin"), 100 * kMiB)
                         : DownloadThroughGateway(own.get(), absl::StrCat("bench/many-", i, ".bin")) == 100 * kMiB;
            if (!ok) failures.fetch_add(1);
          });
        }
        for (auto& t : threads) t.join();
        return failures.load() == 0;
      });
      row(absl::StrCat(streams, " concurrent 100 MiB ", what, "s"), streams * 100 * kMiB, m, nullptr, 0);
      memory(m);
    }
  }
  if (section("upload") && section("download")) {
    std::printf("\npeak RSS, 100 MiB vs %.2f GiB stream: upload %.1f vs %.1f MiB (%+.0f%%), download %.1f vs %.1f MiB (%+.0f%%)\n",
                gib, up_small_peak, up_big_peak, 100.0 * (up_big_peak / up_small_peak - 1), down_small_peak,
                down_big_peak, 100.0 * (down_big_peak / down_small_peak - 1));
  }
  std::printf("targets: throughput ratio >= 0.8; peak RSS <= 64 MiB for one 1 GiB stream, <= 256 MiB for 32 x 100 MiB; 100 MiB vs 1 GiB within 10%%\n");

  if (section("ceiling")) {
    std::printf("\ngRPC ceiling: a trivial server streaming %.2f GiB of pre-made 512 KiB messages to the same client\n", gib);
    for (const char* kind : {"proto", "raw"}) {
      std::vector<Measure> all;
      for (int r = 0; r < repeat; ++r) {
        Gateway g;
        g.proc = Spawn({argv[0], "--ceiling-server", kind}, "\"listening\"", &line);
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(64 << 20);
        g.channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", filesgw::bench::PortFrom(line)),
                                              grpc::InsecureChannelCredentials(), args);
        auto stub = files::v1::TransferService::NewStub(g.channel);
        all.push_back(Timed(&g, [&] { return DownloadCeiling(stub.get(), big, 512 << 10) == big; }));
        filesgw::bench::Stop(g.proc);
      }
      Measure m = Median(all);
      std::printf("  %-5s server: %6.0f MiB/s, server cpu %.2f s/GiB, client cpu %.2f s/GiB, server peak %.1f MiB%s\n",
                  kind, MiBps(big, m.seconds), m.cpu / gib, m.client_cpu / gib, m.peak_mib, m.ok ? "" : "  FAILED");
      if (down_big_mibps > 0) {
        std::printf("        gateway download reaches %.0f%% of it (gateway %.0f MiB/s, client cpu %.2f s/GiB)\n",
                    100.0 * down_big_mibps / MiBps(big, m.seconds), down_big_mibps, down_big_client_cpu);
      }
      std::fflush(stdout);
    }
  }

  if (section("parts")) {
    if (!section("upload")) ensure("bench/up-100.bin", 100 * kMiB);
    std::printf("\nupload vs --max-parallel-parts (%.2f GiB and 100 MiB, one stream):\n", gib);
    for (int parts : {1, 2, 3, 4}) {
      const std::vector<std::string> extra = {"--max-parallel-parts", std::to_string(parts)};
      Measure small = runs(extra, [&](auto* stub) { return UploadThroughGateway(stub, "bench/parts-100.bin", 100 * kMiB); });
      Measure m = runs(extra, [&](auto* stub) { return UploadThroughGateway(stub, "bench/parts-big.bin", big); });
      std::printf("  %d parts: %6.0f MiB/s, %.2f gateway cpu s/GiB, peak %.1f MiB (start %.1f, anon %.1f, file %.1f); "
                  "100 MiB: %.0f MiB/s, peak %.1f MiB%s\n",
                  parts, MiBps(big, m.seconds), m.cpu / gib, m.peak_mib, m.idle_mib, m.anon_mib, m.file_mib,
                  MiBps(100 * kMiB, small.seconds), small.peak_mib, m.ok && small.ok ? "" : "  FAILED");
      std::fflush(stdout);
    }
  }

  if (section("sweep")) {
    std::printf("\ndownload chunk size sweep (%.2f GiB, one stream):\n", gib);
    for (int chunk : {64 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20}) {
      Measure m = runs({}, [&](auto* stub) { return DownloadThroughGateway(stub, "bench/up-big.bin", chunk) == big; });
      std::printf("  chunk %5d KiB: %6.0f MiB/s, %.2f gateway cpu s/GiB, peak %.1f MiB\n", chunk >> 10,
                  MiBps(big, m.seconds), m.cpu / gib, m.peak_mib);
      std::fflush(stdout);
    }
  }
  filesgw::bench::Stop(emu);
  if (!g_ca_file.empty()) unlink(g_ca_file.c_str());
  return 0;
}
