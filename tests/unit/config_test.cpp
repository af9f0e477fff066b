#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <hatchet/config.hpp>
#include <hatchet/errors.hpp>

#include "util/base64url.hpp"

namespace {

std::string make_token(const nlohmann::json& claims) {
  using hatchet::util::base64url_encode;
  return base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(claims.dump())
         + ".sig";
}

std::map<std::string, std::string> env_with(const std::string& token) {
  return {{"HATCHET_CLIENT_TOKEN", token}};
}

std::string error_of(const caf::expected<hatchet::config>& r) {
  return r ? std::string{} : hatchet::describe(r.error());
}

} // namespace

BOOST_AUTO_TEST_CASE(base64url_round_trips_every_length) {
  using namespace hatchet::util;
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    bytes.push_back(static_cast<char>(i * 37 + 11));
    auto text = base64url_encode(bytes);
    BOOST_TEST(text.find('=') == std::string::npos);
    BOOST_TEST(text.find('+') == std::string::npos);
    auto back = base64url_decode(text);
    BOOST_REQUIRE(back);
    BOOST_TEST(*back == bytes);
  }
  BOOST_TEST(!base64url_decode("ab$d"));
  BOOST_TEST(!base64url_decode("a"));
  BOOST_TEST(*base64url_decode("YQ==") == "a"); // padding is accepted
}

BOOST_AUTO_TEST_CASE(token_claims_fill_the_address_and_tenant) {
  auto token = make_token({{"sub", "tenant-1"},
                           {"server_url", "http://127.0.0.1:8080"},
                           {"grpc_broadcast_address", "127.0.0.1:7077"}});
  auto cfg = hatchet::config::from_map(env_with(token));
  BOOST_REQUIRE_MESSAGE(cfg, error_of(cfg));
  BOOST_TEST(cfg->tenant_id == "tenant-1");
  BOOST_TEST(cfg->host_port == "127.0.0.1:7077");
  BOOST_TEST(cfg->server_url == "http://127.0.0.1:8080");
  BOOST_TEST((cfg->tls == hatchet::tls_strategy::tls)); // the default, as the SDKs
  BOOST_TEST(cfg->namespace_.empty());
}

// The REST API URL (where the worker pauses itself when stopping): the Python SDK's variable,
// then the TypeScript SDK's, then the token's claim.
BOOST_AUTO_TEST_CASE(rest_url_comes_from_server_url_then_api_url_then_the_token) {
  auto env = env_with(make_token({{"sub", "t"},
                                  {"server_url", "http://from-token:8080"},
                                  {"grpc_broadcast_address", "h:1"}}));
  env["HATCHET_CLIENT_API_URL"] = "https://from-api-url";
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server_url == "https://from-api-url");
  env["HATCHET_CLIENT_SERVER_URL"] = "https://from-server-url";
  cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->server_url == "https://from-server-url");
}

BOOST_AUTO_TEST_CASE(explicit_variables_win_over_token_claims) {
  auto token = make_token({{"sub", "tenant-1"}, {"grpc_broadcast_address", "engine:7070"}});
  auto env = env_with(token);
  env["HATCHET_CLIENT_HOST_PORT"] = "localhost:9000";
  env["HATCHET_CLIENT_TENANT_ID"] = "tenant-2";
  env["HATCHET_CLIENT_TLS_STRATEGY"] = "NONE";
  env["HATCHET_CLIENT_NAMESPACE"] = "Staging";
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE_MESSAGE(cfg, error_of(cfg));
  BOOST_TEST(cfg->host_port == "localhost:9000");
  BOOST_TEST(cfg->tenant_id == "tenant-2");
  BOOST_TEST((cfg->tls == hatchet::tls_strategy::none));
  BOOST_TEST(cfg->namespace_ == "staging_");
  BOOST_TEST(cfg->apply_namespace("LifespanWorkflow") == "staging_LifespanWorkflow");
  BOOST_TEST(cfg->action_id("LifespanWorkflow", "Sync_Task") == "staging_lifespanworkflow:sync_task");
}

