#include "engine/tls_files.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/x509_names.hpp"
#include "engine/dev_engine.hpp"

namespace hatchet::engine {

namespace {

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

/// Never asks for a pass phrase: without this OpenSSL would prompt on the terminal for an
/// encrypted key.
int no_pass_phrase(char*, int, int, void*) {
  return 0;
}

/// The file's content, or an error naming it (`what` says which file it is).
std::string read_whole(const std::string& path, const char* what, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return std::string{"cannot read the "} + what + " '" + path + "': " + std::strerror(errno);
  out.clear();
  char buf[4096];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, got);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed)
    return std::string{"cannot read the "} + what + " '" + path + "': " + std::strerror(err);
  return {};
}

bio_ptr memory_bio(const std::string& pem) {
  return bio_ptr{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
}

/// Every PEM certificate in `pem`, in order (none if it holds none).
std::vector<x509_ptr> certificates(const std::string& pem) {
  std::vector<x509_ptr> out;
  auto bio = memory_bio(pem);
  while (bio) {
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_pass_phrase, nullptr)};
    if (!cert)
      break;
    out.push_back(std::move(cert));
  }
  ERR_clear_error(); // the end of the input reads as an error
  return out;
}


} // namespace

std::string load_tls_material(const engine_options& opts, tls_material& out) {
  out = {};
  if (auto err = read_whole(opts.tls_cert_file, "TLS certificate file", out.cert_chain_pem);
      !err.empty())
    return err;
  auto chain = certificates(out.cert_chain_pem);
  if (chain.empty())
    return "the TLS certificate file '" + opts.tls_cert_file +
           "' holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)";

  if (auto err = read_whole(opts.tls_key_file, "TLS private key file", out.private_key_pem);
      !err.empty())
    return err;
  auto bio = memory_bio(out.private_key_pem);
  pkey_ptr key{bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass_phrase, nullptr)
                   : nullptr};
  ERR_clear_error();
  if (!key) {
    if (out.private_key_pem.find("ENCRYPTED") != std::string::npos)
      return "the TLS private key file '" + opts.tls_key_file +
             "' holds an encrypted key; the engine needs it unencrypted (openssl pkey -in " +
             opts.tls_key_file + " -out <new file>)";
    return "the TLS private key file '" + opts.tls_key_file +
           "' holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or similar)";
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return "the private key in '" + opts.tls_key_file +
           "' does not belong to the certificate in '" + opts.tls_cert_file + "'";
  }
  out.names = util::certificate_names(chain.front().get());

  if (!opts.tls_client_ca_file.empty()) {
    if (auto err = read_whole(opts.tls_client_ca_file, "TLS client CA file", out.client_ca_pem);
        !err.empty())
      return err;
    if (certificates(out.client_ca_pem).empty())
      return "the TLS client CA file '" + opts.tls_client_ca_file +
             "' holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)";
  }
  return {};
}

bool certificate_covers(const std::string& cert_chain_pem, const std::string& host) {
  auto chain = certificates(cert_chain_pem);
  if (chain.empty() || host.empty())
    return false;
  unsigned char addr[16];
  bool is_ip = inet_pton(AF_INET, host.c_str(), addr) == 1 ||
               inet_pton(AF_INET6, host.c_str(), addr) == 1;
  int rc = is_ip ? X509_check_ip_asc(chain.front().get(), host.c_str(), 0)
                 : X509_check_host(chain.front().get(), host.data(), host.size(), 0, nullptr);
  ERR_clear_error();
  return rc == 1;
}

} // namespace hatchet::engine
