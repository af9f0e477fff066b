#include "util/pem_files.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace hatchet::util {

namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* c) const { X509_free(c); }
};
struct key_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

/// The most of a file read: PEM files are kilobytes; this keeps a wrong path (a device, a
/// disk image) from being read whole.
constexpr std::uintmax_t max_file_bytes = 16 * 1024 * 1024;

/// The file's bytes into `out`; false with `why` when it cannot be read, is not a regular file,
/// or is far too large to be a PEM file.
bool read_all(const std::string& path, std::string& out, std::string& why) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    why = "is not a regular file";
    return false;
  }
  if (auto size = std::filesystem::file_size(path, ec); !ec && size > max_file_bytes) {
    why = "has " + std::to_string(size) + " bytes, far too many for a PEM file";
    return false;
  }
  errno = 0;
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    why = std::string{"cannot be read ("} + (errno != 0 ? std::strerror(errno) : "open failed")
          + ")";
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

/// What the text looks like when OpenSSL found nothing of the wanted kind in it.
std::string what_it_holds(const std::string& text) {
  if (text.empty())
    return "it is empty";
  if (text.find("-----BEGIN") == std::string::npos) {
    for (unsigned char c : text.substr(0, 64))
      if (c < 0x09 || (c > 0x0d && c < 0x20))
        return "it is binary, perhaps DER: convert it to PEM with openssl x509 (or pkey) "
               "-inform der";
    return "it has no '-----BEGIN ...-----' line";
  }
  if (text.find("ENCRYPTED PRIVATE KEY") != std::string::npos
      || text.find("Proc-Type: 4,ENCRYPTED") != std::string::npos)
    return "it holds an encrypted private key, which needs a passphrase: decrypt it with "
           "openssl pkey";
  if (text.find("PRIVATE KEY-----") != std::string::npos)
    return "it holds a private key";
  if (text.find("-----BEGIN CERTIFICATE-----") != std::string::npos)
    return "it holds a certificate";
  return "its PEM blocks are not readable";
}

std::unique_ptr<BIO, bio_free> memory_bio(const std::string& text) {
  return std::unique_ptr<BIO, bio_free>{
    BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
}

/// The first certificate in `bio`, as gRPC reads a chain or roots: "CERTIFICATE" and "TRUSTED
/// CERTIFICATE" blocks alike.
std::unique_ptr<X509, x509_free> first_certificate(BIO* bio) {
  return std::unique_ptr<X509, x509_free>{PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr)};
}


/// Why `text` gave no `wanted` ("certificate" or "private key"): what it holds instead, with a
/// hint when it holds the other kind (`other_holds`, as what_it_holds words it).
std::string missing(const std::string& text, const std::string& wanted, const char* own_holds,
                    const char* other_holds) {
  auto holds = what_it_holds(text);
  if (holds == other_holds)
    holds += " (are the certificate and key files swapped?)";
  else if (holds == own_holds)
    holds = "its " + std::string{wanted == "certificate" ? "certificate" : "key"}
            + " block is damaged";
  return "holds no PEM " + wanted + " (" + holds + ")";
}

constexpr const char* holds_key = "it holds a private key";
constexpr const char* holds_certificate = "it holds a certificate";

} // namespace

std::string pem_certificates_problem(const std::string& path) {
  std::string text, why;
  if (!read_all(path, text, why))
    return why;
  auto bio = memory_bio(text);
  auto cert = first_certificate(bio.get());
  ERR_clear_error();
  return cert ? std::string{} : missing(text, "certificate", holds_certificate, holds_key);
}

std::string pem_private_key_problem(const std::string& path) {
  std::string text, why;
  if (!read_all(path, text, why))
    return why;
  auto bio = memory_bio(text);
  // An empty passphrase callback: an encrypted key fails here instead of prompting on a tty.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, key_free> key{
    PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  ERR_clear_error();
  return key ? std::string{} : missing(text, "private key", holds_key, holds_certificate);
}

std::string pem_key_mismatch(const std::string& cert_path, const std::string& key_path) {
  std::string cert_text, key_text, why;
  if (!read_all(cert_path, cert_text, why) || !read_all(key_path, key_text, why))
    return why;
  auto cert_bio = memory_bio(cert_text);
  auto key_bio = memory_bio(key_text);
  auto cert = first_certificate(cert_bio.get());
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, key_free> key{
    PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr)};
  bool matches = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return matches ? std::string{} : std::string{"the key does not belong to the certificate"};
}

} // namespace hatchet::util
