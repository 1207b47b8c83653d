// Caller security through the real gateway and emulator: bearer tokens and
// allow-lists, mTLS identities (certificates made with the openssl CLI at run
// time) and certificate hot reload, credential profiles, and the per-call
// Files.com credential override. Every refusal is checked to have sent
// nothing upstream.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "files/v1/transfer.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/config.h"
#include "tests/server/gateway_harness.h"

namespace filesgw::testing {
namespace {

constexpr char kFindUser[] = "files.v1.UserService/FindUser";
constexpr char kListGroups[] = "files.v1.GroupService/ListGroups";

std::string Reason(const CallResult& r) {
  google::rpc::ErrorInfo info;
  return r.ErrorInfo(&info) ? info.reason() : "";
}

server::CallerOptions Caller(std::string name, std::string token, std::vector<std::string> allow,
                             std::string profile = "default") {
  server::CallerOptions c;
  c.name = std::move(name);
  c.token_sha256 = server::Sha256Hex(token);
  c.allow = std::move(allow);
  c.profile = std::move(profile);
  return c;
}

CallOptions Bearer(const std::string& token) {
  CallOptions o;
  o.metadata.emplace_back("authorization", "Bearer " + token);
  return o;
}

// grpc.health.v1.Health/Check for the whole server: true when SERVING.
bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::Slice empty(std::string{});  // HealthCheckRequest{service: ""} encodes to no bytes
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  if (!done.get_future().get().ok()) return false;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes == std::string("\x08\x01", 2);  // status: SERVING
}

TEST(CallerAuth, TokensAndAllowListsDecideBeforeAnythingGoesUpstream) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->callers = {Caller("billing", "tok-billing", {"files.v1.UserService/*"}),
                  Caller("reports", "tok-reports", {kListGroups, "files.v1.TransferService/*"})};
  };
  GatewayHarness h(options);
  h.ResetEmulator();

  auto anonymous = h.Call(kFindUser, R"({"id":1})");
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Reason(anonymous), "CALLER_UNAUTHENTICATED");
  auto wrong = h.CallWith(Bearer("tok-nobody"), kFindUser, R"({"id":1})");
  EXPECT_EQ(wrong.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  CallOptions basic;
  basic.metadata.emplace_back("authorization", "Basic dG9rLWJpbGxpbmc=");
  EXPECT_EQ(h.CallWith(basic, kFindUser, R"({"id":1})").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(h.RequestCount("GET /api/rest/v1/users/1"), 0) << "refused calls reach nobody";

  auto found = h.CallWith(Bearer("tok-billing"), kFindUser, R"({"id":1})");
  EXPECT_TRUE(found.status.ok()) << found.status.error_message();
  EXPECT_EQ(h.RequestCount("GET /api/rest/v1/users/1"), 1);

  auto denied = h.CallWith(Bearer("tok-billing"), kListGroups, "{}");
  EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(denied), "CALLER_NOT_ALLOWED");
  EXPECT_NE(denied.status.error_message().find("files.v1.GroupService/ListGroups"),
            std::string::npos);
  EXPECT_EQ(h.RequestCount("GET /api/rest/v1/groups"), 0);

  EXPECT_TRUE(h.CallWith(Bearer("tok-reports"), kListGroups, "{}").status.ok());
  EXPECT_EQ(h.CallWith(Bearer("tok-reports"), kFindUser, R"({"id":1})").status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // TransferService is guarded the same way.
  auto stub = files::v1::TransferService::NewStub(h.channel());
  {
    grpc::ClientContext context;
    files::v1::DownloadRequest request;
    request.set_path("anything.txt");
    auto reader = stub->Download(&context, request);
    files::v1::DownloadResponse message;
    while (reader->Read(&message)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer tok-billing");
    files::v1::StartResumableUploadRequest request;
    request.mutable_spec()->set_path("billing/report.csv");
    files::v1::StartResumableUploadResponse response;
    EXPECT_EQ(stub->StartResumableUpload(&context, request, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(h.RequestCount("POST /api/rest/v1/file_actions/begin_upload/billing/report.csv"), 0);
  // Probes need no credentials.
  EXPECT_TRUE(Serving(h.channel()));
}

TEST(CallerAuth, ResumableUploadsBelongToTheCallerThatStartedThem) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    g->callers = {Caller("a", "tok-a", {"*"}), Caller("b", "tok-b", {"*"})};
  };
  GatewayHarness h(options);
  auto stub = files::v1::TransferService::NewStub(h.channel());
  std::string id;
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer tok-a");
    files::v1::StartResumableUploadRequest request;
    request.mutable_spec()->set_path("resumable-owned.bin");
    files::v1::StartResumableUploadResponse response;
    ASSERT_TRUE(stub->StartResumableUpload(&context, request, &response).ok());
    id = response.upload_id();
  }
  for (const char* token : {"tok-a", "tok-b"}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + token);
    files::v1::QueryUploadStatusRequest request;
    request.set_upload_id(id);
    files::v1::QueryUploadStatusResponse response;
    const grpc::Status s = stub->QueryUploadStatus(&context, request, &response);
    if (std::string(token) == "tok-a") {
      EXPECT_TRUE(s.ok()) << s.error_message();
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << "another caller's upload id";
    }
  }
}

TEST(CallerAuth, EachCallerUsesItsProfilesCredential) {
  HarnessOptions options;
  options.gateway_setup = [](server::GatewayOptions* g) {
    server::ProfileOptions good;
    good.base_url = g->base_url;
    good.api_key = g->api_key;
    server::ProfileOptions stale = good;
    stale.name = "stale";
    stale.api_key = "revoked-key";
    g->profiles = {good, stale};
    g->callers = {Caller("app", "tok-app", {"*"}), Caller("old", "tok-old", {"*"}, "stale")};
  };
  GatewayHarness h(options);
  EXPECT_TRUE(h.CallWith(Bearer("tok-app"), kFindUser, R"({"id":1})").status.ok());
  auto old = h.CallWith(Bearer("tok-old"), kFindUser, R"({"id":1})");
  EXPECT_EQ(old.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(Reason(old), "CALLER_UNAUTHENTICATED") << "Files.com refused the profile's key";
  EXPECT_TRUE(Serving(h.channel())) << "one rejected profile of two keeps the gateway serving";
  EXPECT_TRUE(h.CallWith(Bearer("tok-app"), kFindUser, R"({"id":1})").status.ok());
}

TEST(CallerAuth, PerCallCredentialOnlyWhereTheProfileAllowsIt) {
  for (bool allowed : {false, true}) {
    SCOPED_TRACE(allowed ? "allowed" : "not allowed");
    HarnessOptions options;
    options.gateway_setup = [allowed](server::GatewayOptions* g) {
      server::ProfileOptions p;
      p.base_url = g->base_url;
      p.api_key = g->api_key;
      p.allow_caller_credentials = allowed;
      g->profiles = {p};
    };
    GatewayHarness h(options);
    h.ResetEmulator();
    CallOptions own;
    own.metadata.emplace_back("x-files-api-key", "callers-own-wrong-key");
    auto r = h.CallWith(own, kFindUser, R"({"id":1})");
    if (!allowed) {
      EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(Reason(r), "CALLER_CREDENTIAL_NOT_ALLOWED");
      EXPECT_EQ(h.RequestCount("GET /api/rest/v1/users/1"), 0);
      continue;
    }
    // The caller's key was sent (and refused by Files.com), not the gateway's.
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(h.RequestCount("GET /api/rest/v1/users/1"), 1);
    EXPECT_TRUE(Serving(h.channel())) << "a caller's bad key says nothing of the gateway's";
    CallOptions right;
    right.metadata.emplace_back("x-files-api-key", h.api_key());
    EXPECT_TRUE(h.CallWith(right, kFindUser, R"({"id":1})").status.ok());
    // A session the caller holds works too.
    auto session = h.Call("files.v1.SessionService/CreateSession",
                          R"({"username":"admin","password":"password"})");
    ASSERT_TRUE(session.status.ok()) << session.status.error_message();
    const auto* field = session.response->GetDescriptor()->FindFieldByName("id");
    ASSERT_NE(field, nullptr);
    CallOptions with_session;
    with_session.metadata.emplace_back(
        "x-files-session-id", session.response->GetReflection()->GetString(*session.response, field));
    EXPECT_TRUE(h.CallWith(with_session, kFindUser, R"({"id":1})").status.ok());
    CallOptions both = right;
    both.metadata.emplace_back("x-files-session-id", "s");
    EXPECT_EQ(h.CallWith(both, kFindUser, R"({"id":1})").status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST(CallerAuth, RefusesToListenBeyondLoopbackWithoutCallers) {
  HarnessOptions options;
  std::string error;
  options.gateway_setup = [](server::GatewayOptions* g) { g->listen = "0.0.0.0:0"; };
  options.start_error = &error;
  GatewayHarness h(options);
  EXPECT_NE(error.find("refusing to listen on 0.0.0.0:0"), std::string::npos) << error;
}

// ---- mTLS ----

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/gw-pki-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~Pki() { std::system(("rm -rf " + dir_).c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  void Ca(const std::string& name) {
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".crt") + " -days 2 -subj /CN=" + name);
  }
  // A certificate for `cn` signed by `ca`, written as <name>.crt / <name>.key;
  // a client certificate gets the subjectAltName `client_san` when given.
  void Issue(const std::string& ca, const std::string& name, const std::string& cn,
             bool server, const std::string& client_san = "") {
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".csr") + " -subj /CN=" + cn);
    std::ofstream(Path(name + ".ext"))
        << (server ? "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   : "basicConstraints=CA:FALSE\n" +
                         (client_san.empty() ? "" : "subjectAltName=" + client_san + "\n"));
    Run("openssl x509 -req -in " + Path(name + ".csr") + " -CA " + Path(ca + ".crt") +
        " -CAkey " + Path(ca + ".key") + " -CAcreateserial -out " + Path(name + ".crt") +
        " -days 2 -extfile " + Path(name + ".ext"));
  }
  // Replaces `to`.crt/.key with `from`'s, each by an atomic rename.
  void Install(const std::string& from, const std::string& to) {
    for (const char* ext : {".key", ".crt"}) {
      Run("cp " + Path(from + ext) + " " + Path(to + ext + ".tmp") + " && mv " +
          Path(to + ext + ".tmp") + " " + Path(to + ext));
    }
  }

  std::shared_ptr<grpc::Channel> Channel(int port, const std::string& trust,
                                         const std::string& client) const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(Path(trust + ".crt"));
    if (!client.empty()) {
      ssl.pem_private_key = ReadFile(Path(client + ".key"));
      ssl.pem_cert_chain = ReadFile(Path(client + ".crt"));
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // a fresh connection per channel
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::SslCredentials(ssl), args);
  }

 private:
  static void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
  }
  std::string dir_;
};

