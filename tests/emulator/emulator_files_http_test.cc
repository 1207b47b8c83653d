// The emulator's file system over loopback, as a Files.com client sees it:
// begin_upload / part PUTs / end, metadata with checksums (checked with
// OpenSSL and zlib here, not with the emulator's digest code), download URLs
// with Range and expiry, folders, copy/move/delete, odd names, storage-dir
// confinement and faults on the part and download URLs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace filesgw::emulator {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "test-key";
constexpr char kApi[] = "/api/rest/v1";
constexpr int64_t kPart = 1024;  // the suite's part size

// ---- independent checksums -------------------------------------------------

std::string Evp(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), len));
}
std::string Md5(const std::string& d) { return Evp(EVP_md5(), d); }
std::string Sha1(const std::string& d) { return Evp(EVP_sha1(), d); }
std::string Sha256(const std::string& d) { return Evp(EVP_sha256(), d); }
std::string Crc32(const std::string& d) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size()));
  return absl::StrFormat("%08x", crc);
}

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// ---- URL and JSON helpers --------------------------------------------------

// Percent-encodes every byte outside [A-Za-z0-9-._~/].
std::string Encode(absl::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// "http://127.0.0.1:1234/__emulator/x?y" -> "/__emulator/x?y".
std::string PathOfUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

JsonDoc Parse(const std::string& body) {
  JsonDoc doc;
  doc.Parse(body.c_str());
  return doc;
}

httplib::Result NoResult() { return httplib::Result(nullptr, httplib::Error::Unknown); }

std::string TypeOf(const httplib::Result& res) {
  if (!res) return "<no response>";
  JsonDoc doc = Parse(res->body);
  const JsonValue* type = Member(doc, "type");
  return type != nullptr && type->IsString() ? type->GetString() : "<no type> " + res->body;
}

std::string Str(const JsonValue& o, const char* key) {
  const JsonValue* v = Member(o, key);
  return v != nullptr && v->IsString() ? v->GetString() : "";
}

std::string TempDir(const std::string& name) {
  std::string dir = absl::StrCat("/tmp/", name, "-", ::getpid());
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Every path under `dir` (relative), sorted.
std::vector<std::string> Tree(const std::string& dir) {
  std::vector<std::string> out;
  std::string cmd = absl::StrCat("cd '", dir, "' && find . -mindepth 1 | sort");
  FILE* p = ::popen(cmd.c_str(), "r");
  char line[4096];
  while (p != nullptr && std::fgets(line, sizeof(line), p) != nullptr) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    out.push_back(s.substr(2));
  }
  if (p != nullptr) ::pclose(p);
  return out;
}

// ---- the client ------------------------------------------------------------

// Drives one emulator as a Files.com client would.
class FilesClient {
 public:
  explicit FilesClient(int port) : port_(port), api_(NewClient()), data_(NewClient()) {
    api_->set_default_headers({{"X-FilesAPI-Key", kKey}});
  }

  httplib::Result Get(const std::string& path) { return api_->Get((kApi + path).c_str()); }
  httplib::Result Post(const std::string& path, const std::string& json) {
    return api_->Post((kApi + path).c_str(), json, "application/json");
  }
  httplib::Result Patch(const std::string& path, const std::string& json) {
    return api_->Patch((kApi + path).c_str(), json, "application/json");
  }
  httplib::Result Delete(const std::string& path) { return api_->Delete((kApi + path).c_str()); }

  // POST begin_upload; the descriptors (an empty doc on failure).
  JsonDoc Begin(const std::string& path, const std::string& body, httplib::Result* raw = nullptr) {
    auto res = Post("/file_actions/begin_upload/" + Encode(path), body);
    if (raw != nullptr) *raw = std::move(res);
    const httplib::Result& r = raw != nullptr ? *raw : res;
    if (raw == nullptr) {  // callers passing `raw` check the answer themselves
      EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    }
    return r && r->status == 200 ? Parse(r->body) : JsonDoc();
  }

  // PUT one part to its descriptor's URL, with the descriptor's headers.
  httplib::Result PutPart(const JsonValue& descriptor, const std::string& bytes,
                          bool with_headers = true) {
    httplib::Headers headers;
    if (const JsonValue* h = Member(descriptor, "headers"); with_headers && h != nullptr) {
      for (const auto& m : h->GetObject()) headers.emplace(m.name.GetString(), m.value.GetString());
    }
    return data_->Put(PathOfUrl(Str(descriptor, "upload_uri")).c_str(), headers, bytes,
                      "application/octet-stream");
  }

  httplib::Result End(const std::string& path, const std::string& ref,
                      const std::vector<std::pair<int, std::string>>& etags,
                      const std::string& extra = "") {
    std::string list;
    for (const auto& [part, etag] : etags) {
      absl::StrAppend(&list, list.empty() ? "" : ",",
                      absl::StrFormat(R"({"etag":"%s","part":%s})", absl::CEscape(etag),
                                      part % 2 ? absl::StrCat(part) : absl::StrCat("\"", part, "\"")));
    }
    return Post("/files/" + Encode(path),
                absl::StrCat(R"({"action":"end","ref":")", ref, R"(","etags":[)", list, "]", extra, "}"));
  }

  // The whole protocol: begin (mkdir_parents), PUT parts in `order` (default
  // last to first), end. The end answer.
  httplib::Result Upload(const std::string& path, const std::string& data, bool reverse = true,
                         const std::string& end_extra = "") {
    int parts = std::max<int>(1, static_cast<int>((data.size() + kPart - 1) / kPart));
    JsonDoc d = Begin(path, absl::StrCat(R"({"mkdir_parents":true,"parts":)", parts,
                                         R"(,"size":)", data.size(), "}"));
    if (!d.IsArray() || static_cast<int>(d.Size()) != parts) return NoResult();
    std::vector<std::pair<int, std::string>> etags;
    for (int i = 0; i < parts; ++i) {
      int n = reverse ? parts - 1 - i : i;
      std::string bytes = data.substr(static_cast<size_t>(n) * kPart, kPart);
      auto put = PutPart(d[n], bytes);
      EXPECT_TRUE(put && put->status == 200) << (put ? put->body : "no response");
      if (!put) return NoResult();
      std::string etag = put->get_header_value("ETag");
      EXPECT_EQ(etag, absl::StrCat("\"", Md5(bytes), "\""));
      etags.emplace_back(n + 1, n % 2 ? etag : std::string(absl::StripSuffix(absl::StripPrefix(etag, "\""), "\"")));
    }
    return End(path, Str(d[0], "ref"), etags, end_extra);
  }

  // GET /files/{path}: the metadata (empty doc when not 200).
  JsonDoc Meta(const std::string& path, const std::string& query = "") {
    auto res = Get("/files/" + Encode(path) + query);
    return res && res->status == 200 ? Parse(res->body) : JsonDoc();
  }

  httplib::Result Fetch(const std::string& url, const httplib::Headers& headers = {}) {
    return data_->Get(PathOfUrl(url).c_str(), headers);
  }

  std::string Download(const std::string& path) {
    JsonDoc meta = Meta(path);
    std::string url = Str(meta, "download_uri");
    if (url.empty()) return "<no url>";
    auto res = Fetch(url);
    return res && res->status == 200 ? res->body : "<failed>";
  }

  std::unique_ptr<httplib::Client> NewClient() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->set_read_timeout(10, 0);
    return c;
  }

 private:
  int port_;
  std::unique_ptr<httplib::Client> api_;
  std::unique_ptr<httplib::Client> data_;  // no Files.com credentials on URLs
};

