// dev_engine: builds the gRPC server around engine_state and runs the background ticker.
// Includes grpcpp but none of the generated headers (see services.hpp).

#include "engine/dev_engine.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>
#include <spdlog/spdlog.h>

#include "engine/auth.hpp"
#include "util/go_duration.hpp"
#include "engine/rest_server.hpp"
#include "engine/services.hpp"
#include "engine/state.hpp"
#include "engine/tls_files.hpp"

namespace hatchet::engine {

namespace {

constexpr int keepalive_time_ms = 30'000;
constexpr std::chrono::milliseconds shutdown_grace{1000};

std::shared_ptr<grpc::ServerCredentials> server_credentials(const engine_options& o,
                                                            const tls_material& tls) {
  if (!o.tls())
    return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl{
    tls.client_ca_pem.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY};
  ssl.pem_root_certs = tls.client_ca_pem;
  ssl.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(ssl);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out;
}

/// A name of the certificate's a client can put in HATCHET_CLIENT_TLS_SERVER_NAME (not a
/// wildcard), or a placeholder.
std::string dialable_name(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (n.rfind("*.", 0) != 0)
      return n;
  return "<a name the certificate is for>";
}

} // namespace

std::string join_host_port(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos && host.front() != '[')
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string engine_options::validate() const {
  if (host.empty())
    return "host must not be empty";
  if (tenant_id.empty())
    return "tenant_id must not be empty";
  if (secret.empty())
    return "secret is empty: an engine needs a secret of its own to sign and check tokens (set "
           "engine_options::secret, e.g. to hatchet::engine::random_secret(), or run "
           "hatchet-dev-engine, which keeps one in its data directory)";
  if (secret == old_public_dev_secret)
    return "secret is the old public development secret \"hatchet-dev-engine-secret\": anyone "
           "can mint tokens with it, so no engine accepts it; use another one";
  if (version.empty())
    return "version must not be empty";
  if (heartbeat_window.count() <= 0)
    return "heartbeat_window must be positive";
  if (silence_requeue.count() <= 0)
    return "silence_requeue must be positive";
  if (unacknowledged_requeue.count() <= 0)
    return "unacknowledged_requeue must be positive";
  if (tick_interval.count() <= 0)
    return "tick_interval must be positive";
  if (stream_buffer_timeout.count() <= 0)
    return "stream_buffer_timeout must be positive";
  if (stream_settle.count() < 0)
    return "stream_settle must not be negative";
  if (activation_delay.count() < 0)
    return "activation_delay must not be negative";
  if (rest_port != 0 && rest_port == port)
    return "rest_port must differ from port";
  if (!tls_cert_file.empty() && tls_key_file.empty())
    return "tls_cert_file is set but tls_key_file is not: TLS needs the certificate's private key";
  if (tls_cert_file.empty() && !tls_key_file.empty())
    return "tls_key_file is set but tls_cert_file is not: TLS needs the certificate too";
  if (!tls_client_ca_file.empty() && tls_cert_file.empty())
    return "tls_client_ca_file (mutual TLS) needs tls_cert_file and tls_key_file: the engine "
           "must serve TLS to ask for client certificates";
  if (max_finished_runs < 1)
    return "max_finished_runs must be at least 1";
  if (max_finished_bytes < 1024 * 1024)
    return "max_finished_bytes must be at least 1 MiB (1048576)";
  if (max_message_bytes < 64 * 1024 || max_message_bytes > (1u << 30))
    return "max_message_bytes must be between 64 KiB and 1 GiB";
  if (max_undelivered_requeues < 1)
    return "max_undelivered_requeues must be at least 1";
  return {};
}

struct dev_engine::impl {
  explicit impl(const engine_options& o)
    : state(o), auth(o.secret, o.tenant_id), rest(state, auth) {}

  engine_state state;
  token_verifier auth;
  rest_server rest;
  // Declared before `server` so the server (and its reactors) goes first.
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::Server> server;
  uint16_t port = 0;
  tls_material tls;          // read by start() when the engine serves TLS
  bool tls_host_covered = true; // the certificate is for opts.host

  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool tick_stop = false;
  std::thread ticker;

