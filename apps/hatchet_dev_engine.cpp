// hatchet-dev-engine: runs the in-memory dev engine until SIGINT/SIGTERM, or prints a token for it.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "command_line.hpp"
#include "core/parse.hpp"
#include "engine/auth.hpp"
#include "engine/dev_engine.hpp"

namespace {

const char* description =
  R"(hatchet-dev-engine: a small in-memory Hatchet engine for local runs and tests.

  hatchet-dev-engine [serve] [OPTIONS]   serve the Hatchet gRPC API on H:P and the REST API on
                                         H:R until SIGINT or SIGTERM (the default command); logs
                                         both addresses, a token clients can use
                                         (HATCHET_CLIENT_TOKEN) and the client settings that go
                                         with it
  hatchet-dev-engine token [OPTIONS]     print a token for the engine at H:P (REST API on H:R),
                                         signed with the secret serve uses with the same
                                         options, and exit)";

const char* footer = R"(
The secret: --secret, else $HATCHET_DEV_ENGINE_SECRET, else the one kept in the data directory
(--data-dir D; default $XDG_DATA_HOME/hatchet-dev-engine, else ~/.local/share/hatchet-dev-engine).
The first serve or token makes D/secret (32 random bytes as hex, mode 0600); later ones reuse it,
so tokens from token are accepted by serve, and by no engine with another secret.

TLS: with --tls-cert and --tls-key, gRPC over TLS and the REST API over HTTPS; tokens then name
the REST API as https://H:R. Clients set HATCHET_CLIENT_TLS_STRATEGY=tls and
HATCHET_CLIENT_TLS_ROOT_CA_FILE to the CA that signed it (HATCHET_CLIENT_TLS_SERVER_NAME if it is
not for H). With --tls-client-ca, mutual TLS: clients set HATCHET_CLIENT_TLS_STRATEGY=mtls,
HATCHET_CLIENT_TLS_CERT_FILE and _KEY_FILE.

On SIGINT/SIGTERM it stops and logs one line "final stats: {...}" with its counters as JSON
(assigned, completed, failed, cancelled, retried, max_running_on_one_worker,
duplicate_outcomes, stale_outcomes, requeued_undelivered, requeued_unacknowledged).

Exit status: 0 on success (and after a signal), 1 if the engine cannot start (e.g. the port is in
use, the secret file cannot be made or read, or a TLS file is unreadable or not what it should
be), 2 on a usage error (e.g. --tls-cert without --tls-key).)";

struct cli {
  std::string command = "serve";
  hatchet::engine::engine_options opts;
  std::string log_level = "info";
  std::optional<std::string> data_dir; // --data-dir; only used without --secret and the variable
};

int usage_error(const std::string& message) {
  return hatchet::apps::usage_error("hatchet-dev-engine", message);
}

