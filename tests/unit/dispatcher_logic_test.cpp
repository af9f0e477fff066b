// The dispatcher's plain parts, driven without actors, gRPC or time: the slot pool, the engine
// session's decisions, the drain's phases, and the box where event answers wait.
#define BOOST_TEST_MODULE dispatcher_logic
#include <boost/test/unit_test.hpp>

#include <string>

#include "actors/slot_pool.hpp"

using hatchet::detail::slot_pool;
using hatchet::wire::run_ref;

namespace {

run_ref make_ref(const std::string& id, int retry = 0) {
  auto r = std::make_shared<hatchet::detail::run_ids>();
  r->task_run_external_id = id;
  r->retry_count = retry;
  r->action_id = "wf:task";
  r->make_key();
  return r;
}

using pool = slot_pool<int, std::string>; // slots are ints, waiting jobs their run key

pool with_slots(int n) {
  pool p;
  for (int i = 0; i < n; ++i)
    p.add_slot(i);
  return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(slot_pool_suite)

BOOST_AUTO_TEST_CASE(never_more_runs_hold_slots_than_there_are_slots) {
  auto p = with_slots(2);
  p.take(make_ref("a"));
  p.take(make_ref("b"));
  BOOST_TEST(!p.has_free_slot());
  p.wait("c/0", "c/0");
  BOOST_TEST(p.running() == 2u);
  BOOST_TEST(p.waiting() == 1u);
  BOOST_TEST(p.contains("c/0"));
}

BOOST_AUTO_TEST_CASE(a_released_slot_serves_the_run_that_waited_longest) {
  auto p = with_slots(1);
  int s = p.take(make_ref("a"));
  p.wait("b/0", "b/0");
  p.wait("c/0", "c/0");
  auto ended = p.release("a/0", s);
  BOOST_REQUIRE(ended);
  BOOST_TEST(ended->ref->task_run_external_id == "a");
  BOOST_TEST(p.has_free_slot());
  auto next = p.next_waiting();
  BOOST_REQUIRE(next);
  BOOST_TEST(*next == "b/0");
  BOOST_TEST(!p.contains("b/0")); // out of the queue until taken
  BOOST_TEST(p.take(make_ref("b")) == s);
}

BOOST_AUTO_TEST_CASE(a_run_that_gave_its_slot_back_runs_on_outside_the_slot_count) {
  auto p = with_slots(1);
  int s = p.take(make_ref("a"));
  auto* released = p.release_early("a/0");
  BOOST_REQUIRE(released);
  BOOST_TEST(released->released);
  BOOST_TEST(p.release_early("a/0") == nullptr); // once
  BOOST_TEST(p.running() == 0u); // room for one more slot-holding run
  BOOST_TEST(p.released() == 1u);
  BOOST_TEST(p.contains("a/0"));
  BOOST_TEST(p.find_running("a/0") != nullptr); // a CANCEL still reaches it
  BOOST_TEST(!p.idle());
  p.add_slot(7); // the owner's new slot for the next run: "a" keeps its own
  BOOST_TEST(p.take(make_ref("b")) == 7);
  BOOST_TEST(p.running() == 1u);
  auto ended = p.release("a/0", s);
  BOOST_REQUIRE(ended);
  BOOST_TEST(ended->released);
  BOOST_TEST(p.released() == 0u);
  BOOST_TEST(p.running() == 1u); // "b" still holds its slot
  auto stop = p.cancel_all_for_stop();
  BOOST_TEST(stop.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_same_run_and_retry_is_known_but_another_retry_is_not) {
  auto p = with_slots(1);
  p.take(make_ref("a", 0));
  BOOST_TEST(p.contains("a/0"));
  BOOST_TEST(!p.contains("a/1"));
}

BOOST_AUTO_TEST_CASE(a_cancelled_waiting_run_leaves_the_queue) {
  auto p = with_slots(0);
  p.wait("a/0", "a/0");
  p.wait("b/0", "b/0");
  BOOST_TEST(p.drop_waiting("a/0"));
  BOOST_TEST(!p.drop_waiting("a/0"));
  BOOST_TEST(*p.next_waiting() == "b/0");
  BOOST_TEST(!p.next_waiting());
}

BOOST_AUTO_TEST_CASE(a_dead_slot_gives_back_its_run_and_is_forgotten) {
  auto p = with_slots(2);
  int s = p.take(make_ref("a"));
  auto lost = p.remove_slot(s);
  BOOST_REQUIRE(lost);
  BOOST_TEST(lost->first == "a/0");
  BOOST_TEST(p.running() == 0u);
  // The other, free slot dies too: nothing to give back, and no slot is left.
  BOOST_TEST(!p.remove_slot(1 - s));
  BOOST_TEST(!p.has_free_slot());
}

BOOST_AUTO_TEST_CASE(the_stop_cancels_each_run_once_and_skips_engine_cancelled_ones) {
  auto p = with_slots(3);
  p.take(make_ref("a"));
  p.take(make_ref("b"));
  p.find_running("b/0")->cancelled_by_engine = true;
  auto first = p.cancel_all_for_stop();
  BOOST_TEST(first.size() == 1u);
  BOOST_TEST(first[0].first == "a/0");
  BOOST_TEST(p.cancel_all_for_stop().empty());
}

BOOST_AUTO_TEST_CASE(abandoning_reports_running_and_waiting_runs_but_not_engine_cancelled_ones) {
  auto p = with_slots(2);
  int a = p.take(make_ref("a"));
  p.take(make_ref("b"));
  p.find_running("b/0")->cancelled_by_engine = true;
  p.wait("c/0", "c/0");
  auto refs = p.abandon_all([](const std::string& key) {
    return make_ref(key.substr(0, key.find('/')));
  });
  BOOST_TEST(refs.size() == 2u);
  BOOST_TEST(p.idle());
  // The abandoned run's late end frees its slot but reports nothing.
  BOOST_TEST(!p.release("a/0", a));
  BOOST_TEST(p.has_free_slot());
}

BOOST_AUTO_TEST_SUITE_END()

// -- the engine session -------------------------------------------------------------------------

#include "actors/engine_session.hpp"

using hatchet::detail::engine_session;
using hatchet::wire::rpc_status;
using namespace std::chrono_literals;

namespace {

rpc_status status_of(int code) {
  rpc_status st;
  st.code = code;
  st.message = "test";
  return st;
}

const rpc_status ok_status = status_of(hatchet::wire::status::ok);
const rpc_status not_active = status_of(hatchet::wire::status::failed_precondition);

/// A session registered, with a stream just opened at t0.
engine_session connected(engine_session::clock::time_point t0) {
  engine_session s;
  s.registering_now();
  s.registered();
  s.stream_opened(t0);
  return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(engine_session_suite)

using hb = engine_session::heartbeat_verdict;
using se = engine_session::stream_verdict;

// A real engine marks a new stream active only once its database has it; a heartbeat that
// arrives first is refused with FAILED_PRECONDITION. That must not tear the stream down.
BOOST_AUTO_TEST_CASE(a_heartbeat_refused_right_after_connecting_is_asked_again_on_the_same_stream) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  auto v = s.on_heartbeat(not_active, true, t0 + 200ms);
  BOOST_TEST(v.what == hb::ask_again);
  BOOST_TEST(v.delay.count() > 0);
  BOOST_TEST(v.delay <= 2000ms);
  BOOST_TEST(!s.attached());
  v = s.on_heartbeat(not_active, true, t0 + 500ms);
  BOOST_TEST(v.what == hb::ask_again);
  BOOST_TEST(s.on_heartbeat(ok_status, true, t0 + 900ms).what == hb::attach);
  BOOST_TEST(s.attached());
}

BOOST_AUTO_TEST_CASE(refusals_that_last_until_the_engine_would_reassign_renew_the_stream) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  BOOST_TEST(s.on_heartbeat(not_active, true, t0).what == hb::ask_again);
  BOOST_TEST(s.on_heartbeat(not_active, true, t0 + 10s).what == hb::ask_again);
  BOOST_TEST(s.on_heartbeat(not_active, true, t0 + 21s).what == hb::renew_stream);
}

BOOST_AUTO_TEST_CASE(an_accepted_heartbeat_after_refusals_resets_the_renewal_clock) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  s.on_heartbeat(not_active, true, t0);
  s.on_heartbeat(ok_status, true, t0 + 15s);
  BOOST_TEST(s.on_heartbeat(not_active, true, t0 + 25s).what == hb::ask_again);
}

BOOST_AUTO_TEST_CASE(not_found_means_register_again_but_not_while_stopping) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  BOOST_TEST(s.on_heartbeat(status_of(hatchet::wire::status::not_found), true, t0).what
             == hb::register_again);
  auto stopping = connected(t0);
  stopping.begin_stop();
  BOOST_TEST(stopping.on_heartbeat(status_of(hatchet::wire::status::not_found), true, t0).what
             != hb::register_again);
}

BOOST_AUTO_TEST_CASE(heartbeats_refused_after_the_stop_closed_the_stream_change_nothing) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  s.on_heartbeat(ok_status, true, t0);
  s.begin_stop();
  s.close_for_stop();
  BOOST_TEST(s.on_heartbeat(not_active, false, t0 + 1s).what == hb::nothing);
  BOOST_TEST(s.on_stream_end(status_of(hatchet::wire::status::cancelled), t0 + 1s).what
             == se::finish_stop);
}

