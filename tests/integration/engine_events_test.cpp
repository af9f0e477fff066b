// The dev engine, part 5: events starting runs, and replays.
#include <atomic>

#include "engine_harness.hpp"

BOOST_AUTO_TEST_SUITE(events)

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

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// Stream chunks: in event_index order per subscription, and none lost to the run's end

BOOST_AUTO_TEST_SUITE(streams)

BOOST_AUTO_TEST_CASE(chunks_out_of_order_or_after_the_result_reach_every_subscriber_in_order) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("streamer", {{"step"}}).ok());
  ready_worker w{eng, "w", {"streamer:step"}};
  auto run = eng.trigger("streamer");
  auto a = expect_action(w.stream, START_STEP_RUN);

  constexpr int subscribers = 8;
  std::vector<std::vector<WorkflowEvent>> got(subscribers);
  std::vector<grpc::Status> ends(subscribers);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> readers;
  for (int i = 0; i < subscribers; ++i) {
    contexts.push_back(eng.context());
    readers.emplace_back([&, i, ctx = contexts.back().get()] {
      SubscribeToWorkflowEventsRequest req;
      req.set_workflow_run_id(run);
      auto reader = eng.dispatcher->SubscribeToWorkflowEvents(ctx, req);
      for (WorkflowEvent ev; reader->Read(&ev);)
        got[static_cast<size_t>(i)].push_back(ev);
      ends[static_cast<size_t>(i)] = reader->Finish();
    });
  }
  BOOST_TEST_REQUIRE(wait_for_followers(eng, run, subscribers));

  auto put = [&](int64_t index) {
    PutStreamEventRequest req;
    req.set_task_run_external_id(a.task_run_external_id());
    req.set_message("chunk " + std::to_string(index));
    req.set_event_index(index);
    PutStreamEventResponse resp;
    auto st = eng.events->PutStreamEvent(eng.context().get(), req, &resp);
    BOOST_TEST_REQUIRE(st.ok(), st.error_message());
  };
  // Pairs swapped (1, 0, 3, 2, ...), as a producer that does not wait for each call may deliver
  // them, and the last two after the task's result, as the TypeScript SDK can.
  for (int64_t i = 0; i < 18; i += 2) {
    put(i + 1);
    put(i);
  }
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  put(19);
  put(18);
  for (auto& r : readers)
    r.join();

  for (int i = 0; i < subscribers; ++i) {
    const auto& evs = got[static_cast<size_t>(i)];
    BOOST_TEST(ends[static_cast<size_t>(i)].ok(), "subscriber " << i);
    BOOST_TEST_REQUIRE(evs.size() == 21u, "subscriber " << i);
    for (int64_t c = 0; c < 20; ++c) {
      BOOST_TEST(evs[static_cast<size_t>(c)].event_type() == RESOURCE_EVENT_TYPE_STREAM);
      BOOST_TEST(evs[static_cast<size_t>(c)].event_payload() == "chunk " + std::to_string(c),
                 "subscriber " << i << " chunk " << c);
    }
    BOOST_TEST(evs.back().resource_type() == RESOURCE_TYPE_WORKFLOW_RUN);
    BOOST_TEST(evs.back().event_type() == RESOURCE_EVENT_TYPE_COMPLETED);
    BOOST_TEST(evs.back().hangup());
  }
}

// grpc-go's default, which the real engine keeps: no cap on the calls open on one connection. A
// cap (SETTINGS_MAX_CONCURRENT_STREAMS) would make the client queue the later subscriptions while
// the run's chunks go by.
BOOST_AUTO_TEST_CASE(one_connection_holds_more_than_100_subscriptions_at_once) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("popular", {{"step"}}).ok());
  ready_worker w{eng, "w", {"popular:step"}};
  auto run = eng.trigger("popular");
  auto a = expect_action(w.stream, START_STEP_RUN);
  constexpr size_t followers = 150;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> readers;
  std::atomic<size_t> ended_ok{0};
  for (size_t i = 0; i < followers; ++i) {
    contexts.push_back(eng.context());
    readers.emplace_back([&, ctx = contexts.back().get()] {
      SubscribeToWorkflowEventsRequest req;
      req.set_workflow_run_id(run);
      auto reader = eng.dispatcher->SubscribeToWorkflowEvents(ctx, req); // one channel for all
      for (WorkflowEvent ev; reader->Read(&ev);) {
      }
      if (reader->Finish().ok())
        ++ended_ok;
    });
  }
  BOOST_TEST(wait_for_followers(eng, run, followers));
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  for (auto& r : readers)
    r.join();
  BOOST_TEST(ended_ok.load() == followers);
}