/// 0 = parsed, -1 = help printed, > 0 = exit code of a usage error.
int parse(int argc, char** argv, cli& out) {
  using hatchet::detail::parse_whole;
  CLI::App app{description, "hatchet-dev-engine"};
  app.footer(footer);
  app.get_formatter()->column_width(30);
  auto* serve = app.add_subcommand("serve", "serve until SIGINT or SIGTERM (the default)");
  auto* token = app.add_subcommand("token", "print a token for these options and exit");
  app.require_subcommand(0, 1);
  serve->fallthrough();
  token->fallthrough();
  std::string port = "7077", rest_port, max_finished, max_finished_bytes, activation = "0",
              reassign = "30";
  std::string secret, data_dir, cert, key, client_ca;
  app.add_option("--host", out.opts.host, "listen address, named in the token (127.0.0.1)")
    ->type_name("H");
  app.add_option("--port", port, "gRPC port (7077; 0 picks a free port when serving)")
    ->type_name("P");
  app.add_option("--rest-port", rest_port,
                 "REST API port, named in the token as server_url (P + 1; with serve --port 0, a "
                 "free port); give serve and token the same R")
    ->type_name("R");
  app.add_option("--secret", secret, "HMAC key for tokens (see below)")->type_name("S");
  app.add_option("--data-dir", data_dir, "where the secret is kept (see below)")->type_name("D");
  app.add_option("--tls-cert", cert,
                 "serve over TLS with this certificate (PEM: the certificate, then any "
                 "intermediates); needs --tls-key")
    ->type_name("FILE");
  app.add_option("--tls-key", key, "the certificate's private key (PEM, unencrypted)")
    ->type_name("FILE");
  app.add_option("--tls-client-ca", client_ca,
                 "mutual TLS (needs --tls-cert): clients need a certificate signed by a CA in "
                 "FILE")
    ->type_name("FILE");
  app.add_option("--log-level", out.log_level,
                 "trace, debug, info, warn, error or off (info); debug logs every registration, "
                 "task and, every 5 s, the assignment counters")
    ->type_name("L");
  app.add_option("--max-finished-runs", max_finished,
                 "finished runs kept for results and run details (1000000, about 1 KB each); a "
                 "subscriber asking for an older, forgotten run waits forever")
    ->type_name("N");
  app.add_option("--max-finished-bytes", max_finished_bytes,
                 "and within this many bytes of inputs, outputs, errors and logs (536870912, "
                 "512 MiB; at least 1048576); the oldest are forgotten first")
    ->type_name("B");
  app.add_option("--activation-delay-ms", activation,
                 "TEST ONLY (0): a listen stream counts as active N ms after it opened, as a real "
                 "engine's database write lags; until then no tasks, and a worker that had an "
                 "active stream gets FAILED_PRECONDITION on Heartbeat")
    ->type_name("N");
  app.add_option("--reassign-after", reassign,
                 "TEST ONLY (30, as a real engine): the tasks of a worker whose last heartbeat is "
                 "older than S seconds are requeued elsewhere; tests shorten it to prove, in "
                 "seconds, what a real engine does in 30")
    ->type_name("S");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-dev-engine"); rc >= 0)
    return rc == 0 ? -1 : rc;
  if (token->parsed())
    out.command = "token";

  if (const char* env = std::getenv("HATCHET_DEV_ENGINE_SECRET"); env != nullptr && *env != '\0')
    out.opts.secret = env;
  using hatchet::detail::error_text;
  auto p = parse_whole<uint16_t>("--port", port);
  if (!p)
    return usage_error(error_text(p.error()));
  out.opts.port = *p;
  if (!rest_port.empty()) {
    auto r = parse_whole<uint16_t>("--rest-port", rest_port);
    if (!r)
      return usage_error(error_text(r.error()));
    out.opts.rest_port = *r;
  } else if (out.opts.port == 0) {
    out.opts.rest_port = 0; // a free one, as for gRPC
  } else if (out.opts.port == 65535) {
    return usage_error("--port 65535 leaves no default REST port (P + 1): give --rest-port");
  } else {
    out.opts.rest_port = static_cast<uint16_t>(out.opts.port + 1);
  }
  if (!max_finished.empty()) {
    auto n = parse_whole<std::size_t>("--max-finished-runs", max_finished, 1, 1'000'000'000'000);
    if (!n)
      return usage_error(error_text(n.error()));
    out.opts.max_finished_runs = *n;
  }
  if (!max_finished_bytes.empty()) {
    auto n = parse_whole<std::size_t>("--max-finished-bytes", max_finished_bytes, 1024 * 1024,
                                      std::size_t{1} << 50);
    if (!n)
      return usage_error(error_text(n.error()));
    out.opts.max_finished_bytes = *n;
  }
  auto delay = parse_whole<int64_t>("--activation-delay-ms", activation, 0, 3'600'000);
  if (!delay)
    return usage_error(error_text(delay.error()));
  out.opts.activation_delay = std::chrono::milliseconds{*delay};
  auto window = hatchet::detail::parse_seconds("--reassign-after", reassign);
  if (!window || window->count() <= 0)
    return usage_error(window ? "--reassign-after must be more than 0"
                              : error_text(window.error()));
  out.opts.silence_requeue = *window;
  for (auto [given, what] : {std::pair{&secret, "--secret"}, std::pair{&data_dir, "--data-dir"},
                             std::pair{&cert, "--tls-cert"}, std::pair{&key, "--tls-key"},
                             std::pair{&client_ca, "--tls-client-ca"}})
    if (app.count(what) > 0 && given->empty())
      return usage_error(std::string{what} + " must not be empty");
  if (!secret.empty())
    out.opts.secret = secret;
  if (!data_dir.empty())
    out.data_dir = data_dir;
  out.opts.tls_cert_file = cert;
  out.opts.tls_key_file = key;
  out.opts.tls_client_ca_file = client_ca;
  if (out.opts.rest_port != 0 && out.opts.rest_port == out.opts.port)
    return usage_error("--rest-port must differ from --port");
  if (!cert.empty() && key.empty())
    return usage_error("--tls-cert needs --tls-key (the certificate's private key)");
  if (cert.empty() && !key.empty())
    return usage_error("--tls-key needs --tls-cert (the certificate it belongs to)");
  if (!client_ca.empty() && cert.empty())
    return usage_error("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS "
                       "with client certificates");
  auto level = spdlog::level::from_str(out.log_level);
  if (level == spdlog::level::off && out.log_level != "off")
    return usage_error("unknown log level '" + out.log_level + "'");
  spdlog::set_level(level);
  return 0;
}

