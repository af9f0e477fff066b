// Code that README.md shows and that has no home in a runnable program.
//
// It lives here so that the build compiles it: a snippet that no longer matches the API breaks
// the build, and scripts/check_snippets.sh (ctest `docs_snippets_match_their_sources`) makes sure
// the documents show exactly the marked regions. Nothing here runs; keep it to this one file.

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include <caf/all.hpp>
#include <hatchet/hatchet.hpp>

namespace snippets {

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
