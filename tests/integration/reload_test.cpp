// Lifespan reload without a restart: new assignments get the new state, runs going keep theirs,
// each state is cleaned up once after its last holder, a failed reload changes nothing.
#define BOOST_TEST_MODULE reload
#include "harness.hpp"

#include <future>
#include <map>

#include <nlohmann/json.hpp>

using namespace harness;
using json = nlohmann::json;

namespace {

/// What every setup and cleanup did, shared by the lifespans and the test.
struct ledger {
  std::mutex mtx;
  std::condition_variable cleaned;
  int setups = 0;
  std::map<int, int> cleanups; ///< setup number -> cleanups run

  void note_cleanup(int setup) {
    std::lock_guard lock{mtx};
    ++cleanups[setup];
    cleaned.notify_all();
  }

  /// Waits until setup `n`'s cleanup has run (or failed); false on timeout.
  bool wait_cleaned(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mtx};
    return cleaned.wait_for(lock, timeout, [&] { return cleanups.count(n) != 0; });
  }
  std::atomic<bool> fail_next_setup{false};
  /// The next setup waits for `release` (after saying so through `holding`).
  std::atomic<bool> hold_next_setup{false};
  gauge holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  /// The cleanup of this setup number takes `slow_cleanup` (0: none is slow).
  std::atomic<int> slow_cleanup_of{0};
  /// The cleanup of this setup number throws (0: none does).
  std::atomic<int> failing_cleanup_of{0};
  std::chrono::milliseconds slow_cleanup{0};
};

/// The state: which setup built it, and whether its cleanup has begun.
struct model {
  int setup = 0;
  std::shared_ptr<std::atomic<bool>> cleaning = std::make_shared<std::atomic<bool>>(false);
};

hatchet::lifespan_fn counted_lifespan(std::shared_ptr<ledger> book) {
  return [book]() -> hatchet::lifespan<model> {
    if (book->fail_next_setup.exchange(false))
      throw std::runtime_error{"the new model does not load"};
    if (book->hold_next_setup.exchange(false)) {
      book->holding.add(1);
      book->released.wait();
    }
    int n = 0;
    {
      std::lock_guard lock{book->mtx};
      n = ++book->setups;
    }
    auto cleaning = std::make_shared<std::atomic<bool>>(false);
    co_yield hatchet::make_state<model>(n, cleaning);
    cleaning->store(true); // from here on, no task may see this state
    std::this_thread::sleep_for(book->slow_cleanup_of == n ? book->slow_cleanup : 5ms);
    book->note_cleanup(n);
    if (book->failing_cleanup_of == n)
      throw std::runtime_error{"the old pool did not close"};
  };
}

struct nap_input {
  int ms = 0;
};
HATCHET_DEFINE_INPUT(nap_input, ms)