std::atomic<int64_t> clock_offset_ns{0};

class FilesHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::signal(SIGPIPE, SIG_IGN);
    EmulatorOptions options;
    options.api_key = kKey;
    options.part_size = kPart;
    options.clock = [] { return absl::Now() + absl::Nanoseconds(clock_offset_ns.load()); };
    emulator_ = new Emulator(options);
    ASSERT_TRUE(emulator_->Start().ok());
  }
  static void TearDownTestSuite() {
    delete emulator_;
    emulator_ = nullptr;
  }
  void SetUp() override {
    clock_offset_ns = 0;
    emulator_->Reset();
    client_ = std::make_unique<FilesClient>(emulator_->port());
  }
  static void Advance(absl::Duration d) { clock_offset_ns += absl::ToInt64Nanoseconds(d); }

  static Emulator* emulator_;
  std::unique_ptr<FilesClient> client_;
};
Emulator* FilesHttpTest::emulator_ = nullptr;

TEST_F(FilesHttpTest, UploadsOfEverySizeRoundTripWithChecksums) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{kPart}, size_t{kPart + 1}, size_t{5 * kPart + 17}}) {
    std::string data = Bytes(size, static_cast<uint32_t>(size));
    std::string path = absl::StrCat("sizes/file-", size, ".bin");
    auto end = client_->Upload(path, data, /*reverse=*/true,
                               R"(,"provided_mtime":"2024-01-02T03:04:05+01:00")");
    ASSERT_TRUE(end) << size;
    ASSERT_EQ(end->status, 201) << size << ": " << end->body;
    JsonDoc file = Parse(end->body);
    EXPECT_EQ(Str(file, "path"), path);
    EXPECT_EQ(Str(file, "type"), "file");
    EXPECT_EQ(file["size"].GetInt64(), static_cast<int64_t>(size));
    EXPECT_EQ(Str(file, "provided_mtime"), "2024-01-02T02:04:05Z");
    EXPECT_FALSE(file.HasMember("download_uri"));
    JsonDoc meta = client_->Meta(path);
    ASSERT_TRUE(meta.IsObject()) << size;
    EXPECT_EQ(meta["size"].GetInt64(), static_cast<int64_t>(size));
    EXPECT_EQ(Str(meta, "md5"), Md5(data)) << size;
    EXPECT_EQ(Str(meta, "sha1"), Sha1(data)) << size;
    EXPECT_EQ(Str(meta, "sha256"), Sha256(data)) << size;
    EXPECT_EQ(Str(meta, "crc32"), Crc32(data)) << size;
    EXPECT_EQ(Str(meta, "mime_type"), "application/octet-stream");
    EXPECT_FALSE(Str(meta, "mtime").empty());
    EXPECT_EQ(client_->Download(path), data) << size;
  }
}

TEST_F(FilesHttpTest, DescriptorsFollowTheContract) {
  JsonDoc d = client_->Begin("contract/x.bin", R"({"mkdir_parents":true})");
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(d.Size(), 1u) << "one descriptor by default";
  const JsonValue& p = d[0];
  std::string ref = Str(p, "ref");
  EXPECT_THAT(ref, ::testing::StartsWith("put-"));
  EXPECT_EQ(Str(p, "action"), "put/write");
  EXPECT_EQ(p["part_number"].GetInt64(), 1);
  EXPECT_EQ(p["partsize"].GetInt64(), kPart);
  EXPECT_EQ(p["next_partsize"].GetInt64(), kPart);
  EXPECT_TRUE(p["parallel_parts"].GetBool());
  EXPECT_TRUE(p["retry_parts"].GetBool());
  EXPECT_EQ(p["available_parts"].GetInt64(), 10000);
  EXPECT_EQ(Str(p, "http_method"), "PUT");
  EXPECT_FALSE(p["ask_about_overwrites"].GetBool());
  EXPECT_TRUE(p["parameters"].IsObject());
  EXPECT_TRUE(p["send"].IsObject());
  ASSERT_TRUE(p["headers"].IsObject());
  EXPECT_TRUE(p["headers"].ObjectEmpty()) << "Files.com's own storage needs no header";
  absl::Time expires;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, Str(p, "expires"), &expires, &error)) << error;
  EXPECT_NEAR(absl::ToDoubleMinutes(expires - absl::Now()), 15, 0.1);
  std::string uri = Str(p, "upload_uri");
  EXPECT_THAT(uri, ::testing::StartsWith(absl::StrCat("http://127.0.0.1:", emulator_->port(),
                                                      "/__emulator/upload/", ref, "/1?X-Files-Date=")));
  EXPECT_THAT(uri, HasSubstr("&X-Files-Expires=900&X-Files-Signature="));
  // Later parts of the same session.
  JsonDoc later = client_->Begin("contract/x.bin", absl::StrCat(R"({"ref":")", ref, R"(","part":3,"parts":2})"));
  ASSERT_EQ(later.Size(), 2u);
  EXPECT_EQ(later[0]["part_number"].GetInt64(), 3);
  EXPECT_EQ(later[1]["part_number"].GetInt64(), 4);
  EXPECT_EQ(Str(later[1], "ref"), ref);
  JsonDoc capped = client_->Begin("contract/x.bin", absl::StrCat(R"({"ref":")", ref, R"(","part":9999,"parts":5})"));
  EXPECT_EQ(capped.Size(), 2u) << "capped at available_parts";
  httplib::Result unknown = NoResult();
  client_->Begin("contract/x.bin", R"({"ref":"put-999999","part":2})", &unknown);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(TypeOf(unknown), "not-found/file-upload-not-found");
}

TEST_F(FilesHttpTest, PartPutNeedsOnlyTheSignedUrl) {
  JsonDoc d = client_->Begin("hdr/x.txt", R"({"mkdir_parents":true})");
  ASSERT_TRUE(d.IsArray());
  const std::string url = PathOfUrl(Str(d[0], "upload_uri"));
  httplib::Client other("127.0.0.1", emulator_->port());
  // A token sent anyway must be the upload's.
  auto wrong = other.Put(url.c_str(), {{"X-Emulator-Part-Token", "not-it"}}, "abc", "text/plain");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  // A tampered signature or an unsigned URL is refused as S3 refuses it.
  std::string tampered = url;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  auto bad = other.Put(tampered.c_str(), "abc", "text/plain");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 403);
  EXPECT_THAT(bad->body, HasSubstr("<Code>SignatureDoesNotMatch</Code>"));
  auto unsigned_put = other.Put(url.substr(0, url.find('?')).c_str(), "abc", "text/plain");
  ASSERT_TRUE(unsigned_put);
  EXPECT_EQ(unsigned_put->status, 403);
  // No header, no API key: what the official SDKs send.
  auto good = client_->PutPart(d[0], "abc", /*with_headers=*/false);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(good->get_header_value("ETag"), absl::StrCat("\"", Md5("abc"), "\""));
  auto again = client_->PutPart(d[0], "abcd");  // a re-PUT replaces the part
  ASSERT_TRUE(again && again->status == 200);
  auto stale = client_->End("hdr/x.txt", Str(d[0], "ref"), {{1, Md5("abc")}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(TypeOf(stale), "bad-request/invalid-etags");
  auto end = client_->End("hdr/x.txt", Str(d[0], "ref"), {{1, Md5("abcd")}});
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 201) << end->body;
  EXPECT_EQ(client_->Download("hdr/x.txt"), "abcd");
}

