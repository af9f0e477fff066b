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

Runs a Hatchet worker with the bundled workflows: EchoWorkflow, SleepWorkflow, FailWorkflow,
StubbornWorkflow and DemoLifespanWorkflow (in-memory lifespan), or, with --pg, LifespanWorkflow (the
PostgreSQL lifespan example) instead of DemoLifespanWorkflow.

options:
  --name NAME      worker name (default: hatchet-worker)
  --slots N        concurrent runs (default: 100)
  --pg CONNINFO    run the PostgreSQL lifespan example against this libpq connection string
                   (default: $PG_CONN if set)
  --pool N         connections in the example's pool (default: 4)
  --drain-timeout S     on stop, seconds running tasks get to finish (default: 30)
  --cancel-grace S      then seconds cancelled tasks get to end before they are reported FAILED
                        (default: 5)
  --cleanup-timeout S   seconds the lifespan cleanup may take (default: 30)
  --setup-delay-ms N    make the demo lifespan's setup take N ms (for trying out the start order)
  --debug          log every run
  -h, --help       this text

environment (as the official SDKs): HATCHET_CLIENT_TOKEN (required), HATCHET_CLIENT_HOST_PORT,
HATCHET_CLIENT_TLS_STRATEGY (tls|mtls|none, default tls), HATCHET_CLIENT_NAMESPACE, ...

shutdown (docs/shutdown.md): SIGINT or SIGTERM pauses the worker on the engine's REST API so that
no new run comes, while the stream and heartbeats stay up; running tasks get --drain-timeout to
finish; those still running are then cancelled and, after --cancel-grace, reported FAILED ("the
worker shut down") so that no run stays RUNNING; then the stream closes, unacknowledged results
are flushed (10 s at most), Unsubscribe; then the lifespan cleanup, once no task code holds the
state any more (at most --cleanup-timeout; after that it is skipped, exit 8). A second
SIGINT/SIGTERM skips the waiting (running tasks are cancelled and reported FAILED at once); the
cleanup still runs, bounded by --cleanup-timeout. SIGQUIT is a cold stop: exit at once, no drain,
no cleanup.

exit codes: 0 clean stop (also when stopped during the lifespan setup: nothing registered, the
setup's resources cleaned up); 1 could not start (configuration, lifespan setup, registration);
2 bad command line; 3 the lifespan cleanup failed or timed out; 4 the worker failed while running;
5 the drain timed out (some runs were reported FAILED); 6 a second signal forced the stop;
7 SIGQUIT (cold stop); 8 task code still held the lifespan state at --cleanup-timeout, so the
cleanup was skipped.
)";

} // namespace

int main(int argc, char** argv) {
  std::string name = "hatchet-worker";
  int slots = 100;
  int pool = 4;
  double drain_s = 30, grace_s = 5, cleanup_s = 30;
  int setup_delay_ms = 0;
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
      } else if (a == "--drain-timeout") {
        drain_s = std::stod(value());
      } else if (a == "--cancel-grace") {
        grace_s = std::stod(value());
      } else if (a == "--cleanup-timeout") {
        cleanup_s = std::stod(value());
      } else if (a == "--setup-delay-ms") {
        setup_delay_ms = std::stoi(value());
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
  auto ms = [](double seconds) {
    return std::chrono::milliseconds{static_cast<int64_t>(seconds * 1000)};
  };
  hatchet::worker_options opts;
  opts.slots = slots;
  opts.drain_timeout = ms(drain_s);
  opts.cancel_grace = ms(grace_s);
  opts.cleanup_timeout = ms(cleanup_s);
  opts.workflows = {hatchet::apps::echo_workflow(), hatchet::apps::sleep_workflow(),
                    hatchet::apps::fail_workflow(), hatchet::apps::stubborn_workflow()};
  if (pg.empty()) {
    opts.workflows.push_back(hatchet::apps::demo_lifespan_workflow());
    auto delay = std::chrono::milliseconds{setup_delay_ms};
    opts.lifespan = [delay] { return hatchet::apps::demo_lifespan(delay); };
  } else {
    opts.workflows.push_back(lifespan_pg::workflow());
    opts.lifespan = [pg, pool] { return lifespan_pg::lifespan(pg, static_cast<size_t>(pool)); };
  }
  return client->worker(name, std::move(opts)).run();
}
