#pragma once
// What the dev engine's tests share: an engine on loopback ports, driven with the raw generated
// stubs (no SDK code), the way the official SDKs drive a real engine; a listener for a worker's
// stream, a watcher for a run, a worker made ready.
#include <boost/test/unit_test.hpp>


#include "mailbox.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/base64url.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "engine/auth.hpp"
#include "engine/dev_engine.hpp"
#include "events/events.grpc.pb.h"
#include "v1/workflows.grpc.pb.h"
#include "workflows/workflows.grpc.pb.h"

namespace he = hatchet::engine;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace engine_harness {

/// Upper bound for something that must happen; only a broken engine makes a test wait this long.
constexpr auto must_happen = 5s;
/// How long a test watches for something that must *not* happen.
constexpr auto stays_quiet = 300ms;

using harness::mailbox; // the stream reader threads fill it, the test drains it

struct task_opts {
  std::string name;
  std::vector<std::string> parents = {};
  int retries = 0;
  std::string timeout = {};
  int slot_cost = 0; // 0: leave slot_requests empty (engine default {"default": 1})
};

inline he::engine_options test_options() {
  he::engine_options o;
  o.port = 0;
  o.rest_port = 0;
  o.tick_interval = 20ms;
  o.secret = he::random_secret();
  return o;
}

/// An engine on a free loopback port, with stubs and a valid token.
class engine_under_test {
public:
  explicit engine_under_test(he::engine_options o = test_options()) : engine_(std::move(o)) {
    auto err = engine_.start();
    BOOST_TEST_REQUIRE(err == "");
    token_ = engine_.mint_token();
    channel_ = grpc::CreateChannel(engine_.address(), grpc::InsecureChannelCredentials());
    dispatcher = Dispatcher::NewStub(channel_);
    workflows = WorkflowService::NewStub(channel_);
    admin = v1::AdminService::NewStub(channel_);
    events = EventsService::NewStub(channel_);
  }

  he::dev_engine& engine() { return engine_; }
  const std::string& token() const { return token_; }

  /// A context with `authorization: Bearer <token>` (or the given header value) and a deadline.
  std::unique_ptr<grpc::ClientContext> context(std::optional<std::string> auth = std::nullopt) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", auth.value_or("Bearer " + token_));
    ctx->set_deadline(std::chrono::system_clock::now() + must_happen);
    return ctx;
  }

  grpc::Status put_workflow(const std::string& name, const std::vector<task_opts>& tasks) {
    v1::CreateWorkflowVersionRequest req;
    req.set_name(name);
    for (const auto& t : tasks) {
      auto* opt = req.add_tasks();
      opt->set_readable_id(t.name);
      opt->set_action(name + ":" + t.name);
      opt->set_timeout(t.timeout);
      opt->set_retries(t.retries);
      for (const auto& p : t.parents)
        opt->add_parents(p);
      if (t.slot_cost > 0)
        (*opt->mutable_slot_requests())["default"] = t.slot_cost;
    }
    v1::CreateWorkflowVersionResponse resp;
    return admin->PutWorkflow(context().get(), req, &resp);
  }

  std::string register_worker(const std::string& name, const std::vector<std::string>& actions,
                              std::optional<int> slots = std::nullopt) {
    WorkerRegisterRequest req;
    req.set_worker_name(name);
    for (const auto& a : actions)
      req.add_actions(a);
    req.add_services("default");
    if (slots)
      (*req.mutable_slot_config())["default"] = *slots;
    WorkerRegisterResponse resp;
    auto st = dispatcher->Register(context().get(), req, &resp);
    BOOST_TEST_REQUIRE(st.ok(), st.error_message());
    BOOST_TEST(resp.tenant_id() == engine_.options().tenant_id);
    BOOST_TEST(resp.worker_name() == name);
    return resp.worker_id();
  }

  grpc::Status heartbeat(const std::string& worker_id) {
    HeartbeatRequest req;
    req.set_worker_id(worker_id);
    HeartbeatResponse resp;
    return dispatcher->Heartbeat(context().get(), req, &resp);
  }

  grpc::Status try_trigger(const std::string& name, const std::string& input,
                           std::string& run_id) {
    v1::TriggerWorkflowRequest req;
    req.set_name(name);
    req.set_input(input);
    TriggerWorkflowResponse resp;
    auto st = workflows->TriggerWorkflow(context().get(), req, &resp);
    run_id = resp.workflow_run_id();
    return st;
  }