TEST_F(FilesHttpTest, NothingIsVisibleBeforeEndAndTheRefIsGoneAfter) {
  std::string data = Bytes(3 * kPart, 7);
  JsonDoc d = client_->Begin("atomic/f.bin", R"({"mkdir_parents":true,"parts":3})");
  ASSERT_EQ(d.Size(), 3u);
  std::vector<std::pair<int, std::string>> etags;
  for (int i = 0; i < 3; ++i) {
    std::string bytes = data.substr(static_cast<size_t>(i) * kPart, kPart);
    ASSERT_EQ(client_->PutPart(d[i], bytes)->status, 200);
    etags.emplace_back(i + 1, Md5(bytes));
  }
  EXPECT_EQ(client_->Get("/files/atomic/f.bin")->status, 404);
  EXPECT_EQ(TypeOf(client_->Get("/files/atomic/f.bin")), "not-found/file-not-found");
  EXPECT_EQ(client_->Get("/folders/atomic")->status, 404) << "not even the parent folder";
  std::string ref = Str(d[0], "ref");
  // Checked before anything is written: gaps, missing parts, size.
  EXPECT_EQ(TypeOf(client_->End("atomic/f.bin", ref, {etags[0], etags[2]})),
            "bad-request/invalid-upload-part-gap");
  EXPECT_EQ(TypeOf(client_->End("atomic/f.bin", ref, {etags[0], etags[1], etags[2], {4, Md5("x")}})),
            "bad-request/invalid-etags");
  EXPECT_EQ(TypeOf(client_->End("atomic/f.bin", ref, etags, R"(,"size":5)")),
            "bad-request/invalid-upload-part-size");
  EXPECT_EQ(client_->Get("/files/atomic/f.bin")->status, 404);
  auto end = client_->End("atomic/f.bin", ref, etags, absl::StrCat(R"(,"size":)", data.size()));
  ASSERT_TRUE(end);
  ASSERT_EQ(end->status, 201) << end->body;
  EXPECT_EQ(client_->Download("atomic/f.bin"), data);
  auto reuse = client_->End("atomic/f.bin", ref, etags);
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->status, 404);
  EXPECT_EQ(TypeOf(reuse), "not-found/file-upload-not-found");
  auto late = client_->PutPart(d[0], "late");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 404);
  EXPECT_THAT(late->body, HasSubstr("NoSuchUpload"));
}

TEST_F(FilesHttpTest, MkdirParentsAndMissingParents) {
  httplib::Result missing = NoResult();
  client_->Begin("no/such/parent.txt", "{}", &missing);
  ASSERT_TRUE(missing);
  EXPECT_EQ(TypeOf(missing), "processing-failure/destination-parent-does-not-exist");
  EXPECT_EQ(missing->status, 409);
  auto folder = client_->Post("/folders/made/by/mkdir", "{}");
  EXPECT_EQ(TypeOf(folder), "processing-failure/destination-parent-does-not-exist");
  folder = client_->Post("/folders/made/by/mkdir", R"({"mkdir_parents":true})");
  ASSERT_TRUE(folder);
  ASSERT_EQ(folder->status, 201) << folder->body;
  EXPECT_EQ(Str(Parse(folder->body), "type"), "directory");
  auto again = client_->Post("/folders/made/by/mkdir", R"({"mkdir_parents":true})");
  EXPECT_EQ(TypeOf(again), "processing-failure/destination-exists");
  ASSERT_EQ(client_->Upload("made/by/file.txt", "hello")->status, 201);
  EXPECT_EQ(TypeOf(client_->Post("/folders/made/by/file.txt/sub", R"({"mkdir_parents":true})")),
            "processing-failure/destination-parent-conflict");
  // An upload's end honours mkdir_parents too, and refuses to replace a folder.
  JsonDoc d = client_->Begin("late/parent/x.txt", R"({"mkdir_parents":true})");
  ASSERT_EQ(client_->PutPart(d[0], "x")->status, 200);
  auto end = client_->End("late/parent/x.txt", Str(d[0], "ref"), {{1, Md5("x")}});
  ASSERT_EQ(end->status, 201) << end->body;
  d = client_->Begin("made/by", "{}");
  ASSERT_EQ(client_->PutPart(d[0], "x")->status, 200);
  EXPECT_EQ(TypeOf(client_->End("made/by", Str(d[0], "ref"), {{1, Md5("x")}})),
            "processing-failure/destination-exists");
}

TEST_F(FilesHttpTest, DownloadsServeRanges) {
  std::string data = Bytes(3000, 11);
  ASSERT_EQ(client_->Upload("ranges/r.bin", data)->status, 201);
  JsonDoc meta = client_->Meta("ranges/r.bin");
  std::string url = Str(meta, "download_uri");
  EXPECT_THAT(url, HasSubstr("/__emulator/download/"));
  EXPECT_THAT(url, HasSubstr("X-Files-Expires=60&"));
  auto whole = client_->Fetch(url);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->get_header_value("Content-Length"), "3000");
  EXPECT_EQ(whole->body, data);
  struct Case {
    const char* range;
    size_t from, length;
  };
  for (const Case& c : {Case{"bytes=0-0", 0, 1}, Case{"bytes=100-1123", 100, 1024},
                        Case{"bytes=2500-", 2500, 500}, Case{"bytes=-10", 2990, 10},
                        Case{"bytes=2990-5000", 2990, 10}, Case{"bytes=-5000", 0, 3000}}) {
    auto part = client_->Fetch(url, {{"Range", c.range}});
    ASSERT_TRUE(part) << c.range;
    EXPECT_EQ(part->status, 206) << c.range;
    EXPECT_EQ(part->get_header_value("Content-Range"),
              absl::StrCat("bytes ", c.from, "-", c.from + c.length - 1, "/3000"))
        << c.range;
    EXPECT_EQ(part->body, data.substr(c.from, c.length)) << c.range;
  }
  auto beyond = client_->Fetch(url, {{"Range", "bytes=3000-"}});
  ASSERT_TRUE(beyond);
  EXPECT_EQ(beyond->status, 416);
  EXPECT_EQ(beyond->get_header_value("Content-Range"), "bytes */3000");
  // Zero bytes: 200 with an empty body.
  ASSERT_EQ(client_->Upload("ranges/empty", "")->status, 201);
  auto empty = client_->Fetch(Str(client_->Meta("ranges/empty"), "download_uri"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->body, "");
}