// The engine matches workflow names exactly and the official SDKs lowercase the namespaced name
// when they register and when they trigger, so ours must produce the very same string.
BOOST_AUTO_TEST_CASE(workflow_names_are_namespaced_then_lowercased_as_the_official_sdks_do) {
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  auto plain = hatchet::config::from_map(env);
  BOOST_REQUIRE(plain);
  BOOST_TEST(plain->workflow_name("EchoWorkflow") == "echoworkflow");
  env["HATCHET_CLIENT_NAMESPACE"] = "Staging";
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->workflow_name("EchoWorkflow") == "staging_echoworkflow");
  // A name that already carries the namespace is not prefixed twice.
  BOOST_TEST(cfg->workflow_name("staging_EchoWorkflow") == "staging_echoworkflow");
  BOOST_TEST(hatchet::namespaced_workflow_name("staging_", "Echo") == "staging_echo");
}

// Checked before any call: a namespace the engine would refuse in names used to register some
// workflows before the worker failed, leaving their runs waiting for ever.
BOOST_AUTO_TEST_CASE(a_namespace_the_engine_would_refuse_in_names_is_refused_at_once) {
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  env["HATCHET_CLIENT_NAMESPACE"] = "team a/b";
  auto cfg = hatchet::config::from_map(env);
  caf::error err = cfg ? cfg->validate() : cfg.error();
  BOOST_REQUIRE(err);
  BOOST_TEST(hatchet::describe(err).find("HATCHET_CLIENT_NAMESPACE 'team a/b_'") != std::string::npos,
             hatchet::describe(err));
  env["HATCHET_CLIENT_NAMESPACE"] = "team-a.b";
  cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(!cfg->validate());
}

BOOST_AUTO_TEST_CASE(namespace_keeps_an_existing_trailing_underscore) {
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  env["HATCHET_CLIENT_NAMESPACE"] = "dev_";
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->namespace_ == "dev_");
}

