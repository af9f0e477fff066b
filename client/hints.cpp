#include "client/hints.hpp"

namespace hatchet::rpc {

namespace {

bool mentions(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

} // namespace

std::string fatal_hint(const config& cfg, const wire::rpc_status& st) {
  if (cfg.tls == tls_strategy::none || st.code != wire::status::unavailable)
    return {};
  const auto& m = st.message;
  if (mentions(m, "wrong version number") || mentions(m, "WRONG_VERSION_NUMBER")
      || mentions(m, "packet length too long"))
    return "the engine at " + cfg.host_port
           + " does not speak TLS on that port, and HATCHET_CLIENT_TLS_STRATEGY is '"
           + (cfg.tls == tls_strategy::mtls ? std::string{"mtls"} : std::string{"tls"})
           + "': for a plaintext engine (hatchet-dev-engine, or a local engine without TLS) set "
             "HATCHET_CLIENT_TLS_STRATEGY=none";
  if (mentions(m, "certificate verify failed") || mentions(m, "CERTIFICATE_VERIFY_FAILED"))
    return "the engine's TLS certificate is not trusted, or not issued for the name dialled: set "
           "HATCHET_CLIENT_TLS_ROOT_CA_FILE to the CA that signed it, and "
           "HATCHET_CLIENT_TLS_SERVER_NAME if it names another host than " + cfg.host_port;
  return {};
}

} // namespace hatchet::rpc
