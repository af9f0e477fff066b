// The dev engine over loopback gRPC, driven with the raw generated stubs (no SDK code), the way
// the official SDKs drive a real engine.
#define BOOST_TEST_MODULE dev_engine
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

namespace {

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

he::engine_options test_options() {
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

AssignedAction expect_action(listener& l, ActionType type) {
  auto a = l.next();
  BOOST_TEST_REQUIRE(a.has_value(), "no action arrived");
  BOOST_TEST_REQUIRE(a->action_type() == type);
  return *a;
}

/// Polls until the engine has noticed that the worker's stream is gone (heartbeat says so).
bool wait_until_stream_gone(engine_under_test& eng, const std::string& worker_id) {
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
bool heartbeat_once_listening(engine_under_test& eng, const std::string& worker_id) {
  auto until = std::chrono::steady_clock::now() + must_happen;
  while (std::chrono::steady_clock::now() < until) {
    if (eng.heartbeat(worker_id).ok())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(unauthenticated_calls_are_rejected) {
  engine_under_test eng;
  auto version = [&](std::optional<std::string> auth) {
    grpc::ClientContext ctx;
    if (auth)
      ctx.AddMetadata("authorization", *auth);
    GetVersionResponse resp;
    return eng.dispatcher->GetVersion(&ctx, GetVersionRequest{}, &resp).error_code();
  };
  he::engine_options other_secret = eng.engine().options();
  other_secret.secret = "not-the-engine-secret";
  he::engine_options other_tenant = eng.engine().options();
  other_tenant.tenant_id = "11111111-2222-4333-8444-555555555555";
  const auto addr = eng.engine().address();

  BOOST_TEST(version(std::nullopt) == grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(version("Bearer garbage") == grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(version("Bearer a.b.c") == grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(version("Bearer " + he::mint_token(other_secret, addr)) ==
             grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(version("Bearer " + he::mint_token(other_tenant, addr)) ==
             grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(version("Basic " + eng.token()) == grpc::StatusCode::UNAUTHENTICATED);
  // the scheme is case-insensitive: the TypeScript and Python SDKs send "bearer"
  BOOST_TEST(version("bearer " + eng.token()) == grpc::StatusCode::OK);
  BOOST_TEST(version("Bearer " + eng.token()) == grpc::StatusCode::OK);

  // streams and the other services check it too
  grpc::ClientContext ctx;
  WorkerListenRequest req;
  req.set_worker_id("00000000-0000-4000-8000-000000000000");
  auto reader = eng.dispatcher->ListenV2(&ctx, req);
  AssignedAction a;
  BOOST_TEST(!reader->Read(&a));
  BOOST_TEST(reader->Finish().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  v1::GetRunDetailsResponse details;
  v1::GetRunDetailsRequest details_req;
  BOOST_TEST(eng.admin->GetRunDetails(eng.context("Bearer nope").get(), details_req, &details)
               .error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

BOOST_AUTO_TEST_CASE(get_version_answers_a_semver_of_at_least_v0_80_0) {
  engine_under_test eng;
  GetVersionResponse resp;
  auto st = eng.dispatcher->GetVersion(eng.context().get(), GetVersionRequest{}, &resp);
  BOOST_TEST_REQUIRE(st.ok());
  int major = -1, minor = -1, patch = -1;
  BOOST_TEST_REQUIRE(std::sscanf(resp.version().c_str(), "v%d.%d.%d", &major, &minor, &patch) == 3);
  BOOST_TEST((major > 0 || minor >= 80));
}

BOOST_AUTO_TEST_CASE(a_triggered_task_starts_on_a_ready_worker_with_its_input) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("simple", {{.name = "step1"}}).ok());
  ready_worker w{eng, "worker-1", {"simple:step1"}};

  v1::TriggerWorkflowRequest req;
  req.set_name("simple");
  req.set_input(R"({"message": "hello", "n": 3})");
  req.set_additional_metadata(R"({"source": "test"})");
  req.set_priority(2);
  req.set_child_key("k"); // without a parent task: ignored
  req.set_child_index(3);
  TriggerWorkflowResponse resp;
  BOOST_TEST_REQUIRE(eng.workflows->TriggerWorkflow(eng.context().get(), req, &resp).ok());

  auto a = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(!a.has_child_workflow_key());
  BOOST_TEST(!a.has_child_workflow_index());
  BOOST_TEST(a.tenant_id() == eng.engine().options().tenant_id);
  BOOST_TEST(a.workflow_run_id() == resp.workflow_run_id());
  BOOST_TEST(a.action_id() == "simple:step1");
  BOOST_TEST(a.task_name() == "step1");
  BOOST_TEST(a.job_name() == "step1");
  BOOST_TEST(a.job_run_id() == a.task_run_external_id());
  BOOST_TEST(a.task_id() == a.job_id());
  BOOST_TEST(a.retry_count() == 0);
  BOOST_TEST(a.priority() == 2);
  BOOST_TEST(a.additional_metadata() == R"({"source": "test"})");
  BOOST_TEST(a.has_workflow_id());
  BOOST_TEST(a.has_workflow_version_id());
  auto payload = json::parse(a.action_payload());
  BOOST_TEST(payload["input"] == json::parse(R"({"message": "hello", "n": 3})"));
  BOOST_TEST(payload["parents"] == json::object());
  BOOST_TEST(payload["triggered_by"] == "manual");

  auto d = eng.details(resp.workflow_run_id());
  BOOST_TEST(d.status() == v1::RUNNING);
  BOOST_TEST(d.task_runs().at("step1").status() == v1::RUNNING);
  BOOST_TEST(eng.engine().snapshot().assigned == 1u);
}

BOOST_AUTO_TEST_CASE(completed_output_reaches_subscribers_before_and_after_the_run_finishes) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  run_watcher early{eng};

  auto run1 = eng.trigger("wf");
  auto run2 = eng.trigger("wf");
  early.watch(run1);
  early.watch(run2); // one stream carries many run ids
  auto a1 = expect_action(w.stream, START_STEP_RUN);
  auto a2 = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(!early.next(stays_quiet).has_value()); // nothing before the runs finish

  BOOST_TEST(eng.send(a1, STEP_EVENT_TYPE_STARTED).ok());
  BOOST_TEST(eng.send(a1, STEP_EVENT_TYPE_COMPLETED, R"({"answer":42})").ok());
  BOOST_TEST(eng.send(a2, STEP_EVENT_TYPE_COMPLETED, R"({"answer":43})").ok());

  std::map<std::string, WorkflowRunEvent> got;
  for (int i = 0; i < 2; ++i) {
    auto ev = early.next();
    BOOST_TEST_REQUIRE(ev.has_value());
    got[ev->workflow_run_id()] = *ev;
  }
  BOOST_TEST_REQUIRE(got.count(a1.workflow_run_id()) == 1u);
  const auto& ev1 = got[a1.workflow_run_id()];
  BOOST_TEST(ev1.event_type() == WORKFLOW_RUN_EVENT_TYPE_FINISHED);
  BOOST_TEST(ev1.has_event_timestamp());
  BOOST_TEST_REQUIRE(ev1.results_size() == 1);
  BOOST_TEST(ev1.results(0).task_name() == "t");
  BOOST_TEST(ev1.results(0).task_run_external_id() == a1.task_run_external_id());
  BOOST_TEST(ev1.results(0).job_run_id() == a1.task_run_external_id());
  BOOST_TEST(!ev1.results(0).has_error());
  BOOST_TEST(json::parse(ev1.results(0).output()) == json::parse(R"({"answer":42})"));

  run_watcher late{eng}; // subscribes after the run finished: answered at once
  late.watch(run1);
  auto ev = late.next();
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->workflow_run_id() == run1);
  BOOST_TEST_REQUIRE(ev->results_size() == 1);
  BOOST_TEST(json::parse(ev->results(0).output()) == json::parse(R"({"answer":42})"));

  auto d = eng.details(run1);
  BOOST_TEST(d.done());
  BOOST_TEST(d.status() == v1::COMPLETED);
  BOOST_TEST(d.task_runs().at("t").output() == R"({"answer":42})");
  BOOST_TEST(eng.engine().snapshot().completed == 2u);
}

BOOST_AUTO_TEST_CASE(a_subscription_to_a_not_yet_known_run_waits_for_it) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  run_watcher watcher{eng};
  watcher.watch("3f2b8c1e-5d4a-4c3b-9a2f-0e1d2c3b4a59"); // unknown: no error, just no event
  BOOST_TEST(!watcher.next(stays_quiet).has_value());
}

BOOST_AUTO_TEST_CASE(slots_cap_the_tasks_running_on_a_worker) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}, 2};
  for (int i = 0; i < 6; ++i)
    eng.trigger("wf", R"({"i":)" + std::to_string(i) + "}");

  std::deque<AssignedAction> running;
  running.push_back(expect_action(w.stream, START_STEP_RUN));
  running.push_back(expect_action(w.stream, START_STEP_RUN));
  BOOST_TEST(w.stream.quiet()); // the third waits for a free slot

  int finished = 0;
  while (!running.empty()) {
    auto a = running.front();
    running.pop_front();
    BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
    ++finished;
    if (finished <= 4) // a freed slot lets exactly one more in
      running.push_back(expect_action(w.stream, START_STEP_RUN));
  }
  BOOST_TEST(w.stream.quiet());
  auto s = eng.engine().snapshot();
  BOOST_TEST(s.assigned == 6u);
  BOOST_TEST(s.completed == 6u);
  BOOST_TEST(s.max_running_on_one_worker == 2u);
}

BOOST_AUTO_TEST_CASE(slot_requests_and_release_slot_are_honoured) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("heavy", {{.name = "t", .slot_cost = 2}}).ok());
  ready_worker w{eng, "worker", {"heavy:t"}, 3};
  eng.trigger("heavy");
  eng.trigger("heavy");
  auto first = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(w.stream.quiet()); // 2 of 3 units used: the second needs 2

  ReleaseSlotRequest req;
  req.set_task_run_external_id(first.task_run_external_id());
  ReleaseSlotResponse resp;
  BOOST_TEST_REQUIRE(eng.dispatcher->ReleaseSlot(eng.context().get(), req, &resp).ok());
  auto second = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(second.task_run_external_id() != first.task_run_external_id());
  // the released task still runs and may complete
  BOOST_TEST(eng.send(first, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  BOOST_TEST(eng.details(first.workflow_run_id()).status() == v1::COMPLETED);
}

BOOST_AUTO_TEST_CASE(no_assignment_before_a_heartbeat_or_without_an_open_stream) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  auto worker_id = eng.register_worker("worker", {"wf:t"});
  auto run1 = eng.trigger("wf");
  {
    listener stream{eng, worker_id};
    BOOST_TEST(stream.quiet()); // stream open, but never heartbeated
    BOOST_TEST_REQUIRE(eng.heartbeat(worker_id).ok());
    auto a = expect_action(stream, START_STEP_RUN);
    BOOST_TEST(a.workflow_run_id() == run1);
  }
  // the stream is gone: heartbeats say so, and new work waits
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, worker_id));
  auto run2 = eng.trigger("wf");
  std::this_thread::sleep_for(stays_quiet);
  BOOST_TEST(eng.details(run2).status() == v1::QUEUED);

  listener again{eng, worker_id}; // a reconnect of the same worker gets it
  auto until = std::chrono::steady_clock::now() + must_happen;
  std::optional<AssignedAction> a;
  while (!a && std::chrono::steady_clock::now() < until) {
    eng.heartbeat(worker_id); // FAILED_PRECONDITION until the server has seen the new stream
    a = again.next(50ms);
  }
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST(a->workflow_run_id() == run2);
}

BOOST_AUTO_TEST_CASE(gzip_requests_and_frequent_client_pings_keep_working) {
  // The official SDKs compress every request (G2) and ping every 10 s even when idle (G3): with
  // grpc++'s default ping policy the engine would GOAWAY ("too_many_pings") their idle ListenV2
  // streams. Here the client pings about once a second (it asks for 200 ms; grpc++ throttles),
  // which makes a default-policy server fail this case within the 4 s idle period.
  engine_under_test eng;
  grpc::ChannelArguments args;
  args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 200);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, 100);
  auto channel = grpc::CreateCustomChannel(eng.engine().address(),
                                           grpc::InsecureChannelCredentials(), args);
  auto dispatcher = Dispatcher::NewStub(channel);
  auto workflows = WorkflowService::NewStub(channel);

  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  WorkerRegisterRequest reg;
  reg.set_worker_name("gzip-worker");
  reg.add_actions("wf:t");
  WorkerRegisterResponse reg_resp;
  BOOST_TEST_REQUIRE(dispatcher->Register(eng.context().get(), reg, &reg_resp).ok());
  listener stream{*dispatcher, eng.token(), reg_resp.worker_id()};
  BOOST_TEST(!stream.ended(4000ms).has_value()); // idle and pinged: still open