// A replay while the first end is held: the first end goes to the first attempt's followers at
// once, and a follower of the replay waits for the replay's own end.
BOOST_AUTO_TEST_CASE(a_replay_during_the_held_end_ends_the_old_followers_and_not_the_new) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("twice", {{"step"}}).ok());
  ready_worker w{eng, "w", {"twice:step"}};
  auto run = eng.trigger("twice");
  auto a = expect_action(w.stream, START_STEP_RUN);
  auto follow = [&](std::vector<WorkflowEvent>& got, grpc::ClientContext* ctx) {
    SubscribeToWorkflowEventsRequest req;
    req.set_workflow_run_id(run);
    auto reader = eng.dispatcher->SubscribeToWorkflowEvents(ctx, req);
    for (WorkflowEvent ev; reader->Read(&ev);)
      got.push_back(ev);
  };
  std::vector<WorkflowEvent> first, second;
  auto ctx1 = eng.context();
  std::thread t1{[&] { follow(first, ctx1.get()); }};
  BOOST_TEST_REQUIRE(wait_for_followers(eng, run, 1));
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  v1::ReplayTasksRequest replay;
  replay.add_external_ids(run);
  v1::ReplayTasksResponse replayed;
  BOOST_TEST_REQUIRE(eng.admin->ReplayTasks(eng.context().get(), replay, &replayed).ok());
  auto ctx2 = eng.context(); // follows the replay, within the first end's 250 ms hold
  std::thread t2{[&] { follow(second, ctx2.get()); }};
  t1.join(); // the first follower got the first end
  BOOST_TEST_REQUIRE(!first.empty());
  BOOST_TEST(first.back().hangup());
  auto again = expect_action(w.stream, START_STEP_RUN);
  std::this_thread::sleep_for(600ms); // past the first end's due time: absence takes a wait
  BOOST_TEST(eng.engine().stream_subscribers(run) == 1u);
  BOOST_TEST(second.empty());
  BOOST_TEST_REQUIRE(eng.send(again, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  t2.join();
  BOOST_TEST_REQUIRE(second.size() == 1u);
  BOOST_TEST(second.back().hangup());
}

BOOST_AUTO_TEST_CASE(a_gap_that_never_closes_is_given_up_after_the_buffer_timeout) {
  auto o = test_options();
  o.stream_buffer_timeout = 300ms;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("gappy", {{"step"}}).ok());
  ready_worker w{eng, "w", {"gappy:step"}};
  auto run = eng.trigger("gappy");
  auto a = expect_action(w.stream, START_STEP_RUN);
  auto ctx = eng.context();
  ctx->set_deadline(std::chrono::system_clock::now() + 10s);
  SubscribeToWorkflowEventsRequest req;
  req.set_workflow_run_id(run);
  auto reader = eng.dispatcher->SubscribeToWorkflowEvents(ctx.get(), req);
  BOOST_TEST_REQUIRE(wait_for_followers(eng, run, 1));
  for (int64_t index : {2, 1}) { // 0 never comes
    PutStreamEventRequest put;
    put.set_task_run_external_id(a.task_run_external_id());
    put.set_message("chunk " + std::to_string(index));
    put.set_event_index(index);
    PutStreamEventResponse resp;
    BOOST_TEST_REQUIRE(eng.events->PutStreamEvent(eng.context().get(), put, &resp).ok());
  }
  auto sent = std::chrono::steady_clock::now();
  WorkflowEvent ev;
  BOOST_TEST_REQUIRE(reader->Read(&ev));
  auto waited = std::chrono::steady_clock::now() - sent;
  BOOST_TEST(ev.event_payload() == "chunk 1"); // held, then given up in order
  BOOST_TEST(waited >= 250ms);
  BOOST_TEST_REQUIRE(reader->Read(&ev));
  BOOST_TEST(ev.event_payload() == "chunk 2");
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  BOOST_TEST_REQUIRE(reader->Read(&ev));
  BOOST_TEST(ev.hangup());
  BOOST_TEST(reader->Finish().ok());
}

BOOST_AUTO_TEST_SUITE_END()
