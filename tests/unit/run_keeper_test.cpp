// The runs from START to report, without actors: which STARTs run, slots as integers, what the
// engine hears when a run ends or is given up on, and the worker's status and outcome as its
// supervisor keeps them.
#define BOOST_TEST_MODULE run_keeper
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

#include <hatchet/hatchet.hpp>

#include "../actors/fake_engine_link.hpp"
#include "actors/run_keeper.hpp"
#include "actors/worker_status.hpp"

using hatchet::detail::run_keeper;
using hatchet::detail::worker_log;
namespace msg = hatchet::msg;
namespace wire = hatchet::wire;

namespace {

hatchet::config plain_config() {
  // Well-formed, for a port nobody listens on: nothing here reaches an engine.
  hatchet::config c;
  c.token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0In0.x";
  c.tenant_id = "t";
  c.host_port = "127.0.0.1:1";
  c.tls = hatchet::tls_strategy::none;
  c.max_recv_bytes = 1024;
  return c;
}

hatchet::workflow two_tasks() {
  hatchet::workflow wf{"wf"};
  wf.task("sync", [](const nlohmann::json&, hatchet::context&) { return nlohmann::json::object(); });
  wf.task("async", [](const nlohmann::json&, hatchet::context&) -> hatchet::co_task<nlohmann::json> {
    co_return nlohmann::json::object();
  });
  return wf;
}

/// The ports as records: slots are integers from 1.
struct recorder : run_keeper<int>::ports {
  int slots_made = 0;
  std::vector<std::pair<int, std::string>> started;   ///< slot, run key
  std::vector<std::pair<int, std::string>> cancelled; ///< slot, run key
  struct report_t {
    std::string key;
    wire::step_event_type type;
    std::string payload;
    bool should_not_retry;
  };
  std::vector<report_t> reports;
  int threads_lent = 0;

  int new_slot() override { return ++slots_made; }
  void start(const int& slot, msg::assignment job) override {
    started.emplace_back(slot, job.action.key());
  }
  void cancel(const int& slot, const std::string& key) override {
    cancelled.emplace_back(slot, key);
  }
  void report(wire::run_ref r, wire::step_event_type type, std::string payload,
              bool should_not_retry) override {
    reports.push_back({r->key, type, std::move(payload), should_not_retry});
  }
  void thread_bound(int delta) override { threads_lent += delta; }

  size_t count(wire::step_event_type t) const {
    size_t n = 0;
    for (const auto& r : reports)
      n += r.type == t ? 1 : 0;
    return n;
  }
};

struct keeper_fixture {
  worker_log log{"keeper-test"};
  std::shared_ptr<const hatchet::detail::worker_spec> spec;
  recorder ports;
  std::unique_ptr<run_keeper<int>> keeper;

  explicit keeper_fixture(int slots = 2) {
    auto made = hatchet::detail::worker_spec::make(plain_config(), "keeper",
                                                   {.slots = slots, .workflows = {two_tasks()}});
    std::string why = made ? std::string{} : hatchet::describe(made.error());
    BOOST_REQUIRE_MESSAGE(static_cast<bool>(made), why);
    spec = *made;
    keeper = std::make_unique<run_keeper<int>>(ports, *spec, log, nullptr);
  }

  void start(const std::string& id, const std::string& task = "sync", bool refusing = false) {
    auto a = fake::start(id, "wf:" + task);
    keeper->start(a, refusing);
  }

  msg::task_outcome outcome(const std::string& id, msg::task_outcome::kind_t kind,
                            std::string payload = "{}") {
    msg::task_outcome o;
    o.run = fake::start(id, "wf:sync").ids;
    o.kind = kind;
    o.payload = std::move(payload);
    return o;
  }

