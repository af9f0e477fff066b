// The public client API (include/hatchet/client.hpp) against a dev engine and a worker over
// loopback gRPC: typed results, errors, run references, awaiting a run in a co_task, bulk runs,
// cancel, replay, run options, and events that start workflows.
#define BOOST_TEST_MODULE client
#include "harness.hpp"
#include "mailbox.hpp"

#include <deque>
#include <future>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "bundled_workflows.hpp"

using namespace harness;
using nlohmann::json;

namespace {

struct pair_input {
  int a = 0;
  int b = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(pair_input, a, b)

struct sum {
  int total = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(sum, total)

hatchet::workflow add_workflow() {
  hatchet::workflow wf{"AddWorkflow"};
  wf.task("add", [](const pair_input& in, hatchet::context&) { return sum{in.a + in.b}; });
  return wf;
}

using harness::mailbox;

std::string text(const caf::error& err) { return hatchet::describe(err); }

/// The error of `e`, if any, for a failed check's message (evaluated even when it passes).
template <class T>
std::string why(const caf::expected<T>& e) {
  return e ? std::string{} : hatchet::describe(e.error());
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(client_api, engine_fixture)

BOOST_AUTO_TEST_CASE(run_gives_one_tasks_output_typed_and_a_dags_output_by_task_name) {
  hatchet::workflow dag{"TwoStepWorkflow"};
  auto first = dag.task("first", [](const json&, hatchet::context&) { return sum{1}; });
  static_assert(std::is_same_v<decltype(first), hatchet::task_ref<sum>>);
  dag.task("second", [first](const json&, hatchet::context& ctx) {
    // The parent by handle, its output typed; and the same output by name.
    sum typed = ctx.parent_output(first);
    if (ctx.parents().at("first").at("total").get<int>() != typed.total)
      throw std::runtime_error("the typed and the by-name output of 'first' differ");
    return json{{"m", typed.total + 1}};
  }, {.parents = {first}});
  running_worker w{cfg, "typed-worker", {.slots = 2, .workflows = {add_workflow(), dag}}};
  w.ready();
  hatchet::client client{cfg};

  auto s = client.run<sum>("AddWorkflow", pair_input{2, 3});
  BOOST_REQUIRE_MESSAGE(s, why(s));
  BOOST_TEST(s->total == 5);
  auto as_json = client.run("AddWorkflow", pair_input{1, 1});
  BOOST_REQUIRE_MESSAGE(as_json, why(as_json));
  BOOST_TEST(*as_json == json({{"total", 2}}));

  auto both = client.run("TwoStepWorkflow");
  BOOST_REQUIRE_MESSAGE(both, why(both));
  BOOST_TEST(*both == json({{"first", {{"total", 1}}}, {"second", {{"m", 2}}}}));
  auto detail = client.run<hatchet::run_result>("TwoStepWorkflow");
  BOOST_REQUIRE_MESSAGE(detail, why(detail));
  BOOST_TEST(detail->outputs.at("second") == json({{"m", 2}}));
  BOOST_TEST(!detail->workflow_run_id.empty());
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_failed_run_an_unknown_workflow_a_timeout_and_a_bad_output_are_errors) {
  running_worker w{cfg, "error-worker",
                   {.slots = 2,
                    .workflows = {hatchet::apps::fail_workflow(), hatchet::apps::sleep_workflow(),
                                  hatchet::apps::echo_workflow()}}};
  w.ready();
  hatchet::client client{cfg};

  auto failed = client.run("FailWorkflow", json{{"message", "disk full"}});
  BOOST_REQUIRE(!failed);
  BOOST_TEST(hatchet::has_code(failed.error(), hatchet::errc::run_failed), text(failed.error()));
  BOOST_TEST(text(failed.error()).find("task 'fail': std::runtime_error: disk full")
               != std::string::npos,
             text(failed.error()));

  auto unknown = client.run("NoSuchWorkflow");
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(hatchet::has_code(unknown.error(), hatchet::errc::unknown_workflow), text(unknown.error()));
  BOOST_TEST(text(unknown.error()).find("nosuchworkflow") != std::string::npos,
             text(unknown.error()));

  hatchet::run_options quick;
  quick.timeout = 100ms;
  auto slow = client.run_no_wait("SleepWorkflow", json{{"ms", 1500}});
  BOOST_REQUIRE(slow);
  auto late = slow->result(quick.timeout);
  BOOST_REQUIRE(!late);
  BOOST_TEST(hatchet::has_code(late.error(), hatchet::errc::timed_out), text(late.error()));
  BOOST_TEST(text(late.error()).find(slow->id()) != std::string::npos);
  // The run went on: waiting again gets it.
  auto done = slow->result(20s);
  BOOST_REQUIRE_MESSAGE(done, why(done));
  BOOST_TEST(done->at("slept_ms") == 1500);
  auto timed = client.run("SleepWorkflow", json{{"ms", 1500}}, quick);
  BOOST_REQUIRE(!timed);
  BOOST_TEST(hatchet::has_code(timed.error(), hatchet::errc::timed_out), text(timed.error()));

  auto mismatch = client.run<sum>("EchoWorkflow", json{{"total", "not a number"}});
  BOOST_REQUIRE(!mismatch);
  BOOST_TEST(hatchet::has_code(mismatch.error(), hatchet::errc::invalid_output), text(mismatch.error()));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(results_too_large_for_one_message_end_the_wait_at_once_naming_the_run) {
  // Two tasks of 3 MB each: 6 MB of results, over the engine's 4 MiB message. The engine sends
  // the run's end without them (as a real engine does); the wait must end at once, with the
  // reason, and the client's stream must go on serving. (It used to break the stream, resend
  // the event on every resubscription, and fail after 38 s with "10 subscriptions ...".)
  hatchet::workflow big{"BigResults"};
  for (const char* name : {"left", "right"})
    big.task(name, [](const json&, hatchet::context&) {
      return json{{"blob", std::string(3'000'000, 'x')}};
    });
  running_worker w{cfg, "big-worker", {.slots = 2, .workflows = {big, add_workflow()}}};
  w.ready();
  hatchet::client client{cfg};
  auto ref = client.run_no_wait("BigResults");
  BOOST_REQUIRE_MESSAGE(ref, why(ref));
  auto out = ref->result(5s);
  BOOST_REQUIRE(!out);
  BOOST_TEST(hatchet::has_code(out.error(), hatchet::errc::result_too_large), text(out.error()));
  BOOST_TEST(text(out.error()).find(ref->id()) != std::string::npos, text(out.error()));
  BOOST_TEST(text(out.error()).find("larger than max") != std::string::npos, text(out.error()));
  // The same client, the next run: its result arrives.
  auto next = client.run<sum>("AddWorkflow", pair_input{2, 2});
  BOOST_REQUIRE_MESSAGE(next, why(next));
  BOOST_TEST(next->total == 4);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(run_no_wait_returns_at_once_and_the_ref_gives_the_result_later) {
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto started = std::make_shared<gauge>();
  hatchet::workflow wf{"GatedWorkflow"};
  wf.task("gated", [opened, started](const pair_input& in, hatchet::context&) {
    started->add(1);
    opened.wait();
    return sum{in.a * in.b};
  });
  running_worker w{cfg, "gated-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  hatchet::client client{cfg};
  auto ref = client.run_no_wait("GatedWorkflow", pair_input{6, 7});
  BOOST_REQUIRE_MESSAGE(ref, why(ref));
  BOOST_TEST(ref->id().size() == 36u);
  BOOST_REQUIRE(started->wait_at_least(1, 20s)); // running, and held there: not finished
  std::atomic<bool> called{false};
  std::promise<caf::expected<hatchet::run_result>> via_callback;
  ref->on_finished([&](caf::expected<hatchet::run_result> r) {
    called = true;
    via_callback.set_value(std::move(r));
  });
  BOOST_TEST(!called);
  gate->set_value();
  auto r = ref->result<sum>(20s);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->total == 42);
  auto cb = via_callback.get_future().get();
  BOOST_REQUIRE(cb);
  BOOST_TEST(cb->workflow_run_id == ref->id());
  // A ref made from the id alone waits for the same run.
  auto again = client.run_of(ref->id()).result<sum>(20s);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->total == 42);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_co_task_awaits_another_run_without_holding_a_thread) {
  // One CAF scheduler thread and one task thread: if the awaiting co_task held either (blocked
  // on the result), the child it waits for could never be started or run, and the parent would
  // time out. It must also resume on its actor's thread, not on the client's listener thread.
  hatchet::client client{cfg};
  auto threads = std::make_shared<mailbox<bool>>();
  hatchet::workflow parent{"ParentWorkflow"};
  parent.task("parent", [client, threads](const pair_input& in,
                                          hatchet::context& ctx) -> hatchet::co_task<sum> {
    auto ref = client.run_no_wait("AddWorkflow", in);
    if (!ref)
      throw std::runtime_error(text(ref.error()));
    const auto before = std::this_thread::get_id();
    auto child = co_await ref->async_result<sum>(ctx);
    threads->push(std::this_thread::get_id() == before);
    if (!child)
      throw std::runtime_error(text(child.error()));
    co_return sum{child->total * 10};
  });
  running_worker w{cfg, "await-worker",
                   {.slots = 2, .workflows = {parent, add_workflow()}, .max_task_threads = 1},
                   1};
  w.ready();
  hatchet::run_options patient;
  patient.timeout = 30s;
  auto r = client.run<sum>("ParentWorkflow", pair_input{4, 5}, patient);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->total == 90);
  auto same_thread = threads->pop();
  BOOST_REQUIRE(same_thread.has_value());
  BOOST_TEST(*same_thread);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_cancelled_co_task_stops_waiting_for_the_run_it_awaits) {
  hatchet::client client{cfg};
  auto outcome = std::make_shared<mailbox<std::string>>();
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  hatchet::workflow never{"NeverWorkflow"};
  never.task("never", [opened](const json&, hatchet::context&) {
    opened.wait();
    return json::object();
  });
  hatchet::workflow waiter{"WaiterWorkflow"};
  waiter.task("wait", [client, outcome](const json&,
                                        hatchet::context& ctx) -> hatchet::co_task<json> {
    auto ref = client.run_no_wait("NeverWorkflow");
    if (!ref)
      throw std::runtime_error(text(ref.error()));
    outcome->push("waiting");
    auto r = co_await ref->async_result(ctx);
    outcome->push(r ? "result" : text(r.error()));
    co_return json::object();
  });
  running_worker w{cfg, "cancel-await-worker", {.slots = 2, .workflows = {never, waiter}}};
  w.ready();
  auto ref = client.run_no_wait("WaiterWorkflow");
  BOOST_REQUIRE(ref);
  BOOST_REQUIRE(outcome->pop() == std::optional<std::string>{"waiting"});
  BOOST_REQUIRE(!client.cancel(ref->id()));
  auto woke = outcome->pop();
  BOOST_REQUIRE(woke.has_value());
  BOOST_TEST(woke->find("cancelled") == 0u, *woke);
  gate->set_value();
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(bulk_runs_give_results_in_input_order) {
  running_worker w{cfg, "bulk-worker", {.slots = 4, .workflows = {add_workflow()}}};
  w.ready();
  hatchet::client client{cfg};
  std::vector<pair_input> inputs;
  for (int i = 0; i < 25; ++i)
    inputs.push_back({i, 100});
  auto results = client.run_many<sum>("AddWorkflow", inputs);
  BOOST_REQUIRE_MESSAGE(results, why(results));
  BOOST_REQUIRE_EQUAL(results->size(), 25u);
  for (int i = 0; i < 25; ++i) {
    BOOST_REQUIRE((*results)[static_cast<size_t>(i)]);
    BOOST_TEST((*results)[static_cast<size_t>(i)]->total == i + 100);
  }
  auto refs = client.run_no_wait_many("AddWorkflow", inputs);
  BOOST_REQUIRE(refs);
  std::set<std::string> ids;
  for (const auto& r : *refs)
    ids.insert(r.id());
  BOOST_TEST(ids.size() == 25u);
  auto last = refs->back().result<sum>(20s);
  BOOST_REQUIRE(last);
  BOOST_TEST(last->total == 124);
  // A bulk naming an unknown workflow starts nothing and says so.
  auto unknown = client.run_no_wait_many("NoSuchWorkflow", inputs);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(hatchet::has_code(unknown.error(), hatchet::errc::unknown_workflow), text(unknown.error()));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(cancel_ends_a_running_run_and_its_task_sees_the_cancellation) {
  auto started = std::make_shared<gauge>();
  auto saw_cancel = std::make_shared<gauge>();
  hatchet::workflow wf{"CancellableWorkflow"};
  wf.task("wait", [started, saw_cancel](const json&, hatchet::context& ctx) {
    std::mutex m;
    std::condition_variable_any cv;
    started->add(1);
    std::unique_lock lk{m};
    bool cancelled = cv.wait_for(lk, ctx.stop_token(), 20s, [] { return false; }) || ctx.cancelled();
    if (cancelled)
      saw_cancel->add(1);
    return json{{"cancelled", cancelled}};
  });
  running_worker w{cfg, "cancel-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  hatchet::client client{cfg};
  auto ref = client.run_no_wait("CancellableWorkflow");
  BOOST_REQUIRE(ref);
  BOOST_REQUIRE(started->wait_at_least(1, 20s));
  auto err = client.cancel(ref->id());
  BOOST_REQUIRE_MESSAGE(!err, text(err));
  auto r = ref->result(20s);
  BOOST_REQUIRE(!r);
  BOOST_TEST(hatchet::has_code(r.error(), hatchet::errc::run_failed), text(r.error()));
  BOOST_TEST(text(r.error()).find("cancelled") != std::string::npos, text(r.error()));
  BOOST_TEST(saw_cancel->wait_at_least(1, 20s));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(replay_runs_a_completed_run_again_under_the_same_id) {
  auto executions = std::make_shared<std::atomic<int>>(0);
  hatchet::workflow wf{"CountWorkflow"};
  wf.task("count", [executions](const pair_input& in, hatchet::context& ctx) {
    return json{{"n", ++*executions}, {"retry", ctx.retry_count()}, {"a", in.a}};
  });
  running_worker w{cfg, "replay-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  hatchet::client client{cfg};
  auto ref = client.run_no_wait("CountWorkflow", pair_input{9, 0});
  BOOST_REQUIRE(ref);
  auto first = ref->result(20s);
  BOOST_REQUIRE_MESSAGE(first, why(first));
  BOOST_TEST(*first == json({{"n", 1}, {"retry", 0}, {"a", 9}}));
  auto err = client.replay(ref->id());
  BOOST_REQUIRE_MESSAGE(!err, text(err));
  auto second = ref->result(20s);
  BOOST_REQUIRE_MESSAGE(second, why(second));
  BOOST_TEST(*second == json({{"n", 2}, {"retry", 1}, {"a", 9}})); // same input, again
  BOOST_TEST(engine.snapshot().replayed == 1u);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(metadata_and_priority_reach_the_task_and_bad_options_are_refused) {
  hatchet::workflow wf{"OptionsWorkflow"};
  wf.task("show", [](const json&, hatchet::context& ctx) {
    return json{{"metadata", ctx.additional_metadata()}, {"priority", ctx.priority()}};
  });
  running_worker w{cfg, "options-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  hatchet::client client{cfg};
  hatchet::run_options opts;
  opts.additional_metadata = {{"tenant", "acme"}, {"attempt", 3}};
  opts.priority = 3;
  opts.key = "ignored-without-a-parent";
  auto r = client.run("OptionsWorkflow", json::object(), opts);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->at("metadata") == json({{"tenant", "acme"}, {"attempt", 3}}));
  BOOST_TEST(r->at("priority") == 3);
  auto plain = client.run("OptionsWorkflow");
  BOOST_REQUIRE(plain);
  BOOST_TEST(plain->at("metadata") == json::object());
  BOOST_TEST(plain->at("priority") == 1);

  hatchet::run_options too_high;
  too_high.priority = 4;
  auto bad_priority = client.run_no_wait("OptionsWorkflow", json::object(), too_high);
  BOOST_REQUIRE(!bad_priority);
  BOOST_TEST(hatchet::has_code(bad_priority.error(), hatchet::errc::invalid_config));
  hatchet::run_options not_an_object;
  not_an_object.additional_metadata = json::array({1});
  auto bad_meta = client.run_no_wait("OptionsWorkflow", json::object(), not_an_object);
  BOOST_REQUIRE(!bad_meta);
  BOOST_TEST(hatchet::has_code(bad_meta.error(), hatchet::errc::invalid_config));
  auto bad_input = client.run_no_wait("OptionsWorkflow", json::array({1, 2}));
  BOOST_REQUIRE(!bad_input);
  BOOST_TEST(hatchet::has_code(bad_input.error(), hatchet::errc::invalid_input));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(one_client_serves_many_threads_at_once) {
  running_worker w{cfg, "threads-worker", {.slots = 8, .workflows = {add_workflow()}}};
  w.ready();
  hatchet::client client{cfg};
  std::vector<std::future<int>> sums;
  for (int t = 0; t < 8; ++t)
    sums.push_back(std::async(std::launch::async, [client, t] {
      int total = 0;
      for (int i = 0; i < 5; ++i) {
        auto r = client.run<sum>("AddWorkflow", pair_input{t, i});
        total += r ? r->total : -1000;
      }
      return total;
    }));
  for (int t = 0; t < 8; ++t)
    BOOST_TEST(sums[static_cast<size_t>(t)].get() == 5 * t + 10);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_pushed_event_starts_exactly_the_workflows_that_listen_for_it) {
  struct seen {
    std::string workflow;
    json input;
    json metadata;
  };
  auto runs = std::make_shared<mailbox<seen>>();
  auto listener = [runs](std::string name, std::vector<std::string> keys) {
    hatchet::workflow wf{name};
    wf.on_events(std::move(keys));
    wf.task("on", [runs, name](const json& in, hatchet::context& ctx) {
      runs->push({name, in, ctx.additional_metadata()});
      return json::object();
    });
    return wf;
  };
  running_worker w{cfg, "event-worker",
                   {.slots = 4,
                    .workflows = {listener("OnUserCreated", {"user:created"}),
                                  listener("OnAnyUser", {"user:*"}),
                                  listener("OnOrderPlaced", {"order:placed"})}}};
  w.ready();
  hatchet::client client{cfg};
  auto events = client.events();

  auto id = events.push("user:created", {{"id", 7}},
                        {{"source", "signup"}, {"hatchet__event_key", "forged"}});
  BOOST_REQUIRE_MESSAGE(id, why(id));
  // The dev engine starts the runs before it answers: the count is final.
  BOOST_TEST(engine.snapshot().event_runs == 2u);
  std::set<std::string> started;
  for (int i = 0; i < 2; ++i) {
    auto s = runs->pop();
    BOOST_REQUIRE(s.has_value());
    started.insert(s->workflow);
    BOOST_TEST(s->input == json({{"id", 7}}));
    BOOST_TEST(s->metadata
               == json({{"source", "signup"},
                        {"hatchet__event_id", *id},
                        {"hatchet__event_key", "user:created"}}));
  }
  BOOST_TEST((started == std::set<std::string>{"OnUserCreated", "OnAnyUser"}));

  // A key nothing listens for starts nothing.
  BOOST_REQUIRE(events.push("order:shipped", {{"id", 8}}));
  BOOST_TEST(engine.snapshot().event_runs == 2u);

  auto ids = events.bulk_push({{.key = "user:deleted", .payload = {{"id", 9}}},
                               {.key = "order:placed", .payload = {{"id", 10}}},
                               {.key = "nobody:listens"}});
  BOOST_REQUIRE_MESSAGE(ids, why(ids));
  BOOST_TEST(ids->size() == 3u);
  BOOST_TEST(engine.snapshot().event_runs == 4u);
  std::map<std::string, json> inputs;
  for (int i = 0; i < 2; ++i) {
    auto s = runs->pop();
    BOOST_REQUIRE(s.has_value());
    inputs[s->workflow] = s->input;
  }
  BOOST_TEST(inputs.at("OnAnyUser") == json({{"id", 9}}));
  BOOST_TEST(inputs.at("OnOrderPlaced") == json({{"id", 10}}));

  auto keyless = events.bulk_push({{.key = ""}});
  BOOST_REQUIRE(!keyless);
  BOOST_TEST(hatchet::has_code(keyless.error(), hatchet::errc::invalid_config));
  BOOST_TEST(!w.stop());
}

// client.workers(): the REST Worker resource, as the official SDKs' `workers` client.
BOOST_AUTO_TEST_CASE(workers_are_listed_read_paused_and_unpaused_from_the_client) {
  running_worker w{cfg, "listed-worker",
                   {.slots = 3, .workflows = {add_workflow()}, .labels = {{"zone", "eu"}}}};
  const auto id = w.ready();
  hatchet::client client{cfg};
  auto workers = client.workers();

  // Listed once its first heartbeat is in (the real engine's list wants a heartbeat within 24 h;
  // a worker is created without one): the worker sends it within a few seconds of registering.
  auto all = workers.list();
  for (auto until = std::chrono::steady_clock::now() + 15s;
       all && all->empty() && std::chrono::steady_clock::now() < until; all = workers.list())
    std::this_thread::sleep_for(50ms);
  BOOST_REQUIRE_MESSAGE(all, why(all));
  BOOST_REQUIRE_EQUAL(all->size(), 1u);
  const auto& listed = all->front();
  BOOST_TEST(listed.id == id);
  BOOST_TEST(listed.name == "listed-worker");
  BOOST_TEST(listed.status == "ACTIVE");
  BOOST_TEST(listed.slot_config.at("default").limit == 3);
  BOOST_TEST(listed.labels.at("zone") == "eu");
  BOOST_TEST(listed.actions == std::vector<std::string>{"addworkflow:add"});
  BOOST_TEST(!listed.last_heartbeat_at.empty());

  auto eu = workers.list({.labels = {{"zone", "eu"}}});
  BOOST_REQUIRE(eu);
  BOOST_TEST(eu->size() == 1u);
  auto us = workers.list({.labels = {{"zone", "us"}}});
  BOOST_REQUIRE(us);
  BOOST_TEST(us->empty());

  auto paused = workers.pause(id);
  BOOST_REQUIRE_MESSAGE(paused, why(paused));
  BOOST_TEST(paused->paused());
  auto only_paused = workers.list({.statuses = {"PAUSED"}});
  BOOST_REQUIRE(only_paused);
  BOOST_TEST(only_paused->size() == 1u);
  auto back = workers.unpause(id);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->status == "ACTIVE");
  auto again = workers.get(id);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->status == "ACTIVE");

  auto unknown = workers.get("00000000-0000-4000-8000-000000000000");
  BOOST_TEST(hatchet::has_code(unknown.error(), hatchet::errc::not_found), text(unknown.error()));
  auto not_an_id = workers.pause("listed-worker");
  BOOST_TEST(hatchet::has_code(not_an_id.error(), hatchet::errc::invalid_config));
  auto bad_status = workers.list({.statuses = {"BUSY"}});
  BOOST_TEST(hatchet::has_code(bad_status.error(), hatchet::errc::invalid_config));
  BOOST_TEST(!w.stop());
}

// client.workflows(): the REST workflow list, and get by name through it, as the official SDKs.
BOOST_AUTO_TEST_CASE(workflows_are_listed_newest_first_and_found_by_name) {
  running_worker w{cfg, "wf-worker", {.slots = 1, .workflows = {add_workflow()}}};
  w.ready();
  hatchet::client client{cfg};
  auto later = hatchet::workflow{"LaterWorkflow"};
  later.task("noop", [](const nlohmann::json&, hatchet::context&) { return nlohmann::json{}; });
  running_worker w2{cfg, "wf-worker-2", {.slots = 1, .workflows = {std::move(later)}}};
  w2.ready();
  auto workflows = client.workflows();

  auto all = workflows.list();
  BOOST_REQUIRE_MESSAGE(all, why(all));
  BOOST_REQUIRE_EQUAL(all->size(), 2u);
  BOOST_TEST(all->at(0).name == "laterworkflow"); // newest first
  BOOST_TEST(all->at(1).name == "addworkflow");
  BOOST_TEST(!all->at(0).id.empty());
  BOOST_TEST(!all->at(0).created_at.empty());

  auto add = workflows.get("AddWorkflow"); // named as defined, lowercased as registered
  BOOST_REQUIRE_MESSAGE(add, why(add));
  BOOST_TEST(add->id == all->at(1).id);
  auto filtered = workflows.list({.name = "LATER"});
  BOOST_REQUIRE(filtered);
  BOOST_TEST(filtered->size() == 1u);
  auto page = workflows.list({.offset = 1, .limit = 1});
  BOOST_REQUIRE(page);
  BOOST_TEST(page->size() == 1u);
  BOOST_TEST(page->front().name == "addworkflow");
  auto missing = workflows.get("NoSuchWorkflow");
  BOOST_TEST(hatchet::has_code(missing.error(), hatchet::errc::unknown_workflow),
             text(missing.error()));
  BOOST_TEST(!w2.stop());
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()
