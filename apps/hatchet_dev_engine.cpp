// hatchet-dev-engine: runs the in-memory dev engine until SIGINT/SIGTERM, or prints a token for it.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/parse.hpp"
#include "engine/auth.hpp"
#include "engine/dev_engine.hpp"

namespace {

constexpr const char* usage = R"(hatchet-dev-engine: a small in-memory Hatchet engine for local runs and tests

Usage:
  hatchet-dev-engine [serve] [--host H] [--port P] [--rest-port R] [--secret S | --data-dir D]
                     [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
                     [--log-level L] [--max-finished-runs N] [--activation-delay-ms N]
      Serve the Hatchet gRPC API on H:P and the REST API (pausing workers) on H:R until
      SIGINT or SIGTERM, in plaintext or, with --tls-cert, over TLS. Logs both addresses,
      a token that clients can use (HATCHET_CLIENT_TOKEN) and the client settings that go
      with it (HATCHET_CLIENT_TLS_STRATEGY=none in plaintext).
  hatchet-dev-engine token [--host H] [--port P] [--rest-port R] [--secret S | --data-dir D]
                           [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
      Print a token for the engine at H:P (REST API on H:R, https:// with --tls-cert)
      signed with the secret that serve uses with the same options, and exit.
  hatchet-dev-engine --help
      Show this text.

Options:
  --host H        listen address / address named in the token (default 127.0.0.1)
  --port P        gRPC port (default 7077; 0 picks a free port when serving)
  --rest-port R   REST API port, named in the token as server_url (default P + 1; with
                  serve --port 0, a free port). Give the same R to serve and token.
  --secret S      HMAC key for tokens (default: $HATCHET_DEV_ENGINE_SECRET, else the
                  secret kept in the data directory); serve and token must use the same one
  --data-dir D    where the secret is kept when neither --secret nor the variable gives one
                  (default $XDG_DATA_HOME/hatchet-dev-engine, else
                  ~/.local/share/hatchet-dev-engine). The first serve or token makes D/secret:
                  32 random bytes as hex, mode 0600; later ones reuse it, so tokens from
                  token are accepted by serve, and by no engine with another secret
  --tls-cert FILE
                  serve gRPC over TLS and the REST API over HTTPS with this certificate
                  (PEM: the server certificate, then any intermediates); needs --tls-key.
                  Tokens then name the REST API as https://H:R. Clients set
                  HATCHET_CLIENT_TLS_STRATEGY=tls and HATCHET_CLIENT_TLS_ROOT_CA_FILE to the
                  CA that signed it, and HATCHET_CLIENT_TLS_SERVER_NAME if it is not for H
  --tls-key FILE  the certificate's private key (PEM, unencrypted); needs --tls-cert
  --tls-client-ca FILE
                  mutual TLS (needs --tls-cert): both APIs require a client certificate
                  signed by a CA in FILE (PEM) and refuse clients without one; clients set
                  HATCHET_CLIENT_TLS_STRATEGY=mtls, HATCHET_CLIENT_TLS_CERT_FILE and _KEY_FILE
  --log-level L   trace, debug, info, warn, error or off (default info); debug logs every
                  registration, task and, every 5 s, the assignment counters
  --max-finished-runs N
                  finished runs kept in memory for results and run details (default 1000000,
                  about 1 KB each); a subscriber asking for an older, forgotten run waits forever
  --activation-delay-ms N
                  TEST ONLY (default 0): a listen stream counts as active only N ms after it
                  opened, as a real engine's database write lags; until then the worker gets
                  no tasks, and a worker that had an active stream before gets
                  FAILED_PRECONDITION on Heartbeat

On SIGINT/SIGTERM it stops and logs one line "final stats: {...}" with its counters as JSON
(assigned, completed, failed, cancelled, retried, max_running_on_one_worker,
duplicate_outcomes, stale_outcomes, requeued_undelivered, requeued_unacknowledged).

Exit status: 0 on success (and after a signal), 1 if the engine cannot start (e.g. the port
is in use, the secret file cannot be made or read, or a TLS file is unreadable or not what
it should be), 2 on a usage error (e.g. --tls-cert without --tls-key).
)";

struct cli {
  std::string command = "serve";
  hatchet::engine::engine_options opts;
  std::optional<uint16_t> rest_port; // absent: the default, worked out once --port is known
  std::string log_level = "info";
  std::optional<std::string> data_dir; // --data-dir; only used without --secret and the variable
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "hatchet-dev-engine: %s\n(see hatchet-dev-engine --help)\n",
               message.c_str());
  return 2;
}

/// 0 = parsed, -1 = help printed, > 0 = exit code of a usage error.
int parse(int argc, char** argv, cli& out) {
  if (const char* env = std::getenv("HATCHET_DEV_ENGINE_SECRET"); env != nullptr && *env != '\0')
    out.opts.secret = env;
  bool command_seen = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return -1;
    }
    if (arg.rfind("--", 0) == 0) {
      std::string name = arg;
      std::optional<std::string> value;
      if (auto eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      }
      if (name != "--host" && name != "--port" && name != "--rest-port" && name != "--secret" &&
          name != "--log-level" && name != "--max-finished-runs" &&
          name != "--activation-delay-ms" && name != "--data-dir" && name != "--tls-cert" &&
          name != "--tls-key" && name != "--tls-client-ca")
        return usage_error("unknown option " + name);
      if (!value)
        return usage_error(name + " needs a value");
      if (name == "--host") {
        out.opts.host = *value;
      } else if (name == "--port") {
        auto p = hatchet::detail::parse_whole<uint16_t>(name, *value);
        if (!p)
          return usage_error(hatchet::detail::error_text(p.error()));
        out.opts.port = *p;
      } else if (name == "--rest-port") {
        auto p = hatchet::detail::parse_whole<uint16_t>(name, *value);
        if (!p)
          return usage_error(hatchet::detail::error_text(p.error()));
        out.rest_port = *p;
      } else if (name == "--activation-delay-ms") {
        auto n = hatchet::detail::parse_whole<int64_t>(name, *value, 0, 3'600'000);
        if (!n)
          return usage_error(hatchet::detail::error_text(n.error()));
        out.opts.activation_delay = std::chrono::milliseconds{*n};
      } else if (name == "--max-finished-runs") {
        auto n = hatchet::detail::parse_whole<std::size_t>(name, *value, 1, 1'000'000'000'000);
        if (!n)
          return usage_error(hatchet::detail::error_text(n.error()));
        out.opts.max_finished_runs = *n;
      } else if (name == "--secret") {
        if (value->empty())
          return usage_error("the secret must not be empty");
        out.opts.secret = *value;
      } else if (name == "--tls-cert" || name == "--tls-key" || name == "--tls-client-ca") {
        if (value->empty())
          return usage_error(name + " must not be empty");
        (name == "--tls-cert"  ? out.opts.tls_cert_file
         : name == "--tls-key" ? out.opts.tls_key_file
                               : out.opts.tls_client_ca_file) = *value;
      } else if (name == "--data-dir") {
        if (value->empty())
          return usage_error("--data-dir must not be empty");
        out.data_dir = *value;
      } else {
        out.log_level = *value;
      }
      continue;
    }
    if (command_seen || (arg != "serve" && arg != "token"))
      return usage_error("unexpected argument '" + arg + "'");
    out.command = arg;
    command_seen = true;
  }
  if (out.rest_port) {
    out.opts.rest_port = *out.rest_port;
  } else if (out.opts.port == 0) {
    out.opts.rest_port = 0; // a free one, as for gRPC
  } else if (out.opts.port == 65535) {
    return usage_error("--port 65535 leaves no default REST port (P + 1): give --rest-port");
  } else {
    out.opts.rest_port = static_cast<uint16_t>(out.opts.port + 1);
  }
  if (out.opts.rest_port != 0 && out.opts.rest_port == out.opts.port)
    return usage_error("--rest-port must differ from --port");
  if (!out.opts.tls_cert_file.empty() && out.opts.tls_key_file.empty())
    return usage_error("--tls-cert needs --tls-key (the certificate's private key)");
  if (out.opts.tls_cert_file.empty() && !out.opts.tls_key_file.empty())
    return usage_error("--tls-key needs --tls-cert (the certificate it belongs to)");
  if (!out.opts.tls_client_ca_file.empty() && out.opts.tls_cert_file.empty())
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