/// Fills c.opts.secret from the data directory unless --secret or the variable gave one; "" or
/// why the secret is unusable. Notes go to stderr for `token` (its stdout is the token alone),
/// to the log for `serve`.
std::string resolve_secret(cli& c) {
  if (c.opts.secret.empty()) {
    std::string dir = c.data_dir ? *c.data_dir : hatchet::engine::default_data_dir();
    auto file = hatchet::engine::load_or_create_secret(dir);
    if (!file.error.empty())
      return file.error;
    if (file.created) {
      if (c.command == "token")
        std::fprintf(stderr, "hatchet-dev-engine: created a new secret in %s\n",
                     file.path.c_str());
      else
        spdlog::info("created a new secret in {}", file.path);
    } else if (c.command != "token") {
      spdlog::debug("using the secret in {}", file.path);
    }
    c.opts.secret = std::move(file.secret);
  }
  if (c.opts.secret == hatchet::engine::old_public_dev_secret)
    return "the secret is the old public development secret \"hatchet-dev-engine-secret\", "
           "which anyone can mint tokens with and no engine accepts; drop --secret (and "
           "HATCHET_DEV_ENGINE_SECRET) to use the data directory's secret, or choose another";
  return {};
}

int serve(const cli& c) {
  // Block the stop signals in every thread (gRPC's threads inherit this mask) and wait for them
  // synchronously below: no async-signal-safety concerns in the shutdown path.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  hatchet::engine::dev_engine engine{c.opts};
  if (auto err = engine.start(); !err.empty()) {
    spdlog::error("{}", err);
    return 1;
  }
  spdlog::info("token: {}", engine.mint_token());
  spdlog::info("clients: HATCHET_CLIENT_TOKEN=<token> {}", engine.client_settings());

  timespec report_every{5, 0};
  hatchet::engine::dev_engine::stats last{};
  for (;;) {
    int sig = sigtimedwait(&stop_signals, nullptr, &report_every);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    auto s = engine.snapshot();
    if (s.assigned != last.assigned || s.completed != last.completed ||
        s.failed != last.failed || s.cancelled != last.cancelled)
      spdlog::debug("assigned {}, completed {}, failed {}, cancelled {}, retried {}, max running "
                    "on one worker {}",
                    s.assigned, s.completed, s.failed, s.cancelled, s.retried,
                    s.max_running_on_one_worker);
    last = s;
  }
  engine.stop();
  // One machine-readable line for the process tests (and anyone comparing runs).
  auto s = engine.snapshot();
  nlohmann::json figures = {{"assigned", s.assigned},
                            {"completed", s.completed},
                            {"failed", s.failed},
                            {"cancelled", s.cancelled},
                            {"retried", s.retried},
                            {"max_running_on_one_worker", s.max_running_on_one_worker},
                            {"duplicate_outcomes", s.duplicate_outcomes},
                            {"stale_outcomes", s.stale_outcomes},
                            {"requeued_undelivered", s.requeued_undelivered},
                            {"undeliverable", s.undeliverable},
                            {"requeued_unacknowledged", s.requeued_unacknowledged}};
  spdlog::info("final stats: {}", figures.dump());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  cli c;
  if (int rc = parse(argc, argv, c); rc != 0)
    return rc < 0 ? 0 : rc;
  if (auto err = resolve_secret(c); !err.empty()) {
    if (c.command == "token")
      std::fprintf(stderr, "hatchet-dev-engine: %s\n", err.c_str());
    else
      spdlog::error("{}", err);
    return 1;
  }
  if (c.command == "token") {
    auto address = hatchet::engine::join_host_port(c.opts.host, c.opts.port);
    auto rest = (c.opts.tls() ? "https://" : "http://") +
                hatchet::engine::join_host_port(c.opts.host, c.opts.rest_port);
    std::printf("%s\n", hatchet::engine::mint_token(c.opts, address, rest).c_str());
    return 0;
  }
  return serve(c);
}