TEST_F(FilesHttpTest, DownloadUrlsExpireAndPinTheirContent) {
  ASSERT_EQ(client_->Upload("pin/p.txt", "first version")->status, 201);
  std::string url = Str(client_->Meta("pin/p.txt"), "download_uri");
  ASSERT_FALSE(url.empty());
  EXPECT_FALSE(client_->Meta("pin/p.txt", "?action=stat").HasMember("download_uri"));
  ASSERT_EQ(client_->Upload("pin/p.txt", "second")->status, 201);
  EXPECT_EQ(client_->Fetch(url)->body, "first version") << "the old URL keeps the old content";
  EXPECT_EQ(client_->Download("pin/p.txt"), "second");
  std::string tampered = absl::StrReplaceAll(url, {{"X-Files-Expires=60", "X-Files-Expires=6000"}});
  auto bad = client_->Fetch(tampered);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 403);
  EXPECT_THAT(bad->body, HasSubstr("SignatureDoesNotMatch"));
  Advance(absl::Seconds(61));
  auto expired = client_->Fetch(url);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 403);
  EXPECT_THAT(expired->body, HasSubstr("<Code>AccessDenied</Code><Message>Request has expired</Message>"));
  EXPECT_EQ(expired->get_header_value("Content-Type"), "application/xml");
  // A fresh URL works; ExpireUrls ends it (and part URLs) at once.
  std::string fresh = Str(client_->Meta("pin/p.txt"), "download_uri");
  EXPECT_EQ(client_->Fetch(fresh)->status, 200);
  JsonDoc d = client_->Begin("pin/q.txt", "{}");
  emulator_->ExpireUrls();
  EXPECT_EQ(client_->Fetch(fresh)->status, 403);
  auto put = client_->PutPart(d[0], "q");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 403);
  EXPECT_THAT(put->body, HasSubstr("Request has expired"));
  // A part URL also expires by the clock (15 minutes).
  d = client_->Begin("pin/q.txt", "{}");
  Advance(absl::Minutes(15));
  EXPECT_EQ(client_->PutPart(d[0], "q")->status, 403);
}

TEST_F(FilesHttpTest, ListsFoldersFirstAndPages2500Entries) {
  ASSERT_EQ(client_->Post("/folders/big", "{}")->status, 201);
  std::set<std::string> want_folders, want_files;
  for (int i = 0; i < 2500; ++i) {
    std::string name = absl::StrFormat("entry-%04d", (i * 7919) % 2500);
    if (i % 5 == 0) {
      ASSERT_EQ(client_->Post("/folders/big/" + name, "{}")->status, 201) << name;
      want_folders.insert(name);
    } else {
      name += ".txt";
      ASSERT_EQ(client_->Post("/files/big/" + name, "{}")->status, 201) << name;  // empty file
      want_files.insert(name);
    }
  }
  for (const std::string dir : {"asc", "desc"}) {
    std::vector<std::string> names;
    std::vector<bool> is_folder;
    std::string cursor;
    int pages = 0;
    do {
      std::string url = absl::StrCat("/folders/big?per_page=1000&sort_by[path]=", dir);
      if (!cursor.empty()) url += "&cursor=" + cursor;
      auto res = client_->Get(url);
      ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
      ++pages;
      JsonDoc page = Parse(res->body);
      for (const auto& e : page.GetArray()) {
        names.push_back(Str(e, "display_name"));
        is_folder.push_back(Str(e, "type") == "directory");
      }
      std::string next = res->get_header_value("X-Files-Cursor");
      EXPECT_NE(next, cursor);
      cursor = next;
    } while (!cursor.empty() && pages < 10);
    EXPECT_EQ(pages, 3) << dir;
    ASSERT_EQ(names.size(), 2500u) << dir;
    EXPECT_TRUE(std::is_partitioned(is_folder.begin(), is_folder.end(), [](bool f) { return f; }))
        << "folders first (" << dir << ")";
    EXPECT_EQ(std::count(is_folder.begin(), is_folder.end(), true), 500);
    std::vector<std::string> folders(names.begin(), names.begin() + 500);
    std::vector<std::string> files(names.begin() + 500, names.end());
    std::vector<std::string> folders_sorted = folders, files_sorted = files;
    if (dir == "asc") {
      std::sort(folders_sorted.begin(), folders_sorted.end());
      std::sort(files_sorted.begin(), files_sorted.end());
    } else {
      std::sort(folders_sorted.rbegin(), folders_sorted.rend());
      std::sort(files_sorted.rbegin(), files_sorted.rend());
    }
    EXPECT_EQ(folders, folders_sorted) << dir;
    EXPECT_EQ(files, files_sorted) << dir;
    EXPECT_EQ(std::set<std::string>(folders.begin(), folders.end()), want_folders);
    EXPECT_EQ(std::set<std::string>(files.begin(), files.end()), want_files);
  }
  auto small = client_->Get("/folders/big?per_page=10&type=directory");
  ASSERT_TRUE(small);
  EXPECT_EQ(Parse(small->body).Size(), 10u);
  EXPECT_FALSE(small->get_header_value("X-Files-Cursor").empty());
  EXPECT_EQ(TypeOf(client_->Get("/folders/no-such-folder")), "not-found");
  EXPECT_EQ(client_->Get("/folders/no-such-folder")->status, 404);
  auto root = client_->Get("/folders/");
  ASSERT_TRUE(root && root->status == 200);
  EXPECT_THAT(root->body, HasSubstr(R"("path":"big")"));
}

TEST_F(FilesHttpTest, CopyMoveAndDelete) {
  ASSERT_EQ(client_->Upload("cmd/src/a.txt", "aaa")->status, 201);
  ASSERT_EQ(client_->Upload("cmd/src/deep/b.bin", Bytes(2 * kPart + 3, 5))->status, 201);
  auto copy = client_->Post("/file_actions/copy/cmd/src", R"({"destination":"cmd/copy"})");
  ASSERT_TRUE(copy);
  ASSERT_EQ(copy->status, 201) << copy->body;
  EXPECT_EQ(Str(Parse(copy->body), "status"), "completed");
  EXPECT_EQ(client_->Download("cmd/copy/deep/b.bin"), Bytes(2 * kPart + 3, 5));
  EXPECT_EQ(Str(client_->Meta("cmd/copy/deep/b.bin"), "sha256"), Sha256(Bytes(2 * kPart + 3, 5)));
  EXPECT_EQ(TypeOf(client_->Post("/file_actions/copy/cmd/src", R"({"destination":"cmd/copy"})")),
            "processing-failure/destination-exists");
  ASSERT_EQ(client_->Post("/file_actions/copy/cmd/src/a.txt",
                          R"({"destination":"cmd/copy/deep/b.bin","overwrite":true})")->status, 201);
  EXPECT_EQ(client_->Download("cmd/copy/deep/b.bin"), "aaa");
  auto move = client_->Post("/file_actions/move/cmd/copy", R"({"destination":"cmd/moved"})");
  ASSERT_EQ(move->status, 201) << move->body;
  EXPECT_EQ(client_->Get("/files/cmd/copy")->status, 404);
  EXPECT_EQ(client_->Download("cmd/moved/a.txt"), "aaa");
  EXPECT_EQ(TypeOf(client_->Post("/file_actions/move/cmd/nothing", R"({"destination":"cmd/x"})")),
            "not-found/file-not-found");
  auto refused = client_->Delete("/files/cmd/moved");
  ASSERT_TRUE(refused);
  EXPECT_EQ(TypeOf(refused), "processing-failure/folder-not-empty");
  EXPECT_EQ(client_->Get("/files/cmd/moved")->status, 200);
  EXPECT_EQ(client_->Delete("/files/cmd/moved/a.txt")->status, 204);
  auto gone = client_->Delete("/files/cmd/moved?recursive=true");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 204);
  EXPECT_EQ(client_->Get("/files/cmd/moved/deep/b.bin")->status, 404);
  EXPECT_EQ(TypeOf(client_->Delete("/files/cmd/moved")), "not-found/file-not-found");
  EXPECT_EQ(client_->Download("cmd/src/a.txt"), "aaa") << "the source of a copy stays";
}