  std::string trigger(const std::string& name, const std::string& input = R"({})") {
    std::string id;
    auto st = try_trigger(name, input, id);
    BOOST_TEST_REQUIRE(st.ok(), st.error_message());
    return id;
  }

  /// A lifecycle event for the task of `a`, as a worker sends it (worker_id is the worker *name*,
  /// as the TypeScript SDK does).
  grpc::Status send(const AssignedAction& a, StepActionEventType type,
                    const std::string& payload = "", bool should_not_retry = false) {
    StepActionEvent ev;
    ev.set_worker_id("some-worker-name");
    ev.set_job_id(a.job_id());
    ev.set_job_run_id(a.job_run_id());
    ev.set_task_id(a.task_id());
    ev.set_task_run_external_id(a.task_run_external_id());
    ev.set_action_id(a.action_id());
    ev.set_event_type(type);
    ev.set_event_payload(payload);
    ev.set_retry_count(a.retry_count());
    if (type == STEP_EVENT_TYPE_FAILED)
      ev.set_should_not_retry(should_not_retry);
    ActionEventResponse resp;
    return dispatcher->SendStepActionEvent(context().get(), ev, &resp);
  }

  v1::GetRunDetailsResponse details(const std::string& run_id) {
    v1::GetRunDetailsRequest req;
    req.set_external_id(run_id);
    v1::GetRunDetailsResponse resp;
    auto st = admin->GetRunDetails(context().get(), req, &resp);
    BOOST_TEST_REQUIRE(st.ok(), st.error_message());
    return resp;
  }

  std::unique_ptr<Dispatcher::Stub> dispatcher;
  std::unique_ptr<WorkflowService::Stub> workflows;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::unique_ptr<EventsService::Stub> events;

private:
  he::dev_engine engine_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
};

/// A ListenV2 stream read by its own thread.
class listener {
public:
  listener(engine_under_test& eng, const std::string& worker_id)
    : listener(*eng.dispatcher, eng.token(), worker_id) {}
  listener(Dispatcher::Stub& stub, const std::string& token, const std::string& worker_id) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    WorkerListenRequest req;
    req.set_worker_id(worker_id);
    reader_ = stub.ListenV2(&ctx_, req);
    thread_ = std::thread([this] {
      AssignedAction a;
      while (reader_->Read(&a))
        actions_.push(a);
      ended_.push(reader_->Finish());
    });
  }
  ~listener() { close(); }

  std::optional<AssignedAction> next(std::chrono::milliseconds timeout = must_happen) {
    return actions_.pop(timeout);
  }
  /// True if nothing arrives for `stays_quiet`.
  bool quiet() { return !actions_.pop(stays_quiet).has_value(); }
  /// The status the server ended the stream with.
  std::optional<grpc::Status> ended(std::chrono::milliseconds timeout = must_happen) {
    return ended_.pop(timeout);
  }
  void close() {
    if (thread_.joinable()) {
      ctx_.TryCancel();
      thread_.join();
    }
  }

private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<AssignedAction>> reader_;
  mailbox<AssignedAction> actions_;
  mailbox<grpc::Status> ended_;
  std::thread thread_;
};

/// A SubscribeToWorkflowRuns stream, one for many run ids, read by its own thread.
class run_watcher {
public:
  explicit run_watcher(engine_under_test& eng) {
    ctx_.AddMetadata("authorization", "Bearer " + eng.token());
    stream_ = eng.dispatcher->SubscribeToWorkflowRuns(&ctx_);
    thread_ = std::thread([this] {
      WorkflowRunEvent ev;
      while (stream_->Read(&ev))
        events_.push(ev);
    });
  }
  ~run_watcher() {
    ctx_.TryCancel();
    thread_.join();
  }
  void watch(const std::string& run_id) {
    SubscribeToWorkflowRunsRequest req;
    req.set_workflow_run_id(run_id);
    BOOST_TEST_REQUIRE(stream_->Write(req));
  }
  std::optional<WorkflowRunEvent> next(std::chrono::milliseconds timeout = must_happen) {
    return events_.pop(timeout);
  }

private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<SubscribeToWorkflowRunsRequest, WorkflowRunEvent>>
    stream_;
  mailbox<WorkflowRunEvent> events_;
  std::thread thread_;
};

