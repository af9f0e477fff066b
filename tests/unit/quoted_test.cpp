// util/quoted.hpp: inputs quoted in error messages, a bounded prefix at most.
#define BOOST_TEST_MODULE quoted
#include <boost/test/unit_test.hpp>

#include "util/quoted.hpp"

using hatchet::util::bounded_prefix;
using hatchet::util::quoted;

BOOST_AUTO_TEST_CASE(short_inputs_are_quoted_whole) {
  BOOST_TEST(quoted("wf") == "'wf'");
  BOOST_TEST(quoted("") == "''");
  BOOST_TEST(bounded_prefix("wf") == "wf");
}

BOOST_AUTO_TEST_CASE(long_inputs_give_a_prefix_and_their_size) {
  auto q = quoted(std::string(16'000, 'n'));
  BOOST_TEST(q == "'" + std::string(120, 'n') + "...' (16000 bytes)");
  BOOST_TEST(bounded_prefix(std::string(200, 'n'), 10) == "nnnnnnnnnn... (200 bytes)");
}

BOOST_AUTO_TEST_CASE(a_cut_never_splits_a_utf8_character_and_control_characters_show_as_marks) {
  std::string text = std::string(9, 'a') + "\xC3\xA9" + "bbbb"; // 'é' at bytes 9-10
  BOOST_TEST(bounded_prefix(text, 10) == std::string(9, 'a') + "... (15 bytes)");
  BOOST_TEST(quoted("a\nb\r") == "'a?b?'");
}
