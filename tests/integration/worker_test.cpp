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

namespace {

/// Two runs of a synchronous task that ignores its cancellation and sleeps `task_time`, on a
/// worker with a short drain; counts the task code inside, and what the cleanup saw.
struct stubborn_tasks {
  std::shared_ptr<gauge> inside = std::make_shared<gauge>();
  std::shared_ptr<gauge> cleanups = std::make_shared<gauge>();
  std::shared_ptr<std::atomic<int>> inside_at_cleanup = std::make_shared<std::atomic<int>>(-1);

  hatchet::worker_options options(std::chrono::milliseconds task_time,
                                  std::chrono::milliseconds cleanup_timeout) const {
    hatchet::workflow wf{"StuckWorkflow"};
    wf.task("stuck", [inside = inside, task_time](const hatchet::empty_model&,
                                                  hatchet::context&) {
      inside->add(1);
      std::this_thread::sleep_for(task_time); // ignores cancellation
      inside->add(-1);
      return json{{"late", true}};
    });
    auto lifespan = [inside = inside, cleanups = cleanups,
                     seen = inside_at_cleanup]() -> hatchet::lifespan<int> {
      co_yield 1;
      seen->store(inside->value());
      cleanups->add(1);
    };
    return {.slots = 2, .workflows = {wf}, .lifespan = lifespan, .drain_timeout = 300ms,
            .cancel_grace = 200ms, .cleanup_timeout = cleanup_timeout};
  }
  /// Waits for the worker, starts two runs and waits until both are inside the task.
  std::vector<std::string> start_two(running_worker& w, hatchet::rpc::admin_client a) const {
    w.ready();
    auto ids = a.bulk_trigger({{"StuckWorkflow", "{}", {}}, {"StuckWorkflow", "{}", {}}});
    BOOST_REQUIRE(ids);
    BOOST_REQUIRE(inside->wait_at_least(2, 10s));
    return *ids;
  }
};

} // namespace

// hatchet-dev/hatchet #3166: the task actors are gone after drain_timeout + cancel_grace, but a
// synchronous task that ignores its cancellation is still running its code on a task thread.
// The stop's phases and their timers are walked on virtual time in tests/actors; this proves the
// wiring with real task threads, the real engine and its REST pause.
BOOST_AUTO_TEST_CASE(cleanup_waits_for_a_task_that_ignores_cancellation) {
  stubborn_tasks s;
  running_worker w{cfg, "stuck-worker", s.options(1500ms, 30s)};
  auto ids = s.start_two(w, admin());
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::drain_timed_out,
             hatchet::describe(reason));
  BOOST_TEST(s.cleanups->peak() == 1);
  BOOST_TEST(s.inside_at_cleanup->load() == 0); // no task code was running when cleanup began
  BOOST_TEST(took < 10s);
  for (const auto& r : wait(ids)) { // reported FAILED at the grace's end, so the engine retries
    BOOST_REQUIRE(r.failed());
    BOOST_TEST(r.tasks[0].error->find("worker shut down") != std::string::npos, *r.tasks[0].error);
  }
}

BOOST_AUTO_TEST_CASE(cleanup_is_skipped_when_task_code_outlives_cleanup_timeout) {
  stubborn_tasks s;
  running_worker w{cfg, "stuck-worker", s.options(2s, 300ms)};
  s.start_two(w, admin());
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::cleanup_skipped,
             hatchet::describe(reason));
  BOOST_TEST(hatchet::describe(reason).find("2 task(s) still inside user code")
               != std::string::npos,
             hatchet::describe(reason));
  BOOST_TEST(s.cleanups->peak() == 0); // skipped: never run under the live tasks
  BOOST_TEST(took < 1800ms);           // drain + grace + flush + cleanup_timeout, not the 2 s
  BOOST_TEST(s.inside->wait_at_most(0, 10s)); // the tasks end in their own time
}

// -- sizes ----------------------------------------------------------------------------------------