TEST_F(FilesHttpTest, MetadataAndUpdate) {
  ASSERT_EQ(client_->Upload("meta/doc.json", "{}")->status, 201);
  auto found = client_->Get("/file_actions/metadata/meta/doc.json");
  ASSERT_TRUE(found && found->status == 200) << (found ? found->body : "");
  JsonDoc doc = Parse(found->body);
  EXPECT_EQ(Str(doc, "mime_type"), "application/json");
  EXPECT_EQ(Str(doc, "md5"), Md5("{}"));
  EXPECT_FALSE(doc.HasMember("download_uri"));
  auto patched = client_->Patch("/files/meta/doc.json",
                                R"({"provided_mtime":"2020-05-06T07:08:09Z","custom_metadata":{"k":"v"}})");
  ASSERT_TRUE(patched && patched->status == 200) << (patched ? patched->body : "");
  JsonDoc after = Parse(patched->body);
  EXPECT_EQ(Str(after, "provided_mtime"), "2020-05-06T07:08:09Z");
  EXPECT_EQ(Str(after["custom_metadata"], "k"), "v");
  EXPECT_EQ(TypeOf(client_->Patch("/files/meta/doc.json", R"({"provided_mtime":"yesterday"})")),
            "bad-request/datetime-parse");
  JsonDoc folder = client_->Meta("meta");
  EXPECT_EQ(Str(folder, "type"), "directory");
  EXPECT_FALSE(folder.HasMember("download_uri"));
  EXPECT_EQ(TypeOf(client_->Get("/file_actions/metadata/meta/none")), "not-found/file-not-found");
}

TEST_F(FilesHttpTest, UnicodeSpacesAndUrlCharactersInNames) {
  // "Ünïcødé földer"
  const std::string folder = "\xc3\x9c" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9" " f" "\xc3\xb6" "lder";
  const std::vector<std::string> names = {"with space.txt", "hash#tag.txt", "what?.txt",
                                          "100% sure.txt", "plus+and&amp.txt",
                                          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt"};
  for (const auto& name : names) {
    std::string path = folder + "/" + name;
    auto end = client_->Upload(path, "content of " + name);
    ASSERT_TRUE(end) << name;
    ASSERT_EQ(end->status, 201) << name << ": " << end->body;
    EXPECT_EQ(Str(Parse(end->body), "path"), path);
    EXPECT_EQ(client_->Download(path), "content of " + name) << name;
  }
  auto list = client_->Get("/folders/" + Encode(folder));
  ASSERT_TRUE(list && list->status == 200);
  std::set<std::string> listed;
  JsonDoc entries = Parse(list->body);
  for (const auto& e : entries.GetArray()) listed.insert(Str(e, "display_name"));
  EXPECT_EQ(listed, std::set<std::string>(names.begin(), names.end()));
  // Case-insensitive, NFC-normalised, transliterating lookups; '/' as %2F.
  EXPECT_EQ(client_->Download("UNICODE FOLDER/WITH SPACE.TXT"), "content of with space.txt");
  std::string nfd = "U\xcc\x88" "n" "\xc3\xaf" "c" "\xc3\xb8" "de\xcc\x81" " f" "\xc3\xb6" "lder/what?.txt";
  EXPECT_EQ(client_->Download(nfd), "content of what?.txt");
  auto slash = client_->Get("/files/" + absl::StrReplaceAll(Encode(folder + "/hash#tag.txt"), {{"/", "%2F"}}));
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->status, 200) << slash->body;
  // The first spelling stays.
  ASSERT_EQ(client_->Upload(folder + "/WITH SPACE.TXT", "replaced")->status, 201);
  EXPECT_EQ(Str(client_->Meta(folder + "/with space.txt"), "display_name"), "with space.txt");
  EXPECT_EQ(client_->Download(folder + "/with space.txt"), "replaced");
}

// Sends a part PUT that declares `declared` bytes, sends `sent` of them and
// closes the connection: a client that gave up mid-part.
void AbandonPartPut(int port, const std::string& path_and_query, const std::string& token,
                    size_t declared, size_t sent) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string header =
      token.empty() ? std::string() : absl::StrCat(kPartTokenHeader, ": ", token, "\r\n");
  std::string request = absl::StrCat("PUT ", path_and_query, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                     header, "Content-Length: ", declared,
                                     "\r\nContent-Type: application/octet-stream\r\n\r\n",
                                     std::string(sent, 'x'));
  for (size_t off = 0; off < request.size();) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Issue 14: 30 uploads cancelled midway kept 440 MiB in the embedded emulator,
// which freed a session only on `end`. Now a part cut short is never kept and
// an idle session goes with its parts. Scaled down (1 MiB parts, one whole
// and one half part each) to fit CI; what the emulator holds is what it reports.
TEST(UploadHygiene, AbandonedUploadsAreFreedAfterTheIdleTime) {
  constexpr int64_t kBigPart = 1 << 20;
  constexpr int kUploads = 30;
  std::atomic<int64_t> offset_ns{0};
  EmulatorOptions options;
  options.api_key = kKey;
  options.part_size = kBigPart;
  options.upload_idle_ttl = absl::Minutes(10);
  options.clock = [&offset_ns] { return absl::Now() + absl::Nanoseconds(offset_ns.load()); };
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  FilesClient client(emulator.port());
  const std::string whole = Bytes(kBigPart, 7);
  for (int i = 0; i < kUploads; ++i) {
    JsonDoc d = client.Begin(absl::StrCat("abandoned/", i, ".bin"),
                             R"({"mkdir_parents":true,"parts":2})");
    ASSERT_TRUE(d.IsArray() && d.Size() == 2) << i;
    ASSERT_EQ(client.PutPart(d[0], whole)->status, 200) << i;
    AbandonPartPut(emulator.port(), PathOfUrl(Str(d[1], "upload_uri")),
                   Str(d[1]["headers"], kPartTokenHeader), kBigPart, kBigPart / 2);
  }
  // The half parts were never kept.
  UploadStats held = emulator.Uploads();
  EXPECT_EQ(held.sessions, kUploads);
  EXPECT_EQ(held.parts, kUploads);
  EXPECT_EQ(held.bytes, kUploads * kBigPart);
  // Still there just before the idle time (a slow client may come back)...
  offset_ns += absl::ToInt64Nanoseconds(absl::Minutes(9));
  EXPECT_EQ(emulator.Uploads().sessions, kUploads);
  // ...and gone after it, parts and all; the control endpoint says so too.
  offset_ns += absl::ToInt64Nanoseconds(absl::Minutes(2));
  auto report = client.NewClient()->Get("/__emulator/uploads", {{"X-FilesAPI-Key", kKey}});
  ASSERT_TRUE(report && report->status == 200) << (report ? report->body : "no answer");
  JsonDoc doc = Parse(report->body);
  EXPECT_EQ(doc["sessions"].GetInt64(), 0);
  EXPECT_EQ(doc["parts"].GetInt64(), 0);
  EXPECT_EQ(doc["bytes"].GetInt64(), 0);
  // An upload in progress is not idle: each part counts as activity (12
  // minutes in all, within the part URLs' 15).
  JsonDoc d = client.Begin("active.bin", R"({"parts":2})");
  for (int n = 0; n < 2; ++n) {
    offset_ns += absl::ToInt64Nanoseconds(absl::Minutes(6));
    ASSERT_EQ(client.PutPart(d[n], whole)->status, 200) << n;
  }
  auto end = client.End("active.bin", Str(d[0], "ref"), {{1, Md5(whole)}, {2, Md5(whole)}});
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 201) << end->body;
}

