#pragma once
// What is wrong with a PEM file that is meant to hold certificates or a private key, said before
// anything connects. gRPC takes the files' text as it is; a file that holds no certificate (or
// no key) surfaces only as failed connections, retried for half a minute, with no word of the
// file. These checks read each file with OpenSSL, as the TLS handshake will.

#include <string>

namespace hatchet::util {

/// "" when `path` holds at least one PEM certificate that OpenSSL reads; otherwise why not, as a
/// clause to follow "'<path>' ", e.g. "holds no PEM certificate (it is empty)".
std::string pem_certificates_problem(const std::string& path);

/// "" when `path` holds a PEM private key that OpenSSL reads (unencrypted); otherwise why not.
std::string pem_private_key_problem(const std::string& path);

/// "" when the key in `key_path` belongs to the first certificate in `cert_path`; otherwise why
/// not. Both files must have passed the checks above.
std::string pem_key_mismatch(const std::string& cert_path, const std::string& key_path);

} // namespace hatchet::util
