// Code that README.md and docs/lifespans.md show and that has no home in a runnable program.
//
// It lives here so that the build compiles it: a snippet that no longer matches the API breaks
// the build, and scripts/check_snippets.sh (ctest `docs_snippets_match_their_sources`) makes sure
// the documents show exactly the marked regions. Nothing here runs; keep it to this one file.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <fstream>
#include <functional>
#include <iterator>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <hatchet/hatchet.hpp>

namespace snippets {

// [snippet:model]
/// A model loaded once per worker. It cannot be copied, so no copy can happen by accident.
class Model {
public:
  explicit Model(const std::string& path); // reads the weights; throws if it cannot
  Model(Model&&) noexcept = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  float score(const std::vector<float>& features) const;

private:
  std::vector<float> weights_;
};

hatchet::lifespan<Model> model_lifespan(std::string path) {
  co_yield Model{path}; // setup: load; the one object every task reads as const Model&
  // cleanup: nothing left to release; the worker destroys the model when this returns
}
// [/snippet:model]

Model::Model(const std::string& path) {
  std::ifstream in{path};
  weights_.assign(std::istream_iterator<float>{in}, std::istream_iterator<float>{});
  if (weights_.empty())
    throw std::runtime_error("no weights in '" + path + "'");
}

float Model::score(const std::vector<float>& features) const {
  auto n = std::min(features.size(), weights_.size());
  return std::inner_product(features.begin(), features.begin() + static_cast<std::ptrdiff_t>(n),
                            weights_.begin(), 0.0f);
}

struct features {
  std::vector<float> values;
};
HATCHET_DEFINE_INPUT(features, values)

struct scored {
  float score = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(scored, score)

// [snippet:model_tasks]
hatchet::workflow scoring_workflow() {
  hatchet::workflow wf{"ScoringWorkflow"};
  wf.task("score", [](const features& in, hatchet::context& ctx) {
    const Model& model = ctx.lifespan<Model>(); // exactly the yielded type, or lifespan_type_error
    return scored{model.score(in.values)};
  });
  wf.task("score_off_thread",
          [](const features& in, hatchet::context& ctx) -> hatchet::co_task<scored> {
            const Model& model = ctx.lifespan<Model>();
            // The job may keep the reference: the run holds the state until the job has ended.
            float s = co_await ctx.run_blocking([&] { return model.score(in.values); });
            co_return scored{s};
          });
  return wf;
}
// [/snippet:model_tasks]

// [snippet:model_worker]
int serve(const hatchet::client& client, const std::string& model_path) {
  auto worker = client.worker(
    "scoring-worker",
    {.slots = 8,
     .workflows = {scoring_workflow()},
     // A lambda that returns the coroutine: the path is copied into the coroutine frame.
     .lifespan = [model_path] { return model_lifespan(model_path); },
     // Bounds the wait for task code after the drain, then the cleanup itself.
     .cleanup_timeout = std::chrono::seconds{10}});
  int code = worker.run();
  if (worker.must_exit_at_once())
    std::_Exit(code); // task or cleanup code still running: no static destructors under it
  return code;
}
// [/snippet:model_worker]

// [snippet:broken]
// Both compile, and both break the rule of exactly one co_yield; the worker finds out at run time.
hatchet::lifespan<Model> optional_model(std::string path, bool enabled) {
  if (!enabled)
    co_return; // ends without co_yield: a setup failure, the worker never registers
  co_yield Model{path};
}

hatchet::lifespan<Model> two_models(std::string first, std::string second) {
  co_yield Model{first};
  co_yield Model{second}; // reached only by the cleanup, which reports it; tasks never see it
  // nothing from here on runs
}
// [/snippet:broken]

// [snippet:embed]
caf::error run_embedded(const hatchet::client& client, hatchet::worker_options opts,
                        const std::function<void(const std::string& worker_id)>& serve) {
  caf::actor_system_config cfg;
  hatchet::configure(cfg); // the one scheduler setting the worker relies on
  caf::actor_system sys{cfg};
  auto sup = client.worker("embedded", std::move(opts)).spawn(sys); // caf::expected<caf::actor>
  if (!sup)
    return std::move(sup.error()); // invalid options: nothing was started
  caf::scoped_actor self{sys};
  self->monitor(*sup);
  if (auto id = hatchet::await_ready(sys, *sup, std::chrono::seconds{10}))
    serve(*id); // the host's own work, while the worker serves runs
  // A graceful stop, the same sequence as SIGTERM; the down message says how it went.
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = std::move(dm.reason); });
  return reason; // none or exit_reason::normal after a clean stop, else a hatchet::errc error
}
// [/snippet:embed]

// [snippet:client_types]
struct Pair {
  int a = 0;
  int b = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Pair, a, b)