  HeartbeatRequest hb;
  hb.set_worker_id(reg_resp.worker_id());
  HeartbeatResponse hb_resp;
  BOOST_TEST_REQUIRE(dispatcher->Heartbeat(eng.context().get(), hb, &hb_resp).ok());
  v1::TriggerWorkflowRequest trig;
  trig.set_name("wf");
  trig.set_input(R"({"padding":")" + std::string(4096, 'x') + R"("})");
  TriggerWorkflowResponse trig_resp;
  BOOST_TEST_REQUIRE(workflows->TriggerWorkflow(eng.context().get(), trig, &trig_resp).ok());
  auto a = expect_action(stream, START_STEP_RUN);
  BOOST_TEST(json::parse(a.action_payload())["input"]["padding"].get<std::string>().size() ==
             4096u);
  BOOST_TEST(!stream.ended(1000ms).has_value());

  UpsertWorkerLabelsRequest labels;
  labels.set_worker_id(reg_resp.worker_id());
  (*labels.mutable_labels())["gpu"].set_str_value("a100");
  UpsertWorkerLabelsResponse labels_resp;
  BOOST_TEST(dispatcher->UpsertWorkerLabels(eng.context().get(), labels, &labels_resp).ok());
}

// Heartbeat says NOT_FOUND; ListenV2 returns the lookup's error unmapped, which a real engine's
// error interceptor turns into INTERNAL. A worker learns it was forgotten from Heartbeat.
BOOST_AUTO_TEST_CASE(unknown_workers_are_not_found_on_heartbeat_and_internal_on_listen) {
  engine_under_test eng;
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  BOOST_TEST(eng.heartbeat(unknown).error_code() == grpc::StatusCode::NOT_FOUND);
  listener stream{eng, unknown};
  auto st = stream.ended();
  BOOST_TEST_REQUIRE(st.has_value());
  BOOST_TEST(st->error_code() == grpc::StatusCode::INTERNAL);
}

BOOST_AUTO_TEST_CASE(a_failed_task_is_retried_then_reported_with_its_error) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("flaky", {{.name = "t", .retries = 1}}).ok());
  ready_worker w{eng, "worker", {"flaky:t"}};
  run_watcher watcher{eng};
  auto run = eng.trigger("flaky");
  watcher.watch(run);

  auto first = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(first.retry_count() == 0);
  BOOST_TEST(eng.send(first, STEP_EVENT_TYPE_FAILED, "boom 1").ok());
  auto second = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(second.retry_count() == 1);
  BOOST_TEST(second.task_run_external_id() == first.task_run_external_id());
  // a late event of the first attempt is ignored
  BOOST_TEST(eng.send(first, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  BOOST_TEST(eng.send(second, STEP_EVENT_TYPE_FAILED, "boom 2").ok());

  auto ev = watcher.next();
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST_REQUIRE(ev->results_size() == 1);
  BOOST_TEST(ev->results(0).error() == "boom 2");
  BOOST_TEST(!ev->results(0).has_output());
  BOOST_TEST(eng.details(run).status() == v1::FAILED);
  auto s = eng.engine().snapshot();
  BOOST_TEST(s.retried == 1u);
  BOOST_TEST(s.failed == 1u);
  BOOST_TEST(s.completed == 0u);
}

// A START the stream cannot carry is never written (a real engine's grpc refuses it before the
// wire, and the task fails "Could not send task to worker"): the stream and the other runs on it
// go on.
BOOST_AUTO_TEST_CASE(a_start_over_the_message_limit_fails_its_task_and_the_stream_goes_on) {
  auto o = test_options();
  o.max_message_bytes = 64 * 1024;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  run_watcher watcher{eng};
  // Under the receive limit as a trigger, over the send limit as a START.
  auto big = eng.trigger("wf", R"({"blob":")" + std::string(64 * 1024 - 200, 'x') + R"("})");
  watcher.watch(big);
  auto ev = watcher.next();
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST_REQUIRE(ev->results_size() == 1);
  BOOST_TEST(ev->results(0).error().find("Could not send task to worker") != std::string::npos);
  BOOST_TEST(ev->results(0).error().find("65536-byte gRPC message limit") != std::string::npos,
             ev->results(0).error());
  auto small = eng.trigger("wf");
  auto a = expect_action(w.stream, START_STEP_RUN); // the same stream carries the next run
  BOOST_TEST(a.workflow_run_id() == small);
  BOOST_TEST(eng.engine().snapshot().undeliverable == 1u);
}

BOOST_AUTO_TEST_CASE(outcomes_sent_twice_for_one_attempt_are_ignored_and_counted) {
  // A worker whose connection breaks after the engine took its COMPLETED but before the answer
  // arrived sends it again: the first outcome stands, the repeat is counted (the fault tests
  // assert on the counter), and a late outcome of an older attempt is counted apart.
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t", .retries = 1}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  auto run_ok = eng.trigger("wf");
  auto a = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_COMPLETED, R"({"n":1})").ok());
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_COMPLETED, R"({"n":2})").ok());
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_FAILED, "too late").ok());
  BOOST_TEST(eng.details(run_ok).task_runs().at("t").output() == R"({"n":1})");

  eng.trigger("wf");
  auto first = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(eng.send(first, STEP_EVENT_TYPE_FAILED, "boom").ok()); // retried
  auto second = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(second.retry_count() == 1);
  BOOST_TEST(eng.send(first, STEP_EVENT_TYPE_FAILED, "boom").ok()); // retry 0 again: duplicate
  BOOST_TEST(eng.send(second, STEP_EVENT_TYPE_COMPLETED, "{}").ok());

  auto s = eng.engine().snapshot();
  BOOST_TEST(s.completed == 2u);
  BOOST_TEST(s.duplicate_outcomes == 3u);
  BOOST_TEST(s.stale_outcomes == 0u);
}

BOOST_AUTO_TEST_CASE(a_late_outcome_of_a_timed_out_attempt_is_stale_not_duplicate) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("slow", {{.name = "t", .retries = 1, .timeout = "200ms"}}).ok());
  ready_worker w{eng, "worker", {"slow:t"}};
  eng.trigger("slow");
  auto first = expect_action(w.stream, START_STEP_RUN);
  expect_action(w.stream, CANCEL_STEP_RUN);
  auto second = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(second.retry_count() == 1);
  BOOST_TEST(eng.send(first, STEP_EVENT_TYPE_COMPLETED, "{}").ok()); // the timed-out attempt
  BOOST_TEST(eng.send(second, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  auto s = eng.engine().snapshot();
  BOOST_TEST(s.completed == 1u);
  BOOST_TEST(s.stale_outcomes == 1u);
  BOOST_TEST(s.duplicate_outcomes == 0u);
}

BOOST_AUTO_TEST_CASE(should_not_retry_and_invalid_output_fail_at_once) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t", .retries = 3}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  auto run1 = eng.trigger("wf");
  auto run2 = eng.trigger("wf");
  auto a1 = expect_action(w.stream, START_STEP_RUN);
  auto a2 = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(eng.send(a1, STEP_EVENT_TYPE_FAILED, "fatal", true).ok());
  BOOST_TEST(eng.send(a2, STEP_EVENT_TYPE_COMPLETED, "{not json").ok());
  BOOST_TEST(w.stream.quiet()); // no retries
  auto d1 = eng.details(a1.workflow_run_id());
  auto d2 = eng.details(a2.workflow_run_id());
  BOOST_TEST(d1.status() == v1::FAILED);
  BOOST_TEST(d1.task_runs().at("t").error() == "fatal");
  BOOST_TEST(d2.status() == v1::FAILED);
  BOOST_TEST(d2.task_runs().at("t").error().find("not valid JSON") != std::string::npos);
  BOOST_TEST((run1 == a1.workflow_run_id() || run2 == a1.workflow_run_id()));
}