/// Reads the state at its start and at its end: the same object, the same generation, never
/// one whose cleanup has begun.
hatchet::workflow reload_workflow(std::shared_ptr<gauge> started = std::make_shared<gauge>()) {
  hatchet::workflow wf{"ReloadWorkflow"};
  wf.task("nap", [started](const nap_input& in,
                           hatchet::context& ctx) -> hatchet::co_task<json> {
    const auto& first = ctx.lifespan<model>();
    started->add(1);
    auto generation = ctx.lifespan_generation();
    bool cleaned_at_start = first.cleaning->load();
    co_await ctx.sleep_for(std::chrono::milliseconds{in.ms});
    const auto& last = ctx.lifespan<model>();
    co_return json{{"setup", first.setup},
                   {"generation", generation},
                   {"same_object", &first == &last},
                   {"same_generation", generation == ctx.lifespan_generation()},
                   {"saw_cleaning", cleaned_at_start || last.cleaning->load()}};
  });
  return wf;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(reload, engine_fixture)

BOOST_AUTO_TEST_CASE(twenty_reloads_under_load_every_run_keeps_one_state_and_each_is_cleaned_once) {
  auto book = std::make_shared<ledger>();
  auto started = std::make_shared<gauge>();
  running_worker w{cfg, "reloading",
                   {.slots = 300,
                    .workflows = {reload_workflow(started)},
                    .lifespan = counted_lifespan(book)}};
  auto worker_id = w.ready();
  auto adm = admin();
  // 2,000 short runs and 50 long ones, all in flight while the reloads happen.
  std::vector<hatchet::rpc::trigger_request> reqs;
  for (int i = 0; i < 50; ++i)
    reqs.push_back({"ReloadWorkflow", R"({"ms":2500})", {}});
  for (int i = 0; i < 2000; ++i)
    reqs.push_back({"ReloadWorkflow", R"({"ms":)" + std::to_string(i % 7) + "}", {}});
  std::vector<std::string> ids;
  for (size_t at = 0; at < reqs.size(); at += 500) {
    std::vector<hatchet::rpc::trigger_request> chunk(reqs.begin() + at,
                                                     reqs.begin() + std::min(at + 500, reqs.size()));
    auto got = adm.bulk_trigger(chunk);
    BOOST_REQUIRE(got);
    // Reloads interleave with the triggering, so runs start under many generations: 4 after
    // each of the 5 chunks, 20 in all. Each batch waits until a run of its chunk has started
    // (more runs started than the earlier chunks hold), so every chunk has a run under the
    // generation before its batch, whatever the engine's pace on a loaded machine.
    BOOST_REQUIRE(started->wait_at_least(static_cast<int>(ids.size()) + 1, 30s));
    ids.insert(ids.end(), got->begin(), got->end());
    for (int r = 0; r < 4; ++r) {
      auto generation = hatchet::reload(w.system(), w.supervisor(), 10s);
      BOOST_REQUIRE_MESSAGE(generation, (generation ? "" : hatchet::describe(generation.error())));
    }
  }
  auto results = wait(ids, 120s);
  BOOST_REQUIRE_EQUAL(ids.size(), 2050u);
  BOOST_REQUIRE_EQUAL(results.size(), ids.size());
  std::map<uint64_t, int> runs_per_generation;
  int bad = 0;
  for (const auto& r : results) {
    BOOST_REQUIRE_MESSAGE(!r.failed(), "a run failed");
    auto out = json::parse(*r.tasks.at(0).output);
    if (!out.at("same_object").get<bool>() || !out.at("same_generation").get<bool>()
        || out.at("saw_cleaning").get<bool>())
      ++bad;
    // The setup count and the generation agree: setup n is generation n.
    if (out.at("setup").get<int>() != static_cast<int>(out.at("generation").get<uint64_t>()))
      ++bad;
    ++runs_per_generation[out.at("generation").get<uint64_t>()];
  }
  BOOST_TEST(bad == 0);
  std::string spread;
  for (const auto& [generation, n] : runs_per_generation)
    spread += " " + std::to_string(generation) + ":" + std::to_string(n);
  // Runs really spread over the generations: at least one per chunk (1, 5, 9, 13 and 17).
  BOOST_TEST(runs_per_generation.size() >= 5u, "runs per generation:" << spread);
  BOOST_TEST(!w.stop());
  std::lock_guard lock{book->mtx};
  BOOST_TEST(book->setups == 21); // the first and 20 reloads
  BOOST_TEST(book->cleanups.size() == 21u);
  for (const auto& [setup, n] : book->cleanups)
    BOOST_TEST(n == 1, "setup " << setup << " was cleaned up " << n << " times");
  BOOST_TEST(engine.snapshot().registrations == 1u); // never registered again
  BOOST_TEST(engine.worker(worker_id).has_value());
}

BOOST_AUTO_TEST_CASE(a_failed_reload_leaves_the_worker_serving_with_the_old_state) {
  auto book = std::make_shared<ledger>();
  running_worker w{cfg, "reload-fails",
                   {.slots = 4, .workflows = {reload_workflow()}, .lifespan = counted_lifespan(book)}};
  w.ready();
  book->fail_next_setup = true;
  auto generation = hatchet::reload(w.system(), w.supervisor(), 10s);
  BOOST_REQUIRE(!generation);
  auto text = hatchet::describe(generation.error());
  BOOST_TEST(text.find("reload_failed") != std::string::npos, text);
  BOOST_TEST(text.find("the new model does not load") != std::string::npos, text);
  auto runs = run_all("ReloadWorkflow", {R"({"ms":1})", R"({"ms":1})"});
  for (const auto& r : runs) {
    auto out = json::parse(*r.tasks.at(0).output);
    BOOST_TEST(out.at("generation") == 1);
    BOOST_TEST(out.at("setup") == 1);
  }
  // The next reload works, numbered after the failed one.
  auto next = hatchet::reload(w.system(), w.supervisor(), 10s);
  BOOST_REQUIRE(next);
  BOOST_TEST(*next == 3u);
  auto after = run_all("ReloadWorkflow", {R"({"ms":1})"});
  BOOST_TEST(json::parse(*after.at(0).tasks.at(0).output).at("generation") == 3);
  BOOST_TEST(!w.stop());
  std::lock_guard lock{book->mtx};
  BOOST_TEST(book->setups == 2);
  BOOST_TEST(book->cleanups.size() == 2u);
  BOOST_TEST(engine.snapshot().registrations == 1u);
}

// A run in progress keeps the old state across the reload; the old cleanup waits for it.
BOOST_AUTO_TEST_CASE(the_old_state_is_cleaned_up_only_after_its_last_run) {
  auto book = std::make_shared<ledger>();
  auto started = std::make_shared<gauge>();
  running_worker w{cfg, "reload-waits",
                   {.slots = 4,
                    .workflows = {reload_workflow(started)},
                    .lifespan = counted_lifespan(book)}};
  w.ready();
  auto adm = admin();
  auto long_run = adm.bulk_trigger({{"ReloadWorkflow", R"({"ms":1500})", {}}});
  BOOST_REQUIRE(long_run);
  BOOST_REQUIRE(started->wait_at_least(1, 10s)); // it runs under generation 1
  auto generation = hatchet::reload(w.system(), w.supervisor(), 10s);
  BOOST_REQUIRE(generation);
  BOOST_TEST(*generation == 2u);
  {
    std::lock_guard lock{book->mtx};
    BOOST_TEST(book->cleanups.count(1) == 0u); // generation 1 still has its run
  }
  auto done = wait(*long_run);
  auto out = json::parse(*done.at(0).tasks.at(0).output);
  BOOST_TEST(out.at("generation") == 1);
  BOOST_TEST(out.at("saw_cleaning") == false);
  // Its cleanup follows the run's end (a message away).
  BOOST_REQUIRE(book->wait_cleaned(1, 5s));
  BOOST_TEST(!w.stop());
  std::lock_guard lock{book->mtx};
  BOOST_TEST(book->cleanups.at(2) == 1);
}

BOOST_AUTO_TEST_CASE(overlapping_reloads_each_state_cleaned_once_and_a_late_one_is_not_used) {
  auto book = std::make_shared<ledger>();
  running_worker w{cfg, "reload-overlap",
                   {.slots = 4, .workflows = {reload_workflow()}, .lifespan = counted_lifespan(book)}};
  w.ready();
  // Reload A (generation 2) is held in its setup while reload B (generation 3) finishes.
  book->hold_next_setup = true;
  std::future<caf::expected<uint64_t>> a = std::async(std::launch::async, [&] {
    return hatchet::reload(w.system(), w.supervisor(), 20s);
  });
  BOOST_REQUIRE(book->holding.wait_at_least(1, 10s));
  auto b = hatchet::reload(w.system(), w.supervisor(), 10s);
  BOOST_REQUIRE(b);
  BOOST_TEST(*b == 3u);
  // A third, overlapping nothing, on top.
  auto c = hatchet::reload(w.system(), w.supervisor(), 10s);
  BOOST_REQUIRE(c);
  BOOST_TEST(*c == 4u);
  book->release.set_value();
  auto late = a.get();
  BOOST_REQUIRE(!late);
  auto text = hatchet::describe(late.error());
  BOOST_TEST(text.find("a later reload (generation 4) finished first") != std::string::npos, text);
  auto runs = run_all("ReloadWorkflow", {R"({"ms":1})"});
  BOOST_TEST(json::parse(*runs.at(0).tasks.at(0).output).at("generation") == 4);
  BOOST_TEST(!w.stop());
  std::lock_guard lock{book->mtx};
  BOOST_TEST(book->setups == 4);
  BOOST_TEST(book->cleanups.size() == 4u); // the late one included
  for (const auto& [setup, n] : book->cleanups)
    BOOST_TEST(n == 1);
}

// A retired state whose cleanup is still running when the worker stops: the stop is bounded by
// cleanup_timeout as for any cleanup, and says so.
BOOST_AUTO_TEST_CASE(a_slow_cleanup_of_a_retired_state_does_not_hold_the_stop_past_cleanup_timeout) {
  auto book = std::make_shared<ledger>();
  book->slow_cleanup_of = 1;
  book->slow_cleanup = 1500ms;
  running_worker w{cfg, "reload-slow-cleanup",
                   {.slots = 2,
                    .workflows = {reload_workflow()},
                    .lifespan = counted_lifespan(book),
                    .cleanup_timeout = 500ms}};
  w.ready();
  BOOST_REQUIRE(hatchet::reload(w.system(), w.supervisor(), 10s)); // generation 1 retires
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop(20s);
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_REQUIRE(reason);
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::cleanup_failed,
             hatchet::describe(reason));
  BOOST_TEST(took < 1300ms, "the stop took "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms");
}

BOOST_AUTO_TEST_CASE(a_worker_without_a_lifespan_refuses_a_reload) {
  running_worker w{cfg, "reload-none", {.slots = 1, .workflows = {reload_workflow()}}};
  w.ready();
  auto generation = hatchet::reload(w.system(), w.supervisor(), 5s);
  BOOST_REQUIRE(!generation);
  BOOST_TEST(hatchet::describe(generation.error()).find("no lifespan") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
