#include "client/channel_impl.hpp"
#include "client/tls_probe.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

namespace hatchet::rpc {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

channel::~channel() {
  if (!grpc || calls->idle())
    return; // released here, on the owner's thread
  std::thread{[g = std::move(grpc), c = calls]() mutable {
    // Calls end within their deadlines (a listen stream ends once cancelled by its owner).
    if (!c->wait_idle(std::chrono::minutes{5}))
      spdlog::warn("a gRPC channel still had calls in flight 5 minutes after its owner went");
    g.reset();
  }}.detach();
}

std::shared_ptr<channel> make_channel(const config& cfg) {
  grpc::ChannelArguments args;
  // The transport takes up to 4 times the configured limit, so that the worker sees an oversized
  // assignment and can fail its run with a message instead of losing the stream to it; the
  // worker enforces cfg.max_recv_bytes on the payload itself.
  args.SetMaxReceiveMessageSize(
    static_cast<int>(std::min<int64_t>(int64_t{cfg.max_recv_bytes} * 4, INT32_MAX)));
  args.SetMaxSendMessageSize(cfg.max_send_bytes);
  // A ping every 10 s, also without calls, as the official SDKs (a real engine accepts pings down
  // to every 5 s and answers each at once). 5 s to answer, where the SDKs allow 60: a connection
  // gone silent (a partition: no RST, no FIN) is then known dead 10 to 15 s later, well inside
  // the 30 s after which a real engine hands this worker's runs to another one, so the worker
  // can reconnect in time (see docs/faults.md).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_time_ms);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive_timeout_ms);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Reconnect quickly after an engine restart; the dispatcher adds its own backoff on top.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (cfg.tls == tls_strategy::none) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!cfg.tls_root_ca_file.empty())
      ssl.pem_root_certs = read_file(cfg.tls_root_ca_file);
    if (cfg.tls == tls_strategy::mtls) {
      ssl.pem_cert_chain = read_file(cfg.tls_cert_file);
      ssl.pem_private_key = read_file(cfg.tls_key_file);
    }
    creds = grpc::SslCredentials(ssl);
    // Used for SNI (unless an IP address) and to check the engine's certificate.
    args.SetSslTargetNameOverride(tls_server_name(cfg));
  }
  auto result = std::make_shared<channel>();
  result->grpc = grpc::CreateCustomChannel(cfg.host_port, creds, args);
  result->bearer = "Bearer " + cfg.token;
  result->namespace_ = cfg.namespace_;
  return result;
}

} // namespace hatchet::rpc