TEST_F(FilesHttpTest, FaultsOnPartUploads) {
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"PUT","path":"/__emulator/upload/*","status":503,"retry_after":"1","times":2})").ok());
  JsonDoc d = client_->Begin("faults/up.bin", R"({"mkdir_parents":true})");
  std::string data = Bytes(kPart, 21);
  for (int i = 0; i < 2; ++i) {
    auto refused = client_->PutPart(d[0], data);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
    EXPECT_THAT(refused->body, HasSubstr("<Code>ServiceUnavailable</Code>"));
  }
  ASSERT_EQ(client_->PutPart(d[0], data)->status, 200) << "the connection is still usable";
  // Reset mid-body: no answer at all, then a retry succeeds.
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"PUT","path":"/__emulator/upload/*","cut_after_bytes":100,"times":1})").ok());
  auto cut = client_->PutPart(d[0], data);
  EXPECT_FALSE(cut) << "status " << (cut ? cut->status : 0);
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"PUT","path":"/__emulator/upload/*","expire":true,"times":1})").ok());
  auto expired = client_->PutPart(d[0], data);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 403);
  EXPECT_THAT(expired->body, HasSubstr("Request has expired"));
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"PUT","path":"/__emulator/upload/*","stall_ms":50,"times":1})").ok());
  auto stalled = client_->PutPart(d[0], data);
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->status, 200);
  auto end = client_->End("faults/up.bin", Str(d[0], "ref"), {{1, Md5(data)}});
  ASSERT_EQ(end->status, 201) << end->body;
  EXPECT_EQ(client_->Download("faults/up.bin"), data);
  int64_t puts = 0;
  JsonDoc counts =
      Parse(client_->NewClient()->Get("/__emulator/requests", {{"X-FilesAPI-Key", kKey}})->body);
  for (const auto& m : counts["requests"].GetObject()) {
    if (absl::StartsWith(m.name.GetString(), "PUT /__emulator/upload/")) puts += m.value.GetInt64();
  }
  EXPECT_EQ(puts, 6) << "part PUTs are counted";
}

TEST_F(FilesHttpTest, FaultsOnDownloads) {
  std::string data = Bytes(100000, 22);
  ASSERT_EQ(client_->Upload("faults/down.bin", data, false)->status, 201);
  std::string url = Str(client_->Meta("faults/down.bin"), "download_uri");
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"GET","path":"/__emulator/download/*","status":500,"times":1})").ok());
  auto error = client_->Fetch(url);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 500);
  EXPECT_THAT(error->body, HasSubstr("<Code>InternalError</Code>"));
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"GET","path":"/__emulator/download/*","cut_after_bytes":1000,"times":1})").ok());
  std::string received;
  auto cut = client_->NewClient()->Get(PathOfUrl(url).c_str(), [&](const char* p, size_t n) {
    received.append(p, n);
    return true;
  });
  EXPECT_FALSE(cut) << "a cut body is an error for the client";
  EXPECT_EQ(received, data.substr(0, received.size()));
  EXPECT_LE(received.size(), 1000u);
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"GET","path":"/__emulator/download/*","stall_ms":50,"times":1})").ok());
  absl::Time start = absl::Now();
  auto stalled = client_->Fetch(url, {{"Range", "bytes=10-20009"}});
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->status, 206);
  EXPECT_EQ(stalled->body, data.substr(10, 20000));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"GET","path":"/__emulator/download/*","expire":true,"times":1})").ok());
  EXPECT_EQ(client_->Fetch(url)->status, 403);
  ASSERT_TRUE(emulator_->AddFault(
      R"({"method":"GET","path":"/__emulator/download/*","drop":true,"times":1})").ok());
  EXPECT_FALSE(client_->NewClient()->Get(PathOfUrl(url).c_str()));
  EXPECT_EQ(client_->Fetch(url)->body, data) << "after the faults, all is well";
}

TEST_F(FilesHttpTest, ThirtyTwoPartsAndDownloadsAtOnce) {
  constexpr int kStreams = 32;
  std::string data = Bytes(kStreams * kPart, 33);
  JsonDoc d = client_->Begin("parallel/f.bin", absl::StrCat(R"({"mkdir_parents":true,"parts":)", kStreams, "}"));
  ASSERT_EQ(d.Size(), static_cast<size_t>(kStreams));
  std::vector<std::string> etags(kStreams);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      FilesClient c(emulator_->port());
      auto put = c.PutPart(d[i], data.substr(static_cast<size_t>(i) * kPart, kPart));
      if (!put || put->status != 200) ++failures;
      else etags[i] = put->get_header_value("ETag");
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  std::vector<std::pair<int, std::string>> list;
  for (int i = 0; i < kStreams; ++i) list.emplace_back(i + 1, etags[i]);
  ASSERT_EQ(client_->End("parallel/f.bin", Str(d[0], "ref"), list)->status, 201);
  std::string url = Str(client_->Meta("parallel/f.bin"), "download_uri");
  threads.clear();
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      FilesClient c(emulator_->port());
      size_t from = static_cast<size_t>(i) * kPart;
      auto res = c.Fetch(url, {{"Range", absl::StrCat("bytes=", from, "-", from + kPart - 1)}});
      if (!res || res->status != 206 || res->body != data.substr(from, kPart)) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Str(client_->Meta("parallel/f.bin"), "sha256"), Sha256(data));
}

TEST_F(FilesHttpTest, DemoFilesExistAndResetRestoresThem) {
  EXPECT_EQ(client_->Download("demo/hello.txt"), "Hello from the Files.com emulator.\n");
  EXPECT_EQ(Str(client_->Meta("demo/reports"), "type"), "directory");
  // The generic every-RPC callers send only `path: demo`.
  EXPECT_EQ(client_->Post("/folders/demo", "{}")->status, 201);
  EXPECT_EQ(client_->Delete("/files/demo")->status, 204);
  EXPECT_EQ(client_->Get("/files/demo")->status, 404);
  emulator_->Reset();
  EXPECT_EQ(client_->Download("demo/hello.txt"), "Hello from the Files.com emulator.\n");
  EXPECT_EQ(TypeOf(client_->Post("/folders/shared", "{}")), "processing-failure/destination-exists")
      << "other folders are not lenient";
}

// ---- on disk ---------------------------------------------------------------

TEST(FilesDiskTest, StaysInsideTheStorageDirAndSurvivesARestart) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string dir = TempDir("emu-files-disk");
  std::string store = dir + "/store", outside = dir + "/outside";
  ::mkdir(store.c_str(), 0755);
  ::mkdir(outside.c_str(), 0755);
  ASSERT_EQ(::symlink(outside.c_str(), (store + "/link").c_str()), 0);
  EmulatorOptions options;
  options.api_key = kKey;
  options.part_size = kPart;
  options.storage_dir = store;
  std::string data = Bytes(3 * kPart + 1, 44);
  {
    Emulator emulator(options);
    ASSERT_TRUE(emulator.Start().ok());
    FilesClient c(emulator.port());
    ASSERT_EQ(c.Upload("keep/data.bin", data)->status, 201);
    EXPECT_EQ(c.Download("keep/data.bin"), data);
    for (const char* evil : {"../../outside/a.txt", "%2e%2e/%2e%2e/outside/b.txt",
                                    "/etc/../../outside/c.txt", "..%2F..%2Foutside%2Fd.txt"}) {
      // Through the API the names are cleaned ("..", "." and empty segments
      // dropped), so these land inside the store.
      auto r = c.Post(absl::StrCat("/files/", evil), R"({"mkdir_parents":true})");
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 201) << evil << ": " << r->body;
      EXPECT_THAT(Str(Parse(r->body), "path"), ::testing::Not(HasSubstr(".."))) << evil;
    }
    EXPECT_TRUE(Exists(store + "/outside/a.txt"));
    EXPECT_TRUE(Exists(store + "/etc/outside/c.txt"));
    // A symlink planted in the store is neither listed nor followed.
    EXPECT_EQ(c.Get("/files/link")->status, 404);
    auto through = c.Post("/files/link/x.txt", R"({"mkdir_parents":true})");
    ASSERT_TRUE(through);
    EXPECT_NE(through->status, 201) << through->body;
    JsonDoc d = c.Begin("link/y.txt", R"({"mkdir_parents":true})");
    ASSERT_EQ(c.PutPart(d[0], "y")->status, 200);
    EXPECT_NE(c.End("link/y.txt", Str(d[0], "ref"), {{1, Md5("y")}})->status, 201);
    ASSERT_EQ(c.Post("/file_actions/copy/keep", R"({"destination":"copied/keep"})")->status, 201);
    ASSERT_EQ(c.Post("/file_actions/move/copied", R"({"destination":"moved"})")->status, 201);
    ASSERT_EQ(c.Delete("/files/outside?recursive=true")->status, 204);
  }
  EXPECT_TRUE(Tree(outside).empty()) << absl::StrJoin(Tree(outside), " ");
  std::vector<std::string> tree = Tree(store);
  EXPECT_THAT(tree, ::testing::IsSupersetOf({"keep/data.bin", "moved/keep/data.bin", "link",
                                             "demo/hello.txt", "etc/outside/c.txt"}));
  EXPECT_THAT(tree, ::testing::Not(::testing::Contains("outside")));
  EXPECT_THAT(tree, ::testing::Not(::testing::Contains("copied")));
  for (const auto& path : tree) {
    EXPECT_TRUE(!absl::StartsWith(path, ".files-emulator/tmp/")) << "leftover " << path;
  }
  // A new emulator on the same folder sees the same files.
  Emulator again(options);
  ASSERT_TRUE(again.Start().ok());
  FilesClient c(again.port());
  JsonDoc meta = c.Meta("moved/keep/data.bin");
  EXPECT_EQ(Str(meta, "md5"), Md5(data));
  EXPECT_EQ(Str(meta, "sha256"), Sha256(data));
  EXPECT_EQ(c.Download("moved/keep/data.bin"), data);
  auto range = c.Fetch(Str(c.Meta("keep/data.bin"), "download_uri"), {{"Range", "bytes=-5"}});
  ASSERT_TRUE(range);
  EXPECT_EQ(range->status, 206);
  EXPECT_EQ(range->body, data.substr(data.size() - 5));
}

// ---- the protocol as Files.com's official SDKs speak it (issue 15) ---------

TEST_F(FilesHttpTest, SdkUploadFlowPutPartsThenEndWithoutEtags) {
  const std::string data = Bytes(2 * kPart + 1, 15);
  // {action: "put"} begins: one FileUploadPart, and no file yet.
  auto first = client_->Post("/files/" + Encode("sdk/up load.bin"),
                             R"({"action":"put","mkdir_parents":true})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 201) << first->body;
  JsonDoc p1 = Parse(first->body);
  ASSERT_TRUE(p1.IsObject()) << "one FileUploadPart, not a list: " << first->body;
  EXPECT_EQ(p1["part_number"].GetInt64(), 1);
  EXPECT_EQ(p1["partsize"].GetInt64(), kPart);
  EXPECT_TRUE(p1["parallel_parts"].GetBool());
  EXPECT_EQ(Str(p1, "http_method"), "PUT");
  EXPECT_TRUE(p1["headers"].IsObject() && p1["headers"].ObjectEmpty());
  EXPECT_FALSE(Str(p1, "expires").empty());
  const std::string ref = Str(p1, "ref");
  ASSERT_FALSE(ref.empty());
  auto none = client_->Get("/files/" + Encode("sdk/up load.bin"));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404) << "action=put must not create the file";
  // {action: "put", part: N, ref} gives part N of the same upload; the JS
  // SDK sends these as a form body, so part arrives as a string.
  std::vector<JsonDoc> parts;
  parts.push_back(std::move(p1));
  for (int n = 2; n <= 3; ++n) {
    auto next = client_->Post("/files/" + Encode("sdk/up load.bin"),
                              absl::StrCat(R"({"action":"put","ref":")", ref, R"(","part":")", n,
                                           R"("})"));
    ASSERT_TRUE(next && next->status == 201) << (next ? next->body : "no response");
    parts.push_back(Parse(next->body));
    EXPECT_EQ(parts.back()["part_number"].GetInt64(), n);
    EXPECT_EQ(Str(parts.back(), "ref"), ref);
  }
  for (int n = 0; n < 3; ++n) {
    auto put = client_->PutPart(parts[n], data.substr(static_cast<size_t>(n) * kPart, kPart),
                                /*with_headers=*/false);
    ASSERT_TRUE(put && put->status == 200) << (put ? put->body : "no response");
  }
  // {action: "end", ref} without etags: the emulator knows which parts came.
  httplib::Client c("127.0.0.1", emulator_->port());
  c.set_default_headers({{"X-FilesAPI-Key", kKey}});
  auto end = c.Post(absl::StrCat(kApi, "/files/", Encode("sdk/up load.bin")).c_str(),
                    httplib::Params{{"action", "end"}, {"ref", ref}, {"mkdir_parents", "True"}});
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 201) << end->body;
  EXPECT_EQ(client_->Download("sdk/up load.bin"), data);
  EXPECT_EQ(Str(client_->Meta("sdk/up load.bin"), "md5"), Md5(data));
}

