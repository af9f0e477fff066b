// Child runs started from a task (ctx.spawn, ctx.run_child) against a dev engine and workers
// over loopback gRPC: the parent links the engine stores, the dedupe by child key or index, and
// awaiting children in a co_task without holding a thread.
#define BOOST_TEST_MODULE children
#include "harness.hpp"
#include "mailbox.hpp"

#include <nlohmann/json.hpp>

using namespace harness;
using nlohmann::json;

namespace {

struct number {
  int n = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(number, n)

hatchet::workflow double_workflow() {
  hatchet::workflow wf{"DoubleWorkflow"};
  wf.task("double", [](const number& in, hatchet::context&) { return number{in.n * 2}; });
  return wf;
}

std::string text(const caf::error& err) { return hatchet::describe(err); }

template <class T>
std::string why(const caf::expected<T>& e) {
  return e ? std::string{} : hatchet::describe(e.error());
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(child_runs, engine_fixture)

BOOST_AUTO_TEST_CASE(spawned_children_carry_parent_links_and_a_repeated_key_gives_the_same_run) {
  struct spawned {
    std::string parent_run;
    std::string parent_task;
    std::vector<std::string> ids;
    std::vector<int> indices; ///< next_child_index() after each spawn
  };
  auto out = std::make_shared<mailbox<spawned>>();
  hatchet::workflow parent{"SpawningWorkflow"};
  parent.task("spawn", [out](const json&, hatchet::context& ctx) {
    spawned s{ctx.workflow_run_id(), ctx.task_run_external_id(), {}, {}};
    hatchet::run_options keyed;
    keyed.key = "only-once";
    keyed.additional_metadata = {{"child", true}};
    for (int i = 0; i < 4; ++i) {
      auto ref = ctx.spawn("DoubleWorkflow", number{i}, i >= 2 ? keyed : hatchet::run_options{});
      if (!ref)
        throw std::runtime_error(text(ref.error()));
      s.ids.push_back(ref->id());
      s.indices.push_back(ctx.next_child_index());
    }
    out->push(std::move(s));
    return json::object();
  });
  running_worker w{cfg, "spawn-worker", {.slots = 4, .workflows = {parent, double_workflow()}}};
  w.ready();
  hatchet::client client{cfg};
  auto r = client.run("SpawningWorkflow");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  auto s = out->pop();
  BOOST_REQUIRE(s.has_value());
  BOOST_REQUIRE(s->ids.size() == 4u);
  BOOST_TEST((s->indices == std::vector<int>{1, 2, 3, 4}));
  // Two children without a key (indices 0 and 1), then one keyed child: the second spawn with
  // the same key gives back the first one's run.
  BOOST_TEST(s->ids[0] != s->ids[1]);
  BOOST_TEST(s->ids[2] == s->ids[3]);
  for (int i = 0; i < 3; ++i) {
    auto links = engine.run(s->ids[static_cast<size_t>(i)]);
    BOOST_REQUIRE(links.has_value());
    BOOST_TEST(links->workflow == "doubleworkflow");
    BOOST_TEST(links->parent_task_run_external_id.value_or("") == s->parent_task);
    BOOST_TEST(links->child_index.value_or(-1) == i);
    BOOST_TEST(json::parse(links->input) == json({{"n", i}}));
  }
  BOOST_TEST(!engine.run(s->ids[0])->child_key.has_value());
  BOOST_TEST(engine.run(s->ids[2])->child_key.value_or("") == "only-once");
  BOOST_TEST(json::parse(engine.run(s->ids[2])->additional_metadata) == json({{"child", true}}));
  // Each child runs and can be waited for by id.
  for (int i = 0; i < 3; ++i) {
    auto child = client.run_of(s->ids[static_cast<size_t>(i)]).result<number>(20s);
    BOOST_REQUIRE_MESSAGE(child, why(child));
    BOOST_TEST(child->n == 2 * i);
  }
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(the_engine_refuses_a_child_of_a_task_that_does_not_exist) {
  running_worker w{cfg, "orphan-worker", {.slots = 1, .workflows = {double_workflow()}}};
  w.ready();
  auto admin = this->admin();
  hatchet::rpc::trigger_request req{"DoubleWorkflow", R"({"n":1})"};
  req.parent_id = "00000000-0000-4000-8000-000000000001";
  req.parent_task_run_external_id = "00000000-0000-4000-8000-000000000002";
  req.child_index = 0;
  auto id = admin.trigger(req);
  BOOST_REQUIRE(!id);
  BOOST_TEST(text(id.error()).find("could not find parent task") != std::string::npos,
             text(id.error()));
  req.parent_task_run_external_id = "not-a-uuid";
  id = admin.trigger(req);
  BOOST_REQUIRE(!id);
  BOOST_TEST(text(id.error()).find("parentStepRunId must be a valid UUID") != std::string::npos,
             text(id.error()));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(run_child_in_a_co_task_with_one_slot_and_one_thread_yields_the_typed_output) {
  // The parent's worker has one slot, one task thread and one CAF scheduler thread; the
  // children run on a second worker. If the awaiting co_task held the scheduler thread, the
  // results could never reach it; it must also resume on its own actor's thread.
  auto threads = std::make_shared<mailbox<bool>>();
  hatchet::workflow parent{"RunChildWorkflow"};
  parent.task("sum_doubles", [threads](const number& in,
                                       hatchet::context& ctx) -> hatchet::co_task<number> {
    int total = 0;
    for (int i = 1; i <= in.n; ++i) {
      const auto before = std::this_thread::get_id();
      // The awaiter gets a name: GCC 12 mishandles temporaries that live across a co_await.
      auto start = ctx.run_child<number>("DoubleWorkflow", number{i});
      caf::expected<number> child = co_await start;
      threads->push(std::this_thread::get_id() == before);
      if (!child)
        throw std::runtime_error(text(child.error()));
      total += child->n;
    }
    // An unknown workflow comes back as an error value, not a hang.
    auto start_missing = ctx.run_child<number>("NoSuchWorkflow");
    auto missing = co_await start_missing;
    if (missing || !hatchet::has_code(missing.error(), hatchet::errc::unknown_workflow))
      throw std::runtime_error("expected unknown_workflow, got " + why(missing));
    co_return number{total};
  });
  running_worker parents{cfg, "parent-worker",
                         {.slots = 1, .workflows = {parent}, .max_task_threads = 1}, 1};
  running_worker children{cfg, "child-worker", {.slots = 4, .workflows = {double_workflow()}}};
  parents.ready();
  children.ready();
  hatchet::client client{cfg};
  hatchet::run_options patient;
  patient.timeout = 30s;
  auto r = client.run<number>("RunChildWorkflow", number{3}, patient);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->n == 2 + 4 + 6);
  for (int i = 0; i < 3; ++i) {
    auto same = threads->pop();
    BOOST_REQUIRE(same.has_value());
    BOOST_TEST(*same);
  }
  BOOST_TEST(!parents.stop());
  BOOST_TEST(!children.stop());
}

BOOST_AUTO_TEST_CASE(run_child_on_the_same_worker_does_not_hold_its_only_task_thread) {
  // Two slots, one task thread, one scheduler thread, and a synchronous child on the same
  // worker: the child needs the one task thread while the parent waits for it.
  hatchet::workflow parent{"SameWorkerParent"};
  parent.task("parent", [](const number& in, hatchet::context& ctx) -> hatchet::co_task<number> {
    auto start = ctx.run_child<number>("DoubleWorkflow", in);
    auto child = co_await start;
    if (!child)
      throw std::runtime_error(text(child.error()));
    co_return number{child->n + 1};
  });
  running_worker w{cfg, "same-worker",
                   {.slots = 2, .workflows = {parent, double_workflow()}, .max_task_threads = 1},
                   1};
  w.ready();
  hatchet::client client{cfg};
  hatchet::run_options patient;
  patient.timeout = 30s;
  auto r = client.run<number>("SameWorkerParent", number{20}, patient);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->n == 41);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()
