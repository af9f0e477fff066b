// rest_server: the REST API on cpp-httplib. The only translation unit that includes httplib.h.

#include "engine/rest_server.hpp"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
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
#include "engine/rest_transformers.hpp"
#include "engine/rfc3339.hpp"
#include "util/ids.hpp"
#include "util/quoted.hpp"
#include "engine/state.hpp"
#include "engine/worker_list.hpp"
#include "engine/workflow_list.hpp"

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

// The workflow routes: crons and one-off schedules (the real engine's CronWorkflows and
// ScheduledWorkflows handlers under api/v1/server/handlers/workflows/).
constexpr const char* cron_create_path = R"(/api/v1/tenants/([^/]+)/workflows/([^/]+)/crons)";
constexpr const char* cron_list_path = R"(/api/v1/tenants/([^/]+)/workflows/crons)";
constexpr const char* cron_item_path = R"(/api/v1/tenants/([^/]+)/workflows/crons/([^/]+))";
constexpr const char* schedule_create_path =
  R"(/api/v1/tenants/([^/]+)/workflows/([^/]+)/scheduled)";
constexpr const char* schedule_item_path =
  R"(/api/v1/tenants/([^/]+)/workflows/scheduled/([^/]+))";

// The tenant (TS clients read it when made) and task cancel and replay by ids (the SDKs' only way
// to cancel; api/v1/server/handlers/v1/tasks/cancel.go and replay.go proxy the gRPC calls).
constexpr const char* tenant_path = R"(/api/v1/tenants/([^/]+))";
constexpr const char* worker_list_path = R"(/api/v1/tenants/([^/]+)/worker)";
constexpr const char* workflow_list_path = R"(/api/v1/tenants/([^/]+)/workflows)";
constexpr const char* task_cancel_path = R"(/api/v1/stable/tenants/([^/]+)/tasks/cancel)";
constexpr const char* task_replay_path = R"(/api/v1/stable/tenants/([^/]+)/tasks/replay)";

/// The API's error body for a 400: `{"errors":[{"description": ...}]}` (APIErrors).
void reply_errors(httplib::Response& res, int status, const std::string& text) {
  // Inputs are quoted by prefix (util/quoted.hpp); this bounds whatever else a text gathers.
  constexpr size_t max_bytes = 2048;
  auto said = text.size() <= max_bytes ? text : util::bounded_prefix(text, max_bytes - 64);
  reply(res, status, json{{"errors", json::array({json{{"description", said}}})}});
}

/// A JSON object member that must be an object when present; "" or what is wrong.
std::string object_member(const json& body, const char* name, std::string& out) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    out = "{}";
    return {};
  }
  if (!it->is_object())
    return std::string{"invalid input format: "} + name + " must be a JSON object";
  out = it->dump();
  return {};
}

/// An optional priority member: nullopt-with-no-error when absent.
std::string priority_member(const json& body, std::optional<int32_t>& out) {
  auto it = body.find("priority");
  if (it == body.end() || it->is_null())
    return {};
  if (!it->is_number_integer())
    return "priority must be an integer";
  out = it->get<int32_t>();
  return {};
}

} // namespace

struct rest_server::impl {
  impl(engine_state& s, const token_verifier& a) : state(s), auth(a) {}

  engine_state& state;
  const token_verifier& auth;
  std::string base_url; ///< "http://host:port", the tenant's serverUrl
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> serving_done{false}; // the serving thread has left listen_after_bind
  uint16_t port = 0;

  void handle(const httplib::Request& req, httplib::Response& res, bool update) {
    const std::string id = req.matches[1];
    if (!util::is_uuid(id))
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

  /// Checks the token and the tenant of a workflow route; false when it has answered.
  bool admit(const httplib::Request& req, httplib::Response& res) {
    if (auto verdict = auth.check_header(req.get_header_value("Authorization")); !verdict) {
      reply_message(res, 403, "Please provide valid credentials: " + verdict.reason);
      return false;
    }
    if (req.matches[1].str() != state.options().tenant_id) {
      reply_errors(res, 403, "the token is not for tenant " + req.matches[1].str());
      return false;
    }
    return true;
  }

  static std::optional<json> body_object(const httplib::Request& req, httplib::Response& res) {
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      reply_errors(res, 400, "the request body must be a JSON object");
      return std::nullopt;
    }
    return body;
  }

  /// The real engine's `Tenant` (transformers/tenant.go, ToTenant): a v1 tenant.
  void get_tenant(const httplib::Request& req, httplib::Response& res) {
    if (!util::is_uuid(req.matches[1].str()))
      return reply_errors(res, 400, "invalid tenant id");
    if (!admit(req, res))
      return;
    reply(res, 200, tenant_json(state.options().tenant_id, started_at, base_url));
  }

