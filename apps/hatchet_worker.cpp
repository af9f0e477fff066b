// hatchet-worker: runs the bundled workflows
// against the engine named by HATCHET_CLIENT_* (the token and, optionally, host:port).
//
// Every setting is a flag, and most are also a variable: a flag wins over its variable, a
// variable over the token's claims, and those over the defaults. The command line is read with
// CLI11 (Debian's libcli11-dev); numbers are then checked by the same strict parsers as the
// library's, so "30s" or "1e3" is refused with a message naming the flag and its variable.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bundled_workflows.hpp"
#include "core/parse.hpp"
#include "command_line.hpp"

extern char** environ;

namespace {

const char* description = R"(Runs a Hatchet worker with the bundled workflows: EchoWorkflow, SleepWorkflow, FailWorkflow,
StubbornWorkflow and DemoLifespanWorkflow (in-memory lifespan). The PostgreSQL lifespan example is a
program of its own (lifespan_pg_example).

Precedence: a flag wins over the variable named beside it ("Env:"), a variable over the token's
claims, those over the defaults. docs/configuration.md has the whole table.)";

const char* footer = R"(
Variables without a flag: HATCHET_CLIENT_TOKEN (required; never logged, so never a flag, which
`ps` would show), HATCHET_CLIENT_TENANT_ID (default: the token's sub), HATCHET_CLIENT_API_URL (as
HATCHET_CLIENT_SERVER_URL, read after it), HATCHET_CLIENT_DEBUG (true = --log-level debug).

N is a whole number and S a decimal number of seconds (30, 0.5; at most 10000000), written with
digits only: no sign, exponent, unit or spaces. A bad value exits 2 with a message naming the flag
and its variable.

A TLS mismatch (the engine's certificate from another CA or for another name, a client
certificate required or refused, TLS against plaintext or the reverse) ends the start at once
(exit 1) saying which it is and what to set.

shutdown (docs/shutdown.md): SIGINT or SIGTERM pauses the worker on the engine's REST API so that
no new run comes, while the stream and heartbeats stay up; running tasks get --drain-timeout to
finish; those still running are then cancelled and, after --cancel-grace, reported FAILED ("the
worker shut down") so that no run stays RUNNING; then the stream closes, unacknowledged results
are flushed (--flush-timeout at most), Unsubscribe; then the lifespan cleanup, once no task code
holds the state any more (at most --cleanup-timeout; after that it is skipped, exit 8). A second
SIGINT/SIGTERM skips the waiting (running tasks are cancelled and reported FAILED at once); the
cleanup still runs, bounded by --cleanup-timeout. SIGQUIT is a cold stop: exit at once, no drain,
no cleanup. SIGHUP reloads the lifespan without a restart (docs/lifespans.md): new runs get the
new state, runs going keep theirs, the old state is cleaned up after its last run.

exit codes: 0 clean stop (also when stopped during the lifespan setup: nothing registered, the
setup's resources cleaned up); 1 could not start (configuration, lifespan setup, registration,
health server); 2 bad command line; 3 the lifespan cleanup failed or timed out; 4 the worker
failed while running; 5 the drain timed out (some runs were reported FAILED); 6 a second signal
forced the stop; 7 SIGQUIT (cold stop); 8 task code still held the lifespan state at
--cleanup-timeout, so the cleanup was skipped.
)";

/// The exit code of a bad command line (the worker's own codes are hatchet::exit_code).
using hatchet::apps::usage_exit;

/// A flag's value, or the error printed and the process ended with usage_exit.
template <class T>
T or_usage_exit(caf::expected<T> parsed) {
  return hatchet::apps::value_or_exit("hatchet-worker", std::move(parsed), usage_exit);
}

/// The process environment's HATCHET_* variables.
std::map<std::string, std::string> hatchet_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv{*e};
    auto eq = kv.find('=');
    if (kv.rfind("HATCHET_", 0) == 0 && eq != std::string::npos)
      env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

/// A flag that stands for a HATCHET_CLIENT_* variable: given, it replaces the variable's value.
struct client_flag {
  const char* flag;
  const char* variable;
  const char* help;
  std::string value = {};
  CLI::Option* option = nullptr;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{description, "hatchet-worker"};
  app.footer(footer);
  app.get_formatter()->column_width(34);