TEST_F(FilesHttpTest, SdkUploadFlowTakesFormBodies) {
  httplib::Client c("127.0.0.1", emulator_->port());
  c.set_default_headers({{"X-FilesAPI-Key", kKey}});
  const std::string path = absl::StrCat(kApi, "/files/form.txt");
  auto begin = c.Post(path.c_str(), httplib::Params{{"action", "put"}});
  ASSERT_TRUE(begin && begin->status == 201) << (begin ? begin->body : "no response");
  JsonDoc part = Parse(begin->body);
  ASSERT_TRUE(part.IsObject());
  ASSERT_EQ(client_->PutPart(part, "", /*with_headers=*/false)->status, 200);
  auto end = c.Post(path.c_str(), httplib::Params{{"action", "end"}, {"ref", Str(part, "ref")}});
  ASSERT_TRUE(end && end->status == 201) << (end ? end->body : "no response");
  EXPECT_EQ(Parse(end->body)["size"].GetInt64(), 0) << "a zero-byte file is one empty PUT";
}

TEST_F(FilesHttpTest, EndStillChecksEtagsWhenGiven) {
  auto begin = client_->Post("/files/etag.txt", R"({"action":"put"})");
  ASSERT_TRUE(begin && begin->status == 201);
  JsonDoc part = Parse(begin->body);
  ASSERT_EQ(client_->PutPart(part, "abc")->status, 200);
  auto wrong = client_->End("etag.txt", Str(part, "ref"), {{1, Md5("xyz")}});
  EXPECT_EQ(TypeOf(wrong), "bad-request/invalid-etags");
  auto right = client_->End("etag.txt", Str(part, "ref"), {{1, Md5("abc")}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 201) << right->body;
}

TEST_F(FilesHttpTest, ProvidedMtimeWithoutOffsetIsUtc) {
  auto end = client_->Upload("mtime/naive.txt", "x", /*reverse=*/true,
                             R"(,"provided_mtime":"2026-12-07T18:26:56.373948")");
  ASSERT_TRUE(end);
  ASSERT_EQ(end->status, 201) << end->body;
  EXPECT_EQ(Str(Parse(end->body), "provided_mtime"), "2026-12-07T18:26:56.373948Z");
  auto bad = client_->Upload("mtime/bad.txt", "x", /*reverse=*/true,
                             R"(,"provided_mtime":"yesterday")");
  EXPECT_EQ(TypeOf(bad), "bad-request/datetime-parse");
}

TEST_F(FilesHttpTest, DeleteHonoursAJsonBody) {
  ASSERT_EQ(client_->Upload("tree/a/b.txt", "b")->status, 201);
  httplib::Client c("127.0.0.1", emulator_->port());
  c.set_default_headers({{"X-FilesAPI-Key", kKey}});
  const std::string path = absl::StrCat(kApi, "/files/tree");
  auto refused = c.Delete(path.c_str());
  EXPECT_EQ(TypeOf(refused), "processing-failure/folder-not-empty");
  auto gone = c.Delete(path.c_str(), R"({"recursive":true})", "application/json");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 204) << gone->body;
  EXPECT_EQ(TypeOf(client_->Get("/files/tree/a/b.txt")), "not-found/file-not-found");
}

