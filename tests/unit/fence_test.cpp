// When a worker gives up its runs in a partition (actors/fence.hpp): counted from when the last
// accepted heartbeat was sent, once, and afresh after a new registration.
#define BOOST_TEST_MODULE fence
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "actors/fence.hpp"

using hatchet::detail::fence;
using namespace std::chrono_literals;

namespace {
const fence::clock::time_point t0{};
}

BOOST_AUTO_TEST_CASE(the_deadline_counts_from_when_the_accepted_beat_was_sent) {
  fence f{25s};
  auto beat = f.beat_sent(t0 + 1s);
  auto deadline = f.accepted(beat); // answered 4 s later: the engine had it by then at the latest
  BOOST_REQUIRE(deadline.has_value());
  BOOST_TEST((*deadline == t0 + 26s));
  BOOST_TEST(!f.due(beat, t0 + 25s + 999ms));
  BOOST_TEST(f.due(beat, t0 + 26s));
  BOOST_TEST(f.fenced());
  BOOST_TEST(!f.due(beat, t0 + 40s)); // once
}

BOOST_AUTO_TEST_CASE(a_later_accepted_beat_moves_the_deadline_and_voids_the_older_timer) {
  fence f{25s};
  auto b1 = f.beat_sent(t0);
  auto b2 = f.beat_sent(t0 + 4s);
  BOOST_REQUIRE(f.accepted(b1).has_value());
  auto d2 = f.accepted(b2);
  BOOST_REQUIRE(d2.has_value());
  BOOST_TEST((*d2 == t0 + 29s));
  BOOST_TEST(!f.due(b1, t0 + 25s)); // b1's timer: b2 was accepted since
  BOOST_TEST(f.due(b2, t0 + 29s));
}

BOOST_AUTO_TEST_CASE(an_older_beat_answered_late_does_not_move_the_deadline_back) {
  fence f{25s};
  auto b1 = f.beat_sent(t0);
  auto b2 = f.beat_sent(t0 + 4s);
  BOOST_REQUIRE(f.accepted(b2).has_value());
  BOOST_TEST(!f.accepted(b1).has_value());
  BOOST_TEST(!f.due(b2, t0 + 28s));
  BOOST_TEST(f.due(b2, t0 + 29s));
}

BOOST_AUTO_TEST_CASE(failed_or_unknown_beats_never_fence_a_worker_never_accepted) {
  fence f{25s};
  f.beat_sent(t0);
  BOOST_TEST(!f.accepted(999).has_value());
  BOOST_TEST(!f.due(1, t0 + 100s)); // no proof yet: the engine has no runs for us either
  BOOST_TEST(!f.fenced());
}

BOOST_AUTO_TEST_CASE(a_new_registration_starts_afresh_and_forgets_the_old_beats) {
  fence f{25s};
  auto b1 = f.beat_sent(t0);
  f.accepted(b1);
  BOOST_TEST(f.due(b1, t0 + 25s));
  auto stale = f.beat_sent(t0 + 26s); // to the old identity, answered after the registration
  f.registered();
  BOOST_TEST(!f.fenced());
  BOOST_TEST(!f.accepted(stale).has_value());
  auto b2 = f.beat_sent(t0 + 60s);
  auto d2 = f.accepted(b2);
  BOOST_REQUIRE(d2.has_value());
  BOOST_TEST((*d2 == t0 + 85s));
  BOOST_TEST(f.due(b2, t0 + 85s));
  BOOST_TEST(f.silent_seconds(t0 + 85s) == 25.0);
}
