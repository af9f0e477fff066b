#pragma once
// The engine's TLS material: the PEM files engine_options names, read and checked before anything
// listens.
//
// gRPC takes PEM text and, given a bad file, only logs an OpenSSL error and fails to start;
// cpp-httplib fails without saying why. Someone starting the engine with the wrong file (a CSR
// instead of a certificate, the key of another certificate, an encrypted key, a typo in a path)
// should read which file and what is wrong with it, so every file is parsed with OpenSSL here
// first. Also: which names the certificate is for, so the engine can tell when clients dialling
// its own address would refuse it (a certificate for another host name).

#include <string>
#include <vector>

namespace hatchet::engine {

struct engine_options;

struct tls_material {
  std::string cert_chain_pem;  ///< the server certificate first, then its intermediates
  std::string private_key_pem; ///< the server certificate's key, unencrypted
  std::string client_ca_pem;   ///< CAs that sign client certificates; empty: no mutual TLS
  /// What the server certificate is for: its subjectAltName DNS and IP entries, else (no such
  /// entries) its subject common name. The order of the certificate.
  std::vector<std::string> names;
};

/// Reads and checks opts.tls_cert_file, tls_key_file and (if set) tls_client_ca_file: each must be
/// readable; the certificate file must hold at least one PEM certificate; the key file an
/// unencrypted PEM private key that belongs to the first certificate; the client CA file at least
/// one PEM certificate. "" and `out` filled on success, else one sentence naming the file and the
/// problem. Only meaningful with opts.tls_cert_file set.
std::string load_tls_material(const engine_options& opts, tls_material& out);

/// Whether a TLS client dialling `host` (a DNS name, or an IPv4/IPv6 address without brackets)
/// accepts the first certificate in `cert_chain_pem` as the server's: subjectAltName DNS entries
/// (wildcards in the leftmost label) or IP entries, the subject common name only when there are no
/// DNS entries. False if the PEM does not parse.
bool certificate_covers(const std::string& cert_chain_pem, const std::string& host);

} // namespace hatchet::engine