BOOST_AUTO_TEST_CASE(completed_before_started_is_accepted) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  auto run = eng.trigger("wf");
  auto a = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "").ok()); // empty output counts as {}
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_STARTED).ok());       // late STARTED: ignored
  auto d = eng.details(run);
  BOOST_TEST(d.status() == v1::COMPLETED);
  BOOST_TEST(d.task_runs().at("t").output() == "{}");
}

BOOST_AUTO_TEST_CASE(bulk_trigger_returns_run_ids_in_request_order_all_or_nothing) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};

  BulkTriggerWorkflowRequest bad;
  for (const char* input : {"{}", "{broken", "{}"}) {
    auto* r = bad.add_workflows();
    r->set_name("wf");
    r->set_input(input);
  }
  BulkTriggerWorkflowResponse bad_resp;
  BOOST_TEST(eng.workflows->BulkTriggerWorkflow(eng.context().get(), bad, &bad_resp)
               .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(w.stream.quiet()); // nothing of the rejected batch was created

  BulkTriggerWorkflowRequest req;
  for (int i = 0; i < 5; ++i) {
    auto* r = req.add_workflows();
    r->set_name("wf");
    r->set_input(R"({"i":)" + std::to_string(i) + "}");
  }
  BulkTriggerWorkflowResponse resp;
  BOOST_TEST_REQUIRE(eng.workflows->BulkTriggerWorkflow(eng.context().get(), req, &resp).ok());
  BOOST_TEST_REQUIRE(resp.workflow_run_ids_size() == 5);
  std::map<std::string, int> input_of_run;
  for (int i = 0; i < 5; ++i) {
    auto a = expect_action(w.stream, START_STEP_RUN);
    input_of_run[a.workflow_run_id()] = json::parse(a.action_payload())["input"]["i"].get<int>();
  }
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(input_of_run.at(resp.workflow_run_ids(i)) == i);
}

BOOST_AUTO_TEST_CASE(dag_children_start_after_their_parents_with_parent_outputs) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("dag", {{.name = "a"},
                                              {.name = "b"},
                                              {.name = "c", .parents = {"a", "b"}}})
                       .ok());
  ready_worker w{eng, "worker", {"dag:a", "dag:b", "dag:c"}};
  run_watcher watcher{eng};
  auto run = eng.trigger("dag", R"({"x":1})");
  watcher.watch(run);
  std::map<std::string, AssignedAction> first;
  for (int i = 0; i < 2; ++i) {
    auto a = expect_action(w.stream, START_STEP_RUN);
    first[a.task_name()] = a;
  }
  BOOST_TEST_REQUIRE(first.count("a") == 1u);
  BOOST_TEST_REQUIRE(first.count("b") == 1u);
  BOOST_TEST(eng.send(first["a"], STEP_EVENT_TYPE_COMPLETED, R"({"from":"a"})").ok());
  BOOST_TEST(w.stream.quiet()); // c still waits for b
  BOOST_TEST(eng.send(first["b"], STEP_EVENT_TYPE_COMPLETED, R"({"from":"b"})").ok());
  auto c = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(c.task_name() == "c");
  auto payload = json::parse(c.action_payload());
  BOOST_TEST(payload["input"] == json::parse(R"({"x":1})"));
  BOOST_TEST(payload["parents"] == json::parse(R"({"a":{"from":"a"},"b":{"from":"b"}})"));
  BOOST_TEST(eng.send(c, STEP_EVENT_TYPE_COMPLETED, R"({"from":"c"})").ok());
  auto ev = watcher.next();
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->results_size() == 3);

  // a failing parent: its dependants never run and the run fails
  auto run2 = eng.trigger("dag");
  for (int i = 0; i < 2; ++i) {
    auto a = expect_action(w.stream, START_STEP_RUN);
    BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_FAILED, "nope").ok());
  }
  BOOST_TEST(w.stream.quiet());
  auto d = eng.details(run2);
  BOOST_TEST(d.done());
  BOOST_TEST(d.status() == v1::FAILED);
  BOOST_TEST(d.task_runs().at("c").status() == v1::CANCELLED);
}

BOOST_AUTO_TEST_CASE(cancelling_a_running_task_sends_cancel_and_ends_the_run_with_an_error) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}, 1};
  run_watcher watcher{eng};
  auto run = eng.trigger("wf");
  auto queued_run = eng.trigger("wf"); // waits for the only slot
  watcher.watch(run);
  auto a = expect_action(w.stream, START_STEP_RUN);

  v1::CancelTasksRequest req;
  req.add_external_ids(a.task_run_external_id());
  v1::CancelTasksResponse resp;
  BOOST_TEST_REQUIRE(eng.admin->CancelTasks(eng.context().get(), req, &resp).ok());
  BOOST_TEST_REQUIRE(resp.cancelled_tasks_size() == 1);
  BOOST_TEST(resp.cancelled_tasks(0) == a.task_run_external_id());

  auto cancel = expect_action(w.stream, CANCEL_STEP_RUN);
  BOOST_TEST(cancel.task_run_external_id() == a.task_run_external_id());
  BOOST_TEST(cancel.retry_count() == a.retry_count());
  BOOST_TEST(cancel.action_id() == a.action_id());
  auto ev = watcher.next();
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST_REQUIRE(ev->results_size() == 1);
  BOOST_TEST(ev->results(0).error() == "task cancelled");
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok()); // too late: ignored
  BOOST_TEST(eng.details(run).status() == v1::CANCELLED);

  // the freed slot goes to the queued run; cancelling by workflow run id works too
  auto next = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(next.workflow_run_id() == queued_run);
  v1::CancelTasksRequest by_run;
  by_run.add_external_ids(queued_run);
  v1::CancelTasksResponse by_run_resp;
  BOOST_TEST_REQUIRE(eng.admin->CancelTasks(eng.context().get(), by_run, &by_run_resp).ok());
  BOOST_TEST(by_run_resp.cancelled_tasks_size() == 1);
  expect_action(w.stream, CANCEL_STEP_RUN);
  BOOST_TEST(eng.engine().snapshot().cancelled == 2u);
}

BOOST_AUTO_TEST_CASE(an_execution_timeout_sends_cancel_and_fails_the_task) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("slow", {{.name = "t", .timeout = "1s"}}).ok());
  ready_worker w{eng, "worker", {"slow:t"}};
  run_watcher watcher{eng};
  auto run = eng.trigger("slow");
  watcher.watch(run);
  auto start = std::chrono::steady_clock::now();
  auto a = expect_action(w.stream, START_STEP_RUN);
  auto cancel = expect_action(w.stream, CANCEL_STEP_RUN);
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 900ms));
  BOOST_TEST(cancel.task_run_external_id() == a.task_run_external_id());
  auto ev = watcher.next();
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->results(0).error().find("timed out after 1s") != std::string::npos);
  BOOST_TEST(eng.details(run).status() == v1::FAILED);
}

BOOST_AUTO_TEST_CASE(refresh_timeout_extends_the_deadline) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("slow", {{.name = "t", .timeout = "500ms"}}).ok());
  ready_worker w{eng, "worker", {"slow:t"}};
  eng.trigger("slow");
  auto a = expect_action(w.stream, START_STEP_RUN);
  RefreshTimeoutRequest req;
  req.set_task_run_external_id(a.task_run_external_id());
  req.set_increment_timeout_by("10s");
  RefreshTimeoutResponse resp;
  BOOST_TEST_REQUIRE(eng.dispatcher->RefreshTimeout(eng.context().get(), req, &resp).ok());
  BOOST_TEST(resp.timeout_at().seconds() > std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                               .count() +
                                             5);
  BOOST_TEST(!w.stream.next(800ms).has_value()); // past the original 500 ms: no CANCEL
  req.set_increment_timeout_by("ten seconds");
  BOOST_TEST(eng.dispatcher->RefreshTimeout(eng.context().get(), req, &resp).error_code() ==
             grpc::StatusCode::INVALID_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(tasks_of_a_silent_worker_are_requeued_elsewhere) {
  auto o = test_options();
  o.heartbeat_window = 400ms;
  o.silence_requeue = 500ms;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker silent{eng, "silent", {"wf:t"}};
  auto run = eng.trigger("wf");
  auto a = expect_action(silent.stream, START_STEP_RUN);

  auto healthy_id = eng.register_worker("healthy", {"wf:t"});
  listener healthy{eng, healthy_id};
  std::atomic<bool> beating{true};
  std::thread heart([&] {
    while (beating) {
      eng.heartbeat(healthy_id);
      std::this_thread::sleep_for(100ms);
    }
  });
  auto b = healthy.next(3s);
  beating = false;
  heart.join();
  BOOST_TEST_REQUIRE(b.has_value());
  BOOST_TEST(b->action_type() == START_STEP_RUN);
  BOOST_TEST(b->workflow_run_id() == run);
  BOOST_TEST(b->retry_count() == 1);
  auto cancel = expect_action(silent.stream, CANCEL_STEP_RUN); // the silent one is told to stop
  BOOST_TEST(cancel.retry_count() == 0);
  BOOST_TEST(eng.send(*b, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  BOOST_TEST(eng.details(run).status() == v1::COMPLETED);
}

BOOST_AUTO_TEST_CASE(an_unacknowledged_start_on_a_broken_stream_is_requeued_as_a_new_attempt) {
  // A connection cut can drop a START the engine already wrote: from the engine's side that is a
  // worker that got the START and never said so before its stream ended. After
  // unacknowledged_requeue the attempt is cancelled and the task requeued with retry_count + 1,
  // without consuming its retry budget (retries = 0 here, yet it runs again).
  auto o = test_options();
  o.unacknowledged_requeue = 1s; // time for the test to reconnect first, so the CANCEL finds it
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  auto id = eng.register_worker("worker", {"wf:t"});
  auto first_stream = std::make_unique<listener>(eng, id);
  BOOST_TEST_REQUIRE(eng.heartbeat(id).ok());
  auto run = eng.trigger("wf");
  auto lost = expect_action(*first_stream, START_STEP_RUN); // "lost": never acknowledged
  BOOST_TEST(lost.retry_count() == 0);
  first_stream.reset(); // the connection breaks
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, id));

  listener second_stream{eng, id}; // the worker reconnects
  BOOST_TEST_REQUIRE(heartbeat_once_listening(eng, id));
  auto cancel = expect_action(second_stream, CANCEL_STEP_RUN);
  BOOST_TEST(cancel.task_run_external_id() == lost.task_run_external_id());
  BOOST_TEST(cancel.retry_count() == 0);
  auto again = expect_action(second_stream, START_STEP_RUN);
  BOOST_TEST(again.task_run_external_id() == lost.task_run_external_id());
  BOOST_TEST(again.retry_count() == 1);
  BOOST_TEST(eng.send(lost, STEP_EVENT_TYPE_COMPLETED, R"({"attempt":0})").ok()); // stale
  BOOST_TEST(eng.send(again, STEP_EVENT_TYPE_COMPLETED, R"({"attempt":1})").ok());
  BOOST_TEST(eng.details(run).task_runs().at("t").output() == R"({"attempt":1})");
  auto s = eng.engine().snapshot();
  BOOST_TEST(s.requeued_unacknowledged == 1u);
  BOOST_TEST(s.stale_outcomes == 1u);
  BOOST_TEST(s.completed == 1u);
}

BOOST_AUTO_TEST_CASE(an_acknowledged_start_survives_its_stream_ending) {
  // The worker got the START (it said STARTED): the attempt stays with it across a reconnect and
  // its COMPLETED, sent over the new connection, counts.
  auto o = test_options();
  o.unacknowledged_requeue = 200ms;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  auto id = eng.register_worker("worker", {"wf:t"});
  auto first_stream = std::make_unique<listener>(eng, id);
  BOOST_TEST_REQUIRE(eng.heartbeat(id).ok());
  auto run = eng.trigger("wf");
  auto a = expect_action(*first_stream, START_STEP_RUN);
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_STARTED).ok());
  first_stream.reset();
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, id));
  listener second_stream{eng, id};
  BOOST_TEST_REQUIRE(heartbeat_once_listening(eng, id));
  BOOST_TEST(!second_stream.next(600ms).has_value()); // past the 200 ms: nothing requeued
  BOOST_TEST(eng.send(a, STEP_EVENT_TYPE_COMPLETED, R"({"ok":true})").ok());
  BOOST_TEST(eng.details(run).status() == v1::COMPLETED);
  BOOST_TEST(eng.engine().snapshot().requeued_unacknowledged == 0u);
}

