// Fan-out: a parent task spawns N child runs, waits for all of them without holding a thread,
// and sums their outputs. The children are runs of their own on the engine, linked to the parent
// task (parent task, child index), so the engine shows the tree.
//
// One process serves both workflows and, as a client, runs the parent once and checks the sum:
//
//   HATCHET_CLIENT_TOKEN=... HATCHET_CLIENT_TLS_STRATEGY=none fanout 100
//   -> "fan-out: 100 children, sum of squares 1..100 = 338350"
#include <cstdlib>
#include <iostream>
#include <vector>

#include <caf/all.hpp>
#include <hatchet/hatchet.hpp>

namespace {

// [snippet:fanout_types]
struct square_input {
  int n = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(square_input, n)

struct square_output {
  long long square = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(square_output, square)

struct fanout_input {
  int children = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(fanout_input, children)

struct fanout_output {
  int children = 0;
  long long sum = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(fanout_output, children, sum)
// [/snippet:fanout_types]

// [snippet:fanout_workflows]
hatchet::workflow square_workflow() {
  hatchet::workflow wf{"SquareWorkflow"};
  wf.task("square", [](const square_input& in, hatchet::context&) {
    return square_output{static_cast<long long>(in.n) * in.n};
  });
  return wf;
}

hatchet::workflow fanout_workflow() {
  hatchet::workflow wf{"FanOutWorkflow"};
  wf.task("fan_out", [](const fanout_input& in,
                        hatchet::context& ctx) -> hatchet::co_task<fanout_output> {
    // Start every child first (each a short trigger call; child index 0, 1, 2, ...), so they
    // run side by side on the workers' free slots...
    std::vector<hatchet::run_ref> children;
    for (int i = 1; i <= in.children; ++i) {
      auto ref = ctx.spawn("SquareWorkflow", square_input{i});
      if (!ref)
        throw std::runtime_error(hatchet::describe(ref.error()));
      children.push_back(*ref);
    }
    // ...then collect their outputs, holding no thread while one is still going.
    fanout_output out{in.children, 0};
    for (const auto& child : children) {
      auto r = co_await child.async_result<square_output>(ctx);
      if (!r)
        throw std::runtime_error(hatchet::describe(r.error()));
      out.sum += r->square;
    }
    co_return out;
  });
  return wf;
}
// [/snippet:fanout_workflows]

} // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100;
  if (n < 1 || n > 10'000) {
    std::cerr << "usage: fanout [CHILDREN, 1..10000]\n";
    return 2;
  }
  auto client = hatchet::client::from_env();
  if (!client) {
    std::cerr << "configuration: " << hatchet::describe(client.error()) << "\n";
    return 1;
  }
  caf::actor_system_config cfg;
  hatchet::configure(cfg);
  caf::actor_system sys{cfg};
  auto worker = client->worker("fanout-worker", {.slots = 20,
                                                 .workflows = {fanout_workflow(),
                                                               square_workflow()}});
  auto sup = worker.spawn(sys);
  if (!sup) {
    std::cerr << "cannot start the worker: " << hatchet::describe(sup.error()) << "\n";
    return 1;
  }
  auto id = hatchet::await_ready(sys, *sup, std::chrono::seconds{30});
  if (!id) {
    std::cerr << "the worker did not start: " << hatchet::describe(id.error()) << "\n";
    caf::anon_send_exit(*sup, caf::exit_reason::kill);
    return 1;
  }
  hatchet::run_options opts;
  opts.timeout = std::chrono::seconds{60};
  auto result = client->run<fanout_output>("FanOutWorkflow", fanout_input{n}, opts);
  caf::scoped_actor self{sys};
  self->monitor(*sup);
  caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  hatchet::await_background_calls(std::chrono::seconds{2});
  if (!result) {
    std::cerr << "fan-out failed: " << hatchet::describe(result.error()) << "\n";
    return 1;
  }
  const long long expected = static_cast<long long>(n) * (n + 1) * (2 * n + 1) / 6;
  std::cout << "fan-out: " << result->children << " children, sum of squares 1.." << n << " = "
            << result->sum << std::endl;
  return result->sum == expected ? 0 : 1;
}
