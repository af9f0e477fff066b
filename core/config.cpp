#include "hatchet/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "util/base64url.hpp"
#include "core/parse.hpp"
#include "hatchet/errors.hpp"
#include "util/pem_files.hpp"

extern char** environ;

namespace hatchet {

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

caf::expected<token_claims> parse_token(const std::string& token) {
  auto bad = [](std::string why) { return make_error(errc::invalid_token, std::move(why)); };
  if (token.empty())
    return bad("the token is empty (set HATCHET_CLIENT_TOKEN)");
  auto first = token.find('.');
  auto second = first == std::string::npos ? first : token.find('.', first + 1);
  if (second == std::string::npos || token.find('.', second + 1) != std::string::npos)
    return bad("the token is not a JWT: expected 3 parts separated by '.'");
  auto payload = util::base64url_decode(
    std::string_view{token}.substr(first + 1, second - first - 1));
  if (!payload)
    return bad("the token's payload is not base64url");
  auto claims = nlohmann::json::parse(*payload, nullptr, false);
  if (claims.is_discarded() || !claims.is_object())
    return bad("the token's payload is not a JSON object");
  auto str = [&](const char* key) -> std::string {
    auto i = claims.find(key);
    return i != claims.end() && i->is_string() ? i->get<std::string>() : std::string{};
  };
  token_claims result{str("sub"), str("server_url"), str("grpc_broadcast_address")};
  if (result.sub.empty())
    return bad("the token has no 'sub' (tenant id) claim");
  return result;
}

const std::vector<std::string>& client_variables() {
  static const std::vector<std::string> names{
    "HATCHET_CLIENT_TOKEN",
    "HATCHET_CLIENT_TENANT_ID",
    "HATCHET_CLIENT_HOST_PORT",
    "HATCHET_CLIENT_SERVER_URL",
    "HATCHET_CLIENT_API_URL",
    "HATCHET_CLIENT_TLS_STRATEGY",
    "HATCHET_CLIENT_TLS_ROOT_CA_FILE",
    "HATCHET_CLIENT_TLS_CERT_FILE",
    "HATCHET_CLIENT_TLS_KEY_FILE",
    "HATCHET_CLIENT_TLS_SERVER_NAME",
    "HATCHET_CLIENT_NAMESPACE",
    "HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH",
    "HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH",
    "HATCHET_CLIENT_LOG_LEVEL",
    "HATCHET_CLIENT_DEBUG",
    "HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED",
    "HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT",
    "HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS",
    "HATCHET_CLIENT_WORKER_PRESET_LABELS",
  };
  return names;
}

namespace {

caf::error bad_value(const std::string& key, const std::string& value, const std::string& want) {
  return make_error(errc::invalid_config, key + " must be " + want + ", not '" + value + "'");
}

/// true/false as the official SDKs spell them; nullopt for anything else.
std::optional<bool> parse_bool(const std::string& text) {
  auto t = to_lower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on")
    return true;
  if (t == "false" || t == "0" || t == "no" || t == "off")
    return false;
  return std::nullopt;
}

} // namespace

caf::expected<config> config::from_map(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* key) -> std::string {
    auto i = env.find(key);
    return i == env.end() ? std::string{} : i->second;
  };
  config cfg;
  cfg.token = get("HATCHET_CLIENT_TOKEN");
  if (cfg.token.empty())
    return make_error(errc::invalid_config, "HATCHET_CLIENT_TOKEN is not set");
  auto claims = parse_token(cfg.token);
  if (!claims)
    return std::move(claims.error());
  cfg.tenant_id = get("HATCHET_CLIENT_TENANT_ID");
  if (cfg.tenant_id.empty())
    cfg.tenant_id = claims->sub;
  cfg.host_port = get("HATCHET_CLIENT_HOST_PORT");
  if (cfg.host_port.empty())
    cfg.host_port = claims->grpc_broadcast_address;
  if (cfg.host_port.empty())
    return make_error(errc::invalid_config,
                      "no gRPC address: the token has no grpc_broadcast_address claim and "
                      "HATCHET_CLIENT_HOST_PORT is not set");
  // The Python SDK reads HATCHET_CLIENT_SERVER_URL, the TypeScript SDK HATCHET_CLIENT_API_URL.
  cfg.server_url = get("HATCHET_CLIENT_SERVER_URL");
  if (cfg.server_url.empty())
    cfg.server_url = get("HATCHET_CLIENT_API_URL");
  if (cfg.server_url.empty())
    cfg.server_url = claims->server_url;
  auto strategy = to_lower(get("HATCHET_CLIENT_TLS_STRATEGY"));
  if (strategy.empty() || strategy == "tls")
    cfg.tls = tls_strategy::tls;
  else if (strategy == "mtls")
    cfg.tls = tls_strategy::mtls;
  else if (strategy == "none")
    cfg.tls = tls_strategy::none;
  else
    return make_error(errc::invalid_config, "HATCHET_CLIENT_TLS_STRATEGY must be tls, mtls or "
                                            "none, not '" + strategy + "'");
  cfg.tls_server_name = get("HATCHET_CLIENT_TLS_SERVER_NAME");
  cfg.tls_root_ca_file = get("HATCHET_CLIENT_TLS_ROOT_CA_FILE");
  cfg.tls_cert_file = get("HATCHET_CLIENT_TLS_CERT_FILE");
  cfg.tls_key_file = get("HATCHET_CLIENT_TLS_KEY_FILE");
  cfg.namespace_ = to_lower(get("HATCHET_CLIENT_NAMESPACE"));
  if (!cfg.namespace_.empty() && cfg.namespace_.back() != '_')
    cfg.namespace_ += '_';
  for (auto [key, field] : {std::pair{"HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH", &cfg.max_recv_bytes},
                            std::pair{"HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH", &cfg.max_send_bytes}}) {
    auto text = get(key);
    if (text.empty())
      continue;
    auto value = detail::parse_whole<int>(key, text, 1);
    if (!value)
      return std::move(value.error());
    *field = *value;
  }
  if (auto text = get("HATCHET_CLIENT_LOG_LEVEL"); !text.empty()) {
    auto level = to_lower(text);
    if (level == "warning")
      level = "warn";
    if (level != "debug" && level != "info" && level != "warn" && level != "error"
        && level != "off")
      return bad_value("HATCHET_CLIENT_LOG_LEVEL", text, "one of debug, info, warn, error, off");
    cfg.log_level = level;
  }
  if (auto text = get("HATCHET_CLIENT_DEBUG"); !text.empty()) {
    auto on = parse_bool(text);
    if (!on)
      return bad_value("HATCHET_CLIENT_DEBUG", text, "true or false");
    if (*on)
      cfg.log_level = "debug";
  }
  if (auto text = get("HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED"); !text.empty()) {
    auto on = parse_bool(text);
    if (!on)
      return bad_value("HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED", text, "true or false");
    cfg.healthcheck_enabled = *on;
  }
  if (auto text = get("HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT"); !text.empty()) {
    auto port = detail::parse_whole<int>("HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT", text, 0, 65535);
    if (!port)
      return std::move(port.error());
    cfg.healthcheck_port = *port;
  }
  if (auto text = get("HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS");
      !text.empty() && to_lower(text) != "none")
    cfg.healthcheck_bind_address = text;
  if (auto text = get("HATCHET_CLIENT_WORKER_PRESET_LABELS"); !text.empty()) {
    auto labels = nlohmann::json::parse(text, nullptr, false);
    if (labels.is_discarded() || !labels.is_object())
      return bad_value("HATCHET_CLIENT_WORKER_PRESET_LABELS", text,
                       "a JSON object such as {\"gpu\": \"a100\"}");
    for (const auto& [key, value] : labels.items()) {
      if (value.is_string())
        cfg.preset_labels[key] = value.get<std::string>();
      else if (value.is_number())
        cfg.preset_labels[key] = value.dump();
      else
        return bad_value("HATCHET_CLIENT_WORKER_PRESET_LABELS", text,
                         "a JSON object of strings and numbers (label '" + key + "' is not)");
    }
  }
  const auto& known = client_variables();
  for (const auto& [key, value] : env)
    if (key.rfind("HATCHET_CLIENT_", 0) == 0
        && std::find(known.begin(), known.end(), key) == known.end())
      cfg.ignored_variables.push_back(key);
  if (auto err = cfg.validate())
    return err;
  return cfg;
}