BOOST_AUTO_TEST_CASE(only_the_newest_finished_runs_are_retained) {
  auto o = test_options();
  o.max_finished_runs = 2;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(eng.trigger("wf"));
    auto a = expect_action(w.stream, START_STEP_RUN);
    BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  }
  v1::GetRunDetailsRequest req;
  req.set_external_id(runs[0]);
  v1::GetRunDetailsResponse resp;
  BOOST_TEST(eng.admin->GetRunDetails(eng.context().get(), req, &resp).error_code() ==
             grpc::StatusCode::NOT_FOUND);
  BOOST_TEST(eng.details(runs[1]).status() == v1::COMPLETED);
  BOOST_TEST(eng.details(runs[2]).status() == v1::COMPLETED);
}

BOOST_AUTO_TEST_CASE(unsubscribe_ends_the_workers_streams) {
  engine_under_test eng;
  ready_worker w{eng, "worker", {"wf:t"}};
  WorkerUnsubscribeRequest req;
  req.set_worker_id(w.id);
  WorkerUnsubscribeResponse resp;
  BOOST_TEST_REQUIRE(eng.dispatcher->Unsubscribe(eng.context().get(), req, &resp).ok());
  BOOST_TEST(resp.worker_id() == w.id);
  BOOST_TEST(w.stream.ended().has_value());
}

BOOST_AUTO_TEST_CASE(malformed_requests_are_rejected) {
  engine_under_test eng;
  auto invalid = grpc::StatusCode::INVALID_ARGUMENT;
  BOOST_TEST(eng.put_workflow("wf", {{.name = ""}}).error_code() == invalid);
  BOOST_TEST(eng.put_workflow("wf", {{.name = "t", .timeout = "soon"}}).error_code() == invalid);
  BOOST_TEST(eng.put_workflow("wf", {{.name = "t", .parents = {"missing"}}}).error_code() ==
             invalid);
  BOOST_TEST(eng.put_workflow("wf", {{.name = "t"}}).ok());
  BOOST_TEST(eng.put_workflow("bad name", {{.name = "t"}}).error_code() == invalid);
  BOOST_TEST(eng.put_workflow("wf2", {{.name = "bad task"}}).error_code() == invalid);

  WorkerRegisterRequest reg;
  reg.set_worker_name("bad name!");
  WorkerRegisterResponse reg_resp;
  BOOST_TEST(eng.dispatcher->Register(eng.context().get(), reg, &reg_resp).error_code() ==
             invalid);
  reg.set_worker_name("ok-name");
  reg.set_slots(5);
  (*reg.mutable_slot_config())["default"] = 5;
  BOOST_TEST(eng.dispatcher->Register(eng.context().get(), reg, &reg_resp).error_code() ==
             invalid);

  std::string id;
  // an unknown name is INVALID_ARGUMENT, as on a real engine (workflow_names_are_matched_exactly)
  BOOST_TEST(eng.try_trigger("nope", "{}", id).error_code() == invalid);
  BOOST_TEST(eng.try_trigger("wf", "not json", id).error_code() == invalid);

  AssignedAction fake;
  fake.set_task_run_external_id("not-a-uuid");
  BOOST_TEST(eng.send(fake, STEP_EVENT_TYPE_COMPLETED, "{}").error_code() == invalid);
  fake.set_task_run_external_id("00000000-0000-4000-8000-000000000000");
  BOOST_TEST(eng.send(fake, STEP_EVENT_TYPE_COMPLETED, "{}").error_code() ==
             grpc::StatusCode::NOT_FOUND);

  v1::GetRunDetailsRequest details;
  details.set_external_id("00000000-0000-4000-8000-000000000000");
  v1::GetRunDetailsResponse details_resp;
  BOOST_TEST(eng.admin->GetRunDetails(eng.context().get(), details, &details_resp).error_code() ==
             grpc::StatusCode::NOT_FOUND);

  PutLogRequest log;
  log.set_task_run_external_id("00000000-0000-4000-8000-000000000000");
  log.set_message("hello");
  PutLogResponse log_resp;
  // INTERNAL, as the real ingestor's task lookup error reaches the client unmapped.
  BOOST_TEST(eng.events->PutLog(eng.context().get(), log, &log_resp).error_code() ==
             grpc::StatusCode::INTERNAL);
}

BOOST_AUTO_TEST_CASE(events_logs_and_stream_events_are_accepted) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  eng.trigger("wf");
  auto a = expect_action(w.stream, START_STEP_RUN);

  PutLogRequest log;
  log.set_task_run_external_id(a.task_run_external_id());
  log.set_message("a line");
  PutLogResponse log_resp;
  BOOST_TEST(eng.events->PutLog(eng.context().get(), log, &log_resp).ok());
  PutStreamEventRequest chunk;
  chunk.set_task_run_external_id(a.task_run_external_id());
  chunk.set_message("bytes");
  PutStreamEventResponse chunk_resp;
  BOOST_TEST(eng.events->PutStreamEvent(eng.context().get(), chunk, &chunk_resp).ok());

  PushEventRequest push;
  push.set_key("user:created");
  push.set_payload(R"({"id":1})");
  Event ev;
  BOOST_TEST_REQUIRE(eng.events->Push(eng.context().get(), push, &ev).ok());
  BOOST_TEST(ev.event_id().size() == 36u);
  BOOST_TEST(ev.key() == "user:created");
  BOOST_TEST(ev.tenant_id() == eng.engine().options().tenant_id);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_reported_and_stop_is_prompt) {
  engine_under_test eng;
  auto o = test_options();
  o.port = eng.engine().port();
  he::dev_engine second{o};
  BOOST_TEST(second.start() != "");

  // stop ends open streams and returns quickly even with clients attached
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  run_watcher watcher{eng};
  auto t0 = std::chrono::steady_clock::now();
  eng.engine().stop();
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  auto st = w.stream.ended();
  BOOST_TEST_REQUIRE(st.has_value());
  BOOST_TEST(!st->ok());
}

// ---------------------------------------------------------------------------------------------
// Conformance with the real engine (each case is a row of engine/README.md's table)

