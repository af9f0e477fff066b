// The real engine's cut of a finished run's results before SubscribeToWorkflowRuns writes them
// (engine/dispatcher/clean_results.hpp, after internal/services/dispatcher/server.go).
#define BOOST_TEST_MODULE clean_results
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "engine/dispatcher/clean_results.hpp"

using hatchet::engine::clean_results;
using hatchet::engine::step_result;

namespace {

step_result output(const std::string& name, size_t bytes) {
  return {"id-" + name, name, std::string(bytes, 'o'), std::nullopt};
}
step_result error(const std::string& name, size_t bytes) {
  return {"id-" + name, name, std::nullopt, std::string(bytes, 'e')};
}

} // namespace

BOOST_AUTO_TEST_CASE(results_under_the_threshold_go_as_they_are) {
  auto r = clean_results({output("a", 600), error("b", 399)}, 1000);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->size() == 2u);
  BOOST_TEST(r->at(1).error->size() == 399u);
}

BOOST_AUTO_TEST_CASE(outputs_at_or_over_the_threshold_leave_no_results) {
  BOOST_TEST(!clean_results({output("a", 500), output("b", 500)}, 1000).has_value());
  BOOST_TEST(!clean_results({output("a", 3'000'000), output("b", 3'000'000)}, 4 << 20).has_value());
}

BOOST_AUTO_TEST_CASE(long_errors_are_replaced_with_the_engines_words_to_fit) {
  // Outputs 400 of 1000: each of the 2 results may carry (1000 - 400) / 2 = 300 bytes of error.
  auto r = clean_results({output("a", 400), error("b", 700)}, 1000);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(*r->at(0).output == std::string(400, 'o'));
  BOOST_TEST(*r->at(1).error == "Error is too large to send over the Hatchet stream.");
  // Per field (1000 - 400) / 2 = 300: an error within it stays, a longer one is replaced.
  auto mixed = clean_results({output("a", 400), error("b", 150), error("c", 500)}, 1000);
  BOOST_REQUIRE(mixed.has_value());
  BOOST_TEST(mixed->at(1).error->size() == 150u);
  BOOST_TEST(*mixed->at(2).error == hatchet::engine::error_too_large_text);
}

BOOST_AUTO_TEST_CASE(results_still_over_after_the_cut_are_left_out) {
  // 990 of output and a 20-byte error: over 1000; the error's replacement (51 bytes) is longer.
  BOOST_TEST(!clean_results({output("a", 990), error("b", 20)}, 1000).has_value());
}