  int slot_of(const std::string& key) const {
    for (const auto& [slot, k] : ports.started)
      if (k == key)
        return slot;
    return 0;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(keeper, keeper_fixture)

BOOST_AUTO_TEST_CASE(a_start_is_reported_started_and_takes_a_slot_made_on_first_use) {
  start("a");
  BOOST_TEST(ports.count(wire::step_event_type::started) == 1u);
  BOOST_TEST(ports.slots_made == 1);
  BOOST_TEST(ports.started.size() == 1u);
  BOOST_TEST(keeper->running() == 1u);
}

BOOST_AUTO_TEST_CASE(runs_beyond_the_slots_wait_in_order_and_never_run_at_once) {
  start("a");
  start("b");
  start("c");
  start("d");
  BOOST_TEST(keeper->running() == 2u);
  BOOST_TEST(keeper->waiting() == 2u);
  BOOST_TEST(ports.slots_made == 2);
  auto done = outcome("a", msg::task_outcome::completed);
  keeper->done(done, slot_of("a/0"), false);
  BOOST_REQUIRE(ports.started.size() == 3u);
  BOOST_TEST(ports.started.back().second == "c/0"); // the one that waited longest
  BOOST_TEST(ports.started.back().first == 1); // the slot "a" freed
  BOOST_TEST(keeper->running() == 2u);
  BOOST_TEST(ports.slots_made == 2); // the freed slot was reused
}

BOOST_AUTO_TEST_CASE(unknown_actions_duplicates_and_oversized_payloads_are_not_run) {
  auto unknown = fake::start("u", "wf:nope");
  keeper->start(unknown, false);
  BOOST_REQUIRE(ports.reports.size() == 1u);
  BOOST_TEST(ports.reports[0].payload.find("hatchet::unknown_action") == 0u);
  BOOST_TEST(ports.reports[0].should_not_retry);
  start("a");
  start("a"); // the same attempt again
  BOOST_TEST(ports.started.size() == 1u);
  auto big = fake::start("big", "wf:sync", std::string(2048, ' '));
  keeper->start(big, false);
  BOOST_TEST(ports.reports.back().payload.find("hatchet::payload_too_large") == 0u);
  BOOST_TEST(ports.reports.back().payload.find("HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH")
             != std::string::npos);
  BOOST_TEST(ports.started.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_start_during_the_stop_is_handed_back_retryable) {
  start("late", "sync", true);
  BOOST_REQUIRE(ports.reports.size() == 1u);
  BOOST_TEST((ports.reports[0].type == wire::step_event_type::failed));
  BOOST_TEST(!ports.reports[0].should_not_retry);
  BOOST_TEST(ports.reports[0].payload.find("worker_shutting_down") != std::string::npos);
  BOOST_TEST(ports.started.empty());
}

BOOST_AUTO_TEST_CASE(an_engine_cancel_reaches_the_slot_and_the_run_reports_nothing) {
  start("a");
  keeper->cancel(fake::cancel("a", "wf:sync"));
  BOOST_REQUIRE(ports.cancelled.size() == 1u);
  BOOST_TEST(ports.cancelled[0].second == "a/0");
  auto o = outcome("a", msg::task_outcome::failed, "cancelled");
  keeper->done(o, slot_of("a/0"), false);
  BOOST_TEST(ports.count(wire::step_event_type::failed) == 0u);
  BOOST_TEST(ports.count(wire::step_event_type::completed) == 0u);
}

BOOST_AUTO_TEST_CASE(a_cancel_for_a_waiting_run_drops_it_before_it_starts) {
  start("a");
  start("b");
  start("c"); // waits
  keeper->cancel(fake::cancel("c", "wf:sync"));
  BOOST_TEST(keeper->waiting() == 0u);
  BOOST_TEST(ports.cancelled.empty());
}

BOOST_AUTO_TEST_CASE(outcomes_become_completed_or_failed_with_the_tasks_retry_choice) {
  start("a");
  start("b");
  auto ok = outcome("a", msg::task_outcome::completed, R"({"x":1})");
  keeper->done(ok, slot_of("a/0"), false);
  auto bad = outcome("b", msg::task_outcome::failed, "boom\ntrace");
  bad.should_not_retry = true;
  keeper->done(bad, slot_of("b/0"), false);
  BOOST_TEST(ports.reports.back().should_not_retry);
  BOOST_TEST(ports.count(wire::step_event_type::completed) == 1u);
  BOOST_TEST(keeper->idle());
}

BOOST_AUTO_TEST_CASE(a_run_interrupted_by_the_stop_is_failed_retryable_whatever_it_asked) {
  start("a");
  keeper->cancel_all_for_stop();
  BOOST_REQUIRE(ports.cancelled.size() == 1u);
  auto o = outcome("a", msg::task_outcome::failed, "interrupted");
  o.should_not_retry = true;
  keeper->done(o, slot_of("a/0"), true);
  BOOST_TEST((ports.reports.back().type == wire::step_event_type::failed));
  BOOST_TEST(!ports.reports.back().should_not_retry);
}

BOOST_AUTO_TEST_CASE(abandoning_reports_every_run_still_here_and_late_results_are_dropped) {
  start("a");
  start("b");
  start("c"); // waiting
  BOOST_TEST(keeper->abandon_all("gave up") == 3u);
  BOOST_TEST(ports.count(wire::step_event_type::failed) == 3u);
  BOOST_TEST(keeper->idle());
  auto late = outcome("a", msg::task_outcome::completed);
  keeper->done(late, slot_of("a/0"), true);
  BOOST_TEST(ports.count(wire::step_event_type::completed) == 0u);
}

BOOST_AUTO_TEST_CASE(a_released_slot_starts_the_next_run_and_a_sync_run_keeps_its_thread) {
  start("a", "sync");
  start("b", "async");
  start("c"); // waits
  keeper->slot_released("a/0", false);
  BOOST_TEST(ports.threads_lent == 1);
  BOOST_TEST(ports.started.back().second == "c/0");
  BOOST_TEST(ports.slots_made == 3); // the released run keeps its slot
  auto o = outcome("a", msg::task_outcome::completed);
  keeper->done(o, slot_of("a/0"), false);
  BOOST_TEST(ports.threads_lent == 0);
}

BOOST_AUTO_TEST_CASE(a_dead_slot_fails_its_run_and_the_next_run_gets_a_new_one) {
  start("a");
  start("b");
  start("c"); // waits
  keeper->slot_died(slot_of("a/0"), false);
  BOOST_TEST(ports.reports.back().payload.find("task actor running this run died")
             != std::string::npos);
  BOOST_TEST(ports.started.back().second == "c/0");
  BOOST_TEST(ports.slots_made == 3);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the worker's status and how it ends --------------------------------------------------------

using hatchet::detail::health_state;
using hatchet::detail::worker_status;

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(health_starts_becomes_healthy_and_is_unhealthy_only_after_being_healthy) {
  worker_status s;
  BOOST_TEST((s.health() == health_state::starting));
  s.registered("w-1");
  BOOST_TEST((s.state() == msg::worker_state::detached));
  BOOST_TEST((s.health() == health_state::starting)); // never attached yet
  s.dispatcher_says(msg::worker_state::ready);
  BOOST_TEST((s.health() == health_state::healthy));
  s.dispatcher_says(msg::worker_state::detached);
  BOOST_TEST((s.health() == health_state::unhealthy));
  s.stop();
  BOOST_TEST((s.health() == health_state::draining));
  BOOST_TEST((s.state() == msg::worker_state::stopping));
}

BOOST_AUTO_TEST_CASE(a_ready_report_before_the_start_answer_is_not_lost) {
  worker_status s;
  s.dispatcher_says(msg::worker_state::ready);
  s.registered("w-1");
  BOOST_TEST((s.state() == msg::worker_state::ready));
}

BOOST_AUTO_TEST_CASE(a_lost_engine_and_the_dispatchers_own_verdicts_end_the_worker_as_such) {
  worker_status lost;
  lost.registered("w");
  lost.dispatcher_ended(hatchet::make_error(hatchet::errc::rpc_failed, "gone"));
  BOOST_TEST((hatchet::exit_code_for(lost.final_reason()) == hatchet::exit_code::worker_failed));
  worker_status drained;
  drained.registered("w");
  drained.dispatcher_ended(hatchet::make_error(hatchet::errc::drain_timed_out, "2 runs"));
  BOOST_TEST(
    (hatchet::exit_code_for(drained.final_reason()) == hatchet::exit_code::drain_timed_out));
  worker_status never_started;
  never_started.dispatcher_ended(hatchet::make_error(hatchet::errc::rpc_failed, "refused"));
  BOOST_TEST((hatchet::exit_code_for(never_started.final_reason())
              == hatchet::exit_code::startup_failed));
}

BOOST_AUTO_TEST_CASE(a_failed_cleanup_outranks_a_timed_out_drain_but_not_a_skipped_cleanup) {
  worker_status s;
  s.registered("w");
  s.dispatcher_ended(hatchet::make_error(hatchet::errc::drain_timed_out, "1 run"));
  s.cleanup_failed("boom");
  BOOST_TEST((hatchet::exit_code_for(s.final_reason()) == hatchet::exit_code::cleanup_failed));
  s.cleanup_skipped(hatchet::make_error(hatchet::errc::cleanup_skipped, "held"));
  BOOST_TEST((hatchet::exit_code_for(s.final_reason()) == hatchet::exit_code::cleanup_skipped));
  worker_status clean;
  BOOST_TEST(!clean.final_reason());
}

BOOST_AUTO_TEST_CASE(reloads_are_refused_while_starting_stopping_or_without_a_lifespan) {
  worker_status s;
  BOOST_TEST(s.reload_refusal(true).code() == static_cast<uint8_t>(hatchet::errc::reload_failed));
  s.registered("w");
  BOOST_TEST(!s.reload_refusal(true));
  BOOST_TEST(static_cast<bool>(s.reload_refusal(false)));
  s.stop();
  BOOST_TEST(s.reload_refusal(true).code() == static_cast<uint8_t>(hatchet::errc::shutting_down));
}

BOOST_AUTO_TEST_SUITE_END()