namespace {

struct http_response {
  int status = 0; ///< 0: no answer (connection refused or broken)
  std::string body;
};

/// One HTTP/1.1 request to 127.0.0.1:port over a fresh connection ("Connection: close"), so the
/// test needs no HTTP library. `auth` is the whole Authorization header value, if any.
http_response http(uint16_t port, const std::string& method, const std::string& target,
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
http_response worker_rest(engine_under_test& eng, const std::string& method,
                          const std::string& worker_id, const std::string& body = "",
                          std::optional<std::string> auth = std::nullopt) {
  return http(eng.engine().rest_port(), method, "/api/v1/workers/" + worker_id,
              auth ? auth : std::optional<std::string>{"Bearer " + eng.token()}, body);
}

json token_claims(const std::string& token) {
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  auto payload = hatchet::util::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  BOOST_TEST_REQUIRE(payload.has_value());
  return json::parse(*payload);
}

/// PutWorkflow with one task per (readable id, action id) pair, all roots.
grpc::Status put_with_actions(engine_under_test& eng, const std::string& name,
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

} // namespace

BOOST_AUTO_TEST_CASE(register_accepts_only_go_python_typescript_ruby_as_a_present_language) {
  // pkg/repository/worker.go CreateNewWorker: "invalid sdk: <value>", a plain error the gRPC
  // error interceptor turns into INTERNAL. An absent language (or runtime_info) is fine.
  engine_under_test eng;
  auto reg = [&](bool with_runtime_info, std::optional<int> language) {
    WorkerRegisterRequest req;
    req.set_worker_name("lang-worker");
    req.add_actions("wf:t");
    if (with_runtime_info) {
      auto* info = req.mutable_runtime_info();
      info->set_sdk_version("0.1.0");
      info->set_extra("hatchet-caf");
      if (language)
        info->set_language(static_cast<SDKS>(*language));
    }
    WorkerRegisterResponse resp;
    return eng.dispatcher->Register(eng.context().get(), req, &resp);
  };
  BOOST_TEST(reg(false, std::nullopt).ok());
  BOOST_TEST(reg(true, std::nullopt).ok());
  for (int language : {GO, PYTHON, TYPESCRIPT, RUBY})
    BOOST_TEST(reg(true, language).ok(), "language " << language);
  auto unknown = reg(true, UNKNOWN);
  BOOST_TEST(unknown.error_code() == grpc::StatusCode::INTERNAL);
  BOOST_TEST(unknown.error_message().find("invalid sdk: UNKNOWN") != std::string::npos);
  auto out_of_range = reg(true, 42);
  BOOST_TEST(out_of_range.error_code() == grpc::StatusCode::INTERNAL);
  BOOST_TEST(out_of_range.error_message().find("invalid sdk: 42") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(register_validates_worker_name_services_and_action_ids) {
  // Register's request validation (INVALID_ARGUMENT): name `required,hatchetName`, each service
  // `hatchetName`, each action an action id (service:verb[:sub], no ';'); no bound on counts.
  engine_under_test eng;
  auto reg = [&](const std::string& name, const std::vector<std::string>& actions,
                 const std::vector<std::string>& services = {}) {
    WorkerRegisterRequest req;
    req.set_worker_name(name);
    for (const auto& a : actions)
      req.add_actions(a);
    for (const auto& svc : services)
      req.add_services(svc);
    WorkerRegisterResponse resp;
    return eng.dispatcher->Register(eng.context().get(), req, &resp).error_code();
  };
  const auto ok = grpc::StatusCode::OK;
  const auto invalid = grpc::StatusCode::INVALID_ARGUMENT;
  BOOST_TEST(reg("w-1.a_b", {"wf:t"}) == ok);
  BOOST_TEST(reg("w", {}) == ok);
  BOOST_TEST(reg("w", {"svc:run:sub"}) == ok);
  BOOST_TEST(reg("w", {"wf:t"}, {"default", "my-svc_1.x"}) == ok);
  BOOST_TEST(reg("", {"wf:t"}) == invalid);
  BOOST_TEST(reg("bad name!", {"wf:t"}) == invalid);
  BOOST_TEST(reg("w", {"wf:t"}, {"bad service"}) == invalid);
  BOOST_TEST(reg("w", {"no-colon"}) == invalid);
  BOOST_TEST(reg("w", {"svc:"}) == invalid);
  BOOST_TEST(reg("w", {"a:b:c:d"}) == invalid);
  BOOST_TEST(reg("w", {"svc:a;svc:b"}) == invalid);
}

BOOST_AUTO_TEST_CASE(workflow_names_are_matched_exactly) {
  // The real engine stores a workflow's name as given and looks it up with `name = @name`; an
  // unknown name on trigger is INVALID_ARGUMENT "workflow names not found: ...".
  engine_under_test eng;
  std::string upper_id, lower_id, again_id;
  BOOST_TEST_REQUIRE(put_with_actions(eng, "CaseWf", {{"t", "casewf:t"}}, &upper_id).ok());
  BOOST_TEST_REQUIRE(put_with_actions(eng, "casewf", {{"t", "lower:t"}}, &lower_id).ok());
  BOOST_TEST_REQUIRE(put_with_actions(eng, "CaseWf", {{"t", "casewf:t"}}, &again_id).ok());
  BOOST_TEST(upper_id != lower_id); // two workflows
  BOOST_TEST(upper_id == again_id); // a new version of the same one
  ready_worker w{eng, "worker", {"casewf:t", "lower:t"}};

  eng.trigger("CaseWf");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).action_id() == "casewf:t");
  eng.trigger("casewf");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).action_id() == "lower:t");

  std::string id;
  auto st = eng.try_trigger("CASEWF", "{}", id);
  BOOST_TEST(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(st.error_message().find("workflow names not found: CASEWF") != std::string::npos);
  BulkTriggerWorkflowRequest bulk;
  for (const char* name : {"CaseWf", "caseWF"}) {
    auto* r = bulk.add_workflows();
    r->set_name(name);
    r->set_input("{}");
  }
  BulkTriggerWorkflowResponse bulk_resp;
  BOOST_TEST(eng.workflows->BulkTriggerWorkflow(eng.context().get(), bulk, &bulk_resp)
               .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(w.stream.quiet()); // all or nothing: the CaseWf run was not created either
}

BOOST_AUTO_TEST_CASE(action_ids_are_lowercased_as_the_real_engine_stores_them) {
  // Worker actions are stored with LOWER(); a step's action goes through the action-id parser,
  // which lowercases the verb and only the first letter of the service. So "Svcwf:Step" on both
  // sides meets as "svcwf:step", while a step "MixedCase:step" ("mixedCase:step") matches no
  // worker at all, here as on a real engine.
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_with_actions(eng, "svcwf", {{"step", "Svcwf:STEP"}}).ok());
  BOOST_TEST_REQUIRE(put_with_actions(eng, "mixed", {{"step", "MixedCase:step"}}).ok());
  ready_worker w{eng, "worker", {"SVCWF:Step", "MixedCase:step", "mixedCase:step"}};
  eng.trigger("svcwf");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).action_id() == "svcwf:step");
  auto stranded = eng.trigger("mixed");
  BOOST_TEST(w.stream.quiet());
  BOOST_TEST(eng.details(stranded).status() == v1::QUEUED);
}

BOOST_AUTO_TEST_CASE(malformed_worker_ids_are_invalid_argument_and_unknown_ones_not_found) {
  // Heartbeat, ListenV2 and UpsertWorkerLabels parse the id as a uuid first.
  engine_under_test eng;
  BOOST_TEST(eng.heartbeat("not-a-uuid").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(eng.heartbeat("00000000-0000-4000-8000-000000000000").error_code() ==
             grpc::StatusCode::NOT_FOUND);
  listener stream{eng, "not-a-uuid"};
  auto st = stream.ended();
  BOOST_TEST_REQUIRE(st.has_value());
  BOOST_TEST(st->error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  UpsertWorkerLabelsRequest labels;
  labels.set_worker_id("not-a-uuid");
  UpsertWorkerLabelsResponse labels_resp;
  BOOST_TEST(eng.dispatcher->UpsertWorkerLabels(eng.context().get(), labels, &labels_resp)
               .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(heartbeats_are_accepted_before_the_first_stream_and_refused_after_it_closes) {
  // Heartbeat rejects a worker that has had a listener and is inactive (FAILED_PRECONDITION,
  // "worker stream is not active"); one that never listened is accepted.
  engine_under_test eng;
  auto id = eng.register_worker("worker", {"wf:t"});
  BOOST_TEST(eng.heartbeat(id).ok());
  {
    listener stream{eng, id};
    BOOST_TEST_REQUIRE(heartbeat_once_listening(eng, id));
  }
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, id));
  auto st = eng.heartbeat(id);
  BOOST_TEST(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  BOOST_TEST(st.error_message().find("no active listen stream") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tokens_name_the_rest_api_as_server_url) {
  // The SDKs call the REST API (pausing a worker) on the token's server_url.
  engine_under_test eng;
  const auto rest_port = eng.engine().rest_port();
  BOOST_TEST(rest_port != 0);
  BOOST_TEST(rest_port != eng.engine().port());
  BOOST_TEST(eng.engine().rest_address() == "http://127.0.0.1:" + std::to_string(rest_port));
  auto claims = token_claims(eng.token());
  BOOST_TEST(claims["server_url"] == eng.engine().rest_address());
  BOOST_TEST(claims["grpc_broadcast_address"] == eng.engine().address());
  BOOST_TEST(claims["sub"] == eng.engine().options().tenant_id);
  // without a server_url: the command line's default, the gRPC port + 1
  auto defaulted = token_claims(he::mint_token(eng.engine().options(), "127.0.0.1:7077"));
  BOOST_TEST(defaulted["server_url"] == "http://127.0.0.1:7078");
  BOOST_TEST(defaulted["grpc_broadcast_address"] == "127.0.0.1:7077");
  // and the REST API answers there
  auto r = worker_rest(eng, "GET", "00000000-0000-4000-8000-000000000000");
  BOOST_TEST(r.status == 404);
}

BOOST_AUTO_TEST_CASE(a_paused_worker_gets_no_new_tasks_and_keeps_its_running_ones) {
  // PATCH /api/v1/workers/{worker} {"isPaused": true} answers the Worker (status PAUSED); the
  // assignment query skips paused workers; heartbeats go on; isPaused false makes it eligible.
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}, 3};
  auto run1 = eng.trigger("wf");
  auto a1 = expect_action(w.stream, START_STEP_RUN);

  auto r = worker_rest(eng, "PATCH", w.id, R"({"isPaused": true})");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto worker = json::parse(r.body);
  BOOST_TEST(worker["metadata"]["id"] == w.id);
  BOOST_TEST(worker["metadata"].contains("createdAt"));
  BOOST_TEST(worker["name"] == "worker");
  BOOST_TEST(worker["type"] == "SELFHOSTED");
  BOOST_TEST(worker["status"] == "PAUSED");
  BOOST_TEST(worker["actions"] == json::array({"wf:t"}));
  BOOST_TEST(worker["slotConfig"]["default"]["limit"] == 3);
  BOOST_TEST(worker["slotConfig"]["default"]["available"] == 2);
  BOOST_TEST(worker.contains("lastHeartbeatAt"));
  BOOST_TEST(worker.contains("lastListenerEstablished"));

  auto run2 = eng.trigger("wf");
  BOOST_TEST(w.stream.quiet()); // paused: no new task, though slots are free
  BOOST_TEST(eng.details(run2).status() == v1::QUEUED);
  BOOST_TEST(eng.heartbeat(w.id).ok());                           // heartbeats still accepted
  BOOST_TEST(eng.send(a1, STEP_EVENT_TYPE_COMPLETED, "{}").ok()); // the running task finishes
  BOOST_TEST(eng.details(run1).status() == v1::COMPLETED);
  BOOST_TEST(w.stream.quiet()); // a freed slot does not unpause it
  auto got = worker_rest(eng, "GET", w.id);
  BOOST_TEST_REQUIRE(got.status == 200);
  BOOST_TEST(json::parse(got.body)["status"] == "PAUSED");

  r = worker_rest(eng, "PATCH", w.id, R"({"isPaused": false})");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body)["status"] == "ACTIVE");
  auto a2 = expect_action(w.stream, START_STEP_RUN); // what waited goes out at once
  BOOST_TEST(a2.workflow_run_id() == run2);
}