  void run_ticker(std::chrono::milliseconds interval) {
    std::unique_lock lk{tick_mu};
    while (!tick_cv.wait_for(lk, interval, [this] { return tick_stop; })) {
      lk.unlock();
      state.tick();
      lk.lock();
    }
  }
};

dev_engine::dev_engine(engine_options opts)
  : opts_(std::move(opts)), impl_(std::make_unique<impl>(opts_)) {}

dev_engine::~dev_engine() {
  stop();
}

std::string dev_engine::start() {
  if (auto err = opts_.validate(); !err.empty())
    return "invalid engine options: " + err;
  if (impl_->server)
    return "the dev engine is already running on " + address();

  if (opts_.tls()) {
    if (auto err = load_tls_material(opts_, impl_->tls); !err.empty())
      return err;
    impl_->tls_host_covered = certificate_covers(impl_->tls.cert_chain_pem, opts_.host);
  }

  const std::string listen = join_host_port(opts_.host, opts_.port);
  service_env env{impl_->state, impl_->auth, opts_};
  impl_->services.clear();
  impl_->services.push_back(make_dispatcher_service(env));
  impl_->services.push_back(make_workflow_service(env));
  impl_->services.push_back(make_admin_service(env));
  impl_->services.push_back(make_events_service(env));

  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(listen, server_credentials(opts_, impl_->tls), &selected_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(opts_.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(opts_.max_message_bytes));
  // Without this, grpc++ sets SO_REUSEPORT and a second engine on the same port "succeeds".
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A real engine's ping policy (grpc-go EnforcementPolicy{MinTime: 5s, PermitWithoutStream:
  // true} and its 2 strikes): clients (grpc-js, Python, this worker) ping every 10 s even when
  // idle, which grpc++'s default policy (5 minutes) would answer with GOAWAY "too_many_pings";
  // a client pinging more often than every 5 s gets that GOAWAY at its third early ping.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_time_ms);
  for (auto& s : impl_->services)
    builder.RegisterService(s.get());
  // gzip-compressed requests are accepted by default (the TypeScript and Python SDKs send them).

  impl_->state.reopen();
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || selected_port <= 0) {
    impl_->server.reset();
    impl_->services.clear();
    return "cannot listen on " + listen + " (is the port already in use?)";
  }
  impl_->port = static_cast<uint16_t>(selected_port);

  rest_tls rest_tls_files;
  if (opts_.tls())
    rest_tls_files = {opts_.tls_cert_file, opts_.tls_key_file, opts_.tls_client_ca_file};
  if (auto err = impl_->rest.start(opts_.host, opts_.rest_port, rest_tls_files); !err.empty()) {
    impl_->state.close_all_streams();
    impl_->server->Shutdown(std::chrono::system_clock::now());
    impl_->server->Wait();
    impl_->server.reset();
    impl_->services.clear();
    impl_->port = 0;
    return err;
  }

  {
    std::lock_guard lk{impl_->tick_mu};
    impl_->tick_stop = false;
  }
  impl_->ticker = std::thread([this] { impl_->run_ticker(opts_.tick_interval); });
  // Scripts read the gRPC address after "listening on" and the REST one after "REST API ".
  spdlog::info("hatchet dev engine {} listening on {} (tenant {}, heartbeat window {}, requeue "
               "after {} of silence, REST API {})",
               opts_.version, address(), opts_.tenant_id,
               util::format_go_duration(opts_.heartbeat_window),
               util::format_go_duration(opts_.silence_requeue), rest_address());
  if (opts_.tls()) {
    spdlog::info("TLS on gRPC and the REST API: certificate {} (for {}); {}", opts_.tls_cert_file,
                 join(impl_->tls.names),
                 opts_.tls_client_ca_file.empty()
                   ? std::string{"no client certificate asked for"}
                   : "client certificates required, signed by a CA in " +
                       opts_.tls_client_ca_file);
    if (!impl_->tls_host_covered)
      spdlog::warn("the certificate is not for {}, the host the tokens name: clients must set "
                   "HATCHET_CLIENT_TLS_SERVER_NAME={} (or give the engine a certificate for {})",
                   opts_.host, dialable_name(impl_->tls.names), opts_.host);
  }
  if (opts_.activation_delay.count() > 0)
    spdlog::warn("test-only activation delay: listen streams become active {} after they open",
                 util::format_go_duration(opts_.activation_delay));
  return {};
}

void dev_engine::stop() {
  if (!impl_ || !impl_->server)
    return;
  impl_->rest.stop(); // bounded: see rest_server::stop
  // Our streams never end by themselves: end them first so Shutdown has nothing to wait for.
  impl_->state.close_all_streams();
  impl_->server->Shutdown(std::chrono::system_clock::now() + shutdown_grace);
  impl_->server->Wait();
  impl_->server.reset();
  impl_->services.clear();
  {
    std::lock_guard lk{impl_->tick_mu};
    impl_->tick_stop = true;
  }
  impl_->tick_cv.notify_all();
  if (impl_->ticker.joinable())
    impl_->ticker.join();
  auto s = impl_->state.snapshot();
  spdlog::info("hatchet dev engine on {} stopped ({} assigned, {} completed, {} failed, {} "
               "cancelled, {} retried)",
               address(), s.assigned, s.completed, s.failed, s.cancelled, s.retried);
}

uint16_t dev_engine::port() const {
  return impl_->port;
}

std::string dev_engine::address() const {
  return join_host_port(opts_.host, impl_->port);
}

uint16_t dev_engine::rest_port() const {
  return impl_->rest.port();
}

std::string dev_engine::rest_address() const {
  return (opts_.tls() ? "https://" : "http://") + join_host_port(opts_.host, rest_port());
}

std::string dev_engine::client_settings() const {
  if (!opts_.tls())
    return "HATCHET_CLIENT_TLS_STRATEGY=none";
  const bool mtls = !opts_.tls_client_ca_file.empty();
  std::string s = mtls ? "HATCHET_CLIENT_TLS_STRATEGY=mtls" : "HATCHET_CLIENT_TLS_STRATEGY=tls";
  s += " HATCHET_CLIENT_TLS_ROOT_CA_FILE=<the CA that signed " + opts_.tls_cert_file + ">";
  if (!impl_->tls_host_covered)
    s += " HATCHET_CLIENT_TLS_SERVER_NAME=" + dialable_name(impl_->tls.names);
  if (mtls)
    s += " HATCHET_CLIENT_TLS_CERT_FILE=<a client certificate signed by a CA in " +
         opts_.tls_client_ca_file + "> HATCHET_CLIENT_TLS_KEY_FILE=<its key>";
  return s;
}

std::string dev_engine::mint_token() const {
  return engine::mint_token(opts_, address(), rest_address());
}

dev_engine::stats dev_engine::snapshot() const {
  return impl_->state.snapshot();
}

std::optional<dev_engine::worker_info> dev_engine::worker(const std::string& worker_id) const {
  worker_view v;
  if (!impl_->state.describe_worker(worker_id, v).ok())
    return std::nullopt;
  return worker_info{v.status, v.paused, v.stream_active};
}

std::vector<dev_engine::log_line> dev_engine::task_logs(const std::string& id) const {
  return impl_->state.task_logs(id);
}

size_t dev_engine::stream_subscribers(const std::string& run_id) const {
  return impl_->state.stream_subscribers(run_id);
}

std::optional<dev_engine::run_info> dev_engine::run(const std::string& run_id) const {
  auto links = impl_->state.links_of(run_id);
  if (!links)
    return std::nullopt;
  return run_info{links->workflow_name, links->parent_task_run_external_id, links->child_index,
                  links->child_key, links->additional_metadata, links->input};
}

} // namespace hatchet::engine