/// Registers a worker for `actions`, opens its stream and heartbeats once: ready for work.
struct ready_worker {
  ready_worker(engine_under_test& eng, const std::string& name,
               const std::vector<std::string>& actions, std::optional<int> slots = std::nullopt)
    : id(eng.register_worker(name, actions, slots)), stream(eng, id) {
    auto st = eng.heartbeat(id);
    BOOST_TEST_REQUIRE(st.ok(), st.error_message());
  }
  std::string id;
  listener stream;
};

/// Waits until at least `n` SubscribeToWorkflowEvents streams follow `run_id`; false if they did
/// not within must_happen.
inline bool wait_for_followers(engine_under_test& eng, const std::string& run_id, size_t n) {
  auto until = std::chrono::steady_clock::now() + must_happen;
  while (eng.engine().stream_subscribers(run_id) < n) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

inline AssignedAction expect_action(listener& l, ActionType type) {
  auto a = l.next();
  BOOST_TEST_REQUIRE(a.has_value(), "no action arrived");
  BOOST_TEST_REQUIRE(a->action_type() == type);
  return *a;
}

/// Polls until the engine has noticed that the worker's stream is gone (heartbeat says so).
inline bool wait_until_stream_gone(engine_under_test& eng, const std::string& worker_id) {
  auto until = std::chrono::steady_clock::now() + must_happen;
  while (std::chrono::steady_clock::now() < until) {
    if (eng.heartbeat(worker_id).error_code() == grpc::StatusCode::FAILED_PRECONDITION)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// Heartbeats until the engine has the worker's new stream (a heartbeat right after opening a
/// stream may arrive first and be refused with FAILED_PRECONDITION).
inline bool heartbeat_once_listening(engine_under_test& eng, const std::string& worker_id) {
  auto until = std::chrono::steady_clock::now() + must_happen;
  while (std::chrono::steady_clock::now() < until) {
    if (eng.heartbeat(worker_id).ok())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// -- the REST API and tokens ------------------------------------------------------------------

struct http_response {
  int status = 0; ///< 0: no answer (connection refused or broken)
  std::string body;
};

/// One HTTP/1.1 request to 127.0.0.1:port over a fresh connection ("Connection: close"), so the
/// test needs no HTTP library. `auth` is the whole Authorization header value, if any.
inline http_response http(uint16_t port, const std::string& method, const std::string& target,
                   const std::optional<std::string>& auth, const std::string& body = "") {
  http_response out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return out;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (auth)
    req += "Authorization: " + *auth + "\r\n";
  if (method != "GET")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  req += "\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return out;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12)
    return out;
  out.status = std::stoi(raw.substr(9, 3));
  if (auto end = raw.find("\r\n\r\n"); end != std::string::npos)
    out.body = raw.substr(end + 4);
  return out;
}

/// The worker REST resource of `eng` for `worker_id`, with the engine's token unless told.
inline http_response worker_rest(engine_under_test& eng, const std::string& method,
                          const std::string& worker_id, const std::string& body = "",
                          std::optional<std::string> auth = std::nullopt) {
  return http(eng.engine().rest_port(), method, "/api/v1/workers/" + worker_id,
              auth ? auth : std::optional<std::string>{"Bearer " + eng.token()}, body);
}

inline json token_claims(const std::string& token) {
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  auto payload = hatchet::util::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  BOOST_TEST_REQUIRE(payload.has_value());
  return json::parse(*payload);
}

/// PutWorkflow with one task per (readable id, action id) pair, all roots.
inline grpc::Status put_with_actions(engine_under_test& eng, const std::string& name,
                              const std::vector<std::pair<std::string, std::string>>& tasks,
                              std::string* workflow_id = nullptr) {
  v1::CreateWorkflowVersionRequest req;
  req.set_name(name);
  for (const auto& [readable_id, action] : tasks) {
    auto* t = req.add_tasks();
    t->set_readable_id(readable_id);
    t->set_action(action);
  }
  v1::CreateWorkflowVersionResponse resp;
  auto st = eng.admin->PutWorkflow(eng.context().get(), req, &resp);
  if (workflow_id != nullptr)
    *workflow_id = resp.workflow_id();
  return st;
}


} // namespace engine_harness

using namespace engine_harness;