BOOST_AUTO_TEST_CASE(rest_worker_update_answers_400_403_and_404) {
  // The id is checked first (400 "invalid worker id", before authentication as the populator
  // runs first), then the bearer token (403), then the worker (404 here; a real engine answers
  // 500), then the body (400). A body without isPaused changes nothing.
  engine_under_test eng;
  ready_worker w{eng, "worker", {"wf:t"}};
  const std::string body = R"({"isPaused": true})";
  auto r =
    http(eng.engine().rest_port(), "PATCH", "/api/v1/workers/not-a-uuid", std::nullopt, body);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(json::parse(r.body)["message"] == "invalid worker id");

  he::engine_options other_secret = eng.engine().options();
  other_secret.secret = "not-the-engine-secret";
  BOOST_TEST(http(eng.engine().rest_port(), "PATCH", "/api/v1/workers/" + w.id, std::nullopt, body)
               .status == 403);
  BOOST_TEST(worker_rest(eng, "PATCH", w.id, body, "Bearer garbage").status == 403);
  BOOST_TEST(worker_rest(eng, "PATCH", w.id, body,
                         "Bearer " + he::mint_token(other_secret, eng.engine().address()))
               .status == 403);
  BOOST_TEST(worker_rest(eng, "GET", w.id, "", "Bearer garbage").status == 403);

  r = worker_rest(eng, "PATCH", "00000000-0000-4000-8000-000000000000", body);
  BOOST_TEST(r.status == 404);
  BOOST_TEST(json::parse(r.body).contains("message"));

  for (const char* bad : {"", "not json", "[]", "true", R"({"isPaused": "yes"})"}) {
    r = worker_rest(eng, "PATCH", w.id, bad);
    BOOST_TEST(r.status == 400, "body '" << bad << "' answered " << r.status);
  }
  r = worker_rest(eng, "PATCH", w.id, "{}");
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(json::parse(r.body)["status"] == "ACTIVE"); // nothing above paused it
}

BOOST_AUTO_TEST_CASE(a_rest_port_in_use_fails_start_and_stop_ends_the_rest_api) {
  engine_under_test eng;
  auto o = test_options();
  o.rest_port = eng.engine().rest_port();
  he::dev_engine second{o};
  auto err = second.start();
  BOOST_TEST(err.find("REST") != std::string::npos, err);
  BOOST_TEST(second.port() == 0u); // its gRPC server did not stay up either

  const auto rest_port = eng.engine().rest_port();
  auto t0 = std::chrono::steady_clock::now();
  eng.engine().stop();
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  BOOST_TEST(http(rest_port, "GET", "/api/v1/workers/00000000-0000-4000-8000-000000000000",
                  "Bearer " + eng.token())
               .status == 0); // nothing listens any more

  BOOST_TEST_REQUIRE(eng.engine().start() == ""); // a restart serves REST again
  BOOST_TEST(http(eng.engine().rest_port(), "GET",
                  "/api/v1/workers/00000000-0000-4000-8000-000000000000", "Bearer " + eng.token())
               .status == 404);
}

/// The certificates of tests/make_test_certs.sh, made on first use into a folder of their own
/// that goes when the test program ends.
const std::filesystem::path& test_certs() {
  struct folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("hatchet-engine-test-certs-" + std::to_string(::getpid()));
    folder() {
      std::filesystem::remove_all(path);
      std::string cmd = std::string{HATCHET_MAKE_TEST_CERTS} + " " + path.string();
      BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0, "cannot make test certificates: " + cmd);
    }
    ~folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const folder certs;
  return certs.path;
}

/// GetVersion over a channel with `creds` (and the test name override localhost for TLS).
grpc::StatusCode get_version_over(const he::dev_engine& eng,
                                  std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto stub = Dispatcher::NewStub(grpc::CreateCustomChannel(eng.address(), creds, args));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + eng.mint_token());
  ctx.set_deadline(std::chrono::system_clock::now() + must_happen);
  GetVersionResponse resp;
  return stub->GetVersion(&ctx, GetVersionRequest{}, &resp).error_code();
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

