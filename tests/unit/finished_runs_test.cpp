// engine/finished_runs.hpp: the finished runs the dev engine keeps, within a count and bytes.
#define BOOST_TEST_MODULE finished_runs
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/finished_runs.hpp"

using hatchet::engine::finished_runs;
using book = finished_runs<std::string>;

namespace {
std::vector<std::string> forget(book& b) {
  std::vector<std::string> gone;
  while (b.over_limit() != book::over::nothing)
    gone.push_back(b.pop_oldest());
  return gone;
}
} // namespace

BOOST_AUTO_TEST_CASE(the_oldest_go_first_when_over_the_count) {
  book b{2, 1'000'000};
  b.add("a", 10);
  b.add("b", 10);
  BOOST_TEST(forget(b).empty());
  b.add("c", 10);
  BOOST_TEST((b.over_limit() == book::over::count));
  BOOST_TEST(forget(b) == std::vector<std::string>{"a"});
  BOOST_TEST(b.bytes() == 20u);
}

BOOST_AUTO_TEST_CASE(the_oldest_go_first_when_over_the_bytes) {
  book b{1'000'000, 1000};
  for (auto* k : {"a", "b", "c", "d"})
    b.add(k, 400); // 1,600 bytes
  BOOST_TEST((b.over_limit() == book::over::bytes));
  BOOST_TEST((forget(b) == std::vector<std::string>{"a", "b"}));
  BOOST_TEST(b.bytes() == 800u);
  BOOST_TEST(b.size() == 2u);
}

BOOST_AUTO_TEST_CASE(the_newest_stays_whatever_its_size) {
  book b{1'000'000, 1000};
  b.add("a", 100);
  b.add("huge", 5000);
  BOOST_TEST((forget(b) == std::vector<std::string>{"a"}));
  BOOST_TEST(b.size() == 1u);
  BOOST_TEST((b.over_limit() == book::over::nothing));
}

BOOST_AUTO_TEST_CASE(a_log_line_after_the_end_counts_against_the_bytes) {
  book b{10, 1000};
  b.add("a", 400);
  b.add("b", 400);
  BOOST_TEST(forget(b).empty());
  b.grow("b", 300); // 1,100 bytes now
  BOOST_TEST(b.bytes() == 1100u);
  BOOST_TEST(forget(b) == std::vector<std::string>{"a"});
  b.grow("gone", 5000); // not kept: nothing changes
  BOOST_TEST(b.bytes() == 700u);
}

BOOST_AUTO_TEST_CASE(a_replayed_run_leaves_the_book_and_its_bytes_with_it) {
  book b{10, 1000};
  b.add("a", 600);
  b.add("b", 300);
  BOOST_TEST(b.remove("a"));
  BOOST_TEST(!b.remove("a"));
  BOOST_TEST(b.bytes() == 300u);
  b.add("c", 600);
  BOOST_TEST(forget(b).empty()); // 900 bytes: within
}

BOOST_AUTO_TEST_CASE(each_limit_is_warned_about_once) {
  book b{1, 1000};
  BOOST_TEST(b.first_time(book::over::count));
  BOOST_TEST(!b.first_time(book::over::count));
  BOOST_TEST(b.first_time(book::over::bytes)); // the other limit: its own first time
  BOOST_TEST(!b.first_time(book::over::bytes));
}

namespace {
struct fake_line {
  std::string message, level, metadata;
};
struct fake_task {
  std::string external_id, output, error;
  std::vector<fake_line> logs;
};
struct fake_run {
  std::string id, input, additional_metadata;
  std::optional<std::string> child_key;
  std::vector<std::unique_ptr<fake_task>> tasks;
  std::vector<std::pair<std::string, std::string>> step_run_errors;
};
} // namespace

BOOST_AUTO_TEST_CASE(a_runs_bytes_follow_its_strings) {
  fake_run run;
  run.input = std::string(1'000'000, 'i');
  const auto bare = hatchet::engine::run_bytes(run);
  BOOST_TEST(bare >= 1'000'000u);
  BOOST_TEST(bare < 1'001'000u); // the allowance is small beside the data
  auto t = std::make_unique<fake_task>();
  t->output = std::string(300'000, 'o');
  t->logs.push_back({std::string(5'000, 'l'), "INFO", "{}"});
  run.tasks.push_back(std::move(t));
  run.child_key = "key";
  const auto full = hatchet::engine::run_bytes(run);
  BOOST_TEST(full - bare >= 305'000u);
  BOOST_TEST(full - bare < 306'000u);
  BOOST_TEST(hatchet::engine::log_line_bytes(fake_line{"abc", "INFO", "{}"}) == 64u + 3 + 4 + 2);
}
