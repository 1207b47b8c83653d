#include "emulator/tls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/status/status.h"

namespace filesgw::emulator {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

Key NewKey() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, signed by `issuer_key`
// (`issuer` null: self-signed).
Cert NewCert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
             absl::Duration validity, bool ca) {
  Cert cert(X509_new());
  if (cert == nullptr) return nullptr;
  X509* c = cert.get();
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return nullptr;
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != nullptr;
  BN_free(bn);
  ok = ok && X509_set_version(c, 2) == 1;
  // From an hour ago: a client whose clock is a little behind still accepts it.
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(c), -3600) != nullptr;
  ok = ok && X509_gmtime_adj(X509_getm_notAfter(c), absl::ToInt64Seconds(validity)) != nullptr;
  ok = ok && X509_set_pubkey(c, key) == 1;
  X509_NAME* name = X509_get_subject_name(c);
  ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>("files-emulator"),
                                        -1, -1, 0) == 1;
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>(common_name), -1,
                                        -1, 0) == 1;
  X509* signer = issuer != nullptr ? issuer : c;
  ok = ok && X509_set_issuer_name(c, X509_get_subject_name(signer)) == 1;
  if (ca) {
    ok = ok && AddExtension(c, signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    ok = ok && AddExtension(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    ok = ok && AddExtension(c, signer, NID_subject_key_identifier, "hash");
  } else {
    ok = ok && AddExtension(c, signer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExtension(c, signer, NID_key_usage, "critical,digitalSignature");
    ok = ok && AddExtension(c, signer, NID_ext_key_usage, "serverAuth");
    ok = ok && AddExtension(c, signer, NID_subject_alt_name,
                            "IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,DNS:localhost");
    ok = ok && AddExtension(c, signer, NID_authority_key_identifier, "keyid:always");
  }
  ok = ok && X509_sign(c, issuer_key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

std::string Drain(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  return Drain(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  return Drain(bio.get());
}

}  // namespace

absl::StatusOr<TlsPems> MakeSelfSignedTls(absl::Duration validity) {
  Key ca_key = NewKey();
  Key server_key = NewKey();
  if (ca_key == nullptr || server_key == nullptr) {
    return absl::InternalError("cannot make an EC P-256 key");
  }
  Cert ca = NewCert(ca_key.get(), "files-emulator throwaway CA", nullptr, ca_key.get(), validity,
                    /*ca=*/true);
  if (ca == nullptr) return absl::InternalError("cannot make the CA certificate");
  Cert server = NewCert(server_key.get(), "localhost", ca.get(), ca_key.get(), validity,
                        /*ca=*/false);
  if (server == nullptr) return absl::InternalError("cannot make the server certificate");
  TlsPems out{CertPem(ca.get()), CertPem(server.get()), KeyPem(server_key.get())};
  if (out.ca_pem.empty() || out.cert_pem.empty() || out.key_pem.empty()) {
    return absl::InternalError("cannot write the TLS material as PEM");
  }
  return out;
}

}  // namespace filesgw::emulator