TEST_F(FilesHttpTest, QueryBooleansReadTheRailsWay) {
  for (const char* yes : {"True", "t", "YES", "on", "1"}) {
    ASSERT_EQ(client_->Upload("rails/a/b.txt", "b")->status, 201) << yes;
    auto gone = client_->Delete(absl::StrCat("/files/rails?recursive=", yes));
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, 204) << yes << ": " << gone->body;
  }
  ASSERT_EQ(client_->Upload("rails/a/b.txt", "b")->status, 201);
  for (const char* no : {"False", "F", "no", "OFF", "0"}) {
    EXPECT_EQ(TypeOf(client_->Delete(absl::StrCat("/files/rails?recursive=", no))),
              "processing-failure/folder-not-empty")
        << no;
  }
  EXPECT_EQ(TypeOf(client_->Delete("/files/rails?recursive=maybe")),
            "bad-request/request-params-invalid");
}

TEST_F(FilesHttpTest, FolderListingsSortOnlyByDocumentedFields) {
  ASSERT_EQ(client_->Upload("sorted/big.bin", std::string(300, 'b'))->status, 201);
  ASSERT_EQ(client_->Upload("sorted/small.bin", "s")->status, 201);
  ASSERT_EQ(client_->Post("/folders/sorted/sub", "{}")->status, 201);
  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    auto res = client_->Get("/folders/sorted?" + query);
    EXPECT_TRUE(res && res->status == 200) << query << ": " << (res ? res->body : "");
    if (!res || res->status != 200) return out;
    JsonDoc doc = Parse(res->body);
    for (const auto& e : doc.GetArray()) out.push_back(Str(e, "display_name"));
    return out;
  };
  // Folders first whatever the field.
  EXPECT_EQ(names("sort_by[size]=desc"), (std::vector<std::string>{"sub", "big.bin", "small.bin"}));
  EXPECT_EQ(names("sort_by[size]=asc"), (std::vector<std::string>{"sub", "small.bin", "big.bin"}));
  EXPECT_EQ(names("sort_by[modified_at_datetime]=asc").size(), 3u);
  EXPECT_EQ(names("sort_by[provided_modified_at]=asc").size(), 3u);
  EXPECT_EQ(TypeOf(client_->Get("/folders/sorted?sort_by[crc32]=asc")),
            "bad-request/invalid-sort-field");
}

TEST(PartTokenHeader, WhenAskedForThePartPutMustCarryIt) {
  EmulatorOptions options;
  options.api_key = kKey;
  options.part_size = kPart;
  options.part_token_header = true;
  Emulator emulator(options);
  ASSERT_TRUE(emulator.Start().ok());
  FilesClient client(emulator.port());
  JsonDoc d = client.Begin("hdr/x.txt", R"({"mkdir_parents":true})");
  ASSERT_TRUE(d.IsArray());
  EXPECT_FALSE(Str(d[0]["headers"], kPartTokenHeader).empty());
  auto bare = client.PutPart(d[0], "abc", /*with_headers=*/false);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 400);
  EXPECT_THAT(bare->body, HasSubstr("<Code>MissingSecurityHeader</Code>"));
  auto good = client.PutPart(d[0], "abc");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
}

// The SDKs' 0-byte upload: {action: "put"}, no part PUT at all, then
// {action: "end", ref}: an empty file, as Files.com makes it.
TEST_F(FilesHttpTest, SdkZeroByteUploadEndsWithoutAnyPart) {
  auto first = client_->Post("/files/" + Encode("sdk/empty.txt"),
                             R"({"action":"put","mkdir_parents":true})");
  ASSERT_TRUE(first && first->status == 201) << (first ? first->body : "no response");
  const std::string ref = Str(Parse(first->body), "ref");
  auto end = client_->Post("/files/" + Encode("sdk/empty.txt"),
                           absl::StrCat(R"({"action":"end","ref":")", ref, R"("})"));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 201) << end->body;
  JsonDoc meta = client_->Meta("sdk/empty.txt");
  ASSERT_TRUE(meta.IsObject());
  EXPECT_EQ(meta["size"].GetInt64(), 0);
  EXPECT_EQ(Str(meta, "md5"), Md5(""));
  EXPECT_EQ(client_->Download("sdk/empty.txt"), "");
  // The ref is used up; a size that promised bytes is still refused.
  auto again = client_->Post("/files/" + Encode("sdk/empty.txt"),
                             absl::StrCat(R"({"action":"end","ref":")", ref, R"("})"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404) << again->body;
  auto promised = client_->Post("/files/" + Encode("sdk/promised.txt"), R"({"action":"put"})");
  ASSERT_TRUE(promised && promised->status == 201);
  auto short_end = client_->Post(
      "/files/" + Encode("sdk/promised.txt"),
      absl::StrCat(R"({"action":"end","size":5,"ref":")", Str(Parse(promised->body), "ref"), R"("})"));
  ASSERT_TRUE(short_end);
  EXPECT_THAT(short_end->body, ::testing::HasSubstr("file-not-uploaded"));
}

// GET /folders/{path}?search=: entries whose name holds the text, any case.
TEST_F(FilesHttpTest, FolderSearchNarrowsByName) {
  for (const char* name : {"Report 2024.pdf", "report-2025.txt", "photo.jpg"}) {
    ASSERT_EQ(client_->Upload(absl::StrCat("searching/", name), "x")->status, 201);
  }
  ASSERT_EQ(client_->Post("/folders/" + Encode("searching/Reports old"), "{}")->status, 201);
  auto res = client_->Get("/folders/searching?search=REPORT");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
  JsonDoc list = Parse(res->body);
  ASSERT_TRUE(list.IsArray());
  std::vector<std::string> paths;
  for (const auto& entry : list.GetArray()) paths.push_back(Str(entry, "path"));
  EXPECT_THAT(paths, ::testing::ElementsAre("searching/Reports old", "searching/Report 2024.pdf",
                                            "searching/report-2025.txt"));
  auto none = client_->Get("/folders/searching?search=zzz");
  ASSERT_TRUE(none && none->status == 200);
  EXPECT_EQ(none->body, "[]");
}

}  // namespace
}  // namespace filesgw::emulator
