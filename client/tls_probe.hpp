#pragma once
// Why a TLS connection to the engine fails, found out with OpenSSL directly.
//
// gRPC reports every failed handshake the same way: UNAVAILABLE "failed to connect to all
// addresses; last error: ... Ssl handshake failed ...", whether the engine's certificate comes
// from another CA, is issued for another name, or the engine wants a client certificate. Each
// needs a different setting changed, and retrying fixes none of them. So after such a failure the
// worker and hatchet-run repeat the handshake with OpenSSL against the same host:port, with the
// same root CA, server name and client certificate, and read the cause from the certificate
// verification result and from what the engine does with the client's certificate (or its
// absence). No gRPC or OpenSSL types here.

#include <chrono>
#include <string>
#include <vector>

#include "hatchet/config.hpp"

namespace hatchet::rpc {

struct tls_diagnosis {
  enum class kind {
    /// The handshake worked and the engine kept the connection: nothing TLS-related to report.
    accepted,
    /// No TCP connection to host:port (refused, unreachable, timed out): not a TLS problem.
    unreachable,
    /// The engine answered, but not with TLS (a plaintext engine).
    not_tls,
    /// Under HATCHET_CLIENT_TLS_STRATEGY=none: the engine answers a TLS handshake (it serves TLS).
    speaks_tls,
    /// The engine's certificate is not signed by a CA of the root CA file (or of the system's
    /// roots without one).
    untrusted,
    /// The engine's certificate chain is signed by a trusted CA but does not verify otherwise
    /// (expired, not yet valid, not for TLS servers, ...; `detail` says which).
    invalid_certificate,
    /// The certificate verifies but is not for the server name checked (HATCHET_CLIENT_TLS_
    /// SERVER_NAME, else the host of host_port).
    name_mismatch,
    /// The engine asked for a client certificate, none was sent, and it ended the connection.
    client_cert_required,
    /// A client certificate was sent, and the engine ended the connection (not signed by a CA it
    /// trusts for clients, expired, ...).
    client_cert_refused,
    /// The root CA file, or under mtls the client certificate and key, cannot be used (`detail`
    /// says which and why); nothing was sent.
    unusable_files,
    /// The handshake failed in a way none of the above explains (`detail` has OpenSSL's words).
    other,
  };
  kind what = kind::accepted;
  /// OpenSSL's reason: the verification error ("unable to get local issuer certificate"), the
  /// alert the engine sent ("tlsv13 alert certificate required"), or the connect error.
  std::string detail;
  /// The server name the certificate was checked against.
  std::string server_name;
  /// What the engine's certificate is for (subjectAltName DNS and IP entries, else its common
  /// name); empty if it sent none.
  std::vector<std::string> certificate_names;
};

/// The TLS server name a client of `cfg` checks the engine's certificate against:
/// HATCHET_CLIENT_TLS_SERVER_NAME, else the host of host_port (without IPv6 brackets).
std::string tls_server_name(const config& cfg);

/// Connects to cfg.host_port and does a TLS handshake as the gRPC channel does: the root CA file
/// (else the system's roots), the server name of tls_server_name() for SNI (unless an IP
/// address) and verification, ALPN "h2", and under mtls the client certificate and key (under
/// strategy none: only whether the engine answers TLS at all). After a
/// handshake without verification errors, it sends the HTTP/2 preface and waits for the engine's
/// first bytes: under TLS 1.3 the engine refuses a missing or unacceptable client certificate
/// only after the client has finished its handshake. Blocking; the whole probe is bounded by
/// `timeout`. Never throws.
tls_diagnosis diagnose_tls(const config& cfg, std::chrono::milliseconds timeout);

} // namespace hatchet::rpc
