// hatchet-worker: runs the bundled workflows (and, with --pg, the PostgreSQL lifespan example)
// against the engine named by HATCHET_CLIENT_* (the token and, optionally, host:port).

#include <cstdlib>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "bundled_workflows.hpp"
#include "lifespan_pg.hpp"

namespace {

const char* usage = R"(usage: hatchet-worker [options]

Runs a Hatchet worker with the bundled workflows: EchoWorkflow, SleepWorkflow, FailWorkflow and
DemoLifespanWorkflow (in-memory lifespan), or, with --pg, LifespanWorkflow (the PostgreSQL lifespan
example) instead of DemoLifespanWorkflow.

options:
  --name NAME      worker name (default: hatchet-worker)
  --slots N        concurrent runs (default: 100)
  --pg CONNINFO    run the PostgreSQL lifespan example against this libpq connection string
                   (default: $PG_CONN if set)
  --pool N         connections in the example's pool (default: 4)
  --debug          log every run
  -h, --help       this text

environment (as the official SDKs): HATCHET_CLIENT_TOKEN (required), HATCHET_CLIENT_HOST_PORT,
HATCHET_CLIENT_TLS_STRATEGY (tls|mtls|none, default tls), HATCHET_CLIENT_NAMESPACE, ...

shutdown: SIGINT or SIGTERM stops taking work, waits for running tasks, sends their results,
unsubscribes, then runs the lifespan cleanup.
exit codes: 0 clean stop; 1 could not start (configuration, lifespan setup, registration);
2 bad command line; 3 lifespan cleanup failed; 4 the worker failed while running.
)";

} // namespace

int main(int argc, char** argv) {
  std::string name = "hatchet-worker";
  int slots = 100;
  int pool = 4;
  std::string pg = std::getenv("PG_CONN") ? std::getenv("PG_CONN") : "";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "hatchet-worker: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "-h" || a == "--help") {
        std::cout << usage;
        return 0;
      } else if (a == "--name") {
        name = value();
      } else if (a == "--slots") {
        slots = std::stoi(value());
      } else if (a == "--pg") {
        pg = value();
      } else if (a == "--pool") {
        pool = std::stoi(value());
      } else if (a == "--debug") {
        spdlog::set_level(spdlog::level::debug);
      } else {
        std::cerr << "hatchet-worker: unknown option " << a << "\n" << usage;
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "hatchet-worker: " << a << " needs a number\n";
      return 2;
    }
  }
  auto client = hatchet::client::from_env();
  if (!client) {
    spdlog::error("configuration: {}", hatchet::describe(client.error()));
    return hatchet::exit_code::startup_failed;
  }
  hatchet::worker_options opts;
  opts.slots = slots;
  opts.workflows = {hatchet::apps::echo_workflow(), hatchet::apps::sleep_workflow(),
                    hatchet::apps::fail_workflow()};
  if (pg.empty()) {
    opts.workflows.push_back(hatchet::apps::demo_lifespan_workflow());
    opts.lifespan = hatchet::apps::demo_lifespan;
  } else {
    opts.workflows.push_back(lifespan_pg::workflow());
    opts.lifespan = [pg, pool] { return lifespan_pg::lifespan(pg, static_cast<size_t>(pool)); };
  }
  return client->worker(name, std::move(opts)).run();
}
