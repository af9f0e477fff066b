// The order a SubscribeToWorkflowEvents stream gives a run's chunks: the real engine's
// StreamEventBuffer rules (internal/services/dispatcher/server.go), and when the run's end
// follows (run_end_hold), with time passed in.
#define BOOST_TEST_MODULE stream_event_buffer
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "engine/dispatcher/stream_event_buffer.hpp"

using namespace std::chrono_literals;
using hatchet::engine::stream_event_buffer;
using hatchet::engine::workflow_event;

namespace {

workflow_event chunk(const std::string& task, std::optional<int64_t> index) {
  workflow_event ev;
  ev.what = workflow_event::kind::stream;
  ev.resource_id = task;
  ev.index = index;
  ev.payload = task + ":" + (index ? std::to_string(*index) : std::string{"-"});
  return ev;
}

std::vector<std::string> payloads(const std::vector<workflow_event>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs)
    out.push_back(e.payload);
  return out;
}

using strings = std::vector<std::string>;
const stream_event_buffer::clock::time_point t0{};

} // namespace

BOOST_AUTO_TEST_CASE(in_order_chunks_pass_at_once_and_a_gap_holds_what_follows_it) {
  stream_event_buffer b{5000ms};
  std::vector<workflow_event> out;
  b.add(chunk("a", 0), t0, out);
  BOOST_TEST(payloads(out) == strings{"a:0"}, boost::test_tools::per_element());
  out.clear();
  b.add(chunk("a", 2), t0, out); // 1 is missing
  b.add(chunk("a", 3), t0, out);
  BOOST_TEST(out.empty());
  BOOST_TEST(b.held() == 2u);
  b.add(chunk("a", 1), t0 + 10ms, out); // the gap closes: 1, 2, 3 in order
  BOOST_TEST(payloads(out) == (strings{"a:1", "a:2", "a:3"}), boost::test_tools::per_element());
  BOOST_TEST(b.held() == 0u);
  BOOST_TEST(!b.next_deadline().has_value());
}

BOOST_AUTO_TEST_CASE(twenty_chunks_in_any_order_come_out_in_index_order) {
  stream_event_buffer b{5000ms};
  std::vector<workflow_event> out;
  for (int64_t i : {3, 1, 0, 2, 7, 5, 4, 6, 19, 8, 10, 9, 11, 13, 12, 15, 14, 17, 16, 18})
    b.add(chunk("t", i), t0, out);
  strings want;
  for (int i = 0; i < 20; ++i)
    want.push_back("t:" + std::to_string(i));
  BOOST_TEST(payloads(out) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(chunks_without_an_index_pass_and_tasks_are_ordered_apart) {
  stream_event_buffer b{5000ms};
  std::vector<workflow_event> out;
  b.add(chunk("a", 1), t0, out);             // held: a waits for 0
  b.add(chunk("b", 0), t0, out);             // b has its own sequence
  b.add(chunk("a", std::nullopt), t0, out);  // no index: at once
  BOOST_TEST(payloads(out) == (strings{"b:0", "a:-"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(held_chunks_go_out_in_order_after_the_timeout_and_a_new_sequence_starts) {
  stream_event_buffer b{5000ms};
  std::vector<workflow_event> out;
  b.add(chunk("a", 0), t0, out);
  out.clear();
  b.add(chunk("a", 3), t0 + 1s, out); // 1 and 2 never come
  b.add(chunk("a", 2), t0 + 2s, out);
  BOOST_TEST((*b.next_deadline() == t0 + 6s)); // from the first held chunk
  b.expire(t0 + 5999ms, out);
  BOOST_TEST(out.empty());
  b.expire(t0 + 6s, out);
  BOOST_TEST(payloads(out) == (strings{"a:2", "a:3"}), boost::test_tools::per_element());
  out.clear();
  // After a timeout the next chunk sets the sequence, whatever its index.
  b.add(chunk("a", 9), t0 + 7s, out);
  b.add(chunk("a", 10), t0 + 7s, out);
  BOOST_TEST(payloads(out) == (strings{"a:9", "a:10"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_runs_end_drains_every_held_chunk_in_order) {
  stream_event_buffer b{5000ms};
  std::vector<workflow_event> out;
  b.add(chunk("a", 4), t0, out);
  b.add(chunk("a", 2), t0, out);
  b.add(chunk("b", 1), t0, out);
  BOOST_TEST(out.empty());
  b.drain(out);
  BOOST_TEST(payloads(out) == (strings{"a:2", "a:4", "b:1"}), boost::test_tools::per_element());
  BOOST_TEST(b.held() == 0u);
}

// -- when the run's end follows (engine/dispatcher/run_end_hold.hpp) --------------------------

BOOST_AUTO_TEST_CASE(the_end_waits_the_settle_time_pushed_back_by_chunks_up_to_two_seconds) {
  using hatchet::engine::run_end_hold;
  run_end_hold hold{t0, 250ms};
  BOOST_TEST(!hold.due(t0 + 249ms));
  BOOST_TEST(hold.due(t0 + 250ms));
  hold.chunk_arrived(t0 + 200ms); // a late chunk: 250 ms more from it
  BOOST_TEST(!hold.due(t0 + 449ms));
  BOOST_TEST(hold.due(t0 + 450ms));
  for (auto at = t0 + 300ms; at < t0 + 5s; at += 100ms) // chunks keep coming: capped at 2 s
    hold.chunk_arrived(at);
  BOOST_TEST((hold.due_at() == t0 + 2s));
  run_end_hold at_once{t0, 0ms};
  BOOST_TEST(at_once.due(t0));
}
