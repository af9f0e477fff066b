// Per-run dependencies: built before the task, torn down after it once, on completion, failure,
// cancellation and worker stop; a failing provider fails only its run; nested providers tear
// down in reverse order; sync tasks and co_tasks alike.
#define BOOST_TEST_MODULE depends
#include "harness.hpp"

#include <map>

#include <nlohmann/json.hpp>

using namespace harness;
using json = nlohmann::json;

namespace {

/// What the providers did, per run (task_run_external_id), in order.
struct journal {
  std::mutex mtx;
  std::map<std::string, std::vector<std::string>> by_run;
  gauge setups;
  gauge teardowns;

  void note(const hatchet::context& ctx, std::string what) {
    std::lock_guard lock{mtx};
    by_run[ctx.task_run_external_id()].push_back(std::move(what));
  }
  std::vector<std::string> of(const std::string& run) {
    std::lock_guard lock{mtx};
    return by_run[run];
  }
};

struct connection {
  int id = 0;
  bool open = true;
};

hatchet::dependency<connection*> make_connection(std::shared_ptr<journal> j) {
  return hatchet::provide("connection", [j](hatchet::context& ctx)
                                          -> hatchet::resource<connection*> {
    auto c = std::make_unique<connection>();
    c->id = 7;
    j->note(ctx, "connection up");
    j->setups.add(1);
    co_yield c.get();
    c->open = false;
    j->note(ctx, "connection down");
    j->teardowns.add(1);
  });
}

/// Needs the connection: built after it, torn down before it.
hatchet::dependency<std::string> make_transaction(std::shared_ptr<journal> j,
                                                  hatchet::dependency<connection*> conn) {
  return hatchet::provide(
    "transaction",
    [j, conn](hatchet::context& ctx) -> hatchet::resource<std::string> {
      auto* link = ctx.use(conn); // built before this provider
      if (!link->open)
        throw std::runtime_error{"the connection is closed"};
      j->note(ctx, "transaction up");
      j->setups.add(1);
      co_yield "tx on connection " + std::to_string(link->id);
      j->note(ctx, "transaction down");
      j->teardowns.add(1);
    },
    conn);
}

/// A connection provider and a transaction provider that needs it, recording per run.
struct providers {
  std::shared_ptr<journal> log = std::make_shared<journal>();
  hatchet::dependency<connection*> conn = make_connection(log);
  hatchet::dependency<std::string> tx = make_transaction(log, conn);
};

struct mode_input {
  std::string mode; // "ok", "throw", "wait", "fail_provider"
};
HATCHET_DEFINE_INPUT(mode_input, mode)

/// A provider that fails when its run's input says so: the input is not visible to providers,
/// so it reads the run's metadata instead.
hatchet::dependency<int> flaky_provider(std::shared_ptr<journal> j) {
  return hatchet::provide("flaky", [j](hatchet::context& ctx) -> hatchet::resource<int> {
    if (ctx.additional_metadata().value("fail", false))
      throw std::runtime_error{"the flaky resource is down"};
    j->setups.add(1);
    co_yield 1;
    j->teardowns.add(1);
  });
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(depends, engine_fixture)

BOOST_AUTO_TEST_CASE(nested_providers_build_in_order_and_tear_down_in_reverse_for_sync_and_co_tasks) {
  providers p;
  hatchet::workflow wf{"DependsWorkflow"};
  wf.task("sync", [&p](const mode_input& in, hatchet::context& ctx) {
    p.log->note(ctx, "task");
    if (in.mode == "throw")
      throw std::runtime_error{"task failed"};
    return json{{"tx", ctx.use(p.tx)}, {"conn", ctx.use(p.conn)->id}};
  }, {.depends = {p.tx}}); // the connection comes with it
  hatchet::workflow co_wf{"DependsCoWorkflow"};
  co_wf.task("co", [&p](const mode_input& in, hatchet::context& ctx) -> hatchet::co_task<json> {
    co_await ctx.sleep_for(1ms);
    p.log->note(ctx, "task");
    if (in.mode == "throw")
      throw std::runtime_error{"task failed"};
    co_return json{{"tx", ctx.use(p.tx)}};
  }, {.depends = {p.conn, p.tx}});
  running_worker w{cfg, "depends", {.slots = 4, .workflows = {wf, co_wf}}};
  w.ready();
  auto adm = admin();
  for (const char* workflow : {"DependsWorkflow", "DependsCoWorkflow"}) {
    BOOST_TEST_CONTEXT(workflow) {
      auto ids = adm.bulk_trigger({{workflow, R"({"mode":"ok"})", {}},
                                   {workflow, R"({"mode":"throw"})", {}}});
      BOOST_REQUIRE(ids);
      auto results = wait(*ids);
      BOOST_REQUIRE_EQUAL(results.size(), 2u);
      for (const auto& r : results) {
        auto run = r.tasks.at(0).task_run_external_id;
        auto seq = p.log->of(run);
        std::vector<std::string> want{"connection up", "transaction up", "task",
                                      "transaction down", "connection down"};
        BOOST_TEST(seq == want, "run " << run);
        if (!r.failed())
          BOOST_TEST(json::parse(*r.tasks.at(0).output).at("tx") == "tx on connection 7");
        else
          BOOST_TEST(r.tasks.at(0).error->find("task failed") != std::string::npos);
      }
    }
  }
  BOOST_TEST(p.log->setups.value() == 8);
  BOOST_TEST(p.log->teardowns.value() == 8);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_failing_provider_fails_only_its_run_naming_the_provider) {
  auto j = std::make_shared<journal>();
  auto flaky = flaky_provider(j);
  providers p;
  hatchet::workflow wf{"FlakyWorkflow"};
  wf.task("t", [&](const hatchet::empty_model&, hatchet::context& ctx) {
    return json{{"flaky", ctx.use(flaky)}};
  }, {.depends = {p.conn, flaky}});
  running_worker w{cfg, "depends-flaky", {.slots = 4, .workflows = {wf}}};
  w.ready();
  auto adm = admin();
  auto ids = adm.bulk_trigger({{"FlakyWorkflow", "{}", R"({"fail":true})"},
                               {"FlakyWorkflow", "{}", {}},
                               {"FlakyWorkflow", "{}", {}}});
  BOOST_REQUIRE(ids);
  int failed = 0;
  for (const auto& r : wait(*ids)) {
    if (!r.failed())
      continue;
    ++failed;
    const auto& error = *r.tasks.at(0).error;
    BOOST_TEST(error.find("dependency 'flaky' failed in its setup") != std::string::npos, error);
    BOOST_TEST(error.find("the flaky resource is down") != std::string::npos, error);
    // What was built before it was torn down.
    BOOST_TEST((p.log->of(r.tasks.at(0).task_run_external_id)
                == std::vector<std::string>{"connection up", "connection down"}));
  }
  BOOST_TEST(failed == 1);
  BOOST_TEST(j->setups.value() == 2);
  BOOST_TEST(j->teardowns.value() == 2);
  BOOST_TEST(p.log->setups.value() == 3);
  BOOST_TEST(p.log->teardowns.value() == 3);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(teardown_runs_once_on_cancellation_and_on_a_worker_stop) {
  providers p;
  auto started = std::make_shared<gauge>();
  hatchet::workflow wf{"WaitWorkflow"};
  wf.task("sync_wait", [&p, started](const hatchet::empty_model&, hatchet::context& ctx) {
    started->add(1);
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock{m};
    cv.wait_for(lock, ctx.stop_token(), 20s, [] { return false; });
    return json{{"tx", ctx.use(p.tx)}};
  }, {.depends = {p.tx}});
  hatchet::workflow co_wf{"CoWaitWorkflow"};
  co_wf.task("co_wait", [&p, started](const hatchet::empty_model&,
                                      hatchet::context& ctx) -> hatchet::co_task<json> {
    started->add(1);
    co_await ctx.sleep_for(20s); // wakes at once when cancelled
    co_return json{{"tx", ctx.use(p.tx)}};
  }, {.depends = {p.tx}});
  running_worker w{cfg, "depends-cancel",
                   {.slots = 4, .workflows = {wf, co_wf}, .drain_timeout = 200ms,
                    .cancel_grace = 5s}};
  w.ready();
  auto adm = admin();
  // Cancelled by the engine.
  auto ids = adm.bulk_trigger({{"WaitWorkflow", "{}", {}}, {"CoWaitWorkflow", "{}", {}}});
  BOOST_REQUIRE(ids);
  BOOST_REQUIRE(started->wait_at_least(2, 10s));
  BOOST_REQUIRE(adm.cancel(*ids));
  BOOST_REQUIRE(p.log->teardowns.wait_at_least(4, 10s)); // 2 runs x (transaction, connection)
  // Cancelled by the worker's stop (drain_timeout passes with both still waiting).
  auto more = adm.bulk_trigger({{"WaitWorkflow", "{}", {}}, {"CoWaitWorkflow", "{}", {}}});
  BOOST_REQUIRE(more);
  BOOST_REQUIRE(started->wait_at_least(4, 10s));
  BOOST_REQUIRE(p.log->setups.wait_at_least(8, 10s));
  w.stop(30s);
  BOOST_TEST(p.log->setups.value() == 8);
  BOOST_TEST(p.log->teardowns.value() == 8);
  for (auto& [run, seq] : p.log->by_run)
    BOOST_TEST((seq == std::vector<std::string>{"connection up", "transaction up",
                                                "transaction down", "connection down"}),
               "run " << run);
}

BOOST_AUTO_TEST_CASE(using_an_undeclared_dependency_fails_the_run_naming_it) {
  providers p;
  hatchet::workflow wf{"UndeclaredWorkflow"};
  wf.task("t", [&p](const hatchet::empty_model&, hatchet::context& ctx) {
    return json{{"tx", ctx.use(p.tx)}};
  });
  running_worker w{cfg, "depends-undeclared", {.slots = 1, .workflows = {wf}}};
  w.ready();
  auto results = run_all("UndeclaredWorkflow", {"{}"});
  BOOST_REQUIRE(results.at(0).failed());
  BOOST_TEST(results.at(0).tasks.at(0).error->find(
               "uses the dependency 'transaction', which it does not declare")
             != std::string::npos);
  BOOST_TEST(p.log->setups.value() == 0);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()