TEST(CallerAuth, MutualTlsIdentitiesAndCertificateHotReload) {
  Pki pki;
  pki.Ca("ca");
  pki.Ca("other-ca");
  pki.Issue("ca", "gateway", "gateway", true);
  pki.Issue("other-ca", "gateway-next", "gateway", true);
  pki.Issue("ca", "billing", "billing.apps.svc", false);
  pki.Issue("ca", "stranger", "stranger.apps.svc", false);
  pki.Issue("other-ca", "forged", "billing.apps.svc", false);
  HarnessOptions options;
  options.gateway_setup = [&pki](server::GatewayOptions* g) {
    g->tls.cert_file = pki.Path("gateway.crt");
    g->tls.key_file = pki.Path("gateway.key");
    g->tls.client_ca_file = pki.Path("ca.crt");
    g->tls.reload_interval = absl::Seconds(1);
    server::CallerOptions billing;
    billing.name = "billing";
    billing.certificate = "billing.apps.svc";
    billing.allow = {"files.v1.UserService/*"};
    g->callers = {billing};
  };
  GatewayHarness h(options);
  const int port = h.gateway_port();
  auto call = [&](const std::string& trust, const std::string& client) {
    CallOptions o;
    o.channel = pki.Channel(port, trust, client);
    o.timeout = absl::Seconds(5);
    return h.CallWith(o, kFindUser, R"({"id":1})");
  };
  auto ok = call("ca", "billing");
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  auto stranger = call("ca", "stranger");
  EXPECT_EQ(stranger.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(stranger.status.error_message().find("stranger.apps.svc"), std::string::npos);
  EXPECT_EQ(call("ca", "").status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << "no client certificate: the handshake fails";
  EXPECT_EQ(call("ca", "forged").status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a certificate from another CA: the handshake fails";
  {
    CallOptions o;
    o.channel = pki.Channel(port, "ca", "billing");
    EXPECT_EQ(h.CallWith(o, kListGroups, "{}").status.error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(h.RequestCount("GET /api/rest/v1/users/1"), 1);

  // Rotate the gateway's certificate to one from other-ca: new connections
  // see it without a restart.
  pki.Install("gateway-next", "gateway");
  bool rotated = false;
  for (int i = 0; i < 40 && !rotated; ++i) {
    absl::SleepFor(absl::Milliseconds(250));
    rotated = call("other-ca", "billing").status.ok();
  }
  EXPECT_TRUE(rotated) << "the new certificate was not served within 10 s";
}

TEST(CallerAuth, CertificateIdentityIsTheCommonNameOrADnsSanOnly) {
  Pki pki;
  pki.Ca("ca");
  pki.Issue("ca", "gateway", "gateway", true);
  // Each client certificate has an unrelated CN; only its SAN may match.
  pki.Issue("ca", "dns", "someone", false, "DNS:billing");
  pki.Issue("ca", "uri", "someone", false, "URI:billing");
  pki.Issue("ca", "email", "someone", false, "email:billing");
  pki.Issue("ca", "ip", "someone", false, "IP:10.1.2.3");
  pki.Issue("ca", "cn", "billing", false);
  HarnessOptions options;
  options.gateway_setup = [&pki](server::GatewayOptions* g) {
    g->tls.cert_file = pki.Path("gateway.crt");
    g->tls.key_file = pki.Path("gateway.key");
    g->tls.client_ca_file = pki.Path("ca.crt");
    server::CallerOptions billing;
    billing.name = "billing";
    billing.certificate = "billing";
    billing.allow = {"*"};
    server::CallerOptions by_ip;
    by_ip.name = "by-ip";
    by_ip.certificate = "10.1.2.3";
    by_ip.allow = {"*"};
    g->callers = {billing, by_ip};
  };
  GatewayHarness h(options);
  auto call = [&](const std::string& client) {
    CallOptions o;
    o.channel = pki.Channel(h.gateway_port(), "ca", client);
    o.timeout = absl::Seconds(5);
    return h.CallWith(o, kFindUser, R"({"id":1})").status;
  };
  EXPECT_TRUE(call("cn").ok());
  EXPECT_TRUE(call("dns").ok());
  for (const char* other : {"uri", "email", "ip"}) {
    const grpc::Status s = call(other);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << other << ": " << s.error_message();
  }
}

}  // namespace
}  // namespace filesgw::testing
