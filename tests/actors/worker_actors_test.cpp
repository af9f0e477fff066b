// The supervisor, the dispatcher and the task actors together, on CAF's test coordinator with
// virtual time and a fake engine answered call by call (worker_fixture.hpp): start-up retries,
// heartbeat refusals and reconnects, the engine forgetting the worker, every phase of a stop,
// a second stop signal, reloads. Each case runs in milliseconds; none sleeps.
#define BOOST_TEST_MODULE worker_actors
#include <boost/test/unit_test.hpp>

#include "actors/engine_session.hpp"
#include "worker_fixture.hpp"

using namespace std::chrono_literals;
using fake::ok;
using fake::status;
namespace wire = hatchet::wire;
using type = wire::step_event_type;

namespace {

/// The "sleepy" co_task for `ms`, assigned as run `id`.
wire::assigned_action sleepy(const std::string& id, int ms) {
  return fake::start(id, "wf:sleepy", R"({"input":{"ms":)" + std::to_string(ms) + "}}");
}

wire::assigned_action blocking(const std::string& id) {
  return fake::start(id, "wf:blocking", R"({"input":{}})");
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(start_up, fake::worker_fixture)

BOOST_AUTO_TEST_CASE(get_version_is_retried_with_backoff_and_the_worker_is_ready_once_a_beat_is_accepted) {
  start();
  BOOST_TEST(book->setups == 1); // the lifespan first, then the engine
  BOOST_REQUIRE(link->versions.size() == 1u);
  link->answer(link->versions, status(wire::status::unavailable, "no route"), std::string{});
  run();
  BOOST_TEST(link->versions.empty()); // waits for its backoff (at most 400 ms for attempt 1)
  advance(400ms);
  BOOST_REQUIRE(link->versions.size() == 1u);
  register_as("worker-1");
  BOOST_REQUIRE(link->streams.size() == 1u);
  BOOST_TEST(link->streams[0]->worker_id == "worker-1");
  BOOST_TEST(link->register_requests[0].actions == std::vector<std::string>({"wf:blocking", "wf:sleepy"}));
  BOOST_TEST(worker_state() == "detached"); // registered, but no heartbeat accepted yet
  advance(250ms);
  BOOST_TEST(link->answer_heartbeats(ok()) >= 1u);
  run();
  BOOST_TEST(worker_state() == "ready");
  BOOST_TEST(!ended());
}

BOOST_AUTO_TEST_CASE(a_start_that_keeps_failing_gives_up_after_ten_attempts_and_cleans_up) {
  start();
  for (int attempt = 1; attempt <= hatchet::detail::engine_session::max_startup_attempts;
       ++attempt) {
    BOOST_REQUIRE_MESSAGE(link->versions.size() == 1u, "attempt " << attempt);
    link->answer(link->versions, status(wire::status::unavailable), std::string{});
    run();
    advance(5s); // the backoff's cap
  }
  BOOST_TEST(ended());
  BOOST_TEST(exit_code() == hatchet::to_int(hatchet::exit_code::startup_failed));
  BOOST_TEST(link->registrations.empty());
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1})); // set up, so cleaned up
}

BOOST_AUTO_TEST_CASE(an_unauthenticated_register_fails_the_start_at_once) {
  start();
  link->answer(link->versions, ok(), std::string{"v0.80.0"});
  run();
  link->answer(link->workflows, ok());
  run();
  link->answer(link->registrations, status(wire::status::unauthenticated, "bad token"),
               std::string{});
  run();
  BOOST_TEST(ended());
  BOOST_TEST(exit_code() == hatchet::to_int(hatchet::exit_code::startup_failed));
}

