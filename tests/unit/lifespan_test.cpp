#define BOOST_TEST_MODULE lifespan
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/all.hpp>

#include <hatchet/hatchet.hpp>

#include "actors/supervisor.hpp"
#include "actors/worker_spec.hpp"

namespace {

/// Counts copies and destructions, to prove the state is moved once and never copied.
struct counted {
  static inline std::atomic<int> copies{0};
  static inline std::atomic<int> alive{0};
  std::string value;
  explicit counted(std::string v) : value(std::move(v)) { ++alive; }
  counted(const counted& o) : value(o.value) {
    ++copies;
    ++alive;
  }
  counted(counted&& o) noexcept : value(std::move(o.value)) { ++alive; }
  ~counted() { --alive; }
};

/// Records which parts of a lifespan ran.
struct trace {
  bool setup = false;
  bool cleanup = false;
  bool after_second_yield = false;
  bool local_destroyed = false;
};

struct on_destroy {
  bool* flag;
  ~on_destroy() { *flag = true; }
};

hatchet::lifespan<counted> good(trace* t) {
  t->setup = true;
  co_yield counted{"bar"};
  t->cleanup = true;
}

hatchet::lifespan<counted> throws_in_setup(trace* t) {
  on_destroy guard{&t->local_destroyed};
  throw std::runtime_error("database is down");
  co_yield counted{"never"};
}

hatchet::lifespan<counted> never_yields(trace* t) {
  t->setup = true;
  co_return;
}

hatchet::lifespan<counted> yields_twice(trace* t) {
  on_destroy guard{&t->local_destroyed};
  co_yield counted{"first"};
  t->cleanup = true;
  co_yield counted{"second"};
  t->after_second_yield = true;
}

hatchet::lifespan<counted> throws_in_cleanup(trace* t) {
  co_yield counted{"bar"};
  t->cleanup = true;
  throw std::runtime_error("could not close the pool");
}

/// An aggregate with members that own memory: the shape GCC 12 miscompiles in `co_yield T{...}`.
struct pool_like {
  std::string name;
  std::shared_ptr<std::vector<int>> pool;
  counted tag;
};

hatchet::lifespan<pool_like> aggregate_state(std::shared_ptr<std::vector<int>> pool) {
  co_yield hatchet::make_state<pool_like>("a name long enough to live on the heap", pool,
                                          counted{"tag"});
  pool->clear();
}

/// A context borrowing `state`, as a run's does: the caller keeps the state alive.
hatchet::context make_context(const hatchet::detail::lifespan_state_ptr& state) {
  return hatchet::context{hatchet::detail::run_info{}, state.get(), std::stop_token{}};
}

} // namespace

BOOST_AUTO_TEST_CASE(setup_runs_to_the_yield_and_cleanup_runs_the_rest_once) {
  trace t;
  hatchet::lifespan_fn fn = [&] { return good(&t); };
  auto driver = fn.make();
  BOOST_TEST(!t.setup); // created suspended: nothing runs before setup()
  auto state = driver->setup();
  BOOST_TEST(t.setup);
  BOOST_TEST(!t.cleanup);
  driver->cleanup();
  BOOST_TEST(t.cleanup);
  t.cleanup = false;
  driver->cleanup(); // a second call is a no-op
  BOOST_TEST(!t.cleanup);
}

BOOST_AUTO_TEST_CASE(yielded_state_is_moved_once_and_never_copied) {
  counted::copies = 0;
  trace t;
  hatchet::lifespan_fn fn = [&] { return good(&t); };
  auto driver = fn.make();
  auto state = driver->setup();
  auto ctx1 = make_context(state);
  auto ctx2 = make_context(state);
  const counted& a = ctx1.lifespan<counted>();
  const counted& b = ctx2.lifespan<counted>();
  BOOST_TEST(&a == &b);
  BOOST_TEST(a.value == "bar");
  BOOST_TEST(counted::copies.load() == 0);
  driver->cleanup();
}

BOOST_AUTO_TEST_CASE(make_state_builds_an_aggregate_in_place_without_copies) {
  counted::copies = 0;
  auto pool = std::make_shared<std::vector<int>>(1000, 7);
  hatchet::lifespan_fn fn = [pool] { return aggregate_state(pool); };
  auto driver = fn.make();
  auto state = driver->setup();
  const auto& s = make_context(state).lifespan<pool_like>();
  BOOST_TEST(s.name == "a name long enough to live on the heap");
  BOOST_TEST(s.pool == pool);
  BOOST_TEST(s.tag.value == "tag");
  BOOST_TEST(counted::copies.load() == 0);
  state.reset(); // the worker may drop its reference before the cleanup runs
  driver->cleanup();
  driver.reset();
  BOOST_TEST(pool->empty()); // the cleanup ran with the captured pool
  BOOST_TEST(pool.use_count() == 2); // ours and the lambda's copy; the state released its own
}

