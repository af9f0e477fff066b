// Failure handling through our worker and the dev engine: retry backoff, schedule timeouts and a
// workflow's on-failure task, each the way the real engine does it (engine/README.md,
// conformance).
#define BOOST_TEST_MODULE failure_handling
#include "harness.hpp"

#include <mutex>

#include <nlohmann/json.hpp>

using namespace harness;
using nlohmann::json;

namespace {

const hatchet::rpc::task_result* find_task(const hatchet::rpc::run_result& r,
                                           const std::string& name) {
  for (const auto& t : r.tasks)
    if (t.task_name == name)
      return &t;
  return nullptr;
}

struct flaky_input {
  bool fail = true;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(flaky_input, fail)

/// When each attempt of a task started, by the test's (and the engine's) steady clock.
struct attempts {
  std::mutex mtx;
  std::vector<std::chrono::steady_clock::time_point> at;
  void note() {
    std::lock_guard lock{mtx};
    at.push_back(std::chrono::steady_clock::now());
  }
  std::vector<double> gaps_seconds() {
    std::lock_guard lock{mtx};
    std::vector<double> out;
    for (size_t i = 1; i < at.size(); ++i)
      out.push_back(std::chrono::duration<double>(at[i] - at[i - 1]).count());
    return out;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(failure_handling, engine_fixture)

BOOST_AUTO_TEST_CASE(put_workflow_refuses_backoff_and_schedule_timeout_out_of_bounds) {
  auto with = [](hatchet::task_options o) {
    hatchet::workflow wf{"bounds"};
    wf.task("t", [](const hatchet::empty_model&, hatchet::context&) {}, std::move(o));
    return wf;
  };
  const std::vector<std::pair<const char*, hatchet::task_options>> refused = {
    {"factor below 1", {.backoff_factor = 0.5}},
    {"factor over 1000", {.backoff_factor = 1001}},
    {"cap below 1", {.backoff_factor = 2, .backoff_max_seconds = 0}},
    {"cap over a day", {.backoff_factor = 2, .backoff_max_seconds = 86401}},
    {"schedule timeout not a duration", {.schedule_timeout = "soon"}},
  };
  for (const auto& [what, opts] : refused) {
    auto wf = with(opts);
    BOOST_TEST_CONTEXT(what) {
      // The SDK refuses it before anything starts...
      BOOST_TEST(static_cast<bool>(wf.validate()));
      // ...and the engine would too.
      auto st = admin().put_workflow(wf);
      BOOST_TEST(st.code == hatchet::wire::status::invalid_argument, st.describe());
    }
  }
  auto ok = with({.backoff_factor = 2, .backoff_max_seconds = 86400, .schedule_timeout = "30s"});
  BOOST_TEST(!ok.validate());
  BOOST_TEST(admin().put_workflow(ok).ok());
}

BOOST_AUTO_TEST_CASE(retries_wait_factor_to_the_retry_number_capped_at_the_maximum) {
  auto backed_off = std::make_shared<attempts>();
  auto at_once = std::make_shared<attempts>();
  hatchet::workflow wf{"backoff"};
  // 1.5^1 = 1.5 s before retry 1, min(2, 1.5^2 = 2.25) = 2 s before retry 2.
  wf.task("backed_off", [backed_off](const hatchet::empty_model&, hatchet::context&) {
    backed_off->note();
    throw std::runtime_error("fails every time");
  }, {.retries = 2, .backoff_factor = 1.5, .backoff_max_seconds = 2});
  wf.task("at_once", [at_once](const hatchet::empty_model&, hatchet::context&) {
    at_once->note();
    throw std::runtime_error("fails every time");
  }, {.retries = 2});
  running_worker w{cfg, "backoff-worker", {.slots = 2, .workflows = {wf}}};
  w.ready();
  auto r = run_all("backoff", {"{}"}, 30s).at(0);
  BOOST_TEST(r.failed());
  auto gaps = backed_off->gaps_seconds();
  BOOST_REQUIRE_EQUAL(gaps.size(), 2u);
  BOOST_TEST(gaps[0] >= 1.45);
  BOOST_TEST(gaps[0] < 1.95); // the engine's tick (100 ms) and the round trips on top
  BOOST_TEST(gaps[1] >= 1.95);
  BOOST_TEST(gaps[1] < 2.6);
  for (double g : at_once->gaps_seconds())
    BOOST_TEST(g < 1.0); // no factor: retried at once
}

BOOST_AUTO_TEST_CASE(a_task_still_queued_after_its_schedule_timeout_is_cancelled_and_on_failure_does_not_run) {
  hatchet::workflow wf{"unscheduled"};
  wf.task("waits", [](const hatchet::empty_model&, hatchet::context&) {},
          {.schedule_timeout = "1s"});
  wf.task("after", [](const hatchet::empty_model&, hatchet::context&) {}, {.parents = {"waits"}});
  wf.on_failure("cleanup", [](const hatchet::empty_model&, hatchet::context&) {});
  // No worker: nothing can take the task. Had the on-failure task been queued, the run would
  // wait for it (nobody serves it) and never finish.
  BOOST_REQUIRE(admin().put_workflow(wf).ok());
  auto started = std::chrono::steady_clock::now();
  auto r = wait({*admin().trigger({"unscheduled", "{}", {}})}, 10s).at(0);
  auto waited = std::chrono::steady_clock::now() - started;
  BOOST_TEST(waited >= 950ms);
  BOOST_TEST(waited < 3s);
  auto* waits = find_task(r, "waits");
  BOOST_REQUIRE(waits);
  BOOST_TEST(waits->error.value_or("").find("SCHEDULING_TIMED_OUT") != std::string::npos);
  auto* after = find_task(r, "after");
  BOOST_REQUIRE(after);
  BOOST_TEST(after->error.has_value()); // its dependant is cancelled with it
  BOOST_TEST(find_task(r, "cleanup") == nullptr);
}

BOOST_AUTO_TEST_CASE(on_failure_runs_once_with_the_errors_and_the_run_stays_failed) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  hatchet::workflow wf{"with-on-failure"};
  wf.task("boom", [](const flaky_input& in, hatchet::context&) {
    if (in.fail)
      throw std::runtime_error("kaput");
  }, {.retries = 1});
  wf.task("also_boom", [](const flaky_input& in, hatchet::context&) {
    if (in.fail)
      throw std::runtime_error("broken too");
  });
  wf.task("fine", [](const flaky_input&, hatchet::context&) {});
  wf.on_failure("cleanup", [calls](const flaky_input&, hatchet::context& ctx) {
    ++*calls;
    return json{{"errors", ctx.task_run_errors()}};
  });
  running_worker w{cfg, "on-failure-worker", {.slots = 4, .workflows = {wf}}};
  w.ready();

  auto failed = run_all("with-on-failure", {json{{"fail", true}}.dump()}).at(0);
  BOOST_TEST(failed.failed()); // FAILED, whatever the on-failure task did
  auto* cleanup = find_task(failed, "cleanup");
  BOOST_REQUIRE(cleanup);
  BOOST_REQUIRE(cleanup->output);
  auto errors = json::parse(*cleanup->output).at("errors");
  // The first task to fail for good, with the worker's error text.
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  auto [name, text] = *errors.items().begin();
  BOOST_TEST((name == "boom" || name == "also_boom"));
  BOOST_TEST(text.get<std::string>().find(name == "boom" ? "kaput" : "broken too")
             != std::string::npos);
  BOOST_TEST(calls->load() == 1); // once per run, though two tasks failed

  auto fine = run_all("with-on-failure", {json{{"fail", false}}.dump()}).at(0);
  BOOST_TEST(!fine.failed());
  BOOST_TEST(find_task(fine, "cleanup") == nullptr);
  BOOST_TEST(calls->load() == 1); // not run when every task completes
}

BOOST_AUTO_TEST_SUITE_END()