  std::string name = "hatchet-worker";
  std::string slots = "100", setup_delay = "0";
  std::string drain = "30", grace = "5", cleanup = "30", flush = "10";
  bool debug = false;
  auto* w = app.add_option_group("worker", "The worker");
  w->add_option("--name", name, "worker name (default: hatchet-worker)")
    ->envname("HATCHET_WORKER_NAME")
    ->type_name("NAME");
  w->add_option("--slots", slots, "concurrent runs, 1..1000000 (default: 100)")
    ->envname("HATCHET_WORKER_SLOTS")
    ->type_name("N");
  w->add_option("--drain-timeout", drain, "on stop, time running tasks get to finish (30)")
    ->envname("HATCHET_WORKER_DRAIN_TIMEOUT")
    ->type_name("S");
  w->add_option("--cancel-grace", grace,
                "then time cancelled tasks get to end before they are reported FAILED (5)")
    ->envname("HATCHET_WORKER_CANCEL_GRACE")
    ->type_name("S");
  w->add_option("--cleanup-timeout", cleanup, "time the lifespan cleanup may take (30)")
    ->envname("HATCHET_WORKER_CLEANUP_TIMEOUT")
    ->type_name("S");
  w->add_option("--flush-timeout", flush,
                "on stop, time to deliver results the engine has not acknowledged (10)")
    ->envname("HATCHET_WORKER_FLUSH_TIMEOUT")
    ->type_name("S");
  w->add_option("--setup-delay-ms", setup_delay,
                "make the demo lifespan's setup take N ms, at most 3600000 (to try out the "
                "start order)")
    ->type_name("N");
  w->add_flag("--debug", debug, "log every run (the same as --log-level debug)");
  bool print_config = false;
  w->add_flag("--print-config", print_config,
              "print the settings this worker would run with, as JSON (the token left out), and "
              "exit 0 without connecting: for deployment checks (deploy/)");

  std::vector<client_flag> client_flags = {
    {"--host-port", "HATCHET_CLIENT_HOST_PORT", "the engine's gRPC host:port (default: the token's)"},
    {"--server-url", "HATCHET_CLIENT_SERVER_URL",
     "the engine's REST base URL, where a stop pauses the worker (default: the token's)"},
    {"--tls-strategy", "HATCHET_CLIENT_TLS_STRATEGY", "tls (default), mtls or none"},
    {"--tls-root-ca-file", "HATCHET_CLIENT_TLS_ROOT_CA_FILE",
     "PEM CA the engine's certificate must chain to (default: the system's)"},
    {"--tls-cert-file", "HATCHET_CLIENT_TLS_CERT_FILE", "PEM client certificate, for mtls"},
    {"--tls-key-file", "HATCHET_CLIENT_TLS_KEY_FILE", "PEM client key, for mtls"},
    {"--tls-server-name", "HATCHET_CLIENT_TLS_SERVER_NAME",
     "name the engine's certificate must carry (default: the host of host:port)"},
    {"--namespace", "HATCHET_CLIENT_NAMESPACE", "prefix of workflow and worker names"},
    {"--log-level", "HATCHET_CLIENT_LOG_LEVEL", "debug, info (default), warn, error or off"},
    {"--max-recv-bytes", "HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH",
     "N: largest message taken from the engine (4194304)"},
    {"--max-send-bytes", "HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH",
     "N: largest message sent to the engine (4194304)"},
    {"--healthcheck", "HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED",
     "true: serve GET /health and GET /metrics (default: false)"},
    {"--healthcheck-port", "HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT",
     "N: the health server's port, 0 for any free one (8001)"},
    {"--healthcheck-bind-address", "HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS",
     "the health server's address (0.0.0.0)"},
    {"--preset-labels", "HATCHET_CLIENT_WORKER_PRESET_LABELS",
     "JSON object of worker labels, e.g. {\"gpu\":\"a100\"}"},
  };
  auto* c = app.add_option_group("engine", "The engine connection");
  // No envname() here: the library reads the variables itself, and a flag must be told apart
  // from its variable (a flag given as "" clears the variable).
  for (auto& f : client_flags)
    f.option = c->add_option(f.flag, f.value, std::string{f.help} + " [" + f.variable + "]")
                 ->type_name("VALUE");

  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-worker"); rc >= 0)
    return rc;

