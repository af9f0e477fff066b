#pragma once
// The names a certificate is issued for, for messages that say which name it carries. Shared by
// the client's TLS diagnosis and the dev engine's check of its own certificate.

#include <string>
#include <vector>

#include <openssl/x509.h>

namespace hatchet::util {

/// The DNS names and IP addresses of the certificate's subjectAltName, in order; when it has
/// none, its subject's common name (if any).
std::vector<std::string> certificate_names(X509* cert);

} // namespace hatchet::util