struct Sum {
  int total = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Sum, total)
// [/snippet:client_types]

// [snippet:client_run]
int add_on_the_engine(const hatchet::client& client) {
  // Starts a run of AddWorkflow and waits for it; its one task's output comes back as a Sum.
  caf::expected<Sum> sum = client.run<Sum>("AddWorkflow", Pair{2, 3});
  if (!sum) {
    // unknown_workflow, run_failed (naming each failed task), timed_out, invalid_output, ...
    std::fprintf(stderr, "%s\n", hatchet::describe(sum.error()).c_str());
    return -1;
  }
  return sum->total;
}
// [/snippet:client_run]

// [snippet:client_no_wait]
void start_now_wait_later(const hatchet::client& client) {
  hatchet::run_options opts;
  opts.additional_metadata = {{"customer", "acme"}}; // ctx.additional_metadata() in the tasks
  opts.priority = 3;                                 // 1 (low) .. 3 (high)
  auto ref = client.run_no_wait("AddWorkflow", Pair{4, 5}, opts); // returns at once
  if (!ref)
    return;
  std::string id = ref->id(); // keep it: client.run_of(id) waits for the same run later
  auto sum = ref->result<Sum>(std::chrono::seconds{30}); // blocks this thread
  if (!sum && hatchet::has_code(sum.error(), hatchet::errc::timed_out))
    client.cancel(id); // or wait again: the run goes on
  client.replay(id);   // the same run once more, in place: same id, same input
}
// [/snippet:client_no_wait]

// [snippet:client_many]
std::vector<int> add_many(const hatchet::client& client) {
  std::vector<Pair> inputs = {{1, 1}, {2, 2}, {3, 3}};
  auto results = client.run_many<Sum>("AddWorkflow", inputs); // one BulkTriggerWorkflow call
  std::vector<int> totals;
  if (results)
    for (const auto& r : *results) // in input order; each a Sum or that run's error
      totals.push_back(r ? r->total : -1);
  return totals;
}
// [/snippet:client_many]

// [snippet:client_await]
hatchet::workflow double_sum_workflow(hatchet::client client) {
  hatchet::workflow wf{"DoubleSumWorkflow"};
  wf.task("double_sum", [client](const Pair& in,
                                 hatchet::context& ctx) -> hatchet::co_task<Sum> {
    auto ref = client.run_no_wait("AddWorkflow", in);
    if (!ref)
      throw std::runtime_error(hatchet::describe(ref.error()));
    // Holds no thread while AddWorkflow runs; resumes on this run's actor.
    caf::expected<Sum> sum = co_await ref->async_result<Sum>(ctx);
    if (!sum)
      throw std::runtime_error(hatchet::describe(sum.error()));
    co_return Sum{2 * sum->total};
  });
  return wf;
}
// [/snippet:client_await]

// [snippet:client_events]
hatchet::workflow welcome_workflow() {
  hatchet::workflow wf{"WelcomeWorkflow"};
  wf.on_events({"user:created", "user:invited:*"}); // `*`: any run of characters
  wf.task("welcome", [](const nlohmann::json& user, hatchet::context& ctx) {
    // The input is the event's payload; the metadata names the event.
    auto key = ctx.additional_metadata().value("hatchet__event_key", "");
    return nlohmann::json{{"welcomed", user.value("name", "")}, {"because", key}};
  });
  return wf;
}

bool sign_up(const hatchet::client& client) {
  auto events = client.events();
  auto id = events.push("user:created", {{"name", "Ada"}}, {{"source", "signup-form"}});
  auto ids = events.bulk_push({{.key = "user:invited:team", .payload = {{"name", "Grace"}}},
                               {.key = "user:invited:org", .payload = {{"name", "Linus"}}}});
  return id && ids; // the ids of the events; the runs they start are the engine's business
}
// [/snippet:client_events]

// [snippet:client_workers]
/// Pauses every active worker labelled zone=eu (for maintenance, say): they finish what they run
/// and take nothing new until unpaused.
bool pause_eu_workers(const hatchet::client& client) {
  auto workers = client.workers();
  auto eu = workers.list({.statuses = {"ACTIVE"}, .labels = {{"zone", "eu"}}});
  if (!eu)
    return false;
  for (const auto& w : *eu) {
    auto paused = workers.pause(w.id);
    if (!paused || !paused->paused())
      return false;
  }
  return true;
}
// [/snippet:client_workers]

// [snippet:client_workflows]
/// The id the engine gave "NightlyReport", or "" if no worker has registered it yet.
std::string nightly_report_id(const hatchet::client& client) {
  auto wf = client.workflows().get("NightlyReport"); // named as defined
  return wf ? wf->id : std::string{};
}
// [/snippet:client_workflows]

} // namespace snippets