BOOST_AUTO_TEST_CASE(tls_options_come_in_pairs_and_bad_files_fail_start_naming_them) {
  auto o = test_options();
  o.tls_cert_file = "cert.pem";
  BOOST_TEST(o.validate().find("tls_key_file is not") != std::string::npos, o.validate());
  o.tls_cert_file.clear();
  o.tls_key_file = "key.pem";
  BOOST_TEST(o.validate().find("tls_cert_file is not") != std::string::npos, o.validate());
  o.tls_key_file.clear();
  o.tls_client_ca_file = "ca.pem";
  BOOST_TEST(o.validate().find("tls_client_ca_file (mutual TLS) needs") != std::string::npos);

  const auto& certs = test_certs();
  auto start_error = [](he::engine_options opts) {
    he::dev_engine e{std::move(opts)};
    auto err = e.start();
    BOOST_TEST(e.port() == 0u); // nothing listens after a failed start
    return err;
  };
  o = test_options();
  o.tls_cert_file = (certs / "missing.pem").string();
  o.tls_key_file = (certs / "server.key").string();
  BOOST_TEST(start_error(o) == "cannot read the TLS certificate file '" + o.tls_cert_file +
                                 "': No such file or directory");
  o.tls_cert_file = (certs / "server.key").string(); // a key where the certificate belongs
  BOOST_TEST(start_error(o).find("holds no PEM certificate") != std::string::npos);
  o.tls_cert_file = (certs / "server.pem").string();
  o.tls_key_file = (certs / "client.key").string();
  BOOST_TEST(start_error(o).find("does not belong to the certificate") != std::string::npos);
  o.tls_key_file = (certs / "server.key").string();
  o.tls_client_ca_file = (certs / "server.key").string();
  BOOST_TEST(start_error(o).find("the TLS client CA file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tls_engines_serve_only_tls_and_mtls_ones_require_a_client_certificate) {
  // The real engine serves gRPC over TLS unless told otherwise, and with the mtls strategy
  // requires and verifies a client certificate; tokens of a TLS engine name an https:// REST API.
  const auto& certs = test_certs();
  auto o = test_options();
  o.tls_cert_file = (certs / "server.pem").string();
  o.tls_key_file = (certs / "server.key").string();
  he::dev_engine tls{o};
  BOOST_TEST_REQUIRE(tls.start() == "");
  BOOST_TEST(tls.rest_address() == "https://127.0.0.1:" + std::to_string(tls.rest_port()));
  auto claims = token_claims(tls.mint_token());
  BOOST_TEST(claims["server_url"] == tls.rest_address());
  BOOST_TEST(claims["grpc_broadcast_address"] == tls.address());
  BOOST_TEST(tls.client_settings().find("HATCHET_CLIENT_TLS_STRATEGY=tls") == 0u);
  BOOST_TEST(tls.client_settings().find("SERVER_NAME") == std::string::npos); // for 127.0.0.1

  grpc::SslCredentialsOptions trusting;
  trusting.pem_root_certs = read_text(certs / "ca.pem");
  grpc::SslCredentialsOptions other_ca;
  other_ca.pem_root_certs = read_text(certs / "other_ca.pem");
  grpc::SslCredentialsOptions with_client_cert = trusting;
  with_client_cert.pem_cert_chain = read_text(certs / "client.pem");
  with_client_cert.pem_private_key = read_text(certs / "client.key");

  BOOST_TEST(get_version_over(tls, grpc::SslCredentials(trusting)) == grpc::StatusCode::OK);
  BOOST_TEST(get_version_over(tls, grpc::SslCredentials(other_ca)) ==
             grpc::StatusCode::UNAVAILABLE);
  BOOST_TEST(get_version_over(tls, grpc::InsecureChannelCredentials()) ==
             grpc::StatusCode::UNAVAILABLE);

  o.tls_client_ca_file = (certs / "ca.pem").string();
  he::dev_engine mtls{o};
  BOOST_TEST_REQUIRE(mtls.start() == "");
  BOOST_TEST(mtls.client_settings().find("HATCHET_CLIENT_TLS_STRATEGY=mtls") == 0u);
  BOOST_TEST(get_version_over(mtls, grpc::SslCredentials(with_client_cert)) ==
             grpc::StatusCode::OK);
  BOOST_TEST(get_version_over(mtls, grpc::SslCredentials(trusting)) ==
             grpc::StatusCode::UNAVAILABLE);

  // A certificate for another name: the engine names the server name clients need.
  o.tls_client_ca_file.clear();
  o.tls_cert_file = (certs / "internal.pem").string();
  o.tls_key_file = (certs / "internal.key").string();
  he::dev_engine internal{o};
  BOOST_TEST_REQUIRE(internal.start() == "");
  BOOST_TEST(internal.client_settings().find("HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(activation_delay_keeps_a_new_stream_inactive_for_that_long) {
  // A real engine marks a worker active once its ListenV2 database write lands. Until then: no
  // assignments, and a worker that had an active stream before is refused on Heartbeat.
  auto o = test_options();
  o.activation_delay = 600ms;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  auto id = eng.register_worker("worker", {"wf:t"});
  auto run1 = eng.trigger("wf");
  auto t0 = std::chrono::steady_clock::now();
  auto first = std::make_unique<listener>(eng, id);
  BOOST_TEST_REQUIRE(eng.heartbeat(id).ok()); // never active before: accepted meanwhile
  auto a = first->next();
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 600ms));
  BOOST_TEST(a->workflow_run_id() == run1);
  BOOST_TEST(eng.send(*a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());

  first.reset(); // the stream ends: inactive
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, id));
  auto run2 = eng.trigger("wf");
  auto t1 = std::chrono::steady_clock::now();
  listener second{eng, id};
  BOOST_TEST(eng.heartbeat(id).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  BOOST_TEST(!second.next(300ms).has_value());
  BOOST_TEST_REQUIRE(heartbeat_once_listening(eng, id));
  BOOST_TEST((std::chrono::steady_clock::now() - t1 >= 600ms));
  auto b = expect_action(second, START_STEP_RUN);
  BOOST_TEST(b.workflow_run_id() == run2);
}

// ---------------------------------------------------------------------------------------------
// Tokens and secrets: every engine has a secret of its own, and a refusal says why.

namespace {

/// GetVersion with `authorization: <auth>` (no metadata at all for nullopt).
grpc::Status get_version(engine_under_test& eng, const std::optional<std::string>& auth) {
  grpc::ClientContext ctx;
  if (auth)
    ctx.AddMetadata("authorization", *auth);
  ctx.set_deadline(std::chrono::system_clock::now() + must_happen);
  GetVersionResponse resp;
  return eng.dispatcher->GetVersion(&ctx, GetVersionRequest{}, &resp);
}

/// "header.payload.signature" with the given (possibly invalid) parts, signed with `secret`.
std::string signed_token(const std::string& secret, const std::string& header_text,
                         const std::string& payload_text) {
  std::string input = hatchet::util::base64url_encode(header_text) + "." +
                      hatchet::util::base64url_encode(payload_text);
  return input + "." + he::hs256_signature(secret, input);
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A fresh directory under TMPDIR (or /tmp), removed with everything in it at the end.
struct temp_dir {
  std::string path;
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string{base != nullptr && *base != '\0' ? base : "/tmp"} +
                        "/engine-test-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

unsigned file_mode(const std::string& path) {
  struct stat st{};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

} // namespace

BOOST_AUTO_TEST_CASE(refused_tokens_say_why) {
  engine_under_test eng;
  const auto& o = eng.engine().options();
  auto refused_because = [&](const std::optional<std::string>& auth, const std::string& reason) {
    auto st = get_version(eng, auth);
    BOOST_TEST(st.error_code() == grpc::StatusCode::UNAUTHENTICATED, auth.value_or("(none)"));
    // The real engine's words first, then why.
    BOOST_TEST(st.error_message().rfind("invalid auth token: ", 0) == 0, st.error_message());
    BOOST_TEST(st.error_message().find(reason) != std::string::npos,
               "'" << st.error_message() << "' should contain '" << reason << "'");
  };
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  const std::string claims =
    json{{"sub", o.tenant_id}, {"exp", unix_seconds_now() + 3600}}.dump();

  // missing
  refused_because(std::nullopt, "no authorization metadata");
  refused_because("Basic " + eng.token(), "the authorization header is not 'Bearer <token>'");
  refused_because("Bearer", "the bearer token is empty");
  // malformed
  refused_because("Bearer garbage", "malformed token: not a JWT");
  refused_because("Bearer a.b.c.d", "malformed token: not a JWT");
  refused_because("Bearer !!.b.c", "malformed token: the header is not valid base64url");
  refused_because("Bearer " + signed_token(o.secret, "[1]", claims),
                  "malformed token: the header is not a JSON object");
  refused_because("Bearer " + signed_token(o.secret, header, "not json"),
                  "malformed token: the payload is not a JSON object");
  refused_because("Bearer " + signed_token(o.secret, R"({"alg":"none"})", claims),
                  R"(malformed token: alg must be "HS256", not "none")");
  refused_because("Bearer " + signed_token(o.secret, header, json{{"sub", o.tenant_id}}.dump()),
                  R"(malformed token: no numeric "exp" claim)");
  // bad signature: another engine's key, or a forgery
  auto other_engine = o;
  other_engine.secret = he::random_secret();
  refused_because("Bearer " + he::mint_token(other_engine, eng.engine().address()),
                  "the token was not signed by this engine (another engine's or a forged token)");
  refused_because("Bearer " + signed_token("a guess", header, claims),
                  "the token was not signed by this engine (another engine's or a forged token)");
  // another tenant, signed with this engine's key
  auto other_tenant = o;
  other_tenant.tenant_id = "11111111-2222-4333-8444-555555555555";
  refused_because("Bearer " + he::mint_token(other_tenant, eng.engine().address()),
                  "the token is for another tenant (11111111-2222-4333-8444-555555555555); this "
                  "engine serves tenant " + o.tenant_id);
  // expired, with the time
  const std::string expired =
    signed_token(o.secret, header, json{{"sub", o.tenant_id}, {"exp", 1000000000}}.dump());
  refused_because("Bearer " + expired, "the token expired at 2001-09-09T01:46:40Z");

  BOOST_TEST(get_version(eng, "Bearer " + signed_token(o.secret, header, claims)).ok());
  BOOST_TEST(get_version(eng, "Bearer " + eng.token()).ok());

  // The REST API gives the same reasons after the real engine's words (status 403 as before).
  const std::string worker = "/api/v1/workers/00000000-0000-4000-8000-000000000000";
  auto r = http(eng.engine().rest_port(), "GET", worker, "Bearer " + expired);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(json::parse(r.body)["message"] ==
             "Please provide valid credentials: the token expired at 2001-09-09T01:46:40Z");
  r = http(eng.engine().rest_port(), "GET", worker, std::nullopt);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(json::parse(r.body)["message"].get<std::string>().find(
               "Please provide valid credentials: no authorization header") == 0);
}

BOOST_AUTO_TEST_CASE(engines_with_different_secrets_refuse_each_others_tokens) {
  engine_under_test a;
  engine_under_test b;
  BOOST_TEST(a.engine().options().secret != b.engine().options().secret);
  for (auto [self, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    BOOST_TEST(get_version(*self, "Bearer " + self->token()).ok());
    auto st = get_version(*self, "Bearer " + other->token());
    BOOST_TEST(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    BOOST_TEST(st.error_message().find("not signed by this engine") != std::string::npos,
               st.error_message());
  }
}

BOOST_AUTO_TEST_CASE(no_engine_accepts_the_old_public_development_secret) {
  engine_under_test eng;
  auto old = eng.engine().options();
  old.secret = "hatchet-dev-engine-secret";
  auto st = get_version(eng, "Bearer " + he::mint_token(old, eng.engine().address(),
                                                        eng.engine().rest_address()));
  BOOST_TEST(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(st.error_message().find("not signed by this engine") != std::string::npos,
             st.error_message());
  BOOST_TEST(st.error_message().find("old public development secret") != std::string::npos,
             st.error_message());

  // Nor can an engine be made to sign with it, or start without a secret: there is no default.
  BOOST_TEST(he::engine_options{}.secret.empty());
  auto with_old = test_options();
  with_old.secret = "hatchet-dev-engine-secret";
  he::dev_engine e1{with_old};
  auto err = e1.start();
  BOOST_TEST(err.find("old public development secret") != std::string::npos, err);
  BOOST_TEST(e1.port() == 0u);
  auto without = test_options();
  without.secret.clear();
  he::dev_engine e2{without};
  err = e2.start();
  BOOST_TEST(err.find("secret is empty") != std::string::npos, err);
  BOOST_TEST(e2.port() == 0u);
}

BOOST_AUTO_TEST_CASE(the_data_dir_secret_is_made_once_with_mode_0600_and_differs_per_directory) {
  temp_dir root;
  const std::string dir = root.path + "/share/hatchet-dev-engine"; // parents made as needed
  auto first = he::load_or_create_secret(dir);
  BOOST_TEST_REQUIRE(first.error == "");
  BOOST_TEST(first.created);
  BOOST_TEST(first.path == dir + "/secret");
  BOOST_TEST(first.secret.size() == 64u); // 32 random bytes, hex
  BOOST_TEST(first.secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(file_mode(first.path) == 0600u);
  BOOST_TEST(file_mode(dir) == 0700u);

  auto again = he::load_or_create_secret(dir + "/");
  BOOST_TEST_REQUIRE(again.error == "");
  BOOST_TEST(!again.created);
  BOOST_TEST(again.secret == first.secret);

  auto elsewhere = he::load_or_create_secret(root.path + "/other");
  BOOST_TEST_REQUIRE(elsewhere.error == "");
  BOOST_TEST(elsewhere.created);
  BOOST_TEST(elsewhere.secret != first.secret);

  // An engine keyed from one directory accepts what `token` mints from the same directory and
  // refuses what it mints from another.
  auto o = test_options();
  o.secret = again.secret;
  engine_under_test eng{o};
  auto same_dir = o;
  same_dir.secret = he::load_or_create_secret(dir).secret;
  auto other_dir = o;
  other_dir.secret = elsewhere.secret;
  BOOST_TEST(get_version(eng, "Bearer " + he::mint_token(same_dir, eng.engine().address())).ok());
  BOOST_TEST(get_version(eng, "Bearer " + he::mint_token(other_dir, eng.engine().address()))
               .error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

BOOST_AUTO_TEST_CASE(a_secret_file_readable_by_others_or_empty_is_an_error) {
  temp_dir root;
  auto made = he::load_or_create_secret(root.path);
  BOOST_TEST_REQUIRE(made.error == "");

  BOOST_TEST_REQUIRE(::chmod(made.path.c_str(), 0644) == 0);
  auto loose = he::load_or_create_secret(root.path);
  BOOST_TEST(loose.secret == "");
  BOOST_TEST(loose.error.find(made.path + " has permissions 0644") != std::string::npos,
             loose.error);
  BOOST_TEST(loose.error.find("chmod 600") != std::string::npos, loose.error);
  BOOST_TEST(file_mode(made.path) == 0644u); // reported, not repaired

  BOOST_TEST_REQUIRE(::chmod(made.path.c_str(), 0600) == 0);
  { std::ofstream{made.path, std::ios::trunc} << "\n"; }
  auto empty = he::load_or_create_secret(root.path);
  BOOST_TEST(empty.secret == "");
  BOOST_TEST(empty.error.find(made.path + " is empty") != std::string::npos, empty.error);
  BOOST_TEST(std::filesystem::file_size(made.path) == 1u); // not overwritten

  // A secret written by hand is used as it is, surrounding whitespace aside.
  { std::ofstream{made.path, std::ios::trunc} << "  my own secret\n"; }
  auto own = he::load_or_create_secret(root.path);
  BOOST_TEST(own.error == "");
  BOOST_TEST(own.secret == "my own secret");
}

BOOST_AUTO_TEST_CASE(concurrent_first_uses_of_a_data_dir_agree_on_one_secret) {
  // Engines of parallel tests may start at the same moment on a fresh machine.
  temp_dir root;
  const std::string dir = root.path + "/d";
  constexpr int n = 8;
  std::vector<he::secret_file> results(n);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      while (!go.load())
        std::this_thread::yield();
      results[static_cast<size_t>(i)] = he::load_or_create_secret(dir);
    });
  go = true;
  for (auto& t : threads)
    t.join();
  int created = 0;
  for (const auto& r : results) {
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.secret == results[0].secret);
    created += r.created ? 1 : 0;
  }
  BOOST_TEST(created == 1);
  // Only the secret is left: no temporary files.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  BOOST_TEST(names == std::vector<std::string>{"secret"});
}

BOOST_AUTO_TEST_CASE(the_default_data_dir_is_xdg_data_home_else_home_local_share) {
  BOOST_TEST(he::default_data_dir("/x/data", "/home/u") == "/x/data/hatchet-dev-engine");
  BOOST_TEST(he::default_data_dir(nullptr, "/home/u") ==
             "/home/u/.local/share/hatchet-dev-engine");
  BOOST_TEST(he::default_data_dir("", "/home/u") == "/home/u/.local/share/hatchet-dev-engine");
  // The XDG spec: a relative XDG_DATA_HOME is ignored.
  BOOST_TEST(he::default_data_dir("data", "/home/u") == "/home/u/.local/share/hatchet-dev-engine");
  BOOST_TEST(he::default_data_dir(nullptr, nullptr) == "");
  BOOST_TEST(he::load_or_create_secret("").error.find("no data directory") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Event triggers and replay

namespace {

/// Registers `name` with one task "t" and these event triggers.
grpc::Status put_event_workflow(engine_under_test& eng, const std::string& name,
                                const std::vector<std::string>& triggers) {
  v1::CreateWorkflowVersionRequest req;
  req.set_name(name);
  for (const auto& t : triggers)
    req.add_event_triggers(t);
  auto* task = req.add_tasks();
  task->set_readable_id("t");
  task->set_action(name + ":t");
  v1::CreateWorkflowVersionResponse resp;
  return eng.admin->PutWorkflow(eng.context().get(), req, &resp);
}

grpc::Status push_event(engine_under_test& eng, const std::string& key,
                        const std::string& payload = "{}",
                        std::optional<std::string> metadata = std::nullopt,
                        std::optional<int> priority = std::nullopt, Event* out = nullptr) {
  PushEventRequest req;
  req.set_key(key);
  req.set_payload(payload);
  if (metadata)
    req.set_additional_metadata(*metadata);
  if (priority)
    req.set_priority(*priority);
  Event ev;
  auto st = eng.events->Push(eng.context().get(), req, out ? out : &ev);
  return st;
}

uint64_t event_runs(engine_under_test& eng) { return eng.engine().snapshot().event_runs; }

} // namespace

BOOST_AUTO_TEST_CASE(a_pushed_event_starts_a_run_of_each_workflow_whose_trigger_matches) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "exact", {"user:created"}).ok());
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "wild", {"user:*"}).ok());
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "other", {"order:placed"}).ok());
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "none", {}).ok());
  ready_worker w{eng, "worker", {"exact:t", "wild:t", "other:t", "none:t"}};

  Event ev;
  auto st = push_event(eng, "user:created", R"({"id":7})",
                       R"({"source":"signup","hatchet__event_id":"forged","hatchet__x":1})", 2,
                       &ev);
  BOOST_TEST_REQUIRE(st.ok(), st.error_message());
  BOOST_TEST(ev.event_id().size() == 36u);
  BOOST_TEST(ev.payload() == R"({"id":7})");
  // The dev engine starts the runs before Push answers (a real engine queues them), so the count
  // is final here.
  BOOST_TEST(event_runs(eng) == 2u);

  std::set<std::string> started;
  for (int i = 0; i < 2; ++i) {
    auto a = expect_action(w.stream, START_STEP_RUN);
    started.insert(a.action_id());
    BOOST_TEST(json::parse(a.action_payload())["input"] == json({{"id", 7}}));
    BOOST_TEST(json::parse(a.additional_metadata())
               == json({{"source", "signup"},
                        {"hatchet__event_id", ev.event_id()},
                        {"hatchet__event_key", "user:created"}}));
    BOOST_TEST(a.priority() == 2);
  }
  BOOST_TEST((started == std::set<std::string>{"exact:t", "wild:t"}));
  BOOST_TEST(w.stream.quiet());
}

BOOST_AUTO_TEST_CASE(event_trigger_patterns_match_as_sql_like_case_sensitively) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "star", {"user:*"}).ok());
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "one", {"a_c"}).ok());
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "twice", {"order:*", "*:placed"}).ok());
  const std::vector<std::pair<std::string, uint64_t>> pushes = {
    {"user:", 1},          // `*` matches nothing too
    {"user:a:b", 1},       // and anything
    {"USER:x", 0},         // case-sensitive
    {"xuser:x", 0},        // anchored at the start
    {"abc", 1},            // `_` is any one character
    {"ac", 0},             // but exactly one
    {"order:placed", 2},   // a workflow gets one run per trigger that matches
    {"order:shipped", 1},
    {"nothing:here", 0},   // a key no trigger matches starts nothing
  };
  for (const auto& [key, runs] : pushes) {
    auto before = event_runs(eng);
    BOOST_TEST_REQUIRE(push_event(eng, key).ok());
    BOOST_TEST(event_runs(eng) - before == runs, key);
  }
}