// An input just under the engine's 4 MiB receive limit makes a START just over its send limit.
// That run must fail with a message naming the limit, and must not break the stream every other
// run uses (it used to, for ever).
BOOST_AUTO_TEST_CASE(a_start_over_the_engines_message_limit_fails_its_run_and_others_keep_flowing) {
  running_worker w{cfg, "size-worker", {.slots = 10, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto a = admin();
  std::vector<hatchet::rpc::trigger_request> reqs;
  for (int i = 0; i < 100; ++i)
    reqs.push_back({"EchoWorkflow", json{{"i", i}}.dump(), {}});
  auto big_input = json{{"blob", std::string(4'194'000 - 11, 'x')}}.dump();
  BOOST_REQUIRE(big_input.size() == 4'194'000u);
  auto big = a.trigger({"EchoWorkflow", big_input, {}});
  BOOST_REQUIRE_MESSAGE(big, (big ? std::string{} : hatchet::describe(big.error())));
  auto ids = a.bulk_trigger(reqs);
  BOOST_REQUIRE(ids);
  auto t0 = std::chrono::steady_clock::now();
  auto big_result = wait({*big}, 30s);
  BOOST_REQUIRE(big_result.at(0).failed());
  auto error = *big_result[0].tasks.at(0).error;
  BOOST_TEST(error.find("Could not send task to worker") != std::string::npos, error);
  BOOST_TEST(error.find("4194304-byte gRPC message limit") != std::string::npos, error);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 10s));
  auto results = wait(*ids, 30s);
  BOOST_TEST(results.size() == 100u);
  for (const auto& r : results)
    BOOST_TEST(!r.failed());
  BOOST_TEST(engine.snapshot().undeliverable == 1u);
}

