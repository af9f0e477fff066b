// The installed SDK, used through its public headers only: a workflow whose task reads a lifespan
// state, a worker spawned in this program's actor system against the engine HATCHET_CLIENT_*
// names, one run triggered and its output checked, then a graceful stop that runs the cleanup.
// Prints one line per step; exits 0 only if every step did what it should.

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include <hatchet/hatchet.hpp>

namespace {

struct greeting {
  std::string text;
};

struct greet_input {
  std::string name;
};
HATCHET_DEFINE_INPUT(greet_input, name)

std::atomic<bool> cleaned_up{false};

hatchet::lifespan<greeting> greeting_lifespan() {
  co_yield hatchet::make_state<greeting>("hello");
  cleaned_up = true;
}

hatchet::workflow workflow() {
  hatchet::workflow wf{"InstallConsumerWorkflow"};
  wf.task("greet", [](const greet_input& in, hatchet::context& ctx) {
    const auto& state = ctx.lifespan<greeting>();
    return nlohmann::json{{"message", state.text + ", " + in.name}};
  });
  return wf;
}

int fail(const std::string& what) {
  std::cerr << "consumer: " << what << "\n";
  return 1;
}

} // namespace

int main() {
  using namespace std::chrono_literals;
  auto client = hatchet::client::from_env();
  if (!client)
    return fail("config: " + hatchet::describe(client.error()));

  caf::actor_system_config cfg;
  hatchet::configure(cfg);
  caf::actor_system sys{cfg};
  hatchet::worker_options options{.slots = 2,
                                  .workflows = {workflow()},
                                  .lifespan = greeting_lifespan};
  auto worker = client->worker("install-consumer", std::move(options)).spawn(sys);
  if (!worker)
    return fail("spawn: " + hatchet::describe(worker.error()));
  caf::scoped_actor self{sys};
  self->monitor(*worker);
  auto stop = [&]() -> caf::error {
    caf::anon_send_exit(*worker, caf::exit_reason::user_shutdown);
    caf::error reason = caf::sec::request_timeout;
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; }, caf::after(30s) >> [] {});
    return reason;
  };

  auto id = hatchet::await_ready(sys, *worker, 30s);
  if (!id) {
    stop();
    return fail("worker not ready: " + hatchet::describe(id.error()));
  }
  std::cout << "worker ready" << std::endl;

  // [snippet:run_workflow]
  auto result = client->run_workflow("InstallConsumerWorkflow", {{"name", "consumer"}}, 30s);
  // caf::expected<hatchet::run_result>: outputs and errors by task name; failed() if a task failed
  // [/snippet:run_workflow]
  if (!result) {
    stop();
    return fail("run: " + hatchet::describe(result.error()));
  }
  auto output = result->outputs.find("greet");
  if (result->failed() || output == result->outputs.end()
      || output->second.value("message", "") != "hello, consumer") {
    stop();
    return fail("unexpected run result: " + nlohmann::json(result->outputs).dump()
                + nlohmann::json(result->errors).dump());
  }
  std::cout << "run output: " << output->second.dump() << std::endl;

  if (auto reason = stop(); reason && reason != caf::exit_reason::normal)
    return fail("stop: " + hatchet::describe(reason));
  if (!cleaned_up)
    return fail("the lifespan cleanup did not run");
  std::cout << "lifespan cleaned up" << std::endl;
  return 0;
}
