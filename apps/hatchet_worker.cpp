// hatchet-worker: runs the bundled workflows (and, with --pg, the PostgreSQL lifespan example)
// against the engine named by HATCHET_CLIENT_* (the token and, optionally, host:port).

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "bundled_workflows.hpp"
#include "client/parse.hpp"
#include "lifespan_pg.hpp"

namespace {

const char* usage = R"(usage: hatchet-worker [options]

Runs a Hatchet worker with the bundled workflows: EchoWorkflow, SleepWorkflow, FailWorkflow,
StubbornWorkflow and DemoLifespanWorkflow (in-memory lifespan), or, with --pg, LifespanWorkflow (the
PostgreSQL lifespan example) instead of DemoLifespanWorkflow.

options:
  --name NAME      worker name (default: hatchet-worker)
  --slots N        concurrent runs, at least 1 (default: 100)
  --pg CONNINFO    run the PostgreSQL lifespan example against this libpq connection string
                   (default: $PG_CONN if set)
  --pool N         connections in the example's pool, at least 1 (default: 4)
  --drain-timeout S     on stop, seconds running tasks get to finish (default: 30)
  --cancel-grace S      then seconds cancelled tasks get to end before they are reported FAILED
                        (default: 5)
  --cleanup-timeout S   seconds the lifespan cleanup may take (default: 30)
  --setup-delay-ms N    make the demo lifespan's setup take N ms, at most 3600000 (for trying out
                        the start order)
  --debug          log every run
  -h, --help       this text

N is a whole number and S a decimal number of seconds (30, 0.5; at most 10000000), written
with digits only: no sign, exponent, unit or spaces. A bad value exits 2 with a message naming
the option.

environment (as the official SDKs): HATCHET_CLIENT_TOKEN (required), HATCHET_CLIENT_HOST_PORT,
HATCHET_CLIENT_TLS_STRATEGY (tls|mtls|none, default tls), HATCHET_CLIENT_TLS_ROOT_CA_FILE,
HATCHET_CLIENT_TLS_CERT_FILE and _KEY_FILE (mtls), HATCHET_CLIENT_TLS_SERVER_NAME,
HATCHET_CLIENT_NAMESPACE, ... A TLS mismatch (the engine's certificate from another CA or for
another name, a client certificate required or refused, TLS against plaintext or the reverse)
ends the start at once (exit 1) saying which it is and what to set.

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

/// The exit code of a bad command line (the worker's own codes are hatchet::exit_code).
constexpr int usage_exit = 2;

/// A flag's value, or the error printed and the process ended with usage_exit.
template <class T>
T or_usage_exit(caf::expected<T> parsed) {
  return hatchet::detail::value_or_exit("hatchet-worker", std::move(parsed), usage_exit);
}

} // namespace

int main(int argc, char** argv) {
  std::string name = "hatchet-worker";
  hatchet::worker_options opts;
  opts.slots = 100;
  opts.drain_timeout = std::chrono::seconds{30};
  opts.cancel_grace = std::chrono::seconds{5};
  opts.cleanup_timeout = std::chrono::seconds{30};
  int pool = 4;
  std::chrono::milliseconds setup_delay{0};
  std::string pg = std::getenv("PG_CONN") ? std::getenv("PG_CONN") : "";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "hatchet-worker: " << a << " needs a value\n";
        std::exit(usage_exit);
      }
      return argv[++i];
    };
    using hatchet::detail::parse_seconds;
    using hatchet::detail::parse_whole;
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      return 0;
    } else if (a == "--name") {
      name = value();
    } else if (a == "--slots") {
      opts.slots = or_usage_exit(parse_whole<int>(a, value(), 1));
    } else if (a == "--pg") {
      pg = value();
    } else if (a == "--pool") {
      pool = or_usage_exit(parse_whole<int>(a, value(), 1));
    } else if (a == "--drain-timeout") {
      opts.drain_timeout = or_usage_exit(parse_seconds(a, value()));
    } else if (a == "--cancel-grace") {
      opts.cancel_grace = or_usage_exit(parse_seconds(a, value()));
    } else if (a == "--cleanup-timeout") {
      opts.cleanup_timeout = or_usage_exit(parse_seconds(a, value()));
    } else if (a == "--setup-delay-ms") {
      setup_delay = std::chrono::milliseconds{
        or_usage_exit(parse_whole<int64_t>(a, value(), 0, 3'600'000))};
    } else if (a == "--debug") {
      spdlog::set_level(spdlog::level::debug);
    } else {
      std::cerr << "hatchet-worker: unknown option " << a << "\n" << usage;
      return usage_exit;
    }
  }
  auto client = hatchet::client::from_env();
  if (!client) {
    spdlog::error("configuration: {}", hatchet::describe(client.error()));
    return hatchet::exit_code::startup_failed;
  }
  opts.workflows = {hatchet::apps::echo_workflow(), hatchet::apps::sleep_workflow(),
                    hatchet::apps::fail_workflow(), hatchet::apps::stubborn_workflow()};
  if (pg.empty()) {
    opts.workflows.push_back(hatchet::apps::demo_lifespan_workflow());
    opts.lifespan = [setup_delay] { return hatchet::apps::demo_lifespan(setup_delay); };
  } else {
    opts.workflows.push_back(lifespan_pg::workflow());
    opts.lifespan = [pg, pool] { return lifespan_pg::lifespan(pg, static_cast<size_t>(pool)); };
  }
  return client->worker(name, std::move(opts)).run();
}
