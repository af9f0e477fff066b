// rest_server: the REST API on cpp-httplib. The only translation unit that includes httplib.h.

#include "engine/rest_server.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <optional>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "engine/auth.hpp"
#include "engine/dev_engine.hpp"
#include "engine/ids.hpp"
#include "engine/state.hpp"

namespace hatchet::engine {

namespace {

using json = nlohmann::json;

// Requests are rare (a pause per worker stop) and handled in microseconds under the model lock.
constexpr size_t serving_threads = 2;
// An idle keep-alive connection holds a serving thread until it times out, and stop() waits for
// the serving threads: this bounds stop().
constexpr time_t keep_alive_timeout_s = 1;
constexpr time_t io_timeout_s = 1;
constexpr size_t max_body_bytes = 64 * 1024;
constexpr auto start_timeout = std::chrono::seconds{2};
constexpr const char* worker_path = R"(/api/v1/workers/([^/]+))";
constexpr const char* nil_uuid = "00000000-0000-0000-0000-000000000000";

/// RFC 3339 in UTC with milliseconds, e.g. "2024-05-01T12:00:00.123Z" (Go's time JSON form).
std::string rfc3339(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

/// The real engine's `Worker` schema, in the parts the dev engine knows.
json to_json(const worker_view& w) {
  json j = {
    {"metadata",
     {{"id", w.id}, {"createdAt", rfc3339(w.created_at)}, {"updatedAt", rfc3339(w.updated_at)}}},
    {"name", w.name},
    {"type", "SELFHOSTED"},
    {"status", w.status},
    {"actions", w.actions},
  };
  if (w.last_heartbeat_at)
    j["lastHeartbeatAt"] = rfc3339(*w.last_heartbeat_at);
  if (w.last_listener_established)
    j["lastListenerEstablished"] = rfc3339(*w.last_listener_established);
  json slots = json::object();
  int64_t max_runs = 0;
  int64_t available_runs = 0;
  for (const auto& s : w.slots) {
    slots[s.type] = {{"available", s.available}, {"limit", s.limit}};
    if (s.type != "durable") { // the real engine leaves durable slots out of the run counts
      max_runs += s.limit;
      available_runs += s.available;
    }
  }
  j["slotConfig"] = std::move(slots);
  j["maxRuns"] = max_runs;
  j["availableRuns"] = available_runs;
  json labels = json::array();
  for (const auto& [key, value] : w.labels)
    labels.push_back({{"metadata",
                       {{"id", nil_uuid},
                        {"createdAt", rfc3339(w.created_at)},
                        {"updatedAt", rfc3339(w.updated_at)}}},
                      {"key", key},
                      {"value", value}});
  j["labels"] = std::move(labels);
  return j;
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

/// Echo's error body, which the real engine's middleware and populator answer with.
void reply_message(httplib::Response& res, int status, const std::string& text) {
  reply(res, status, json{{"message", text}});
}

/// The UpdateWorkerRequest body: a JSON object whose optional `isPaused` is a boolean (or null,
/// which Go decodes as absent). Other members are ignored, as Go's decoder does.
std::optional<bool> parse_update(const std::string& body, std::string& error) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "the request body must be a JSON object such as {\"isPaused\": true}";
    return std::nullopt;
  }
  auto it = doc.find("isPaused");
  if (it == doc.end() || it->is_null())
    return std::nullopt;
  if (!it->is_boolean()) {
    error = "isPaused must be a boolean";
    return std::nullopt;
  }
  return it->get<bool>();
}

} // namespace

struct rest_server::impl {
  impl(engine_state& s, const token_verifier& a) : state(s), auth(a) {}

  engine_state& state;
  const token_verifier& auth;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> serving_done{false}; // the serving thread has left listen_after_bind
  uint16_t port = 0;

  void handle(const httplib::Request& req, httplib::Response& res, bool update) {
    const std::string id = req.matches[1];
    if (!is_uuid(id))
      return reply_message(res, 400, "invalid worker id");
    // The real engine's text, then why (it gives no reason; see token_verdict).
    if (auto verdict = auth.check_header(req.get_header_value("Authorization")); !verdict)
      return reply_message(res, 403, "Please provide valid credentials: " + verdict.reason);
    worker_view view;
    std::string body_error;
    std::optional<bool> paused;
    if (update)
      paused = parse_update(req.body, body_error);
    // An unknown worker is reported before a bad body (the real engine loads it first).
    status st = update && body_error.empty() ? state.update_worker(id, paused, view)
                                             : state.describe_worker(id, view);
    if (st.code == status_code::not_found)
      return reply_message(res, 404, "worker not found");
    if (!st.ok())
      return reply_message(res, 500, st.message);
    if (!body_error.empty())
      return reply_message(res, 400, body_error);
    reply(res, 200, to_json(view));
  }

