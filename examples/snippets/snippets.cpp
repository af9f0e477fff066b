// Code that README.md and docs/lifespans.md show and that has no home in a runnable program.
//
// It lives here so that the build compiles it: a snippet that no longer matches the API breaks
// the build, and scripts/check_snippets.sh (ctest `docs_snippets_match_their_sources`) makes sure
// the documents show exactly the marked regions. Nothing here runs; keep it to this one file.

#include <algorithm>
#include <chrono>
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

} // namespace snippets
