#pragma once
// What a failed call most likely means for the user, said in terms of what to change. gRPC's own
// texts (OpenSSL's "wrong version number", "Socket closed", ...) are accurate and unhelpful.

#include <chrono>
#include <string>

#include "client/tls_probe.hpp"
#include "hatchet/config.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

/// How long the handshake repeated by add_tls_diagnosis may take, connecting included.
inline constexpr std::chrono::milliseconds tls_diagnosis_timeout{2000};

/// The cause no retry will fix, if `st` shows one, with what to set: "" otherwise.
/// - st.hint, if the caller found one (add_tls_diagnosis);
/// - TLS to an engine that speaks plaintext on that port ("wrong version number"): set
///   HATCHET_CLIENT_TLS_STRATEGY=none;
/// - the engine's certificate not trusted, or not for the name dialled (gRPC's words for it):
///   the TLS variables to set.
std::string fatal_hint(const config& cfg, const wire::rpc_status& st);

/// Whether `st` is a failed connection whose cause gRPC does not say and diagnose_tls can find:
/// UNAVAILABLE with a failed TLS handshake ("Ssl handshake failed", "Peer name ... is not in
/// peer certificate") or a connection the engine closed ("Socket closed": under TLS, how gRPC
/// reports an engine refusing the client certificate; without TLS, an engine that speaks TLS).
/// Not for a refused or unreachable address, which a retry may well fix.
bool worth_a_tls_diagnosis(const config& cfg, const wire::rpc_status& st);

/// The advice for a diagnosis: "" when it found nothing to change (accepted, unreachable, other).
std::string tls_hint(const config& cfg, const tls_diagnosis& d);

/// If worth_a_tls_diagnosis(cfg, st): repeats the handshake with OpenSSL (diagnose_tls, at most
/// tls_diagnosis_timeout) and sets st.hint to its advice. Blocking: call it off the actor and
/// gRPC threads.
void add_tls_diagnosis(const config& cfg, wire::rpc_status& st);

} // namespace hatchet::rpc
