// The dev engine, part 1: authentication, GetVersion, triggering and assigning tasks, subscriptions,
// slots, and the transport (gzip, pings, unknown workers).
#define BOOST_TEST_MODULE dev_engine
#include "engine_harness.hpp"

BOOST_AUTO_TEST_SUITE(dispatch)

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

// The SDKs' feature gates (TypeScript v1/client/worker/engine-version.js): slot_config from
// v0.78.23 (served), durable tasks with eviction from v0.80.0 (not served yet).
BOOST_AUTO_TEST_CASE(get_version_opens_the_sdk_gates_of_what_it_serves_only) {
  engine_under_test eng;
  GetVersionResponse resp;
  auto st = eng.dispatcher->GetVersion(eng.context().get(), GetVersionRequest{}, &resp);
  BOOST_TEST_REQUIRE(st.ok());
  int major = -1, minor = -1, patch = -1;
  BOOST_TEST_REQUIRE(std::sscanf(resp.version().c_str(), "v%d.%d.%d", &major, &minor, &patch) == 3);
  auto at_least = [&](int ma, int mi, int pa) {
    return std::tie(major, minor, patch) >= std::tie(ma, mi, pa);
  };
  BOOST_TEST(at_least(0, 78, 23));
  BOOST_TEST(!at_least(0, 80, 0));
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

BOOST_AUTO_TEST_CASE(client_pings_more_often_than_every_5s_end_the_connection_as_a_real_engine) {
  // A real engine's policy (grpc-go EnforcementPolicy{MinTime: 5s, PermitWithoutStream: true},
  // internal/services/grpc/server.go, and grpc-go's 2 ping strikes): pings every 5 s or more
  // apart are fine, also with no call open (the SDKs and this worker ping every 10 s: the idle
  // client and partition process tests hold that for minutes); a client pinging every second
  // gets GOAWAY "too_many_pings" at its third early ping and loses the connection.
  engine_under_test eng;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, 100);
  auto channel = grpc::CreateCustomChannel(eng.engine().address(),
                                           grpc::InsecureChannelCredentials(), args);
  auto dispatcher = Dispatcher::NewStub(channel);
  WorkerRegisterRequest reg;
  reg.set_worker_name("eager-pinger");
  reg.add_actions("wf:t");
  WorkerRegisterResponse reg_resp;
  BOOST_TEST_REQUIRE(dispatcher->Register(eng.context().get(), reg, &reg_resp).ok());
  listener stream{*dispatcher, eng.token(), reg_resp.worker_id()};
  auto ended = stream.ended(10'000ms); // 3 strikes at ~1 s apart, then the GOAWAY
  BOOST_REQUIRE_MESSAGE(ended.has_value(), "an idle stream pinged every second was not ended");
  BOOST_TEST(ended->error_code() == grpc::StatusCode::UNAVAILABLE, ended->error_message());
}

BOOST_AUTO_TEST_CASE(gzip_requests_keep_working) {
  // The official SDKs compress every request (G2).
  engine_under_test eng;
  grpc::ChannelArguments args;
  args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
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

BOOST_AUTO_TEST_SUITE_END()