BOOST_AUTO_TEST_CASE(lifespan_state_is_reachable_only_as_const) {
  using result = decltype(std::declval<hatchet::context&>().lifespan<counted>());
  static_assert(std::is_same_v<result, const counted&>);
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(asking_for_another_type_names_both_types) {
  trace t;
  hatchet::lifespan_fn fn = [&] { return good(&t); };
  auto driver = fn.make();
  auto state = driver->setup();
  auto ctx = make_context(state);
  try {
    (void) ctx.lifespan<std::string>();
    BOOST_FAIL("expected lifespan_type_error");
  } catch (const hatchet::lifespan_type_error& e) {
    std::string what = e.what();
    BOOST_TEST_INFO("message: " << what);
    BOOST_TEST(what.find("std::__cxx11::basic_string") != std::string::npos);
    BOOST_TEST(what.find("counted") != std::string::npos);
  }
  driver->cleanup();
}

BOOST_AUTO_TEST_CASE(asking_a_worker_without_lifespan_is_a_clear_error) {
  auto ctx = make_context(nullptr);
  BOOST_CHECK_EXCEPTION((void) ctx.lifespan<counted>(), hatchet::lifespan_type_error,
                        [](const auto& e) {
                          return std::string{e.what()}.find("no lifespan") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(setup_that_throws_propagates_and_releases_its_locals) {
  trace t;
  hatchet::lifespan_fn fn = [&] { return throws_in_setup(&t); };
  auto driver = fn.make();
  BOOST_CHECK_EXCEPTION(driver->setup(), std::runtime_error, [](const auto& e) {
    return std::string{e.what()} == "database is down";
  });
  BOOST_TEST(t.local_destroyed);
}

BOOST_AUTO_TEST_CASE(lifespan_that_never_yields_is_a_setup_error) {
  trace t;
  hatchet::lifespan_fn fn = [&] { return never_yields(&t); };
  auto driver = fn.make();
  BOOST_CHECK_EXCEPTION(driver->setup(), hatchet::lifespan_error, [](const auto& e) {
    return std::string{e.what()}.find("without co_yield") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(second_yield_is_reported_at_cleanup_and_the_frame_is_destroyed) {
  trace t;
  hatchet::lifespan_fn fn = [&] { return yields_twice(&t); };
  auto driver = fn.make();
  auto state = driver->setup();
  BOOST_TEST(make_context(state).lifespan<counted>().value == "first");
  BOOST_CHECK_EXCEPTION(driver->cleanup(), hatchet::lifespan_error, [](const auto& e) {
    return std::string{e.what()}.find("second time") != std::string::npos;
  });
  BOOST_TEST(t.cleanup);
  BOOST_TEST(!t.after_second_yield);
  BOOST_TEST(t.local_destroyed);
  // The first state stays valid for whoever still holds it.
  BOOST_TEST(make_context(state).lifespan<counted>().value == "first");
}

BOOST_AUTO_TEST_CASE(cleanup_that_throws_propagates) {
  trace t;
  hatchet::lifespan_fn fn = [&] { return throws_in_cleanup(&t); };
  auto driver = fn.make();
  auto state = driver->setup();
  BOOST_CHECK_EXCEPTION(driver->cleanup(), std::runtime_error, [](const auto& e) {
    return std::string{e.what()} == "could not close the pool";
  });
  BOOST_TEST(t.cleanup);
}

// -- the same failure modes through the worker: exit reasons and exit codes ---------------------

namespace {

hatchet::config unreachable_config() {
  // A well-formed token for a port nobody listens on: a failing setup must never get that far.
  hatchet::config cfg;
  cfg.token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0In0.x";
  cfg.tenant_id = "t";
  cfg.host_port = "127.0.0.1:1";
  cfg.tls = hatchet::tls_strategy::none;
  return cfg;
}

hatchet::workflow noop_workflow() {
  hatchet::workflow wf{"noop"};
  wf.task("noop", [](const hatchet::empty_model&, hatchet::context&) { return hatchet::empty_model{}; });
  return wf;
}

caf::error run_until_down(hatchet::lifespan_fn fn) {
  caf::actor_system_config cfg;
  hatchet::configure(cfg);
  caf::actor_system sys{cfg};
  auto spec = hatchet::detail::worker_spec::make(
    unreachable_config(), "unit", {.slots = 1, .workflows = {noop_workflow()}, .lifespan = fn});
  BOOST_REQUIRE(spec);
  auto sup = hatchet::detail::spawn_supervisor(sys, *spec);
  caf::scoped_actor self{sys};
  self->monitor(sup);
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(std::chrono::seconds{20}) >> [&] {
                  caf::anon_send_exit(sup, caf::exit_reason::kill);
                  BOOST_FAIL("the supervisor did not stop within 20 s");
                });
  return reason;
}

} // namespace

BOOST_AUTO_TEST_CASE(worker_with_throwing_setup_stops_before_registering_with_startup_code) {
  trace t;
  auto reason = run_until_down([&] { return throws_in_setup(&t); });
  BOOST_TEST_INFO(hatchet::describe(reason));
  BOOST_TEST(reason.category() == hatchet::errc_category::value);
  BOOST_TEST(reason.code() == static_cast<uint8_t>(hatchet::errc::lifespan_setup_failed));
  BOOST_TEST(hatchet::describe(reason).find("database is down") != std::string::npos);
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
}

BOOST_AUTO_TEST_CASE(worker_with_lifespan_that_never_yields_fails_to_start) {
  trace t;
  auto reason = run_until_down([&] { return never_yields(&t); });
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
  BOOST_TEST(hatchet::describe(reason).find("without co_yield") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(exit_codes_are_distinct_per_outcome) {
  using hatchet::exit_code_for;
  using hatchet::to_int;
  BOOST_TEST(to_int(exit_code_for(caf::error{})) == 0);
  BOOST_TEST(to_int(exit_code_for(hatchet::make_error(hatchet::errc::lifespan_cleanup_failed, "x"))) == 3);
  BOOST_TEST(to_int(exit_code_for(hatchet::make_error(hatchet::errc::rpc_failed, "x"))) == 1);
  BOOST_TEST(to_int(exit_code_for(hatchet::make_error(hatchet::errc::engine_lost, "x"))) == 4);
  BOOST_TEST(to_int(exit_code_for(caf::exit_reason::kill)) == 6);
}

BOOST_AUTO_TEST_CASE(invalid_options_are_rejected_before_anything_starts) {
  auto cfg = unreachable_config();
  auto bad_slots = hatchet::detail::worker_spec::make(cfg, "w", {.slots = 0, .workflows = {noop_workflow()}});
  BOOST_TEST(!bad_slots);
  auto no_wf = hatchet::detail::worker_spec::make(cfg, "w", {.slots = 1});
  BOOST_TEST(!no_wf);
  hatchet::workflow dup{"dup"};
  dup.task("a", [](const hatchet::empty_model&, hatchet::context&) { return hatchet::empty_model{}; });
  dup.task("A", [](const hatchet::empty_model&, hatchet::context&) { return hatchet::empty_model{}; });
  BOOST_TEST(static_cast<bool>(dup.validate()));
  hatchet::workflow cyc{"cyc"};
  cyc.task("a", [](const hatchet::empty_model&, hatchet::context&) { return hatchet::empty_model{}; },
           {.parents = {"b"}});
  cyc.task("b", [](const hatchet::empty_model&, hatchet::context&) { return hatchet::empty_model{}; },
           {.parents = {"a"}});
  BOOST_TEST(hatchet::describe(cyc.validate()).find("cycle") != std::string::npos);
  hatchet::workflow bad_timeout{"t"};
  bad_timeout.task("a", [](const hatchet::empty_model&, hatchet::context&) { return hatchet::empty_model{}; },
                   {.timeout = "60"});
  BOOST_TEST(hatchet::describe(bad_timeout.validate()).find("duration") != std::string::npos);
  auto bad_name = hatchet::detail::worker_spec::make(cfg, "bad name!", {.slots = 1, .workflows = {noop_workflow()}});
  BOOST_TEST(!bad_name);
}

BOOST_AUTO_TEST_CASE(fence_after_must_outlast_a_heartbeat_and_its_deadline) {
  using std::chrono::milliseconds;
  hatchet::worker_options ok{.slots = 1, .workflows = {noop_workflow()}};
  BOOST_TEST(!ok.validate()); // defaults: 4 s beats, fenced after 25 s
  auto tight = ok;
  tight.fence_after = milliseconds{8999}; // 4 s + 5 s, less a millisecond
  auto err = tight.validate();
  BOOST_TEST(hatchet::describe(err).find("fence_after (8999 ms) must exceed heartbeat_interval")
             != std::string::npos);
  tight.fence_after = milliseconds{9000};
  BOOST_TEST(!tight.validate());
  auto slow_beats = ok;
  slow_beats.heartbeat_interval = milliseconds{30000}; // would fence between two beats
  BOOST_TEST(static_cast<bool>(slow_beats.validate()));
}

BOOST_AUTO_TEST_CASE(the_sdk_reports_the_projects_version) {
  BOOST_TEST(std::string{hatchet::version()} == HATCHET_EXPECTED_VERSION);
}
