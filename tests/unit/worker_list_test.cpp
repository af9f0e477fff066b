// Which workers and workflows the REST lists show (engine/worker_list.hpp, workflow_list.hpp).
#define BOOST_TEST_MODULE worker_list
#include <boost/test/unit_test.hpp>

#include "engine/worker_list.hpp"
#include "engine/workflow_list.hpp"

using namespace std::chrono_literals;
using namespace hatchet::engine;

namespace {

const auto now = std::chrono::system_clock::time_point{} + 1000h;

worker_view worker(const std::string& id, std::chrono::hours age, const std::string& status,
                   std::optional<std::chrono::system_clock::duration> heartbeat_ago = 1s) {
  worker_view w;
  w.id = id;
  w.status = status;
  w.created_at = now - age;
  if (heartbeat_ago)
    w.last_heartbeat_at = now - *heartbeat_ago;
  return w;
}

std::vector<std::string> ids(const worker_list_page& p) {
  std::vector<std::string> out;
  for (const auto& w : p.rows)
    out.push_back(w.id);
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(newest_first_and_only_those_heard_from_within_a_day) {
  std::vector<worker_view> all{worker("old", 5h, "ACTIVE"), worker("new", 1h, "ACTIVE"),
                               worker("silent", 2h, "INACTIVE", 25h),
                               worker("never", 3h, "INACTIVE", std::nullopt),
                               worker("mid", 3h, "PAUSED")};
  auto page = select_workers(all, {}, now);
  BOOST_TEST(ids(page) == (std::vector<std::string>{"new", "mid", "old"}),
             boost::test_tools::per_element());
  BOOST_TEST(page.num_pages == 1);
  BOOST_TEST(page.current_page == 1);
  BOOST_TEST(page.next_page == 1);
}

BOOST_AUTO_TEST_CASE(statuses_and_labels_narrow_and_a_bad_label_filter_is_an_error) {
  auto gpu = worker("gpu", 1h, "ACTIVE");
  gpu.labels = {{"gpu", "a100"}, {"zone", "eu"}};
  auto cpu = worker("cpu", 2h, "PAUSED");
  cpu.labels = {{"zone", "eu"}};
  std::vector<worker_view> all{gpu, cpu};
  BOOST_TEST(ids(select_workers(all, {.statuses = {"PAUSED"}}, now))
             == std::vector<std::string>{"cpu"});
  BOOST_TEST(ids(select_workers(all, {.labels = {"zone:eu", "gpu:a100"}}, now))
             == std::vector<std::string>{"gpu"});
  BOOST_TEST(select_workers(all, {.labels = {"zone:eu"}}, now).rows.size() == 2u);
  auto bad = select_workers(all, {.labels = {"zone"}}, now);
  BOOST_TEST(bad.error.find("expected key:value") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(offset_and_limit_cut_pages_counted_as_the_handler_counts_them) {
  std::vector<worker_view> all;
  for (int i = 0; i < 5; ++i)
    all.push_back(worker("w" + std::to_string(i), std::chrono::hours{10 - i}, "ACTIVE"));
  auto page = select_workers(all, {.offset = 2, .limit = 2}, now);
  BOOST_TEST(ids(page) == (std::vector<std::string>{"w2", "w1"}), boost::test_tools::per_element());
  BOOST_TEST(page.num_pages == 3);
  BOOST_TEST(page.current_page == 2);
  BOOST_TEST(page.next_page == 3);
  auto last = select_workers(all, {.offset = 4, .limit = 2}, now);
  BOOST_TEST(ids(last) == std::vector<std::string>{"w0"});
  BOOST_TEST(last.current_page == 3);
  BOOST_TEST(last.next_page == 3);
}

// -- the workflow list (engine/workflow_list.hpp) ---------------------------------------------

BOOST_AUTO_TEST_CASE(workflows_newest_first_filtered_by_a_name_part_in_any_case) {
  auto wf = [](const std::string& name, std::chrono::hours age) {
    workflow_view w;
    w.name = name;
    w.created_at = now - age;
    return w;
  };
  std::vector<workflow_view> all{wf("nightly-report", 3h), wf("Welcome", 1h),
                                 wf("weekly-report", 2h)};
  auto names = [](const workflow_list_page& p) {
    std::vector<std::string> out;
    for (const auto& w : p.rows)
      out.push_back(w.name);
    return out;
  };
  BOOST_TEST(names(select_workflows(all, {})) ==
               (std::vector<std::string>{"Welcome", "weekly-report", "nightly-report"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(select_workflows(all, {.name = "REPORT"})) ==
               (std::vector<std::string>{"weekly-report", "nightly-report"}),
             boost::test_tools::per_element());
  auto page = select_workflows(all, {.offset = 1, .limit = 1});
  BOOST_TEST(names(page) == std::vector<std::string>{"weekly-report"});
  BOOST_TEST(page.pages.num_pages == 3);
  BOOST_TEST(page.pages.current_page == 2);
  BOOST_TEST(select_workflows(all, {.limit = 0}).rows.size() == 3u); // 0: the default, 50
}
