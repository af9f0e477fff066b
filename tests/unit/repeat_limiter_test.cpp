// util/repeat_limiter.hpp: one line per cause per interval, with the count held back.
#define BOOST_TEST_MODULE repeat_limiter
#include <boost/test/unit_test.hpp>

#include "util/repeat_limiter.hpp"

using hatchet::util::repeat_limiter;
using namespace std::chrono_literals;

namespace {
const repeat_limiter::clock::time_point t0{};
}

BOOST_AUTO_TEST_CASE(the_first_of_a_cause_is_told_the_rest_of_the_interval_counted) {
  repeat_limiter l{10s};
  auto first = l.admit("down", t0);
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(*first == 0u);
  int told = 0;
  for (int i = 1; i <= 1590; ++i) // 1,590 more within the interval
    told += l.admit("down", t0 + i * 5ms).has_value() ? 1 : 0;
  BOOST_TEST(told == 0);
  auto next = l.admit("down", t0 + 10s);
  BOOST_REQUIRE(next.has_value());
  BOOST_TEST(*next == 1590u); // the count held back since the last line
  BOOST_TEST(!l.admit("down", t0 + 19s).has_value());
  auto third = l.admit("down", t0 + 20s);
  BOOST_REQUIRE(third.has_value());
  BOOST_TEST(*third == 1u);
}

BOOST_AUTO_TEST_CASE(each_cause_has_its_own_interval) {
  repeat_limiter l{10s};
  BOOST_TEST(l.admit("refused", t0).has_value());
  BOOST_TEST(l.admit("deadline", t0 + 1s).has_value()); // another cause: told at once
  BOOST_TEST(!l.admit("refused", t0 + 2s).has_value());
  BOOST_TEST(!l.admit("deadline", t0 + 2s).has_value());
}

BOOST_AUTO_TEST_CASE(take_held_gives_what_was_never_told_and_starts_afresh) {
  repeat_limiter l{10s};
  l.admit("down", t0);
  l.admit("down", t0 + 1s);
  l.admit("down", t0 + 2s);
  l.admit("other", t0 + 2s);
  BOOST_TEST(l.any());
  auto held = l.take_held();
  BOOST_REQUIRE(held.size() == 1u); // "other" held nothing back
  BOOST_TEST(held[0].first == "down");
  BOOST_TEST(held[0].second == 2u);
  BOOST_TEST(!l.any());
  BOOST_TEST(l.admit("down", t0 + 3s).has_value()); // told at once again
}

BOOST_AUTO_TEST_CASE(at_most_max_causes_are_remembered_forgetting_the_one_told_longest_ago) {
  repeat_limiter l{10s, 2};
  l.admit("a", t0);
  l.admit("b", t0 + 1s);
  l.admit("c", t0 + 2s); // forgets "a"
  BOOST_TEST(l.admit("a", t0 + 3s).has_value());
  BOOST_TEST(!l.admit("c", t0 + 3s).has_value());
}