  std::unique_ptr<httplib::Server> make_server(const rest_tls& tls) {
    std::unique_ptr<httplib::Server> s;
    if (tls.cert_file.empty())
      s = std::make_unique<httplib::Server>();
    else // with a client CA, httplib requires and verifies a client certificate
      s = std::make_unique<httplib::SSLServer>(
        tls.cert_file.c_str(), tls.key_file.c_str(),
        tls.client_ca_file.empty() ? nullptr : tls.client_ca_file.c_str());
    if (!s->is_valid())
      return nullptr;
    s->new_task_queue = [] { return new httplib::ThreadPool(serving_threads); };
    // httplib's default sets SO_REUSEPORT, which would let a second engine bind the same port
    // and share its requests; SO_REUSEADDR only still allows a quick restart on the same port.
    s->set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    s->set_keep_alive_timeout(keep_alive_timeout_s);
    s->set_read_timeout(io_timeout_s);
    s->set_write_timeout(io_timeout_s);
    s->set_payload_max_length(max_body_bytes);
    s->Get(worker_path, [this](const httplib::Request& req, httplib::Response& res) {
      handle(req, res, false);
    });
    s->Patch(worker_path, [this](const httplib::Request& req, httplib::Response& res) {
      handle(req, res, true);
    });
    s->set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                std::exception_ptr ep) {
      std::string what = "unexpected error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      spdlog::error("unexpected error in a REST handler: {}", what);
      reply_message(res, 500, "Internal Server Error");
    });
    s->set_logger([](const httplib::Request& req, const httplib::Response& res) {
      spdlog::debug("REST {} {} -> {}", req.method, req.path, res.status);
    });
    return s;
  }
};

rest_server::rest_server(engine_state& state, const token_verifier& auth)
  : impl_(std::make_unique<impl>(state, auth)) {}

rest_server::~rest_server() {
  stop();
}

std::string rest_server::start(const std::string& host, uint16_t port, const rest_tls& tls) {
  if (impl_->server)
    return "the REST API is already running on port " + std::to_string(impl_->port);
  auto server = impl_->make_server(tls);
  if (!server)
    return "the REST API cannot serve HTTPS with the certificate " + tls.cert_file +
           ", the key " + tls.key_file +
           (tls.client_ca_file.empty() ? std::string{} : " and the client CA " + tls.client_ca_file);
  int bound = port == 0                            ? server->bind_to_any_port(host)
              : server->bind_to_port(host, port) ? port
                                                 : -1;
  if (bound <= 0)
    return "cannot listen on " + join_host_port(host, port) +
           " for the REST API (is the port already in use?)";
  impl_->port = static_cast<uint16_t>(bound);
  impl_->serving_done = false;
  impl_->thread = std::thread([i = impl_.get(), s = server.get()] {
    s->listen_after_bind();
    i->serving_done = true;
  });
  impl_->server = std::move(server);
  // Not needed for correctness (stop() copes with a loop not yet running), but a caller that
  // sends a request right after start() should find the loop accepting.
  const auto until = std::chrono::steady_clock::now() + start_timeout;
  while (!impl_->server->is_running() && !impl_->serving_done &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return {};
}

void rest_server::stop() noexcept {
  if (!impl_->server)
    return;
  try {
    // httplib's stop() does nothing until the serving loop runs, and must be called once only
    // (a second call while the loop winds down trips an assertion): wait for the loop, stop it.
    while (!impl_->serving_done) {
      if (impl_->server->is_running()) {
        impl_->server->stop();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    if (impl_->thread.joinable())
      impl_->thread.join();
  } catch (const std::exception& e) {
    spdlog::error("stopping the REST API: {}", e.what());
  }
  impl_->server.reset();
}

uint16_t rest_server::port() const noexcept {
  return impl_->port;
}

} // namespace hatchet::engine