BOOST_AUTO_TEST_CASE(unimplemented_heartbeats_are_believed_after_three_in_a_row) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  auto unimpl = status_of(hatchet::wire::status::unimplemented);
  BOOST_TEST(s.on_heartbeat(unimpl, true, t0).what != hb::stop_heartbeats);
  BOOST_TEST(s.on_heartbeat(unimpl, true, t0).what != hb::stop_heartbeats);
  BOOST_TEST(s.on_heartbeat(unimpl, true, t0).what == hb::stop_heartbeats);
  BOOST_TEST(s.heartbeats_unsupported());
  BOOST_TEST(s.attached()); // the open stream is all there is to go by
}

BOOST_AUTO_TEST_CASE(a_broken_stream_reconnects_with_backoff_and_a_forgotten_worker_registers) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  auto v = s.on_stream_end(status_of(hatchet::wire::status::unavailable), t0 + 1s);
  BOOST_TEST(v.what == se::reconnect);
  BOOST_TEST(v.delay <= 100ms);
  s.stream_opened(t0 + 2s);
  v = s.on_stream_end(status_of(hatchet::wire::status::unavailable), t0 + 3s);
  BOOST_TEST(v.what == se::reconnect);
  BOOST_TEST(v.delay >= 100ms); // the second attempt in a row backs off further
  s.stream_opened(t0 + 4s);
  BOOST_TEST(s.on_stream_end(not_active, t0 + 5s).what == se::register_again);
}