BOOST_AUTO_TEST_CASE(malformed_tokens_are_rejected_with_the_reason) {
  struct bad_case {
    std::string token;
    std::string reason;
  };
  std::vector<bad_case> cases = {
    {"", "HATCHET_CLIENT_TOKEN is not set"},
    {"not-a-jwt", "3 parts"},
    {"a.b.c.d", "3 parts"},
    {"eyJ.%%%.x", "base64url"},
    {"eyJ." + hatchet::util::base64url_encode("not json") + ".x", "JSON object"},
    {"eyJ." + hatchet::util::base64url_encode("[1,2]") + ".x", "JSON object"},
    {make_token({{"server_url", "x"}, {"grpc_broadcast_address", "h:1"}}), "'sub'"},
    {make_token({{"sub", "t"}}), "grpc_broadcast_address"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("token '" << c.token << "'") {
      auto cfg = hatchet::config::from_map(env_with(c.token));
      BOOST_TEST(!cfg);
      BOOST_TEST(error_of(cfg).find(c.reason) != std::string::npos, error_of(cfg));
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_settings_are_rejected_with_the_reason) {
  auto token = make_token({{"sub", "t"}, {"grpc_broadcast_address", "127.0.0.1:7077"}});
  struct bad_case {
    std::string key, value, reason;
  };
  std::vector<bad_case> cases = {
    {"HATCHET_CLIENT_TLS_STRATEGY", "ssl", "tls, mtls or none"},
    {"HATCHET_CLIENT_HOST_PORT", "localhost", "host:port"},
    {"HATCHET_CLIENT_HOST_PORT", "localhost:http", "port"},
    {"HATCHET_CLIENT_HOST_PORT", "localhost:70000", "port"},
    {"HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH", "-1", "'-1' is too small (at least 1)"},
    {"HATCHET_CLIENT_TLS_ROOT_CA_FILE", "/nonexistent/ca.pem", "does not exist"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.key << "=" << c.value) {
      auto env = env_with(token);
      env[c.key] = c.value;
      auto cfg = hatchet::config::from_map(env);
      BOOST_TEST(!cfg);
      BOOST_TEST(error_of(cfg).find(c.reason) != std::string::npos, error_of(cfg));
      // Every message names the variable to change.
      BOOST_TEST(error_of(cfg).find(c.key) != std::string::npos, error_of(cfg));
    }
  }
  auto env = env_with(token);
  env["HATCHET_CLIENT_TLS_STRATEGY"] = "mtls";
  BOOST_TEST(error_of(hatchet::config::from_map(env)).find("mtls needs") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(message_size_limits_are_read) {
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  env["HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH"] = "1048576";
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->max_recv_bytes == 1048576);
  BOOST_TEST(cfg->max_send_bytes == 4 * 1024 * 1024);
}

// A message limit is the whole text in digits: "4MB" is not 4 bytes, "1e6" is not 1 byte, and a
// value that does not fit an int is not wrapped. The error names the variable and the text.
BOOST_AUTO_TEST_CASE(message_size_limits_must_be_whole_numbers_naming_the_variable) {
  auto token = make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}});
  struct bad_case {
    std::string value, reason;
  };
  std::vector<bad_case> cases = {
    {"4MB", "is not a whole number"},
    {"1e6", "is not a whole number"},
    {" 1024", "is not a whole number"},
    {"1024 ", "is not a whole number"},
    {"+1024", "is not a whole number"},
    {"1024.0", "is not a whole number"},
    {"0", "is too small (at least 1)"},
    {"-5", "is too small (at least 1)"},
    {"2147483648", "is too large (at most 2147483647)"},
    {"99999999999999999999", "is too large (at most 2147483647)"},
  };
  for (const char* key : {"HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH",
                          "HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH"}) {
    for (const auto& c : cases) {
      BOOST_TEST_CONTEXT(key << "='" << c.value << "'") {
        auto env = env_with(token);
        env[key] = c.value;
        auto cfg = hatchet::config::from_map(env);
        BOOST_REQUIRE(!cfg);
        BOOST_TEST(cfg.error().code() == static_cast<uint8_t>(hatchet::errc::invalid_config));
        BOOST_TEST(error_of(cfg) == "invalid_config: " + std::string{key} + ": '" + c.value + "' "
                                      + c.reason);
      }
    }
  }
  auto env = env_with(token);
  env["HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH"] = "2147483647";
  env["HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH"] = "";   // empty: unset, the default
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE_MESSAGE(cfg, error_of(cfg));
  BOOST_TEST(cfg->max_send_bytes == 2147483647);
  BOOST_TEST(cfg->max_recv_bytes == 4 * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(log_level_health_check_and_preset_labels_are_read) {
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  auto defaults = hatchet::config::from_map(env);
  BOOST_REQUIRE(defaults);
  BOOST_TEST(defaults->log_level.empty());
  BOOST_TEST(!defaults->healthcheck_enabled);
  BOOST_TEST(defaults->healthcheck_port == 8001);
  BOOST_TEST(defaults->healthcheck_bind_address == "0.0.0.0");
  env["HATCHET_CLIENT_LOG_LEVEL"] = "WARNING";
  env["HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED"] = "True";
  env["HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT"] = "9100";
  env["HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS"] = "127.0.0.1";
  env["HATCHET_CLIENT_WORKER_PRESET_LABELS"] = R"({"gpu": "a100", "memory_gb": 80})";
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->log_level == "warn");
  BOOST_TEST(cfg->healthcheck_enabled);
  BOOST_TEST(cfg->healthcheck_port == 9100);
  BOOST_TEST(cfg->healthcheck_bind_address == "127.0.0.1");
  BOOST_TEST(cfg->preset_labels.at("gpu") == "a100");
  BOOST_TEST(cfg->preset_labels.at("memory_gb") == "80");
  // HATCHET_CLIENT_DEBUG=true means debug whatever the level says; "none" binds the default.
  env["HATCHET_CLIENT_DEBUG"] = "1";
  env["HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS"] = "none";
  cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->log_level == "debug");
  BOOST_TEST(cfg->healthcheck_bind_address == "0.0.0.0");
}

// Every bad value stops the start, and the message names the variable and quotes the value.
BOOST_AUTO_TEST_CASE(bad_log_health_and_label_values_name_the_variable) {
  auto token = make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}});
  std::vector<std::pair<std::string, std::string>> cases = {
    {"HATCHET_CLIENT_LOG_LEVEL", "verbose"},
    {"HATCHET_CLIENT_DEBUG", "maybe"},
    {"HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED", "enabled"},
    {"HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT", "80a"},
    {"HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT", "65536"},
    {"HATCHET_CLIENT_WORKER_PRESET_LABELS", "gpu=a100"},
    {"HATCHET_CLIENT_WORKER_PRESET_LABELS", R"(["gpu"])"},
    {"HATCHET_CLIENT_WORKER_PRESET_LABELS", R"({"gpu": {"model": "a100"}})"},
  };
  for (const auto& [key, value] : cases) {
    BOOST_TEST_CONTEXT(key << "='" << value << "'") {
      auto env = env_with(token);
      env[key] = value;
      auto text = error_of(hatchet::config::from_map(env));
      BOOST_TEST(text.find(key) != std::string::npos, text);
      BOOST_TEST(text.find(value) != std::string::npos, text);
    }
  }
}

