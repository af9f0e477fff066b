#define BOOST_TEST_MODULE worker
#include "harness.hpp"

#include <condition_variable>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bundled_workflows.hpp"

using namespace harness;
using nlohmann::json;

namespace {

std::vector<std::string> numbered_inputs(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i)
    v.push_back(json{{"i", i}}.dump());
  return v;
}

const hatchet::rpc::task_result& only_task(const hatchet::rpc::run_result& r) {
  BOOST_REQUIRE_EQUAL(r.tasks.size(), 1u);
  return r.tasks.front();
}

/// A state type that counts its copies: the worker must never copy it.
struct shared_model {
  static inline std::atomic<int> copies{0};
  std::vector<float> weights;
  explicit shared_model(size_t n) : weights(n, 0.5f) {}
  shared_model(const shared_model& o) : weights(o.weights) { ++copies; }
  shared_model(shared_model&&) noexcept = default;
};

/// Ordering of lifespan and task events, by a global sequence number.
struct timeline {
  std::atomic<int> seq{0};
  std::atomic<int> setup_at{-1};
  std::atomic<int> cleanup_at{-1};
  std::mutex mtx;
  std::vector<int> task_ends;
  std::set<const void*> state_addresses;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_and_worker, engine_fixture)

BOOST_AUTO_TEST_CASE(completes_n_runs_with_the_right_outputs) {
  running_worker w{cfg, "echo-worker", {.slots = 8, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto results = run_all("EchoWorkflow", numbered_inputs(60));
  BOOST_TEST(results.size() == 60u);
  std::set<int> seen;
  for (const auto& r : results) {
    const auto& t = only_task(r);
    BOOST_TEST(!t.error.has_value());
    BOOST_REQUIRE(t.output.has_value());
    BOOST_TEST(t.task_name == "echo");
    seen.insert(json::parse(*t.output).at("i").get<int>());
  }
  BOOST_TEST(seen.size() == 60u); // every input came back exactly once
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(never_more_than_slots_run_at_once) {
  auto running = std::make_shared<gauge>();
  hatchet::workflow wf{"SlotWorkflow"};
  wf.task("hold", [running](const hatchet::empty_model&, hatchet::context&) {
    running->add(1);
    std::this_thread::sleep_for(50ms);
    running->add(-1);
    return hatchet::empty_model{};
  });
  running_worker w{cfg, "slot-worker", {.slots = 3, .workflows = {wf}}};
  w.ready();
  auto results = run_all("SlotWorkflow", std::vector<std::string>(30, "{}"));
  BOOST_TEST(results.size() == 30u);
  for (const auto& r : results)
    BOOST_TEST(!r.failed());
  BOOST_TEST(running->peak() <= 3);
  BOOST_TEST(running->peak() == 3); // and the slots were really used in parallel
  BOOST_TEST(engine.snapshot().max_running_on_one_worker <= 3u);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(sync_tasks_run_off_the_actor_scheduler) {
  // Six tasks wait for each other. CAF runs at most 2-4 scheduler threads here, so they can all
  // arrive only if each runs on a thread of its own, outside the scheduler.
  constexpr int n = 6;
  auto arrived = std::make_shared<gauge>();
  hatchet::workflow wf{"BarrierWorkflow"};
  wf.task("meet", [arrived](const hatchet::empty_model&, hatchet::context&) {
    arrived->add(1);
    bool all = arrived->wait_at_least(n, 10s);
    return json{{"all_met", all}};
  });
  running_worker w{cfg, "barrier-worker", {.slots = n, .workflows = {wf}}};
  w.ready();
  auto results = run_all("BarrierWorkflow", std::vector<std::string>(n, "{}"));
  for (const auto& r : results)
    BOOST_TEST(json::parse(*only_task(r).output).at("all_met") == true);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(every_task_sees_the_same_state_object_never_copied) {
  shared_model::copies = 0;
  auto tl = std::make_shared<timeline>();
  hatchet::workflow wf{"ModelWorkflow"};
  wf.task("infer", [tl](const hatchet::empty_model&, hatchet::context& ctx) {
    const auto& m = ctx.lifespan<shared_model>();
    std::lock_guard lock{tl->mtx};
    tl->state_addresses.insert(&m);
    return json{{"n", m.weights.size()}};
  });
  auto lifespan = []() -> hatchet::lifespan<shared_model> { co_yield shared_model{1000}; };
  running_worker w{cfg, "model-worker", {.slots = 4, .workflows = {wf}, .lifespan = lifespan}};
  w.ready();
  auto results = run_all("ModelWorkflow", std::vector<std::string>(40, "{}"));
  BOOST_TEST(results.size() == 40u);
  for (const auto& r : results)
    BOOST_TEST(json::parse(*only_task(r).output).at("n") == 1000);
  BOOST_TEST(tl->state_addresses.size() == 1u);
  BOOST_TEST(shared_model::copies.load() == 0);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(cleanup_starts_after_the_last_task_has_finished) {
  auto tl = std::make_shared<timeline>();
  auto started = std::make_shared<gauge>();
  struct pool_state {
    std::shared_ptr<std::atomic<bool>> open;
  };
  hatchet::workflow wf{"DrainWorkflow"};
  wf.task("use_pool", [tl, started](const hatchet::empty_model&, hatchet::context& ctx) {
    const auto& st = ctx.lifespan<pool_state>();
    started->add(1);
    std::this_thread::sleep_for(300ms); // still running when the stop arrives
    bool open = st.open->load();
    std::lock_guard lock{tl->mtx};
    tl->task_ends.push_back(++tl->seq);
    return json{{"pool_open", open}};
  });
  auto lifespan = [tl]() -> hatchet::lifespan<pool_state> {
    auto open = std::make_shared<std::atomic<bool>>(true);
    tl->setup_at = ++tl->seq;
    co_yield hatchet::make_state<pool_state>(open);
    open->store(false);
    tl->cleanup_at = ++tl->seq;
  };
  running_worker w{cfg, "drain-worker", {.slots = 3, .workflows = {wf}, .lifespan = lifespan}};
  w.ready();
  auto a = admin();
  std::vector<hatchet::rpc::trigger_request> reqs(3, {"DrainWorkflow", "{}", {}});
  auto ids = a.bulk_trigger(reqs);
  BOOST_REQUIRE(ids);
  BOOST_REQUIRE(started->wait_at_least(3, 20s));
  std::thread stopper{[&] { BOOST_TEST(!w.stop()); }};
  auto results = wait(*ids);
  stopper.join();
  BOOST_TEST(results.size() == 3u);
  for (const auto& r : results) {
    BOOST_TEST(!r.failed());
    BOOST_TEST(json::parse(*only_task(r).output).at("pool_open") == true);
  }
  BOOST_REQUIRE_EQUAL(tl->task_ends.size(), 3u);
  BOOST_TEST(tl->setup_at > 0);
  for (int end : tl->task_ends) {
    BOOST_TEST(tl->setup_at < end);
    BOOST_TEST(end < tl->cleanup_at);
  }
}

BOOST_AUTO_TEST_CASE(a_stopped_worker_has_released_its_state_when_stop_returns) {
  // A host that embeds workers must get the state (a pool, a model) back when one stops, not
  // when the process ends: nothing of the stopped worker may still hold it.
  struct tracked_state {
    std::shared_ptr<std::atomic<int>> alive;
    explicit tracked_state(std::shared_ptr<std::atomic<int>> a) : alive(std::move(a)) { ++*alive; }
    tracked_state(const tracked_state&) = delete;
    ~tracked_state() { --*alive; }
  };
  auto alive = std::make_shared<std::atomic<int>>(0);
  auto cleaned = std::make_shared<std::atomic<bool>>(false);
  hatchet::workflow wf{"TrackedWorkflow"};
  wf.task("use", [](const hatchet::empty_model&, hatchet::context& ctx) {
    return json{{"alive", ctx.lifespan<tracked_state>().alive->load()}};
  });
  auto lifespan = [alive, cleaned]() -> hatchet::lifespan<tracked_state> {
    co_yield hatchet::make_state<tracked_state>(alive);
    cleaned->store(true);
  };
  running_worker w{cfg, "tracked-worker", {.slots = 3, .workflows = {wf}, .lifespan = lifespan}};
  w.ready();
  auto results = run_all("TrackedWorkflow", std::vector<std::string>(12, "{}"));
  BOOST_REQUIRE_EQUAL(results.size(), 12u);
  for (const auto& r : results)
    BOOST_TEST(json::parse(*only_task(r).output).at("alive") == 1);
  BOOST_TEST(alive->load() == 1);
  BOOST_TEST(!w.stop());
  BOOST_TEST(cleaned->load());
  BOOST_TEST(alive->load() == 0); // the actor system is still up; the state is gone already
}

BOOST_AUTO_TEST_CASE(throwing_task_fails_with_its_message_and_the_worker_keeps_running) {
  running_worker w{cfg, "fail-worker",
                   {.slots = 2,
                    .workflows = {hatchet::apps::fail_workflow(), hatchet::apps::echo_workflow()}}};
  w.ready();
  auto failed = run_all("FailWorkflow", {R"({"message":"disk full"})"});
  BOOST_REQUIRE_EQUAL(failed.size(), 1u);
  const auto& t = only_task(failed[0]);
  BOOST_REQUIRE(t.error.has_value());
  BOOST_TEST(t.error->find("std::runtime_error: disk full") == 0u, *t.error);
  BOOST_TEST(t.error->find("__hatchet_error_metadata__") != std::string::npos);
  auto ok = run_all("EchoWorkflow", {R"({"after":"failure"})"});
  BOOST_TEST(json::parse(*only_task(ok[0]).output).at("after") == "failure");
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(run_workflow_returns_outputs_and_a_failed_run_as_a_result) {
  running_worker w{cfg, "client-run-worker",
                   {.slots = 2,
                    .workflows = {hatchet::apps::fail_workflow(), hatchet::apps::echo_workflow()}}};
  w.ready();
  hatchet::client client{cfg};
  auto ok = client.run_workflow("EchoWorkflow", {{"hello", "world"}}, 30s);
  BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : hatchet::describe(ok.error())));
  BOOST_TEST(!ok->failed());
  BOOST_TEST(!ok->workflow_run_id.empty());
  BOOST_TEST(ok->outputs.at("echo") == json({{"hello", "world"}}));
  auto failed = client.run_workflow("FailWorkflow", {{"message", "disk full"}}, 30s);
  BOOST_REQUIRE_MESSAGE(failed, (failed ? "" : hatchet::describe(failed.error())));
  BOOST_TEST(failed->failed());
  BOOST_TEST(failed->outputs.empty());
  BOOST_TEST(failed->errors.at("fail").find("std::runtime_error: disk full") == 0u);
  // Not a run that failed but one that cannot start: an error value.
  auto unknown = client.run_workflow("NoSuchWorkflow", json::object(), 30s);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(hatchet::describe(unknown.error()).find("unknown_workflow") == 0u,
             hatchet::describe(unknown.error()));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(input_that_does_not_parse_fails_naming_the_task) {
  running_worker w{cfg, "input-worker", {.slots = 1, .workflows = {hatchet::apps::sleep_workflow()}}};
  w.ready();
  auto r = run_all("SleepWorkflow", {R"({"ms":"soon"})"});
  const auto& t = only_task(r[0]);
  BOOST_REQUIRE(t.error.has_value());
  BOOST_TEST(t.error->find("task 'sleep'") != std::string::npos, *t.error);
  BOOST_TEST(t.error->find("type must be number") != std::string::npos, *t.error);
  auto ok = run_all("SleepWorkflow", {R"({"ms":1})"});
  BOOST_TEST(!ok[0].failed());
  BOOST_TEST(!w.stop());
}

namespace {

/// Runs one echo run on a worker with `lifespan`, stops it, and checks the cleanup-failed exit
/// code and that the reason mentions `needle`.
void expect_cleanup_failure(const engine_fixture& f, const std::string& name,
                            hatchet::lifespan_fn lifespan, const std::string& needle) {
  running_worker w{f.cfg, name, {.slots = 1, .workflows = {hatchet::apps::echo_workflow()},
                                 .lifespan = std::move(lifespan)}};
  w.ready();
  auto r = f.run_all("EchoWorkflow", {"{}"});
  BOOST_TEST(!r[0].failed());
  auto reason = w.stop();
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::cleanup_failed);
  BOOST_TEST(hatchet::describe(reason).find(needle) != std::string::npos);
}

} // namespace

BOOST_AUTO_TEST_CASE(cleanup_that_throws_ends_the_worker_with_the_cleanup_code) {
  expect_cleanup_failure(*this, "bad-cleanup", []() -> hatchet::lifespan<int> {
    co_yield 1;
    throw std::runtime_error("close failed");
  }, "close failed");
}

BOOST_AUTO_TEST_CASE(yielding_twice_ends_the_worker_with_the_cleanup_code) {
  expect_cleanup_failure(*this, "twice", []() -> hatchet::lifespan<int> {
    co_yield 1;
    co_yield 2;
  }, "second time");
}

BOOST_AUTO_TEST_CASE(failing_setup_never_registers) {
  auto lifespan = []() -> hatchet::lifespan<int> {
    throw std::runtime_error("model file missing");
    co_yield 1;
  };
  running_worker w{cfg, "no-setup", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()},
                                     .lifespan = lifespan}};
  auto reason = w.wait_down();
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
  BOOST_TEST(hatchet::describe(reason).find("model file missing") != std::string::npos);
  // No worker registered: a triggered run finds nobody to run it.
  auto a = admin();
  BOOST_REQUIRE(!a.put_workflow(hatchet::apps::echo_workflow()).code);
  auto id = a.trigger({"EchoWorkflow", "{}", {}});
  BOOST_REQUIRE(id);
  auto err = a.wait_for_runs({*id}, [](const auto&) {}, 1500ms);
  BOOST_TEST(static_cast<bool>(err)); // still queued: nothing picked it up
  BOOST_TEST(engine.snapshot().assigned == 0u);
}

BOOST_AUTO_TEST_CASE(wrong_token_is_a_startup_failure_with_a_clear_reason) {
  // Signed with another key, and signed right but for another tenant: the engine refuses both.
  hatchet::engine::engine_options other_key;
  other_key.secret = hatchet::engine::random_secret();
  hatchet::engine::engine_options other_tenant = engine.options();
  other_tenant.tenant_id = "11111111-2222-4333-8444-555555555555";
  for (const auto& opts : {other_key, other_tenant}) {
    auto bad = cfg;
    bad.token = hatchet::engine::mint_token(opts, engine.address());
    bad.tenant_id = opts.tenant_id;
    running_worker w{bad, "bad-token", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()}}};
    auto reason = w.wait_down();
    BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
    BOOST_TEST(hatchet::describe(reason).find("UNAUTHENTICATED") != std::string::npos,
               hatchet::describe(reason));
  }
}

BOOST_AUTO_TEST_CASE(engine_cancel_reaches_the_task_and_nothing_is_reported) {
  auto started = std::make_shared<gauge>();
  auto callback_ran = std::make_shared<gauge>();
  auto saw_cancelled = std::make_shared<std::atomic<bool>>(false);
  hatchet::workflow wf{"CancelWorkflow"};
  wf.task("wait", [=](const hatchet::empty_model&, hatchet::context& ctx) {
    ctx.on_cancel([callback_ran] { callback_ran->add(1); });
    started->add(1);
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock{m};
    cv.wait_for(lock, ctx.stop_token(), 20s, [] { return false; });
    saw_cancelled->store(ctx.cancelled());
    return json{{"finished", true}};
  });
  running_worker w{cfg, "cancel-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  auto a = admin();
  auto id = a.trigger({"CancelWorkflow", "{}", {}});
  BOOST_REQUIRE(id);
  BOOST_REQUIRE(started->wait_at_least(1, 10s));
  auto cancelled = a.cancel({*id});
  BOOST_REQUIRE(cancelled);
  BOOST_TEST(!cancelled->empty());
  auto results = wait({*id});
  BOOST_REQUIRE(callback_ran->wait_at_least(1, 10s));
  BOOST_REQUIRE(results.size() == 1u);
  BOOST_TEST(results[0].failed()); // the run ends with the cancellation, not an output
  // The task saw the cancellation and returned; the worker sent no COMPLETED for it.
  auto stopped = w.stop();
  BOOST_TEST(!stopped);
  BOOST_TEST(saw_cancelled->load());
  BOOST_TEST(engine.snapshot().completed == 0u);
  BOOST_TEST(engine.snapshot().cancelled == 1u);
}

// Task actors are spawned when runs need them: start-up used to grow with the square of the slot
// count (100,000 slots: 22 s), and a stop during it waited for all of them. The bounds are loose
// on purpose; the point is "not proportional to slots squared".
BOOST_AUTO_TEST_CASE(a_hundred_thousand_slots_start_and_stop_promptly) {
  running_worker w{cfg, "many-slots", {.slots = 100'000, .workflows = {hatchet::apps::echo_workflow()}}};
  auto t0 = std::chrono::steady_clock::now();
  w.ready();
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
  auto a = admin();
  auto ids = a.bulk_trigger({{"EchoWorkflow", R"({"x":1})", {}}, {"EchoWorkflow", R"({"x":2})", {}}});
  BOOST_REQUIRE(ids);
  for (const auto& r : wait(*ids))
    BOOST_TEST(!r.failed());
  auto t1 = std::chrono::steady_clock::now();
  BOOST_TEST(!w.stop());
  BOOST_TEST((std::chrono::steady_clock::now() - t1 < 5s));
}

BOOST_AUTO_TEST_CASE(more_slots_than_the_documented_maximum_are_refused_saying_so) {
  hatchet::worker w{cfg, "too-many", {.slots = hatchet::max_slots + 1,
                                      .workflows = {hatchet::apps::echo_workflow()}}};
  caf::actor_system_config c;
  hatchet::configure(c);
  caf::actor_system sys{c};
  auto sup = w.spawn(sys);
  BOOST_REQUIRE(!sup);
  BOOST_TEST(hatchet::describe(sup.error()).find("slots must be between 1 and 1000000")
               != std::string::npos,
             hatchet::describe(sup.error()));
}

// A good guest: configure() keeps the host's settings, and two workers with their own lifespans
// share one actor system; stopping one leaves the other serving.
BOOST_AUTO_TEST_CASE(two_workers_share_a_host_system_and_stopping_one_leaves_the_other_serving) {
  caf::actor_system_config c;
  c.set("scheduler.max-threads", size_t{3});
  c.set("logger.verbosity", caf::atom("trace"));
  hatchet::configure(c);
  BOOST_TEST(caf::get_or(c, "scheduler.max-threads", size_t{0}) == 3u);
  BOOST_TEST((caf::get_or(c, "logger.verbosity", caf::atom("none")) == caf::atom("trace")));
  c.set("logger.verbosity", caf::atom("quiet")); // the host's choice, for this test's output
  caf::actor_system sys{c};
  struct tenant {
    std::string name;
    std::shared_ptr<gauge> cleanups = std::make_shared<gauge>();
  };
  tenant a{"guest-a"}, b{"guest-b"};
  auto spawn = [&](tenant& t, const char* wf_name) {
    hatchet::workflow wf{wf_name};
    wf.task("who", [name = t.name](const hatchet::empty_model&, hatchet::context& ctx) {
      return json{{"worker", name}, {"state", ctx.lifespan<std::string>()}};
    });
    auto lifespan = [name = t.name, cleanups = t.cleanups]() -> hatchet::lifespan<std::string> {
      co_yield std::string{name + "-state"};
      cleanups->add(1);
    };
    auto sup = hatchet::worker{cfg, t.name, {.slots = 2, .workflows = {wf}, .lifespan = lifespan}}
                 .spawn(sys);
    BOOST_REQUIRE(sup);
    BOOST_REQUIRE(hatchet::await_ready(sys, *sup, 20s));
    return *sup;
  };
  auto sup_a = spawn(a, "GuestA");
  auto sup_b = spawn(b, "GuestB");
  caf::scoped_actor self{sys};
  self->monitor(sup_a);
  caf::anon_send_exit(sup_a, caf::exit_reason::user_shutdown);
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  BOOST_TEST(!reason);
  BOOST_TEST(a.cleanups->peak() == 1);
  BOOST_TEST(b.cleanups->peak() == 0); // b's lifespan is untouched
  auto adm = admin();
  auto ids = adm.bulk_trigger({{"GuestB", "{}", {}}, {"GuestB", "{}", {}}});
  BOOST_REQUIRE(ids);
  for (const auto& r : wait(*ids)) {
    BOOST_REQUIRE(!r.failed());
    auto out = json::parse(*r.tasks.at(0).output);
    BOOST_TEST(out.at("worker") == "guest-b");
    BOOST_TEST(out.at("state") == "guest-b-state");
  }
  self->monitor(sup_b);
  caf::anon_send_exit(sup_b, caf::exit_reason::user_shutdown);
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  BOOST_TEST(!reason);
  BOOST_TEST(b.cleanups->peak() == 1);
}

BOOST_AUTO_TEST_CASE(status_is_ready_once_registered_and_stopping_after_a_stop) {
  running_worker w{cfg, "status-worker", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  // Ready needs a successful heartbeat on the open stream; the first one goes out at once.
  BOOST_TEST(w.wait_status("ready", 1s), w.status());
  BOOST_TEST(!w.stop());
}


// -- start(): a worker in the background, no CAF in the program ---------------------------------

BOOST_AUTO_TEST_CASE(start_returns_once_registered_so_a_run_triggered_at_once_is_served) {
  auto cleanups = std::make_shared<std::atomic<int>>(0);
  auto lifespan = [cleanups]() -> hatchet::lifespan<int> {
    co_yield 1;
    ++*cleanups;
  };
  hatchet::worker w{cfg, "started", {.slots = 2, .workflows = {hatchet::apps::echo_workflow()},
                                     .lifespan = lifespan}};
  auto started = w.start(10s);
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(started),
                        (started ? std::string{} : hatchet::describe(started.error())));
  BOOST_TEST(!started->id().empty());
  hatchet::client client{cfg};
  auto out = client.run("EchoWorkflow", json{{"at", "once"}});
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(out),
                        (out ? std::string{} : hatchet::describe(out.error())));
  BOOST_TEST(*out == json({{"at", "once"}}));
  BOOST_TEST(started->stop() == 0);
  BOOST_TEST(started->stop() == 0); // a second stop answers the same at once
  BOOST_TEST(cleanups->load() == 1);
  BOOST_TEST(!started->must_exit_at_once());
}

BOOST_AUTO_TEST_CASE(start_says_why_the_worker_could_not_start_and_leaves_nothing_running) {
  auto failing = []() -> hatchet::lifespan<int> {
    throw std::runtime_error("no model file");
    co_yield 1;
  };
  hatchet::worker w{cfg, "start-fails", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()},
                                         .lifespan = failing}};
  auto started = w.start(10s);
  BOOST_REQUIRE(!started);
  BOOST_TEST(hatchet::describe(started.error()).find("no model file") != std::string::npos,
             hatchet::describe(started.error()));
  hatchet::worker bad{cfg, "bad options", {.slots = 0}};
  auto refused = bad.start(1s);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code() == static_cast<uint8_t>(hatchet::errc::invalid_config));
}

BOOST_AUTO_TEST_CASE(a_started_worker_going_out_of_scope_is_stopped_in_order) {
  auto cleanups = std::make_shared<std::atomic<int>>(0);
  auto lifespan = [cleanups]() -> hatchet::lifespan<int> {
    co_yield 1;
    ++*cleanups;
  };
  {
    auto started = hatchet::worker{cfg, "scoped", {.slots = 1,
                                                   .workflows = {hatchet::apps::echo_workflow()},
                                                   .lifespan = lifespan}}
                     .start(10s);
    BOOST_REQUIRE(static_cast<bool>(started));
    BOOST_TEST(cleanups->load() == 0);
  }
  BOOST_TEST(cleanups->load() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
