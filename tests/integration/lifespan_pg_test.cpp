#define BOOST_TEST_MODULE lifespan_pg
#include "harness.hpp"

#include <cstdlib>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "lifespan_pg.hpp"

using namespace harness;
using nlohmann::json;

namespace {

/// The PostgreSQL server the ctest fixture started (scripts/pg.sh writes the conninfo file).
std::string conninfo() {
  const char* file = std::getenv("PG_CONNINFO_FILE");
  BOOST_REQUIRE_MESSAGE(file != nullptr, "PG_CONNINFO_FILE is not set (run through ctest)");
  std::ifstream in{file};
  std::string line;
  std::getline(in, line);
  BOOST_REQUIRE_MESSAGE(!line.empty(), "no conninfo in " << file);
  return line;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(lifespan_pg_example, engine_fixture)

BOOST_AUTO_TEST_CASE(tasks_query_through_the_lifespan_pool_which_closes_after_the_last_task) {
  auto info = conninfo();
  // The example's workflow, plus a probe task that hands the test the pool it sees.
  auto seen_pool = std::make_shared<std::shared_ptr<lifespan_pg::connection_pool>>();
  auto probe_mtx = std::make_shared<std::mutex>();
  hatchet::workflow probe{"PoolProbe"};
  probe.task("probe", [seen_pool, probe_mtx](const hatchet::empty_model&, hatchet::context& ctx) {
    std::lock_guard lock{*probe_mtx};
    *seen_pool = ctx.lifespan<lifespan_pg::Lifespan>().pool;
    return json{{"foo", ctx.lifespan<lifespan_pg::Lifespan>().foo}};
  });
  running_worker w{cfg, "test-worker",
                   {.slots = 4,
                    .workflows = {lifespan_pg::workflow(), probe},
                    .lifespan = [info] { return lifespan_pg::lifespan(info, 2); }}};
  w.ready();
  auto results = run_all("LifespanWorkflow", std::vector<std::string>(20, "{}"));
  BOOST_TEST(results.size() == 20u);
  std::set<std::vector<std::string>> id_sets;
  for (const auto& r : results) {
    BOOST_REQUIRE_EQUAL(r.tasks.size(), 1u);
    const auto& t = r.tasks.front();
    BOOST_TEST(!t.error.has_value(), t.error.value_or(""));
    BOOST_REQUIRE(t.output.has_value());
    auto out = json::parse(*t.output).get<lifespan_pg::TaskOutput>();
    BOOST_TEST(out.num_rows == 5);
    BOOST_TEST(out.external_ids.size() == 5u);
    id_sets.insert(out.external_ids);
  }
  BOOST_TEST(id_sets.size() == 1u); // every task read the same rows through the one pool
  auto probed = run_all("PoolProbe", {"{}"});
  BOOST_TEST(json::parse(*probed[0].tasks[0].output).at("foo") == "bar");
  BOOST_REQUIRE(*seen_pool);
  BOOST_TEST(!(*seen_pool)->closed());
  BOOST_TEST(!w.stop());
  BOOST_TEST((*seen_pool)->closed()); // the cleanup ran
}

BOOST_AUTO_TEST_CASE(unreachable_database_fails_setup_and_the_worker_never_registers) {
  running_worker w{cfg, "test-worker",
                   {.slots = 1,
                    .workflows = {lifespan_pg::workflow()},
                    .lifespan = [] {
                      return lifespan_pg::lifespan("host=127.0.0.1 port=1 dbname=none "
                                                   "connect_timeout=2",
                                                   1);
                    }}};
  auto reason = w.wait_down();
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
  BOOST_TEST(hatchet::describe(reason).find("lifespan setup failed") != std::string::npos,
             hatchet::describe(reason));
  BOOST_TEST(engine.snapshot().assigned == 0u);
}

// A pool of 0 connections used to make the first task wait for ever.
BOOST_AUTO_TEST_CASE(an_empty_pool_fails_setup_saying_so) {
  running_worker w{cfg, "test-worker",
                   {.slots = 1,
                    .workflows = {lifespan_pg::workflow()},
                    .lifespan = [] { return lifespan_pg::lifespan("dbname=none", 0); }}};
  auto reason = w.wait_down();
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
  BOOST_TEST(hatchet::describe(reason).find("at least 1 connection") != std::string::npos,
             hatchet::describe(reason));
}

BOOST_AUTO_TEST_SUITE_END()
