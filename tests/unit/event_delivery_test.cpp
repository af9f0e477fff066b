// The event delivery's rules, with a link that records what is sent: every event until the
// engine answers OK, retries with backoff, a refusal for good dropped, an oversized event turned
// into a short FAILED once, what a flush deadline drops. And the engine session's start-up retry
// policy, which decides the same kind of thing for GetVersion, PutWorkflow and Register.
#define BOOST_TEST_MODULE event_delivery
#include <boost/test/unit_test.hpp>

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "../actors/fake_engine_link.hpp"
#include "actors/engine_session.hpp"
#include "actors/event_delivery.hpp"

using hatchet::detail::engine_session;
using hatchet::detail::event_delivery;
using hatchet::detail::worker_log;
namespace wire = hatchet::wire;

namespace {

struct delivery_fixture {
  worker_log log{"delivery-test"};
  std::shared_ptr<fake::engine_link> link = std::make_shared<fake::engine_link>();
  std::shared_ptr<hatchet::detail::worker_metrics> metrics =
    std::make_shared<hatchet::detail::worker_metrics>();
  event_delivery d{log, 1 << 20, metrics};
  /// What the dispatcher would hear: failures only (successes wait in the box).
  std::vector<std::pair<uint64_t, wire::rpc_status>> failures;

  delivery_fixture() {
    d.wire_to(link, std::make_shared<const hatchet::rpc::event_acks>(
                      [this, box = d.box()](uint64_t seq, wire::rpc_status st) {
                        if (!st.ok())
                          failures.emplace_back(seq, std::move(st));
                        else
                          box->put(seq);
                      }));
  }

