// libFuzzer target: the token parser (hatchet::parse_token) and the configuration reader
// (hatchet::config::from_map), which a worker runs on HATCHET_CLIENT_* before anything else.
//
// Input layout: fields separated by '\n'. The first is the token; the next ones, when present,
// are the values of HATCHET_CLIENT_HOST_PORT, _TLS_STRATEGY, _NAMESPACE, _TENANT_ID,
// _GRPC_MAX_RECV_MESSAGE_LENGTH and _GRPC_MAX_SEND_MESSAGE_LENGTH (an empty field leaves the
// variable unset). So one input exercises the base64url and JSON decoding of the token and every
// validation from_map does. Checked beyond "no crash":
//   - parse_token: success has a non-empty `sub`; failure is errc::invalid_token;
//   - from_map: success passes validate() and has a host:port with a port in 1..65535 and
//     positive message limits; failure is invalid_token or invalid_config with a description.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "hatchet/config.hpp"
#include "hatchet/errors.hpp"

namespace {

[[noreturn]] void contract_broken(const char* what) {
  std::fprintf(stderr, "token/config contract broken: %s\n", what);
  std::abort();
}

bool is(const caf::error& err, hatchet::errc code) {
  return err.category() == hatchet::errc_category::value &&
         static_cast<hatchet::errc>(err.code()) == code;
}

constexpr const char* variables[] = {
  "HATCHET_CLIENT_HOST_PORT",
  "HATCHET_CLIENT_TLS_STRATEGY",
  "HATCHET_CLIENT_NAMESPACE",
  "HATCHET_CLIENT_TENANT_ID",
  "HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH",
  "HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    auto nl = text.find('\n', start);
    fields.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos)
      break;
    start = nl + 1;
  }

  auto claims = hatchet::parse_token(fields[0]);
  if (claims) {
    if (claims->sub.empty())
      contract_broken("parsed token without sub");
  } else if (!is(claims.error(), hatchet::errc::invalid_token)) {
    contract_broken("token failure is not errc::invalid_token");
  }

  std::map<std::string, std::string> env{{"HATCHET_CLIENT_TOKEN", fields[0]}};
  for (size_t i = 1; i < fields.size() && i - 1 < std::size(variables); ++i)
    if (!fields[i].empty())
      env[variables[i - 1]] = fields[i];
  auto cfg = hatchet::config::from_map(env);
  if (cfg) {
    if (!claims)
      contract_broken("config accepted a token parse_token refused");
    if (cfg->validate())
      contract_broken("from_map returned a config that fails validate()");
    if (cfg->host_port.rfind(':') == std::string::npos)
      contract_broken("host_port without a port");
    if (cfg->max_recv_bytes <= 0 || cfg->max_send_bytes <= 0)
      contract_broken("non-positive message size limit");
    if (!cfg->namespace_.empty() && cfg->namespace_.back() != '_')
      contract_broken("namespace without its trailing '_'");
    (void)cfg->action_id("Workflow", "task");
  } else {
    const auto& err = cfg.error();
    if (!is(err, hatchet::errc::invalid_token) && !is(err, hatchet::errc::invalid_config))
      contract_broken("config failure is neither invalid_token nor invalid_config");
    if (hatchet::describe(err).empty())
      contract_broken("config failure without a description");
  }
  return 0;
}
