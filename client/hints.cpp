#include "client/hints.hpp"

namespace hatchet::rpc {

namespace {

bool mentions(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

const char* strategy_name(tls_strategy s) {
  switch (s) {
    case tls_strategy::tls:
      return "tls";
    case tls_strategy::mtls:
      return "mtls";
    case tls_strategy::none:
      return "none";
  }
  return "?";
}

/// OpenSSL's words for a TLS handshake answered in plaintext.
bool plaintext_answer(const std::string& m) {
  return mentions(m, "wrong version number") || mentions(m, "WRONG_VERSION_NUMBER")
         || mentions(m, "packet length too long");
}

std::string plaintext_engine_hint(const config& cfg) {
  return "the engine at " + cfg.host_port
         + " does not speak TLS on that port, and HATCHET_CLIENT_TLS_STRATEGY is '"
         + strategy_name(cfg.tls)
         + "': for a plaintext engine (hatchet-dev-engine without --tls-cert, or a local engine "
           "without TLS) set HATCHET_CLIENT_TLS_STRATEGY=none";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out;
}

/// A name of the certificate's that HATCHET_CLIENT_TLS_SERVER_NAME can hold (not a wildcard).
std::string settable_name(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (n.rfind("*.", 0) != 0)
      return n;
  return "<a name the certificate is for>";
}

std::string name_mismatch_hint(const config& cfg, const tls_diagnosis& d) {
  const std::string checked =
    cfg.tls_server_name.empty()
      ? "the name " + d.server_name + " (the host of " + cfg.host_port + ")"
      : "the name " + d.server_name + " in HATCHET_CLIENT_TLS_SERVER_NAME";
  const std::string is_for = d.certificate_names.empty()
                               ? "the engine's certificate"
                               : "the engine's certificate is for " + join(d.certificate_names)
                                   + ", which";
  if (cfg.tls_server_name.empty())
    return is_for + " does not match " + checked
           + " that the client checks it against: set HATCHET_CLIENT_TLS_SERVER_NAME="
           + settable_name(d.certificate_names)
           + " (or connect through a name the certificate is for)";
  return is_for + " does not match " + checked
         + ": set HATCHET_CLIENT_TLS_SERVER_NAME to a name the certificate is for";
}

} // namespace

std::string tls_hint(const config& cfg, const tls_diagnosis& d) {
  using kind = tls_diagnosis::kind;
  const std::string why = d.detail.empty() ? std::string{} : " (" + d.detail + ")";
  switch (d.what) {
    case kind::accepted:
    case kind::unreachable:
    case kind::other:
      return {};
    case kind::not_tls:
      return plaintext_engine_hint(cfg);
    case kind::speaks_tls:
      return "the engine at " + cfg.host_port
             + " serves TLS, and HATCHET_CLIENT_TLS_STRATEGY is 'none': set "
               "HATCHET_CLIENT_TLS_STRATEGY=tls and HATCHET_CLIENT_TLS_ROOT_CA_FILE to the CA "
               "that signed its certificate (mtls, with a client certificate, if it requires one)";
    case kind::untrusted:
      if (cfg.tls_root_ca_file.empty())
        return "the engine's certificate is not signed by a CA this system trusts" + why
               + ", and HATCHET_CLIENT_TLS_ROOT_CA_FILE is not set: set it to the CA certificate "
                 "that signed the engine's certificate";
      return "the engine's certificate is not signed by HATCHET_CLIENT_TLS_ROOT_CA_FILE ("
             + cfg.tls_root_ca_file + ")" + why
             + ": set HATCHET_CLIENT_TLS_ROOT_CA_FILE to the CA certificate that signed the "
               "engine's certificate";
    case kind::invalid_certificate:
      return "the engine's certificate does not verify" + why
             + ": no client setting fixes this; the engine needs a valid certificate";
    case kind::name_mismatch:
      return name_mismatch_hint(cfg, d);
    case kind::client_cert_required:
      return "the engine requires a client certificate: set HATCHET_CLIENT_TLS_STRATEGY=mtls with "
             "HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE (a certificate "
             "signed by a CA the engine trusts for clients, and its key); with strategy '"
             + std::string{strategy_name(cfg.tls)} + "' the client sends none" + why;
    case kind::client_cert_refused:
      return "the engine refused the client certificate in HATCHET_CLIENT_TLS_CERT_FILE ("
             + cfg.tls_cert_file + ")" + why
             + ": use one signed by a CA the engine trusts for clients (hatchet-dev-engine "
               "--tls-client-ca) and valid now";
    case kind::unusable_files:
      return d.detail;
  }
  return {};
}

bool worth_a_tls_diagnosis(const config& cfg, const wire::rpc_status& st) {
  if (st.code != wire::status::unavailable || !st.hint.empty())
    return false;
  const auto& m = st.message;
  if (cfg.tls == tls_strategy::none)
    return mentions(m, "Socket closed");
  if (plaintext_answer(m))
    return false; // gRPC's words say it all
  return mentions(m, "andshake") || mentions(m, "Socket closed") || mentions(m, "certificate")
         || mentions(m, "Peer name");
}

void add_tls_diagnosis(const config& cfg, wire::rpc_status& st) {
  if (worth_a_tls_diagnosis(cfg, st))
    st.hint = tls_hint(cfg, diagnose_tls(cfg, tls_diagnosis_timeout));
}

std::string fatal_hint(const config& cfg, const wire::rpc_status& st) {
  if (!st.hint.empty())
    return st.hint;
  if (cfg.tls == tls_strategy::none || st.code != wire::status::unavailable)
    return {};
  const auto& m = st.message;
  if (plaintext_answer(m))
    return plaintext_engine_hint(cfg);
  // What gRPC says itself, when no diagnosis could say more.
  if (mentions(m, "certificate verify failed") || mentions(m, "CERTIFICATE_VERIFY_FAILED"))
    return "the engine's TLS certificate is not trusted: set HATCHET_CLIENT_TLS_ROOT_CA_FILE to "
           "the CA that signed it";
  if (mentions(m, "is not in peer certificate"))
    return "the engine's certificate does not match the name " + tls_server_name(cfg)
           + " that the client checks it against: set HATCHET_CLIENT_TLS_SERVER_NAME to a name "
             "the certificate is for";
  return {};
}

} // namespace hatchet::rpc