  void emit(const std::string& id, wire::step_event_type type, std::string payload = "{}") {
    d.emit(fake::start(id, "wf:t").ids, type, std::move(payload), false, 1, "worker-1");
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(delivery, delivery_fixture)

BOOST_AUTO_TEST_CASE(an_event_stays_until_the_engine_answers_ok) {
  emit("a", wire::step_event_type::started);
  emit("a", wire::step_event_type::completed);
  BOOST_TEST(link->events.size() == 2u);
  BOOST_TEST(link->events.front().worker_id == "worker-1");
  BOOST_TEST(d.size() == 2u);
  BOOST_TEST(metrics->outbox_depth.load() == 2);
  link->answer_events(fake::ok());
  BOOST_TEST(d.size() == 2u); // successes wait in the box until the dispatcher looks
  d.absorb_acks();
  BOOST_TEST(d.empty());
  BOOST_TEST(metrics->outbox_depth.load() == 0);
  BOOST_TEST(metrics->runs_completed.load() == 1u);
}

BOOST_AUTO_TEST_CASE(a_transient_failure_is_retried_after_a_backoff_and_only_the_last_timer_counts) {
  emit("a", wire::step_event_type::completed);
  link->answer_events(fake::status(wire::status::unavailable, "down"));
  BOOST_REQUIRE(failures.size() == 1u);
  auto [seq, st] = failures.back();
  auto v = d.on_answer(seq, st, "worker-1");
  BOOST_TEST((v.what == event_delivery::verdict::retry_later));
  BOOST_TEST(v.delay.count() > 0);
  BOOST_TEST(v.delay.count() <= 200);
  d.retry(seq, v.attempt + 1, "worker-1"); // a stale timer: nothing is sent
  BOOST_TEST(link->events.empty());
  d.retry(seq, v.attempt, "worker-1");
  BOOST_TEST(link->events.size() == 1u);
  d.retry(seq, v.attempt, "worker-1"); // in flight already: not twice
  BOOST_TEST(link->events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(repeated_failures_of_one_kind_are_logged_once_per_interval_with_a_count) {
  std::ostringstream lines;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
    "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  capture->set_pattern("%l %v");
  spdlog::set_default_logger(capture);
  auto now = hatchet::util::repeat_limiter::clock::time_point{};
  d.use_clock([&now] { return now; });
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (auto at = lines.str().find(what); at != std::string::npos;
         at = lines.str().find(what, at + 1))
      ++n;
    return n;
  };
  // The engine is down: 300 events fail, 1 ms apart, each once.
  for (int i = 0; i < 300; ++i) {
    emit("run-" + std::to_string(i), wire::step_event_type::completed);
    link->answer_events(fake::status(wire::status::unavailable, "connection refused"));
    auto [seq, st] = failures.back();
    d.on_answer(seq, st, "worker-1");
    now += std::chrono::milliseconds{1};
  }
  BOOST_TEST(count("failed") == 1u, lines.str());
  BOOST_TEST(count("connection refused") == 1u);
  // Ten seconds on, the next failure is told with the count since the last line.
  now += event_delivery::failure_log_interval;
  emit("late", wire::step_event_type::completed);
  link->answer_events(fake::status(wire::status::unavailable, "connection refused"));
  d.on_answer(failures.back().first, failures.back().second, "worker-1");
  BOOST_TEST(count("failed 300 more time(s)") == 1u, lines.str());
  // Another cause is told at once.
  emit("other", wire::step_event_type::completed);
  link->answer_events(fake::status(wire::status::deadline_exceeded, "slow"));
  d.on_answer(failures.back().first, failures.back().second, "worker-1");
  BOOST_TEST(count("slow") == 1u, lines.str());
  // One more held back, then the engine is back: one line says what was not logged.
  emit("held", wire::step_event_type::completed);
  link->answer_events(fake::status(wire::status::unavailable, "connection refused"));
  d.on_answer(failures.back().first, failures.back().second, "worker-1");
  BOOST_TEST(count("connection refused") == 2u);
  d.send_waiting("worker-1");
  link->answer_events(fake::ok());
  d.absorb_acks();
  BOOST_TEST(count("events reach the engine again; 1 failed send(s) were not logged") == 1u,
             lines.str());
  spdlog::set_default_logger(previous);
}

BOOST_AUTO_TEST_CASE(after_a_reconnect_every_event_waiting_for_its_backoff_goes_out_at_once) {
  emit("a", wire::step_event_type::completed);
  emit("b", wire::step_event_type::completed);
  link->answer_events(fake::status(wire::status::unavailable));
  for (auto& [seq, st] : failures)
    d.on_answer(seq, st, "worker-1");
  BOOST_TEST(link->events.empty());
  d.send_waiting("worker-2"); // a new registration's id
  BOOST_TEST(link->events.size() == 2u);
  BOOST_TEST(link->events.back().worker_id == "worker-2");
}

BOOST_AUTO_TEST_CASE(a_refusal_for_good_drops_the_event) {
  emit("a", wire::step_event_type::completed);
  link->answer_events(fake::status(wire::status::invalid_argument, "bad"));
  auto v = d.on_answer(failures[0].first, failures[0].second, "worker-1");
  BOOST_TEST((v.what == event_delivery::verdict::settled));
  BOOST_TEST(d.empty());
  BOOST_TEST(link->events.empty());
}

BOOST_AUTO_TEST_CASE(an_output_refused_as_too_large_becomes_a_short_failed_sent_once) {
  emit("a", wire::step_event_type::completed, std::string(4000, 'x'));
  link->answer_events(
    fake::status(wire::status::resource_exhausted, "Received message larger than max (5 vs. 4)"));
  auto v = d.on_answer(failures[0].first, failures[0].second, "worker-1");
  BOOST_TEST((v.what == event_delivery::verdict::settled));
  BOOST_REQUIRE(link->events.size() == 1u); // sent again at once, replaced
  const auto& ev = link->events.front().event;
  BOOST_TEST((ev.type == wire::step_event_type::failed));
  BOOST_TEST(ev.should_not_retry);
  BOOST_TEST(ev.payload.find("hatchet::output_too_large") == 0u);
  BOOST_TEST(ev.payload.size() < 1024u);
  // Refused again although short: dropped, nothing smaller is left to send.
  link->answer_events(
    fake::status(wire::status::resource_exhausted, "Received message larger than max (5 vs. 4)"));
  d.on_answer(failures[1].first, failures[1].second, "worker-1");
  BOOST_TEST(d.empty());
}

BOOST_AUTO_TEST_CASE(an_output_over_the_send_limit_fails_the_run_before_it_is_sent) {
  event_delivery small{log, 16 * 1024, metrics};
  small.wire_to(link, std::make_shared<const hatchet::rpc::event_acks>([](uint64_t, wire::rpc_status) {}));
  small.emit(fake::start("big", "wf:t").ids, wire::step_event_type::completed,
             std::string(64 * 1024, 'x'), false, 1, "worker-1");
  BOOST_REQUIRE(link->events.size() == 1u);
  const auto& ev = link->events.front().event;
  BOOST_TEST((ev.type == wire::step_event_type::failed));
  BOOST_TEST(ev.should_not_retry);
  BOOST_TEST(ev.payload.find("HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH") != std::string::npos);
  // An error text over the limit is cut, not refused, and says how long it was.
  small.emit(fake::start("err", "wf:t").ids, wire::step_event_type::failed,
             std::string(64 * 1024, 'e'), false, 1, "worker-1");
  const auto& cut = link->events.back().event;
  BOOST_TEST(cut.payload.size() <= small.max_payload());
  BOOST_TEST(cut.payload.find("[truncated: the error text had 65536 bytes]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_cut_error_text_never_splits_a_utf8_character) {
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += "\xC3\xA9"; // é, two bytes each: 100 bytes
  const std::string note = "\n[truncated: the error text had 100 bytes]";
  // The limit leaves room for 19 bytes of text: the 19th would be half of a character.
  auto cut = event_delivery::truncated(text, note.size() + 19);
  BOOST_TEST(cut == text.substr(0, 18) + note);
  BOOST_TEST(event_delivery::truncated(text, 100) == text); // fits: untouched
}

BOOST_AUTO_TEST_CASE(the_flush_deadline_drops_what_is_left_and_says_how_many) {
  emit("a", wire::step_event_type::completed);
  emit("b", wire::step_event_type::failed);
  link->answer(link->events, fake::ok()); // "a" answered OK: absorbed, not dropped
  BOOST_TEST(d.drop_all(std::chrono::milliseconds{10}) == 1u);
  BOOST_TEST(d.empty());
  BOOST_TEST(d.drop_all(std::chrono::milliseconds{10}) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the engine session's start-up retries -----------------------------------------------------

BOOST_AUTO_TEST_SUITE(startup_retries)

using call = engine_session::call;
using rv = engine_session::retry_verdict;

BOOST_AUTO_TEST_CASE(a_transient_failure_at_start_is_retried_up_to_the_limit_then_fails) {
  engine_session s;
  auto unavailable = fake::status(wire::status::unavailable);
  for (int i = 1; i < engine_session::max_startup_attempts; ++i) {
    auto v = s.on_call_failed(call::register_worker, unavailable, true, false);
    BOOST_TEST((v.what == rv::retry));
    BOOST_TEST(v.attempt == i);
    BOOST_TEST(v.delay.count() <= 5000);
  }
  BOOST_TEST((s.on_call_failed(call::register_worker, unavailable, true, false).what == rv::fail));
}

BOOST_AUTO_TEST_CASE(a_status_no_retry_changes_fails_the_start_at_once) {
  engine_session s;
  BOOST_TEST((s.on_call_failed(call::get_version, fake::status(wire::status::unauthenticated),
                               true, false)
                .what == rv::fail));
  BOOST_TEST((s.on_call_failed(call::get_version, fake::status(wire::status::unavailable), true,
                               true) // a fatal hint: a TLS or token mismatch
                .what == rv::fail));
}

BOOST_AUTO_TEST_CASE(registering_again_after_a_loss_never_gives_up) {
  engine_session s;
  for (int i = 0; i < 3 * engine_session::max_startup_attempts; ++i)
    BOOST_TEST((s.on_call_failed(call::put_workflow, fake::status(wire::status::unauthenticated),
                                 false, true)
                  .what == rv::retry));
}

BOOST_AUTO_TEST_CASE(each_call_counts_its_own_failures_and_a_success_resets_them) {
  engine_session s;
  auto unavailable = fake::status(wire::status::unavailable);
  for (int i = 1; i < engine_session::max_startup_attempts; ++i)
    s.on_call_failed(call::get_version, unavailable, true, false);
  BOOST_TEST(s.on_call_failed(call::put_workflow, unavailable, true, false).attempt == 1);
  s.on_call_ok(call::get_version);
  BOOST_TEST(s.on_call_failed(call::get_version, unavailable, true, false).attempt == 1);
}

BOOST_AUTO_TEST_CASE(register_follows_the_last_workflow_put) {
  engine_session s;
  s.begin_put_workflows(3);
  BOOST_TEST(!s.workflow_put());
  BOOST_TEST(!s.workflow_put());
  BOOST_TEST(s.workflow_put());
  BOOST_TEST(!s.workflow_put()); // a stray answer starts nothing
}

BOOST_AUTO_TEST_SUITE_END()