  using hatchet::detail::parse_seconds;
  using hatchet::detail::parse_whole;
  hatchet::worker_options opts;
  opts.slots = or_usage_exit(
    parse_whole<int>("--slots (HATCHET_WORKER_SLOTS)", slots, 1, hatchet::max_slots));
  opts.drain_timeout =
    or_usage_exit(parse_seconds("--drain-timeout (HATCHET_WORKER_DRAIN_TIMEOUT)", drain));
  opts.cancel_grace =
    or_usage_exit(parse_seconds("--cancel-grace (HATCHET_WORKER_CANCEL_GRACE)", grace));
  opts.cleanup_timeout =
    or_usage_exit(parse_seconds("--cleanup-timeout (HATCHET_WORKER_CLEANUP_TIMEOUT)", cleanup));
  opts.flush_timeout =
    or_usage_exit(parse_seconds("--flush-timeout (HATCHET_WORKER_FLUSH_TIMEOUT)", flush));
  auto delay = std::chrono::milliseconds{
    or_usage_exit(parse_whole<int64_t>("--setup-delay-ms", setup_delay, 0, 3'600'000))};

  // Flags replace the variables they stand for; the library reads the result as it would the
  // environment, with the same checks and messages.
  auto env = hatchet_environment();
  std::vector<const client_flag*> given;
  for (const auto& f : client_flags) {
    if (f.option->count() == 0)
      continue;
    given.push_back(&f);
    if (f.value.empty())
      env.erase(f.variable);
    else
      env[f.variable] = f.value;
  }
  // A level on the command line wins over HATCHET_CLIENT_DEBUG from the environment.
  if (debug)
    env["HATCHET_CLIENT_LOG_LEVEL"] = "debug";
  auto level_given = std::any_of(given.begin(), given.end(), [](const client_flag* f) {
    return std::string_view{f->flag} == "--log-level";
  });
  if (debug || level_given)
    env.erase("HATCHET_CLIENT_DEBUG");
  auto cfg = hatchet::config::from_map(env);
  if (!cfg) {
    auto text = hatchet::detail::error_text(cfg.error());
    // A value from the command line is a bad command line: exit 2, naming the flag.
    for (const auto* f : given)
      if (text.find(f->variable) != std::string::npos) {
        std::cerr << "hatchet-worker: " << f->flag << ": " << text << "\n";
        return usage_exit;
      }
    spdlog::error("configuration: {}", text);
    return hatchet::to_int(hatchet::exit_code::startup_failed);
  }
  if (!cfg->log_level.empty())
    spdlog::set_level(spdlog::level::from_str(cfg->log_level));

  if (print_config) {
    auto seconds = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000; };
    nlohmann::json out = {
      {"name", cfg->apply_namespace(name)},
      {"slots", opts.slots},
      {"host_port", cfg->host_port},
      {"server_url", cfg->server_url},
      {"namespace", cfg->namespace_},
      {"drain_timeout_s", seconds(opts.drain_timeout)},
      {"fence_after_s", seconds(opts.fence_after)},
      {"cancel_grace_s", seconds(opts.cancel_grace)},
      {"flush_timeout_s", seconds(opts.flush_timeout)},
      {"cleanup_timeout_s", seconds(opts.cleanup_timeout)},
      {"heartbeat_interval_s", seconds(opts.heartbeat_interval)},
      {"healthcheck_enabled", cfg->healthcheck_enabled},
      {"healthcheck_bind_address", cfg->healthcheck_bind_address},
      {"healthcheck_port", cfg->healthcheck_port},
      {"healthcheck_path", "/health"},
    };
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  opts.workflows = {hatchet::apps::echo_workflow(), hatchet::apps::sleep_workflow(),
                    hatchet::apps::fail_workflow(), hatchet::apps::stubborn_workflow()};
  opts.workflows.push_back(hatchet::apps::demo_lifespan_workflow());
  opts.lifespan = [delay] { return hatchet::apps::demo_lifespan(delay); };
  hatchet::worker worker{std::move(*cfg), name, std::move(opts)};
  int code = worker.run();
  if (worker.must_exit_at_once())
    std::_Exit(code); // threads are still inside task or cleanup code: no teardown around them
  return code;
}
