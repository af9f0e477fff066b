#pragma once
// The dev engine's REST API: the part of the real engine's HTTP API that SDKs call while a worker
// runs. The Python SDK (and newer TypeScript SDKs) pause their worker over REST before a graceful
// stop, so a model of the engine must answer that call the way a real one does.
//
// Served (HTTP/1.1, JSON, `Authorization: Bearer <token>` with the tokens the gRPC side accepts):
//   GET   /api/v1/workers/{worker}                     the Worker
//   PATCH /api/v1/workers/{worker}  {"isPaused": bool}  pause or unpause; answers the Worker
//   POST/GET/DELETE .../tenants/{tenant}/workflows/{workflow}/crons, .../workflows/crons[/{id}]
//   POST/DELETE     .../tenants/{tenant}/workflows/{workflow}/scheduled, .../scheduled/{id}
//     crons and one-off schedules as the SDKs create and delete them (see engine/README.md)
// Statuses: 200; 400 {"message"} for an id that is not a uuid or a body that is not a JSON
// object with an optional boolean `isPaused`; 403 {"message"} for a missing or bad token; 404
// {"message"} for an unknown worker (a real engine answers 500 there: its not-found error is not
// mapped). The id is checked before the token, as the real engine's populator runs before its
// authentication.
//
// cpp-httplib stays inside rest_server.cpp; this header carries none of it.

#include <cstdint>
#include <memory>
#include <string>

namespace hatchet::engine {

class engine_state;
class token_verifier;

/// HTTPS for the REST API: PEM files, as in engine_options (already checked by the caller).
/// An empty cert_file: plain HTTP. A client_ca_file: a client certificate signed by one of its
/// CAs is required.
struct rest_tls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

class rest_server {
public:
  /// Both referenced objects must outlive the server.
  rest_server(engine_state& state, const token_verifier& auth);
  ~rest_server(); // stops if running

  rest_server(const rest_server&) = delete;
  rest_server& operator=(const rest_server&) = delete;

  /// Binds host:port (0: a free port) and serves on a thread of its own, over HTTPS if
  /// tls.cert_file is set. "" on success, else why not (port in use, already running, TLS files
  /// OpenSSL refuses).
  std::string start(const std::string& host, uint16_t port, const rest_tls& tls = {});

  /// Stops accepting, lets requests in progress finish and joins the serving thread. Bounded
  /// (about 1 s): an idle keep-alive connection or a half-sent request is dropped after 1 s.
  /// Idempotent; start() may be called again afterwards.
  void stop() noexcept;

  /// The bound port after start() (0 before; kept after stop()).
  uint16_t port() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hatchet::engine