caf::expected<config> config::from_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv{*e};
    if (kv.rfind("HATCHET_", 0) != 0)
      continue;
    auto eq = kv.find('=');
    if (eq != std::string_view::npos)
      env.emplace(std::string{kv.substr(0, eq)}, std::string{kv.substr(eq + 1)});
  }
  return from_map(env);
}

caf::error config::validate() const {
  if (token.empty())
    return make_error(errc::invalid_config, "no token");
  // The namespace prefixes every workflow and worker name, and the engine takes names only of
  // these characters: refuse it here, before any workflow is registered under it.
  for (char c : namespace_)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
          || c == '_' || c == '-'))
      return make_error(errc::invalid_config,
                        "HATCHET_CLIENT_NAMESPACE '" + namespace_
                          + "' may hold only letters, digits, '.', '_' and '-' (it prefixes "
                            "workflow and worker names, which the engine checks)");
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size())
    return make_error(errc::invalid_config,
                      "the engine address (HATCHET_CLIENT_HOST_PORT, else the token's "
                      "grpc_broadcast_address) must look like host:port, not '"
                        + host_port + "'");
  auto port_text = host_port.substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port <= 0 || port > 65535)
    return make_error(errc::invalid_config,
                      "the port in the engine address '" + host_port
                        + "' (HATCHET_CLIENT_HOST_PORT, else the token's grpc_broadcast_address) "
                          "is not a number in 1..65535");
  if (tls == tls_strategy::mtls) {
    for (const auto* file : {&tls_root_ca_file, &tls_cert_file, &tls_key_file})
      if (file->empty())
        return make_error(errc::invalid_config, "mtls needs HATCHET_CLIENT_TLS_ROOT_CA_FILE, "
                                                "_CERT_FILE and _KEY_FILE");
  }
  for (auto [file, variable] : {std::pair{&tls_root_ca_file, "HATCHET_CLIENT_TLS_ROOT_CA_FILE"},
                                std::pair{&tls_cert_file, "HATCHET_CLIENT_TLS_CERT_FILE"},
                                std::pair{&tls_key_file, "HATCHET_CLIENT_TLS_KEY_FILE"}})
    if (!file->empty() && !std::filesystem::exists(*file))
      return make_error(errc::invalid_config,
                        std::string{variable} + " names '" + *file + "', which does not exist");
  // The files' contents, as the handshake will read them: a file that holds no certificate or
  // no key would otherwise show only as connections failing for half a minute.
  auto unusable = [](const char* variable, const std::string& file, const std::string& why) {
    return make_error(errc::invalid_config,
                      std::string{variable} + " names '" + file + "', which " + why);
  };
  if (tls != tls_strategy::none && !tls_root_ca_file.empty())
    if (auto why = util::pem_certificates_problem(tls_root_ca_file); !why.empty())
      return unusable("HATCHET_CLIENT_TLS_ROOT_CA_FILE", tls_root_ca_file, why);
  if (tls == tls_strategy::mtls) {
    if (auto why = util::pem_certificates_problem(tls_cert_file); !why.empty())
      return unusable("HATCHET_CLIENT_TLS_CERT_FILE", tls_cert_file, why);
    if (auto why = util::pem_private_key_problem(tls_key_file); !why.empty())
      return unusable("HATCHET_CLIENT_TLS_KEY_FILE", tls_key_file, why);
    if (auto why = util::pem_key_mismatch(tls_cert_file, tls_key_file); !why.empty())
      return make_error(errc::invalid_config,
                        "HATCHET_CLIENT_TLS_KEY_FILE '" + tls_key_file
                          + "' does not hold the key of the certificate in "
                            "HATCHET_CLIENT_TLS_CERT_FILE '"
                          + tls_cert_file + "'");
  }
  if (max_recv_bytes <= 0 || max_send_bytes <= 0)
    return make_error(errc::invalid_config, "gRPC message size limits must be positive");
  return caf::none;
}

std::string config::apply_namespace(const std::string& name) const {
  return namespace_ + name;
}

std::string namespaced_workflow_name(const std::string& ns, const std::string& name) {
  return to_lower(name.starts_with(ns) ? name : ns + name);
}

std::string config::workflow_name(const std::string& name) const {
  return namespaced_workflow_name(namespace_, name);
}

std::string config::action_id(const std::string& workflow, const std::string& task) const {
  return to_lower(namespace_ + workflow + ":" + task);
}

} // namespace hatchet