BOOST_AUTO_TEST_CASE(only_the_latest_version_of_a_workflow_is_matched) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "wf", {"user:created"}).ok());
  BOOST_TEST_REQUIRE(push_event(eng, "user:created").ok());
  BOOST_TEST(event_runs(eng) == 1u);
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "wf", {"user:deleted"}).ok());
  BOOST_TEST_REQUIRE(push_event(eng, "user:created").ok());
  BOOST_TEST(event_runs(eng) == 1u);
  BOOST_TEST_REQUIRE(push_event(eng, "user:deleted").ok());
  BOOST_TEST(event_runs(eng) == 2u);
}

BOOST_AUTO_TEST_CASE(push_checks_json_and_priority_and_an_empty_payload_is_an_empty_input) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "wf", {"*"}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  auto bad_payload = push_event(eng, "k", "{nope");
  BOOST_TEST(bad_payload.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(bad_payload.error_message() == "Invalid request: invalid json in field `payload`");
  auto bad_meta = push_event(eng, "k", "{}", "[1,");
  BOOST_TEST(bad_meta.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_priority = push_event(eng, "k", "{}", std::nullopt, 4);
  BOOST_TEST(bad_priority.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(bad_priority.error_message() == "priority must be between 1 and 3, got 4");
  BOOST_TEST(event_runs(eng) == 0u); // nothing refused started anything
  // Push does not check the key (only BulkPush does); `*` matches the empty key too.
  BOOST_TEST_REQUIRE(push_event(eng, "", "").ok());
  auto a = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(json::parse(a.action_payload())["input"] == json::object());
  BOOST_TEST(a.priority() == 1);
}

BOOST_AUTO_TEST_CASE(bulk_push_takes_1_to_1000_events_each_with_a_key_all_or_nothing) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_event_workflow(eng, "wf", {"k:*"}).ok());
  auto bulk = [&](const std::vector<std::string>& keys, Events& out) {
    BulkPushEventRequest req;
    for (const auto& k : keys) {
      auto* e = req.add_events();
      e->set_key(k);
      e->set_payload(R"({"k":")" + k + R"("})");
    }
    return eng.events->BulkPush(eng.context().get(), req, &out);
  };
  Events out;
  auto none = bulk({}, out);
  BOOST_TEST(none.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(none.error_message() == "No events to ingest");
  auto too_many = bulk(std::vector<std::string>(1001, "k:x"), out);
  BOOST_TEST(too_many.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(too_many.error_message()
             == "Invalid request: too many events - 1001 is over maximum (1000)");
  auto keyless = bulk({"k:1", ""}, out);
  BOOST_TEST(keyless.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(event_runs(eng) == 0u);
  BOOST_TEST(eng.engine().snapshot().events_pushed == 0u);

  auto ok = bulk({"k:1", "other", "k:3"}, out);
  BOOST_TEST_REQUIRE(ok.ok(), ok.error_message());
  BOOST_TEST_REQUIRE(out.events_size() == 3);
  BOOST_TEST(out.events(1).key() == "other");
  BOOST_TEST(out.events(0).event_id() != out.events(2).event_id());
  BOOST_TEST(event_runs(eng) == 2u);
  BOOST_TEST(eng.engine().snapshot().events_pushed == 3u);
  BOOST_TEST(bulk(std::vector<std::string>(1000, "k:x"), out).ok());
  BOOST_TEST(event_runs(eng) == 1002u);
}

BOOST_AUTO_TEST_CASE(replay_reruns_a_finished_run_in_place_with_retry_count_plus_one) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "a"}, {.name = "b", .parents = {"a"}}}).ok());
  ready_worker w{eng, "worker", {"wf:a", "wf:b"}};
  auto run = eng.trigger("wf", R"({"x":1})");
  auto replay = [&](const std::string& id, v1::ReplayTasksResponse& out) {
    v1::ReplayTasksRequest req;
    req.add_external_ids(id);
    return eng.admin->ReplayTasks(eng.context().get(), req, &out);
  };
  auto a = expect_action(w.stream, START_STEP_RUN);
  // A run still going is skipped.
  v1::ReplayTasksResponse resp;
  BOOST_TEST_REQUIRE(replay(run, resp).ok());
  BOOST_TEST(resp.replayed_tasks_size() == 0);
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, R"({"a":1})").ok());
  auto b = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST_REQUIRE(eng.send(b, STEP_EVENT_TYPE_COMPLETED, R"({"b":1})").ok());
  BOOST_TEST(eng.details(run).done());

  resp.Clear();
  BOOST_TEST_REQUIRE(replay(run, resp).ok());
  BOOST_TEST(resp.replayed_tasks_size() == 2);
  BOOST_TEST(!eng.details(run).done());
  auto a2 = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(a2.task_run_external_id() == a.task_run_external_id());
  BOOST_TEST(a2.workflow_run_id() == run);
  BOOST_TEST(a2.retry_count() == 1);
  BOOST_TEST(json::parse(a2.action_payload())["input"] == json({{"x", 1}}));
  BOOST_TEST_REQUIRE(eng.send(a2, STEP_EVENT_TYPE_COMPLETED, R"({"a":2})").ok());
  auto b2 = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(json::parse(b2.action_payload())["parents"]["a"] == json({{"a", 2}}));
  BOOST_TEST_REQUIRE(eng.send(b2, STEP_EVENT_TYPE_COMPLETED, R"({"b":2})").ok());
  run_watcher watcher{eng};
  watcher.watch(run);
  auto fin = watcher.next();
  BOOST_TEST_REQUIRE(fin.has_value());
  for (const auto& r : fin->results())
    BOOST_TEST(json::parse(r.output()) == (r.task_name() == "a" ? json({{"a", 2}}) : json({{"b", 2}})));

  // A task id replays that task and what depends on it only.
  resp.Clear();
  BOOST_TEST_REQUIRE(replay(b.task_run_external_id(), resp).ok());
  BOOST_TEST(resp.replayed_tasks_size() == 1);
  auto b3 = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(b3.task_name() == "b");
  BOOST_TEST(b3.retry_count() == 2);
  BOOST_TEST(eng.engine().snapshot().replayed == 3u);

  v1::ReplayTasksResponse bad;
  BOOST_TEST(replay("not-a-uuid", bad).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}