  /// A whole number >= 0 from the query parameter `name` into `out` (left as is when absent);
  /// false when it has answered 400.
  static bool number_param(const httplib::Request& req, httplib::Response& res, const char* name,
                           int64_t& out) {
    if (!req.has_param(name))
      return true;
    const auto text = req.get_param_value(name);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    // Bounded, so that offset + limit cannot overflow further on.
    if (text.empty() || *end != '\0' || errno != 0 || v < 0 || v > 1'000'000'000) {
      reply_errors(res, 400,
                   std::string{name} + " must be a whole number from 0 to 1000000000, not "
                     + util::quoted(text));
      return false;
    }
    out = v;
    return true;
  }

  static json pagination(const page_numbers& p) {
    return {{"num_pages", p.num_pages},
            {"current_page", p.current_page},
            {"next_page", p.next_page}};
  }

  /// GET /api/v1/tenants/{tenant}/workflows?offset=&limit=&name=: a WorkflowList (the real
  /// ToWorkflowFromSQLC fields).
  void list_workflows(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res))
      return;
    workflow_list_query q;
    q.name = req.get_param_value("name");
    if (!number_param(req, res, "offset", q.offset) || !number_param(req, res, "limit", q.limit))
      return;
    auto page = select_workflows(state.all_workflows(), q);
    json rows = json::array();
    for (const auto& w : page.rows)
      rows.push_back(to_json(w, state.options().tenant_id));
    reply(res, 200, json{{"rows", std::move(rows)}, {"pagination", pagination(page.pages)}});
  }

  /// GET /api/v1/tenants/{tenant}/worker?offset=&limit=&statuses=&labels=: a WorkerList.
  void list_workers(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res))
      return;
    worker_list_query q;
    for (size_t i = 0; i < req.get_param_value_count("statuses"); ++i)
      q.statuses.push_back(req.get_param_value("statuses", i));
    for (size_t i = 0; i < req.get_param_value_count("labels"); ++i)
      q.labels.push_back(req.get_param_value("labels", i));
    if (!number_param(req, res, "offset", q.offset) || !number_param(req, res, "limit", q.limit))
      return;
    for (const auto& s : q.statuses)
      if (s != "ACTIVE" && s != "INACTIVE" && s != "PAUSED")
        return reply_errors(res, 400, "statuses: " + util::quoted(s)
                                        + " is not ACTIVE, INACTIVE or PAUSED");
    auto page = select_workers(state.all_workers(), q, std::chrono::system_clock::now());
    if (!page.error.empty())
      return reply_errors(res, 400, page.error);
    json rows = json::array();
    for (const auto& w : page.rows)
      rows.push_back(to_json(w));
    reply(res, 200,
          json{{"rows", std::move(rows)},
               {"pagination",
                pagination({page.num_pages, page.current_page, page.next_page})}});
  }

  /// POST .../tasks/cancel or /replay with a V1CancelTaskRequest or V1ReplayTaskRequest body:
  /// `externalIds` (task or run ids) answered with `{"ids": [...]}`, what was cancelled or
  /// replayed; a `filter` is refused (501), as its gRPC form is.
  template <class Act>
  void tasks_by_ids(const httplib::Request& req, httplib::Response& res, const char* what,
                    Act act) {
    if (!admit(req, res))
      return;
    auto body = body_object(req, res);
    if (!body)
      return;
    if (auto f = body->find("filter"); f != body->end() && !f->is_null())
      return reply_errors(res, 501,
                          std::string{"the dev engine does not model "} + what
                            + " by filter (V1TaskFilter) yet; give externalIds instead");
    std::vector<std::string> ids;
    if (auto e = body->find("externalIds"); e != body->end() && !e->is_null()) {
      if (!e->is_array())
        return reply_errors(res, 400, "externalIds must be an array of uuids");
      for (const auto& id : *e) {
        if (!id.is_string() || !util::is_uuid(id.get<std::string>()))
          return reply_errors(res, 400, "externalIds: " + util::quoted(id.dump())
                                          + " is not a uuid");
        ids.push_back(id.get<std::string>());
      }
    }
    std::vector<std::string> done;
    status st = act(ids, done);
    if (!st.ok())
      return reply_errors(res, st.code == status_code::invalid_argument ? 400 : 500, st.message);
    reply(res, 200, json{{"ids", done}});
  }

  void cancel_tasks(const httplib::Request& req, httplib::Response& res) {
    tasks_by_ids(req, res, "cancelling", [&](const auto& ids, auto& done) {
      return state.cancel(ids, done);
    });
  }

  void replay_tasks(const httplib::Request& req, httplib::Response& res) {
    tasks_by_ids(req, res, "replaying", [&](const auto& ids, auto& done) {
      return state.replay(ids, done);
    });
  }

  void create_cron(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res))
      return;
    auto body = body_object(req, res);
    if (!body)
      return;
    cron_spec spec;
    spec.workflow = req.matches[2].str();
    spec.name = body->value("cronName", "");
    spec.expression = body->value("cronExpression", "");
    std::string err = object_member(*body, "input", spec.input);
    if (err.empty())
      err = object_member(*body, "additionalMetadata", spec.additional_metadata);
    if (err.empty())
      err = priority_member(*body, spec.priority);
    if (!err.empty())
      return reply_errors(res, 400, err);
    cron_view view;
    status st = state.create_cron(spec, view);
    if (!st.ok()) // the real handler answers 400 for each of its refusals
      return reply_errors(res, 400, st.message);
    reply(res, 200, to_json(view));
  }

  void list_crons(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res))
      return;
    json rows = json::array();
    for (const auto& c : state.list_crons())
      rows.push_back(to_json(c));
    auto n = static_cast<int64_t>(rows.size());
    reply(res, 200,
          json{{"rows", std::move(rows)},
               {"pagination", {{"current_page", 1}, {"num_pages", 1}, {"next_page", 1}}},
               {"total", n}});
  }

  /// DELETE of a cron or a schedule by the id in the path: 400 for a malformed id (checked
  /// before the token), 404 for an unknown one, else 204.
  template <class Delete>
  void delete_by_id(const httplib::Request& req, httplib::Response& res, const char* what,
                    Delete remove) {
    if (!util::is_uuid(req.matches[2].str()))
      return reply_errors(res, 400, std::string{"invalid "} + what + " id");
    if (!admit(req, res))
      return;
    status st = remove(req.matches[2].str());
    if (!st.ok())
      return reply_errors(res, 404, st.message);
    res.status = 204;
  }

  void delete_cron(const httplib::Request& req, httplib::Response& res) {
    delete_by_id(req, res, "cron", [&](const std::string& id) { return state.delete_cron(id); });
  }

  void create_schedule(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res))
      return;
    auto body = body_object(req, res);
    if (!body)
      return;
    schedule_spec spec;
    spec.workflow = req.matches[2].str();
    auto at = body->find("triggerAt");
    if (at == body->end() || !at->is_string())
      return reply_errors(res, 400, "triggerAt is required (an RFC 3339 time)");
    auto when = parse_rfc3339(at->get<std::string>());
    if (!when.at)
      return reply_errors(res, 400,
                          "triggerAt " + util::quoted(at->get<std::string>()) + " " + when.why);
    spec.trigger_at.push_back(*when.at);
    std::string err = object_member(*body, "input", spec.input);
    if (err.empty())
      err = object_member(*body, "additionalMetadata", spec.additional_metadata);
    if (err.empty())
      err = priority_member(*body, spec.priority);
    if (!err.empty())
      return reply_errors(res, 400, err);
    std::vector<schedule_view> made;
    status st = state.create_schedules(spec, made);
    if (!st.ok())
      return reply_errors(res, 400, st.message);
    reply(res, 200, to_json(made.front()));
  }

  void delete_schedule(const httplib::Request& req, httplib::Response& res) {
    delete_by_id(req, res, "scheduled workflow run",
                 [&](const std::string& id) { return state.delete_schedule(id); });
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
    using handler = void (impl::*)(const httplib::Request&, httplib::Response&);
    auto route = [this](handler h) {
      return [this, h](const httplib::Request& req, httplib::Response& res) { (this->*h)(req, res); };
    };
    // The list route first: "crons" would otherwise be taken for a workflow name.
    s->Get(cron_list_path, route(&impl::list_crons));
    s->Post(cron_create_path, route(&impl::create_cron));
    s->Delete(cron_item_path, route(&impl::delete_cron));
    s->Post(schedule_create_path, route(&impl::create_schedule));
    s->Delete(schedule_item_path, route(&impl::delete_schedule));
    s->Get(tenant_path, route(&impl::get_tenant));
    s->Get(worker_list_path, route(&impl::list_workers));
    s->Get(workflow_list_path, route(&impl::list_workflows));
    s->Post(task_cancel_path, route(&impl::cancel_tasks));
    s->Post(task_replay_path, route(&impl::replay_tasks));
    // No route matched (httplib's 404 has no body): 501 naming the request, never an empty 404.
    s->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status != 404 || !res.body.empty())
        return;
      reply_errors(res, 501,
                   "the dev engine does not serve " + req.method + " " + req.path
                     + " (not modelled yet, or not a route of the Hatchet REST API; "
                       "engine/README.md lists the routes it serves)");
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
  impl_->base_url =
    (tls.cert_file.empty() ? "http://" : "https://") + join_host_port(host, impl_->port);
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