BOOST_AUTO_TEST_CASE(listen_v2_unimplemented_falls_back_to_the_legacy_listen_once) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  auto unimpl = status_of(hatchet::wire::status::unimplemented);
  BOOST_TEST(s.on_stream_end(unimpl, t0).what == se::use_legacy);
  BOOST_TEST(s.legacy_listen());
  s.stream_opened(t0);
  BOOST_TEST(s.on_stream_end(unimpl, t0).what == se::reconnect);
  BOOST_TEST(!s.legacy_listen());
}

BOOST_AUTO_TEST_CASE(a_stream_ending_while_registering_waits_for_the_registration) {
  auto t0 = engine_session::clock::now();
  auto s = connected(t0);
  s.registering_now();
  BOOST_TEST(s.on_stream_end(status_of(hatchet::wire::status::cancelled), t0).what
             == se::wait_register);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the drain ----------------------------------------------------------------------------------

#include "actors/drain.hpp"

using hatchet::detail::drain;

BOOST_AUTO_TEST_SUITE(drain_suite)

using step = drain::step;

BOOST_AUTO_TEST_CASE(the_stream_stays_open_until_the_pause_is_answered_and_the_runs_are_done) {
  drain d;
  d.begin(true);
  BOOST_TEST((d.current() == drain::phase::pausing));
  BOOST_TEST((d.next_step(false, true, true) == step::wait)); // pause not answered yet
  d.pause_answered(true);
  BOOST_TEST((d.next_step(true, true, true) == step::wait)); // a run still going
  BOOST_TEST(!d.refuses_new_runs()); // the stream is open: what the engine still sends is run
  BOOST_TEST((d.next_step(false, false, true) == step::close_stream));
  BOOST_TEST(d.refuses_new_runs());
  BOOST_TEST((d.next_step(false, false, true) == step::arm_flush_deadline));
  BOOST_TEST((d.next_step(false, false, true) == step::wait)); // armed once
  BOOST_TEST((d.next_step(false, true, true) == step::unsubscribe));
  BOOST_TEST((d.next_step(false, true, true) == step::wait));
  d.unsubscribed();
  BOOST_TEST((d.current() == drain::phase::stopping_tasks));
  BOOST_TEST(!d.timed_out());
}

BOOST_AUTO_TEST_CASE(a_failed_pause_still_lets_the_stop_go_on) {
  drain d;
  d.begin(true);
  d.pause_answered(false);
  BOOST_TEST((d.pause() == drain::pause_state::failed));
  BOOST_TEST((d.next_step(false, true, true) == step::close_stream));
}

BOOST_AUTO_TEST_CASE(an_unregistered_worker_has_nothing_to_pause_or_unsubscribe) {
  drain d;
  d.begin(false);
  BOOST_TEST((d.next_step(false, true, false) == step::close_stream));
  BOOST_TEST((d.next_step(false, true, false) == step::stop_tasks));
}

BOOST_AUTO_TEST_CASE(the_deadlines_cancel_then_abandon_the_stragglers) {
  drain d;
  d.begin(true);
  d.pause_answered(true);
  BOOST_TEST(d.on_drain_deadline(true));  // runs left: cancel them, arm the grace
  BOOST_TEST(!d.on_drain_deadline(true)); // once
  d.on_grace_deadline(2);
  BOOST_TEST(d.timed_out());
  BOOST_TEST(d.abandoned() == 2u);
}

// A run started after drain_timeout would never be cancelled, and a pause call that does not
// answer must not hold the stream open for ever.
BOOST_AUTO_TEST_CASE(from_the_drain_deadline_on_no_run_starts_and_the_pause_is_not_awaited) {
  drain d;
  d.begin(true);
  BOOST_TEST(!d.refuses_new_runs());
  BOOST_TEST((d.next_step(false, true, true) == step::wait)); // pause pending
  BOOST_TEST(!d.on_drain_deadline(false)); // idle: nothing to cancel...
  BOOST_TEST(d.refuses_new_runs());        // ...but nothing new starts either
  BOOST_TEST((d.next_step(false, true, true) == step::close_stream)); // pause still pending
  BOOST_TEST(!d.on_drain_deadline(true));  // once
}

BOOST_AUTO_TEST_CASE(a_forced_stop_does_not_wait_for_the_pause_answer) {
  drain d;
  d.begin(true);
  BOOST_TEST(d.force(0));
  BOOST_TEST(!d.force(0));
  BOOST_TEST(d.forced());
  BOOST_TEST((d.next_step(false, true, true) == step::close_stream));
}

BOOST_AUTO_TEST_SUITE_END()

// -- ack box: the engine's answers to events, waiting for the dispatcher ------------------------

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "actors/ack_box.hpp"

BOOST_AUTO_TEST_SUITE(ack_box_suite)

BOOST_AUTO_TEST_CASE(answers_wait_without_a_wake_until_the_dispatcher_asks_for_one) {
  hatchet::detail::ack_box box;
  std::vector<uint64_t> got{99}; // take() clears what it is given
  BOOST_TEST(!box.put(1));
  BOOST_TEST(!box.put(2));
  box.take(got);
  BOOST_TEST(got == (std::vector<uint64_t>{1, 2}), boost::test_tools::per_element());
  box.take(got);
  BOOST_TEST(got.empty());
  box.wake_on_every_put();
  BOOST_TEST(box.put(3));
  box.take(got);
  BOOST_TEST(got == (std::vector<uint64_t>{3}), boost::test_tools::per_element());
}

// What a stop relies on: an answer put after the dispatcher's request to be woken is either in
// the take that follows the request or says to wake it; none is lost in between.
BOOST_AUTO_TEST_CASE(no_answer_is_lost_when_the_wake_request_races_with_puts) {
  for (int round = 0; round < 50; ++round) {
    hatchet::detail::ack_box box;
    constexpr uint64_t per_thread = 2000;
    std::atomic<int> woke{0};
    std::vector<std::thread> putters;
    std::vector<std::vector<uint64_t>> silent(2);
    for (int t = 0; t < 2; ++t)
      putters.emplace_back([&, t] {
        for (uint64_t i = 0; i < per_thread; ++i) {
          uint64_t seq = static_cast<uint64_t>(t) * per_thread + i;
          if (box.put(seq))
            ++woke;
          else
            silent[static_cast<size_t>(t)].push_back(seq);
        }
      });
    std::vector<uint64_t> taken, all;
    box.take(taken);
    all.insert(all.end(), taken.begin(), taken.end());
    box.wake_on_every_put();
    box.take(taken); // the take right after the request
    all.insert(all.end(), taken.begin(), taken.end());
    std::vector<uint64_t> by_then = all;
    std::sort(by_then.begin(), by_then.end());
    for (auto& p : putters)
      p.join();
    box.take(taken);
    all.insert(all.end(), taken.begin(), taken.end());
    // Every answer is taken exactly once.
    std::sort(all.begin(), all.end());
    BOOST_REQUIRE_EQUAL(all.size(), 2 * per_thread);
    for (uint64_t i = 0; i < 2 * per_thread; ++i)
      BOOST_REQUIRE_EQUAL(all[i], i);
    // An answer that did not ask for a wake-up was in a take up to the one that followed the
    // request: the dispatcher saw it without being woken.
    size_t silent_total = silent[0].size() + silent[1].size();
    BOOST_TEST(silent_total + static_cast<size_t>(woke.load()) == 2 * per_thread);
    for (const auto& s : silent)
      for (uint64_t seq : s)
        BOOST_REQUIRE(std::binary_search(by_then.begin(), by_then.end(), seq));
  }
}

BOOST_AUTO_TEST_SUITE_END()