BOOST_AUTO_TEST_CASE(a_stop_during_start_up_retries_never_registers) {
  start();
  link->answer(link->versions, status(wire::status::unavailable), std::string{});
  run();
  stop();
  advance(6s); // the retry's timer fires after the stop: it must not call the engine
  BOOST_TEST(link->versions.empty());
  BOOST_TEST(link->registrations.empty());
  BOOST_TEST(ended());
  BOOST_TEST(exit_code() == 0);
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(connection, fake::worker_fixture)

BOOST_AUTO_TEST_CASE(heartbeats_refused_on_an_open_stream_are_asked_again_then_the_stream_is_renewed) {
  start();
  attach();
  BOOST_TEST(worker_state() == "ready");
  auto refused = status(wire::status::failed_precondition, "worker stream is not active");
  advance(4s); // the periodic beat: refused from now on, and then every beat after it
  BOOST_REQUIRE(link->answer_heartbeats(refused) >= 1u);
  run();
  // The worker asks again (backoff up to 2 s) on the same stream, unready, until the refusals
  // have lasted 15 s; then, before it would fence itself (25 s) and before a real engine's 30 s
  // reassignment, it renews the stream, on a new connection.
  int quarter_seconds = 0;
  for (; quarter_seconds < 30 * 4 && !link->streams[0]->cancelled; ++quarter_seconds) {
    advance(250ms);
    link->answer_heartbeats(refused);
    run();
    if (quarter_seconds == 14 * 4) {
      BOOST_TEST(worker_state() == "detached");
      BOOST_TEST(link->heartbeat_count > 10); // asked again, not only every 4 s
    }
  }
  BOOST_TEST(quarter_seconds > 15 * 4);
  BOOST_TEST(quarter_seconds <= 18 * 4);
  BOOST_TEST(link->streams.size() == 1u);
  BOOST_TEST(link->streams[0]->cancelled);
  BOOST_TEST(link->renewals == 1);
  // The reconnect's backoff, then the new stream's heartbeats are accepted.
  for (int i = 0; i < 20 && worker_state() != "ready"; ++i) {
    advance(250ms);
    link->answer_heartbeats(ok());
    run();
  }
  BOOST_TEST(link->streams.size() == 2u);
  BOOST_TEST(worker_state() == "ready");
  BOOST_TEST(link->registrations.empty()); // the same worker: no fencing, no new registration
}

BOOST_AUTO_TEST_CASE(a_worker_cut_off_for_fence_after_gives_up_its_runs_and_registers_anew) {
  start();
  attach(); // the last heartbeat the engine accepts goes out at 0.2 s
  link->current_stream()->push(sleepy("r1", 30'000));
  link->current_stream()->push(sleepy("r2", 30'000));
  run();
  link->answer_events(ok()); // both STARTED
  // A silent partition: every heartbeat from now on fails on its deadline. At 15-21 s the worker
  // renews its stream on a new connection (no use here); at 25.2 s it fences itself.
  auto lost = status(wire::status::deadline_exceeded, "Deadline Exceeded");
  for (int i = 0; i < 24 * 4; ++i) {
    advance(250ms);
    link->answer_heartbeats(lost);
  }
  BOOST_TEST(link->renewals == 1);
  BOOST_TEST(link->workflows.empty()); // 24 s: still the same worker, runs held
  for (int i = 0; i < 2 * 4; ++i) {
    advance(250ms);
    link->answer_heartbeats(lost);
  }
  BOOST_TEST(link->renewals == 2);                           // a new connection for the new worker
  BOOST_TEST(link->workflows.size() == 1u);                  // registering again: PutWorkflow first
  BOOST_TEST(link->current_stream()->cancelled);             // the old identity's stream is closed
  // The runs' 30 s pass: they were cancelled and report nothing (the engine gave them away).
  for (int i = 0; i < 10 * 4; ++i) {
    advance(250ms);
    link->answer_heartbeats(lost);
    link->answer(link->workflows, status(wire::status::unavailable, "partition")); // retried
  }
  BOOST_TEST(sent(type::completed).empty());
  BOOST_TEST(sent(type::failed).empty());
  // The partition heals: the worker comes back as a new worker and takes new work.
  while (link->answer(link->workflows, ok()))
    run();
  advance(5s); // the PutWorkflow retry's backoff
  while (link->answer(link->workflows, ok()))
    run();
  BOOST_REQUIRE(link->registrations.size() == 1u);
  link->answer(link->registrations, ok(), std::string{"worker-2"});
  run();
  for (int i = 0; i < 8 && worker_state() != "ready"; ++i) {
    advance(250ms);
    link->answer_heartbeats(ok());
  }
  BOOST_TEST(worker_state() == "ready");
  BOOST_TEST(link->current_stream()->worker_id == "worker-2");
  link->current_stream()->push(sleepy("r3", 0));
  run();
  link->answer_events(ok());
  BOOST_REQUIRE(sent(type::completed).size() == 1u);
  BOOST_TEST(sent(type::completed)[0].run->task_run_external_id == "r3");
}

BOOST_AUTO_TEST_CASE(a_heartbeat_accepted_within_fence_after_keeps_the_runs) {
  start();
  attach();
  link->current_stream()->push(sleepy("r1", 40'000));
  run();
  link->answer_events(ok());
  auto lost = status(wire::status::deadline_exceeded, "Deadline Exceeded");
  // 20 s of failures, then the engine answers again (on the renewed stream), then 20 s more of
  // failures: never 25 s without an accepted heartbeat, so the run stays and completes.
  for (int i = 0; i < 20 * 4; ++i) {
    advance(250ms);
    link->answer_heartbeats(lost);
  }
  for (int i = 0; i < 4 * 4; ++i) {
    advance(250ms);
    link->answer_heartbeats(ok());
  }
  for (int i = 0; i < 17 * 4; ++i) {
    advance(250ms);
    link->answer_heartbeats(lost);
  }
  BOOST_TEST(link->workflows.empty()); // never registered again
  link->answer_events(ok());
  BOOST_REQUIRE(sent(type::completed).size() == 1u);
  BOOST_TEST(sent(type::completed)[0].run->task_run_external_id == "r1");
}

BOOST_AUTO_TEST_CASE(a_refusal_right_after_a_reconnect_keeps_the_stream_the_activation_delay) {
  start();
  attach();
  link->current_stream()->end(status(wire::status::unavailable, "cut"));
  run();
  BOOST_TEST(worker_state() == "detached");
  advance(5s);
  BOOST_REQUIRE(link->streams.size() == 2u);
  // The engine marks the new stream active a moment later: the first beats are refused.
  advance(250ms);
  link->answer_heartbeats(status(wire::status::failed_precondition, "not active yet"));
  advance(2s);
  link->answer_heartbeats(ok());
  run();
  BOOST_TEST(worker_state() == "ready");
  BOOST_TEST(link->streams.size() == 2u); // no stream torn down for it
  BOOST_TEST(!link->streams[1]->cancelled);
}

BOOST_AUTO_TEST_CASE(a_cut_stream_reconnects_and_events_waiting_for_a_retry_go_out_on_attaching) {
  start();
  attach();
  link->current_stream()->push(sleepy("r1", 0));
  run();
  // STARTED and COMPLETED fail on the way: both wait for their retry (200 ms to 5 s).
  BOOST_TEST(link->answer_events(status(wire::status::unavailable)) == 2u);
  run();
  link->current_stream()->end(status(wire::status::unavailable, "cut"));
  run();
  advance(100ms); // not yet the retries' time, nor necessarily the reconnect's
  advance(5s);
  BOOST_REQUIRE(link->streams.size() >= 2u);
  link->answer_events(ok()); // any retries that already went out
  advance(250ms);
  link->answer_heartbeats(ok());
  run();
  BOOST_TEST(worker_state() == "ready");
  link->answer_events(ok());
  run();
  BOOST_TEST(sent(type::completed).size() >= 2u); // sent, failed, sent again
  // The outbox is empty: a stop does not wait for a flush.
  stop();
  link->answer(link->pauses, 200, std::string{});
  run();
  BOOST_TEST(link->unsubscribes.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_engine_that_forgot_the_worker_gets_its_workflows_and_registration_again) {
  start();
  attach("worker-1");
  link->answer_heartbeats(ok());
  advance(4s); // the periodic beat
  link->answer_heartbeats(status(wire::status::not_found, "unknown worker"));
  run();
  BOOST_REQUIRE(link->workflows.size() == 1u); // PutWorkflow again
  while (link->answer(link->workflows, ok()))
    run();
  BOOST_REQUIRE(link->registrations.size() == 1u);
  link->answer(link->registrations, ok(), std::string{"worker-2"});
  run();
  BOOST_TEST(link->current_stream()->worker_id == "worker-2");
  advance(250ms);
  link->answer_heartbeats(ok());
  run();
  BOOST_TEST(worker_state() == "ready");
  link->current_stream()->push(sleepy("r1", 0));
  run();
  BOOST_REQUIRE(!link->events.empty());
  BOOST_TEST(link->events.back().worker_id == "worker-2");
}

BOOST_AUTO_TEST_CASE(an_engine_cancel_wakes_a_sleeping_co_task_at_once_and_nothing_is_reported) {
  start();
  attach();
  link->current_stream()->push(sleepy("r1", 3'600'000));
  run();
  link->current_stream()->push(fake::cancel("r1", "wf:sleepy"));
  run(); // no time passes: the cancel alone ends the hour-long sleep
  BOOST_TEST(sent(type::started).size() == 1u);
  BOOST_TEST(sent(type::completed).empty());
  BOOST_TEST(sent(type::failed).empty());
  stop();
  link->answer(link->pauses, 200, std::string{});
  link->answer_events(ok());
  run();
  BOOST_TEST(link->unsubscribes.size() == 1u); // nothing left to wait for
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(stop, fake::worker_fixture)

BOOST_AUTO_TEST_CASE(a_stop_pauses_waits_for_the_runs_with_the_stream_open_then_closes_and_unsubscribes) {
  start();
  attach();
  link->current_stream()->push(sleepy("r1", 10'000));
  run();
  link->answer_events(ok());
  stop();
  BOOST_REQUIRE(link->pauses.size() == 1u);
  BOOST_TEST(link->pauses.front().what == "worker-1");
  BOOST_TEST(worker_state() == "stopping");
  link->answer(link->pauses, 200, std::string{});
  run();
  // The run goes on, with the stream open and heartbeats beating.
  auto beats = link->heartbeat_count;
  advance(9s);
  link->answer_heartbeats(ok());
  BOOST_TEST(link->heartbeat_count > beats);
  BOOST_TEST(!link->current_stream()->cancelled);
  advance(1s);
  BOOST_REQUIRE(sent(type::completed).size() == 1u);
  BOOST_TEST(link->current_stream()->cancelled); // no run left: the stream closes...
  BOOST_TEST(link->unsubscribes.empty());        // ...then the results are flushed first
  link->answer_events(ok());
  run();
  BOOST_REQUIRE(link->unsubscribes.size() == 1u);
  BOOST_TEST(book->cleaned.empty()); // not before the dispatcher is gone
  link->answer(link->unsubscribes, ok());
  run();
  BOOST_TEST(ended());
  BOOST_TEST(exit_code() == 0);
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1}));
}

BOOST_AUTO_TEST_CASE(a_pause_that_never_answers_does_not_hold_the_stop_past_drain_timeout) {
  start();
  attach();
  stop();
  BOOST_REQUIRE(link->pauses.size() == 1u); // never answered
  advance(29s);
  BOOST_TEST(!link->current_stream()->cancelled);
  advance(1s);
  BOOST_TEST(link->current_stream()->cancelled);
  link->answer(link->unsubscribes, ok());
  run();
  BOOST_TEST(exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(a_task_that_ignores_its_cancellation_is_reported_failed_and_its_state_never_cleaned_under_it) {
  start();
  attach();
  link->current_stream()->push(blocking("r1"));
  run();
  auto job = exec->take(); // the task is now "inside user code", and stays there
  BOOST_REQUIRE(job);
  link->answer_events(ok());
  stop();
  link->answer(link->pauses, 200, std::string{});
  advance_beating(30s); // drain_timeout: the run is cancelled, cancel_grace starts
  BOOST_TEST(sent(type::failed).empty());
  advance_beating(5s);  // cancel_grace: reported FAILED, retryable, so the engine runs it elsewhere
  auto failed = sent(type::failed);
  BOOST_REQUIRE(failed.size() == 1u);
  BOOST_TEST(!failed[0].should_not_retry);
  BOOST_TEST(failed[0].payload.find("hatchet::worker_shutdown") == 0u);
  link->answer_events(ok());
  run();
  link->answer(link->unsubscribes, ok());
  run();
  BOOST_TEST(!ended()); // the state is still held by the task: the cleanup waits
  advance(29s);
  BOOST_TEST(book->cleaned.empty());
  advance(1s); // cleanup_timeout: skipped, never run under the task
  BOOST_TEST(ended());
  BOOST_TEST(exit_code() == hatchet::to_int(hatchet::exit_code::cleanup_skipped));
  BOOST_TEST(book->cleaned.empty());
  job(); // the task returns at last: its late result goes nowhere
  run();
}

BOOST_AUTO_TEST_CASE(a_stuck_task_that_returns_while_the_cleanup_waits_lets_it_run_with_the_drain_code) {
  start();
  attach();
  link->current_stream()->push(blocking("r1"));
  run();
  auto job = exec->take();
  link->answer_events(ok());
  stop();
  link->answer(link->pauses, 200, std::string{});
  advance_beating(35s);
  link->answer_events(ok());
  run();
  link->answer(link->unsubscribes, ok());
  run();
  advance(10s);
  BOOST_TEST(book->cleaned.empty());
  job(); // returns inside cleanup_timeout: the last holder is gone
  job = nullptr;
  run();
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1}));
  BOOST_TEST(exit_code() == hatchet::to_int(hatchet::exit_code::drain_timed_out));
}

BOOST_AUTO_TEST_CASE(events_the_engine_never_acknowledges_are_dropped_at_flush_timeout) {
  start();
  attach();
  link->current_stream()->push(sleepy("r1", 0));
  run();
  BOOST_TEST(link->events.size() == 2u); // STARTED, COMPLETED: never answered
  stop();
  link->answer(link->pauses, 200, std::string{});
  run();
  BOOST_TEST(link->current_stream()->cancelled);
  BOOST_TEST(link->unsubscribes.empty()); // flushing first
  advance(9s);
  BOOST_TEST(link->unsubscribes.empty());
  advance(1s); // flush_timeout
  BOOST_REQUIRE(link->unsubscribes.size() == 1u);
  link->answer(link->unsubscribes, ok());
  run();
  BOOST_TEST(exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(a_second_stop_request_cancels_and_reports_every_run_at_once) {
  start();
  attach();
  link->current_stream()->push(sleepy("r1", 3'600'000));
  link->current_stream()->push(blocking("r2"));
  run();
  auto job = exec->take();
  link->answer_events(ok());
  stop();
  link->answer(link->pauses, 200, std::string{});
  run();
  stop(); // the second signal: no waiting for the hour-long sleep
  auto failed = sent(type::failed);
  BOOST_TEST(failed.size() == 2u);
  link->answer_events(ok());
  run();
  link->answer(link->unsubscribes, ok());
  run();
  job(); // the blocking one returns: nothing holds the state any more
  job = nullptr;
  run();
  BOOST_TEST(ended());
  BOOST_TEST(exit_code() == hatchet::to_int(hatchet::exit_code::forced_stop));
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1}));
}

BOOST_AUTO_TEST_CASE(runs_assigned_after_drain_timeout_are_handed_back_not_started) {
  start();
  attach();
  stop(); // the pause never answers: the engine may still assign
  advance(30s);
  // The stream is closing; a START that still arrives is refused, retryable.
  link->streams.back()->ended = false;
  link->streams.back()->push(sleepy("late", 0));
  run();
  auto failed = sent(type::failed);
  BOOST_REQUIRE(failed.size() == 1u);
  BOOST_TEST(failed[0].payload.find("worker_shutting_down") != std::string::npos);
  BOOST_TEST(sent(type::started).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(reload, fake::worker_fixture)

BOOST_AUTO_TEST_CASE(a_reload_serves_new_runs_with_the_new_state_and_cleans_the_old_after_its_last_run) {
  start();
  attach();
  link->current_stream()->push(blocking("old"));
  run();
  auto old_job = exec->take(); // holds generation 1
  auto generation = ask<uint64_t>(hatchet::msg::reload_atom::value);
  BOOST_REQUIRE(generation);
  BOOST_TEST(*generation == 2u);
  BOOST_TEST(book->setups == 2);
  BOOST_TEST(book->cleaned.empty()); // generation 1 still held by the old run
  link->current_stream()->push(sleepy("new", 0));
  run();
  auto completed = sent(type::completed);
  BOOST_REQUIRE(completed.size() == 1u);
  BOOST_TEST(nlohmann::json::parse(completed[0].payload).at("state") == 2);
  old_job(); // the old run ends: its state goes
  old_job = nullptr;
  run();
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1}));
  completed = sent(type::completed);
  BOOST_REQUIRE(completed.size() == 2u);
  BOOST_TEST(nlohmann::json::parse(completed[1].payload).at("state") == 1); // kept its state
  // At the stop, the state in service is cleaned up after the drain.
  link->answer_events(ok());
  stop();
  link->answer(link->pauses, 200, std::string{});
  run();
  link->answer(link->unsubscribes, ok());
  run();
  BOOST_TEST(book->cleaned == std::vector<uint64_t>({1, 2}));
  BOOST_TEST(exit_code() == 0);
}

BOOST_AUTO_TEST_CASE(a_reload_before_the_worker_serves_is_refused) {
  start();
  auto refused = ask<uint64_t>(hatchet::msg::reload_atom::value);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(hatchet::describe(refused.error()).find("still starting") != std::string::npos);
  BOOST_TEST(book->setups == 1);
}

BOOST_AUTO_TEST_SUITE_END()