// 500 runs of a 10 KB input are 5 MB: one BulkTriggerWorkflow would be over the 4 MiB limit.
BOOST_AUTO_TEST_CASE(a_bulk_trigger_is_split_by_bytes_as_well_as_by_count) {
  running_worker w{cfg, "bulk-bytes", {.slots = 50, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto a = admin();
  std::vector<hatchet::rpc::trigger_request> reqs;
  for (int i = 0; i < 500; ++i)
    reqs.push_back({"EchoWorkflow", json{{"i", i}, {"pad", std::string(10'000, 'p')}}.dump(), {}});
  auto ids = a.bulk_trigger(reqs);
  BOOST_REQUIRE_MESSAGE(ids, (ids ? std::string{} : hatchet::describe(ids.error())));
  BOOST_TEST(ids->size() == 500u);
  auto results = wait(*ids, 60s);
  BOOST_TEST(results.size() == 500u);
  for (const auto& r : results)
    BOOST_TEST(!r.failed());
}

BOOST_AUTO_TEST_CASE(an_output_over_the_send_limit_fails_at_once_saying_what_to_raise) {
  hatchet::workflow wf{"BigOutputWorkflow"};
  wf.task("big", [](const hatchet::empty_model&, hatchet::context&) {
    return json{{"blob", std::string(5'000'000, 'x')}};
  });
  wf.task("loud", [](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error(std::string(5'000'000, 'e'));
  });
  // Two-byte characters, at both parities: one of the two cuts falls inside a character unless
  // the truncation steps back (a string an engine refuses as invalid UTF-8, for ever).
  auto accents = [](size_t lead) {
    std::string text(lead, 'x');
    for (int i = 0; i < 2'500'000; ++i) // 5 MB: over the send limit, so it is cut
      text += "\xC3\xA9"; // U+00E9
    return text;
  };
  wf.task("accents_even", [accents](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error(accents(0));
  });
  wf.task("accents_odd", [accents](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error(accents(1));
  });
  running_worker w{cfg, "big-output", {.slots = 4, .workflows = {wf}}};
  w.ready();
  auto a = admin();
  auto id = a.trigger({"BigOutputWorkflow", "{}", {}});
  BOOST_REQUIRE(id);
  auto t0 = std::chrono::steady_clock::now();
  auto r = wait({*id}, 30s).at(0);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 10s)); // not the 60 s execution timeout
  BOOST_REQUIRE(r.failed());
  for (const auto& t : r.tasks) {
    BOOST_REQUIRE(t.error);
    if (t.task_name == "big") {
      BOOST_TEST(t.error->find("output_too_large") != std::string::npos, *t.error);
      BOOST_TEST(t.error->find("HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH") != std::string::npos);
      BOOST_TEST(t.error->find("5000011 bytes") != std::string::npos, *t.error);
    } else {
      BOOST_TEST(t.error->find("[truncated: the error text had") != std::string::npos);
      BOOST_TEST(t.error->size() < 20'000u);
    }
  }
  BOOST_TEST(!w.stop()); // nothing left in the outbox to wait for
}

// -- pausing during a stop -----------------------------------------------------------------------

namespace {

/// A TCP port on 127.0.0.1 that accepts connections (the kernel does) and never answers.
class silent_port {
public:
  silent_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~silent_port() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

} // namespace

BOOST_AUTO_TEST_CASE(the_stop_pauses_the_worker_on_the_engine_before_it_closes_the_stream) {
  auto release = std::make_shared<std::promise<void>>();
  auto inside = std::make_shared<gauge>();
  hatchet::workflow wf{"HeldWorkflow"};
  wf.task("held", [inside, gate = release->get_future().share()](const hatchet::empty_model&,
                                                                 hatchet::context&) {
    inside->add(1);
    gate.wait();
    return json{{"done", true}};
  });
  running_worker w{cfg, "pausing-worker", {.slots = 1, .workflows = {wf}}};
  auto id = w.ready();
  auto a = admin();
  auto run = a.trigger({"HeldWorkflow", "{}", {}});
  BOOST_REQUIRE(run);
  BOOST_REQUIRE(inside->wait_at_least(1, 10s));
  std::promise<caf::error> stopped;
  std::thread stopper{[&] { stopped.set_value(w.stop()); }};
  // While the run goes on, the engine has the worker paused, with its heartbeats accepted
  // ("PAUSED", not "INACTIVE") and its stream still open. (The pause has no event to wait on.)
  std::optional<hatchet::engine::dev_engine::worker_info> seen;
  for (int i = 0; i < 500; ++i) {
    seen = engine.worker(id);
    if (seen && seen->paused)
      break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->paused);
  BOOST_TEST(seen->stream_active);
  BOOST_TEST(seen->status == "PAUSED");
  release->set_value();
  stopper.join();
  BOOST_TEST(!stopped.get_future().get());
  auto results = wait({*run});
  BOOST_TEST(!results.at(0).failed());
}

BOOST_AUTO_TEST_CASE(a_pause_call_that_never_answers_does_not_hold_the_stop_past_drain_timeout) {
  silent_port api;
  auto c = cfg;
  c.server_url = api.url();
  running_worker w{c, "silent-api", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()},
                                     .drain_timeout = 300ms}};
  w.ready();
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(!reason, hatchet::describe(reason));
  BOOST_TEST(took < 3s); // not the REST call's 5 s timeouts
}

BOOST_AUTO_TEST_CASE(a_failed_pause_is_logged_and_the_stop_goes_on) {
  auto c = cfg;
  c.server_url = "http://127.0.0.1:1"; // nothing listens there
  running_worker w{c, "no-api", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto a = admin();
  auto ids = a.bulk_trigger({{"EchoWorkflow", R"({"x":1})", {}}});
  BOOST_REQUIRE(ids);
  BOOST_TEST(!wait(*ids).at(0).failed());
  BOOST_TEST(!w.stop());
}

// -- co_task tasks ------------------------------------------------------------------------------

namespace {

/// Threads of this process, from /proc.
int thread_count() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

struct pair_out {
  int first = 0;
  int second = 0;
  static inline std::atomic<int> alive{0};
  pair_out() { ++alive; }
  pair_out(int a, int b) : first(a), second(b) { ++alive; }
  pair_out(const pair_out& o) : first(o.first), second(o.second) { ++alive; }
  pair_out(pair_out&& o) noexcept : first(o.first), second(o.second) { ++alive; }
  ~pair_out() { --alive; }
};
void to_json(json& j, const pair_out& p) { j = json{{"first", p.first}, {"second", p.second}}; }

hatchet::co_task<int> add_later(hatchet::context& ctx, int a, int b) {
  co_await ctx.sleep_for(1ms);
  co_return a + b;
}

} // namespace

BOOST_AUTO_TEST_CASE(sleeping_co_tasks_hold_no_thread) {
  constexpr int n = 200;
  auto asleep = std::make_shared<gauge>();
  hatchet::workflow wf{"NapWorkflow"};
  wf.task("nap", [asleep](const hatchet::empty_model&,
                          hatchet::context& ctx) -> hatchet::co_task<json> {
    asleep->add(1);
    bool full = co_await ctx.sleep_for(1500ms);
    co_return json{{"slept", full}};
  });
  running_worker w{cfg, "nap-worker", {.slots = n, .workflows = {wf}}};
  w.ready();
  int before = thread_count();
  auto a = admin();
  auto ids = a.bulk_trigger(std::vector<hatchet::rpc::trigger_request>(n, {"NapWorkflow", "{}", {}}));
  BOOST_REQUIRE(ids);
  BOOST_REQUIRE(asleep->wait_at_least(n, 20s));
  int during = thread_count();
  // A synchronous sleep would hold one thread per run: 200 more. gRPC may add a few of its own.
  BOOST_TEST(during - before < 20, "threads before " << before << ", with all asleep " << during);
  auto results = wait(*ids);
  BOOST_REQUIRE_EQUAL(results.size(), size_t{n});
  for (const auto& r : results)
    BOOST_TEST(json::parse(*only_task(r).output).at("slept") == true);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_cancel_wakes_a_sleeping_co_task_at_once_and_nothing_is_reported) {
  auto asleep = std::make_shared<gauge>();
  auto woke = std::make_shared<std::promise<bool>>();
  hatchet::workflow wf{"LongNapWorkflow"};
  wf.task("nap", [asleep, woke](const hatchet::empty_model&,
                                hatchet::context& ctx) -> hatchet::co_task<json> {
    asleep->add(1);
    bool full = co_await ctx.sleep_for(60s);
    woke->set_value(full);
    co_return json{{"slept", full}};
  });
  running_worker w{cfg, "longnap-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  auto a = admin();
  auto id = a.trigger({"LongNapWorkflow", "{}", {}});
  BOOST_REQUIRE(id);
  BOOST_REQUIRE(asleep->wait_at_least(1, 10s));
  BOOST_REQUIRE(a.cancel({*id}));
  auto woke_future = woke->get_future();
  BOOST_REQUIRE(woke_future.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(woke_future.get() == false); // sleep_for says it was cut short
  auto results = wait({*id});
  BOOST_REQUIRE_EQUAL(results.size(), 1u);
  BOOST_TEST(results[0].failed());
  BOOST_TEST(!w.stop());
  BOOST_TEST(engine.snapshot().completed == 0u);
  BOOST_TEST(engine.snapshot().cancelled == 1u);
}

BOOST_AUTO_TEST_CASE(co_tasks_await_blocking_work_nested_co_tasks_and_report_exceptions) {
  pair_out::alive = 0;
  hatchet::workflow compute{"CoComputeWorkflow"};
  compute.task("compute", [](const hatchet::empty_model&,
                             hatchet::context& ctx) -> hatchet::co_task<pair_out> {
    auto caller = std::this_thread::get_id();
    bool elsewhere = co_await ctx.run_blocking([caller] {
      return std::this_thread::get_id() != caller; // a task thread, not the actor's
    });
    int sum = co_await add_later(ctx, 20, 22);
    co_return pair_out{elsewhere ? 1 : 0, sum};
  });
  hatchet::workflow throws{"CoThrowWorkflow"};
  throws.task("throws_in_blocking", [](const hatchet::empty_model&,
                                       hatchet::context& ctx) -> hatchet::co_task<void> {
    co_await ctx.run_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
  });
  hatchet::workflow misuse{"CoMisuseWorkflow"};
  misuse.task("sync_sleep_for", [](const hatchet::empty_model&, hatchet::context& ctx) {
    (void)ctx.sleep_for(1ms); // not a co_task: a clear error, not a hang
    return json::object();
  });
  running_worker w{cfg, "co-worker", {.slots = 4, .workflows = {compute, throws, misuse}}};
  w.ready();
  for (const auto& r : run_all("CoComputeWorkflow", std::vector<std::string>(10, "{}"))) {
    BOOST_REQUIRE(!r.failed());
    BOOST_TEST(json::parse(*only_task(r).output) == (json{{"first", 1}, {"second", 42}}));
  }
  BOOST_TEST(pair_out::alive.load() == 0); // every output object built was destroyed once
  auto thrown = run_all("CoThrowWorkflow", {"{}"});
  BOOST_REQUIRE_EQUAL(thrown.size(), 1u);
  BOOST_REQUIRE(only_task(thrown[0]).error);
  BOOST_TEST(only_task(thrown[0]).error->find("std::runtime_error: disk on fire") == 0u,
             *only_task(thrown[0]).error);
  auto misused = run_all("CoMisuseWorkflow", {"{}"});
  BOOST_REQUIRE_EQUAL(misused.size(), 1u);
  BOOST_REQUIRE(only_task(misused[0]).error);
  BOOST_TEST(only_task(misused[0]).error->find("ctx.sleep_for() is for co_task tasks")
               != std::string::npos,
             *only_task(misused[0]).error);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_run_blocking_job_keeps_its_co_task_alive_past_a_shutdown) {
  // A job may read the coroutine's locals (`[&]`); a shutdown that gives up on the run must not
  // destroy them while the job runs. The guard below lives in the coroutine's frame and says when
  // it is destroyed, through a flag the job reads without touching the frame.
  auto in_job = std::make_shared<gauge>();
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  auto frame_destroyed = std::make_shared<std::atomic<bool>>(false);
  auto destroyed_before_job_end = std::make_shared<std::promise<bool>>();
  struct guard {
    std::shared_ptr<std::atomic<bool>> destroyed;
    ~guard() { destroyed->store(true); }
  };
  hatchet::workflow wf{"HoldWorkflow"};
  wf.task("hold", [=](const hatchet::empty_model&,
                      hatchet::context& ctx) -> hatchet::co_task<void> {
    guard g{frame_destroyed};
    auto job = [in_job, released, frame_destroyed, destroyed_before_job_end] {
      in_job->add(1);
      released.wait();
      destroyed_before_job_end->set_value(frame_destroyed->load());
    };
    co_await ctx.run_blocking(job);
  });
  running_worker w{cfg, "hold-worker",
                   {.slots = 1,
                    .workflows = {wf},
                    .drain_timeout = std::chrono::milliseconds{200},
                    .cancel_grace = std::chrono::milliseconds{100}}};
  w.ready();
  auto a = admin();
  BOOST_REQUIRE(a.trigger({"HoldWorkflow", "{}", {}}));
  BOOST_REQUIRE(in_job->wait_at_least(1, 10s));
  auto reason = w.stop();
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::drain_timed_out);
  BOOST_TEST(!frame_destroyed->load()); // the worker is down; the job still holds the run
  release->set_value();
  auto before = destroyed_before_job_end->get_future();
  BOOST_REQUIRE(before.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(!before.get());
  // Once the job has ended, the run goes: nothing leaks.
  for (int i = 0; i < 500 && !frame_destroyed->load(); ++i)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(frame_destroyed->load());
}

BOOST_AUTO_TEST_SUITE_END()