BOOST_AUTO_TEST_CASE(unread_hatchet_client_variables_are_listed_for_a_warning) {
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  env["HATCHET_CLIENT_TLS_STRATEGYY"] = "none"; // a typo
  env["HATCHET_CLIENT_NAMESPACE"] = "team";     // read
  env["HATCHET_OTHER_THING"] = "x";             // not a client variable
  auto cfg = hatchet::config::from_map(env);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->ignored_variables == std::vector<std::string>{"HATCHET_CLIENT_TLS_STRATEGYY"});
  for (const auto& name : hatchet::client_variables())
    BOOST_TEST(name.rfind("HATCHET_CLIENT_", 0) == 0u);
}

// A root CA file that holds no certificate is named at once, with what it holds instead (it used
// to surface 21-27 s later as "empty address list").
BOOST_AUTO_TEST_CASE(a_pem_file_with_no_certificate_is_named_with_what_it_holds) {
  auto dir = std::filesystem::temp_directory_path() / ("hatchet-pem-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const char* name, const std::string& text) {
    auto path = (dir / name).string();
    std::ofstream{path, std::ios::binary} << text;
    return path;
  };
  auto env = env_with(make_token({{"sub", "t"}, {"grpc_broadcast_address", "h:1"}}));
  env["HATCHET_CLIENT_TLS_STRATEGY"] = "tls";
  struct pem_case {
    std::string path, says;
  };
  std::vector<pem_case> cases = {
    {write("empty.pem", ""), "holds no PEM certificate (it is empty)"},
    {write("text.pem", "not a certificate\n"), "holds no PEM certificate (it has no '-----BEGIN"},
    {write("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
     "holds no PEM certificate (it holds a private key (are the certificate and key files "
     "swapped?))"},
    {write("damaged.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
     "holds no PEM certificate (its certificate block is damaged)"},
  };
  for (const auto& c : cases) {
    env["HATCHET_CLIENT_TLS_ROOT_CA_FILE"] = c.path;
    auto cfg = hatchet::config::from_map(env);
    caf::error err = cfg ? cfg->validate() : cfg.error();
    BOOST_REQUIRE_MESSAGE(err, c.path);
    auto text = hatchet::describe(err);
    BOOST_TEST(text.find("HATCHET_CLIENT_TLS_ROOT_CA_FILE names '" + c.path + "', which "
                         + c.says)
                 != std::string::npos,
               text);
  }
  // Without TLS the files are not read.
  env["HATCHET_CLIENT_TLS_STRATEGY"] = "none";
  auto cfg = hatchet::config::from_map(env);
  BOOST_TEST(static_cast<bool>(cfg));
  std::filesystem::remove_all(dir);
}
