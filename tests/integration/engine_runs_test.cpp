// The dev engine, part 2: what becomes of a run: retries, outcomes sent twice or late, bulk
// triggers, DAGs, cancels, execution timeouts, requeues, retention, malformed requests.
#include "engine_harness.hpp"

BOOST_AUTO_TEST_SUITE(runs)

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

BOOST_AUTO_TEST_SUITE_END()
