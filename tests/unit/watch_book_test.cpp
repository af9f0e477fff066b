// The run listener's book of waits: shared subscriptions, answers taken once, and which waits a
// barren stream gives up (only those that lived through the limit, never a newcomer).
#define BOOST_TEST_MODULE watch_book
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "client/watch_book.hpp"

using book_t = hatchet::rpc::watch_book<std::string>; // a wait's "callback" is its name here

namespace {
std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
} // namespace

BOOST_AUTO_TEST_CASE(a_second_wait_for_a_run_shares_its_subscription) {
  book_t book{3};
  auto [t1, first1] = book.add("run-a", "w1");
  auto [t2, first2] = book.add("run-a", "w2");
  auto [t3, first3] = book.add("run-b", "w3");
  BOOST_TEST(first1);
  BOOST_TEST(!first2);
  BOOST_TEST(first3);
  BOOST_TEST(t1 != t2);
  BOOST_TEST(book.runs() == 2u);
  BOOST_TEST(sorted(book.run_ids()) == (std::vector<std::string>{"run-a", "run-b"}));
}

BOOST_AUTO_TEST_CASE(a_result_answers_every_wait_for_its_run_once) {
  book_t book{3};
  book.add("run-a", "w1");
  book.add("run-a", "w2");
  book.add("run-b", "w3");
  BOOST_TEST(sorted(book.take("run-a")) == (std::vector<std::string>{"w1", "w2"}));
  BOOST_TEST(book.take("run-a").empty()); // a duplicate event finds nobody
  BOOST_TEST(book.runs() == 1u);
}

BOOST_AUTO_TEST_CASE(a_withdrawn_wait_is_not_answered_and_the_others_are) {
  book_t book{3};
  auto [t1, f1] = book.add("run-a", "w1");
  book.add("run-a", "w2");
  BOOST_TEST(book.remove("run-a", t1));
  BOOST_TEST(!book.remove("run-a", t1)); // twice: already gone
  BOOST_TEST(!book.remove("run-z", t1));
  BOOST_TEST(book.take("run-a") == (std::vector<std::string>{"w2"}));
  BOOST_TEST(book.empty());
}

BOOST_AUTO_TEST_CASE(barren_streams_give_up_a_wait_at_the_limit) {
  book_t book{3};
  book.add("run-a", "old");
  BOOST_TEST(book.stream_ended(0).empty());
  BOOST_TEST(book.stream_ended(0).empty());
  BOOST_TEST(book.stream_ended(0) == (std::vector<std::string>{"old"}));
  BOOST_TEST(book.empty()); // nothing left: the listener stops resubscribing until a new wait
}

BOOST_AUTO_TEST_CASE(a_wait_that_began_late_keeps_its_own_count) {
  // The old rule counted barren streams for the listener as a whole: a wait added just before
  // the limit failed with the others after one stream.
  book_t book{3};
  book.add("run-a", "old");
  book.stream_ended(0);
  book.stream_ended(0);
  book.add("run-b", "new");
  BOOST_TEST(book.stream_ended(0) == (std::vector<std::string>{"old"}));
  BOOST_TEST(book.run_ids() == (std::vector<std::string>{"run-b"}));
  BOOST_TEST(book.stream_ended(0).empty());
  BOOST_TEST(book.stream_ended(0) == (std::vector<std::string>{"new"}));
}

BOOST_AUTO_TEST_CASE(a_stream_that_delivered_resets_every_count) {
  book_t book{2};
  book.add("run-a", "a");
  book.add("run-b", "b");
  book.stream_ended(0);
  BOOST_TEST(book.stream_ended(1).empty()); // run-c's result came: the engine is answering
  BOOST_TEST(book.stream_ended(0).empty());
  BOOST_TEST(sorted(book.stream_ended(0)) == (std::vector<std::string>{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(a_refusal_takes_every_wait) {
  book_t book{10};
  book.add("run-a", "a1");
  book.add("run-a", "a2");
  book.add("run-b", "b");
  BOOST_TEST(sorted(book.take_all()) == (std::vector<std::string>{"a1", "a2", "b"}));
  BOOST_TEST(book.empty());
}
