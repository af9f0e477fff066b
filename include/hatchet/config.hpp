#pragma once
// Client configuration: where the engine is, how to authenticate, how to name things.
//
// `config::from_env()` reads the same HATCHET_CLIENT_* variables as the official SDKs, with the
// same precedence: explicit variables win over the claims inside the token.

#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace hatchet {

enum class tls_strategy {
  /// TLS with the system roots, or HATCHET_CLIENT_TLS_ROOT_CA_FILE (the default, as in the SDKs).
  tls,
  /// Mutual TLS: root CA, certificate and key files are all required.
  mtls,
  /// Plaintext gRPC, for a local engine such as hatchet-dev-engine.
  none,
};

/// The claims of a Hatchet API token that clients read. Clients never verify the signature.
struct token_claims {
  std::string sub;                    ///< tenant id
  std::string server_url;             ///< REST base URL (may be empty)
  std::string grpc_broadcast_address; ///< gRPC host:port (may be empty)
};

/// Decodes the middle part of a 3-part JWT and returns its claims. Errors (`errc::invalid_token`)
/// name what is wrong: part count, base64url, JSON, missing `sub`.
caf::expected<token_claims> parse_token(const std::string& token);

struct config {
  /// The API token (HATCHET_CLIENT_TOKEN). Required.
  std::string token;
  /// Tenant id (HATCHET_CLIENT_TENANT_ID, else the token's `sub`).
  std::string tenant_id;
  /// gRPC target host:port (HATCHET_CLIENT_HOST_PORT, else the token's `grpc_broadcast_address`).
  std::string host_port;
  /// REST API base URL (HATCHET_CLIENT_SERVER_URL, else HATCHET_CLIENT_API_URL, else the token's
  /// `server_url`). The worker pauses itself there during a graceful stop.
  std::string server_url;
  /// HATCHET_CLIENT_TLS_STRATEGY: `tls` (default), `mtls` or `none`.
  tls_strategy tls = tls_strategy::tls;
  /// HATCHET_CLIENT_TLS_SERVER_NAME; default: the host part of host_port.
  std::string tls_server_name;
  /// HATCHET_CLIENT_TLS_ROOT_CA_FILE, _CERT_FILE, _KEY_FILE (PEM files).
  std::string tls_root_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  /// HATCHET_CLIENT_NAMESPACE, lowercased with a trailing `_` added when missing; prefixed to
  /// workflow names, action ids and the worker name. Empty by default.
  std::string namespace_;
  /// Max message sizes in bytes (HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH and
  /// HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH). Default 4 MiB each, as the engine's limit.
  /// The variables hold a whole number of bytes, 1..2147483647, in digits only ("4194304"; not
  /// "4MB", "4e6" or " 4194304"); anything else is an `errc::invalid_config` error naming the
  /// variable and quoting its value. Empty is the same as unset.
  /// A worker fails (FAILED, not retried) a run whose action payload is over max_recv_bytes, with
  /// a message naming the variable; its connection accepts messages up to 4 times the limit so
  /// that it can, and only a larger one breaks the stream (logged with the same advice).
  int max_recv_bytes = 4 * 1024 * 1024;
  int max_send_bytes = 4 * 1024 * 1024;
  /// HATCHET_CLIENT_LOG_LEVEL: debug, info, warn, error or off (any case; "warning" = warn).
  /// HATCHET_CLIENT_DEBUG=true is the same as debug, and wins. Empty when neither is set: the
  /// program's own level stands. `worker::run()` applies it; an embedded worker leaves the
  /// host's logger alone (apply it with spdlog::set_level if wanted).
  std::string log_level;
  /// HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED (true/false, 1/0, yes/no): serve GET /health and
  /// GET /metrics over HTTP while the worker runs. Default false.
  bool healthcheck_enabled = false;
  /// HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT: 1..65535, default 8001; 0 picks a free port (logged).
  int healthcheck_port = 8001;
  /// HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS: default 0.0.0.0 (every IPv4 address);
  /// "none" or empty means the default.
  std::string healthcheck_bind_address = "0.0.0.0";
  /// HATCHET_CLIENT_WORKER_PRESET_LABELS: a JSON object of labels added to every worker's own
  /// (a worker's worker_options::labels win on the same key). Values may be strings or numbers.
  std::map<std::string, std::string> preset_labels;
  /// HATCHET_CLIENT_* variables that were set but that this SDK does not read (a typo, or a
  /// setting of another SDK); the worker logs them once at start.
  std::vector<std::string> ignored_variables;

  /// Reads the variables from `env` (name -> value). Used by `from_env` and by tests.
  static caf::expected<config> from_map(const std::map<std::string, std::string>& env);
  /// Reads the process environment.
  static caf::expected<config> from_env();

  /// Checks the invariants: a token, a host:port with a numeric port, TLS files present for mtls.
  caf::error validate() const;

  /// `namespace + name`: the worker name sent to the engine (case kept).
  std::string apply_namespace(const std::string& name) const;
  /// The workflow name as the engine knows it: the namespace prefixed (unless `name` already
  /// starts with it), then lowercased, exactly as the official SDKs do. The engine matches
  /// workflow names exactly, so registering and triggering must both go through this.
  std::string workflow_name(const std::string& name) const;
  /// "<namespace><workflow>:<task>", lowercased: the action id the engine routes by.
  std::string action_id(const std::string& workflow, const std::string& task) const;
};

/// Every HATCHET_CLIENT_* variable `config::from_env` reads, for --help texts and docs.
const std::vector<std::string>& client_variables();

/// Lowercases ASCII letters (the SDKs' normalisation of workflow names and action ids).
std::string to_lower(std::string s);

/// `config::workflow_name` for a namespace already normalised (lowercase, ending in '_', or
/// empty): for callers that hold the namespace but not the whole configuration.
std::string namespaced_workflow_name(const std::string& ns, const std::string& name);

} // namespace hatchet
