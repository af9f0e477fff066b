// client/hints: which failed calls are worth a TLS diagnosis, and what each diagnosis tells the
// user to change. (The diagnosis itself, a real handshake, is held by tests/process/tls.sh.)
#define BOOST_TEST_MODULE hints
#include <boost/test/unit_test.hpp>

#include <string>

#include "client/hints.hpp"
#include "client/rpc_error.hpp"
#include "hatchet/errors.hpp"

namespace hr = hatchet::rpc;
using kind = hr::tls_diagnosis::kind;

namespace {

hatchet::config tls_config(hatchet::tls_strategy strategy = hatchet::tls_strategy::tls) {
  hatchet::config cfg;
  cfg.token = "t";
  cfg.host_port = "127.0.0.1:7077";
  cfg.tls = strategy;
  cfg.tls_root_ca_file = "ca.pem";
  cfg.tls_cert_file = "client.pem";
  cfg.tls_key_file = "client.key";
  return cfg;
}

hatchet::wire::rpc_status unavailable(std::string message) {
  return {hatchet::wire::status::unavailable, std::move(message), {}};
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(handshake_failures_and_closed_sockets_are_diagnosed_refused_connections_not) {
  auto cfg = tls_config();
  BOOST_TEST(hr::worth_a_tls_diagnosis(
    cfg, unavailable("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
                     "Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::"
                     "certificate verify failed")));
  BOOST_TEST(hr::worth_a_tls_diagnosis(
    cfg, unavailable("last error: UNKNOWN: ipv4:127.0.0.1:1: Peer name x is not in peer "
                     "certificate")));
  BOOST_TEST(hr::worth_a_tls_diagnosis(
    cfg, unavailable("last error: UNAVAILABLE: ipv4:127.0.0.1:1: Socket closed")));
  // A retry may fix these; gRPC's words already say it all for the plaintext engine.
  BOOST_TEST(!hr::worth_a_tls_diagnosis(
    cfg, unavailable("last error: UNAVAILABLE: ipv4:127.0.0.1:1: Connection refused")));
  BOOST_TEST(!hr::worth_a_tls_diagnosis(
    cfg, unavailable("Ssl handshake failed: error:0A00010B:SSL routines::wrong version number")));
  BOOST_TEST(!hr::worth_a_tls_diagnosis(cfg, {hatchet::wire::status::unauthenticated, "x", {}}));
  auto hinted = unavailable("Socket closed");
  hinted.hint = "already diagnosed";
  BOOST_TEST(!hr::worth_a_tls_diagnosis(cfg, hinted));
  // Without TLS only a closed socket can mean an engine that speaks TLS.
  auto plain = tls_config(hatchet::tls_strategy::none);
  BOOST_TEST(hr::worth_a_tls_diagnosis(plain, unavailable("Socket closed")));
  BOOST_TEST(!hr::worth_a_tls_diagnosis(plain, unavailable("Connection refused")));
}

BOOST_AUTO_TEST_CASE(each_diagnosis_says_what_to_set_and_nothing_for_what_a_retry_may_fix) {
  auto cfg = tls_config();
  hr::tls_diagnosis d;
  d.server_name = "127.0.0.1";
  d.certificate_names = {"engine.internal"};
  d.detail = "unable to get local issuer certificate";

  d.what = kind::untrusted;
  BOOST_TEST(hr::tls_hint(cfg, d) ==
             "the engine's certificate is not signed by HATCHET_CLIENT_TLS_ROOT_CA_FILE (ca.pem) "
             "(unable to get local issuer certificate): set HATCHET_CLIENT_TLS_ROOT_CA_FILE to "
             "the CA certificate that signed the engine's certificate");
  auto no_root = cfg;
  no_root.tls_root_ca_file.clear();
  BOOST_TEST(has(hr::tls_hint(no_root, d), "not signed by a CA this system trusts"));

  d.what = kind::name_mismatch;
  d.detail = "hostname mismatch";
  BOOST_TEST(hr::tls_hint(cfg, d) ==
             "the engine's certificate is for engine.internal, which does not match the name "
             "127.0.0.1 (the host of 127.0.0.1:7077) that the client checks it against: set "
             "HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal (or connect through a name the "
             "certificate is for)");
  auto named = cfg;
  named.tls_server_name = d.server_name = "wrong.name";
  BOOST_TEST(has(hr::tls_hint(named, d), "in HATCHET_CLIENT_TLS_SERVER_NAME: set"));

  d.what = kind::client_cert_required;
  d.detail = "the engine closed the connection";
  BOOST_TEST(hr::tls_hint(cfg, d).rfind("the engine requires a client certificate: set "
                                        "HATCHET_CLIENT_TLS_STRATEGY=mtls",
                                        0) == 0u);
  d.what = kind::client_cert_refused;
  BOOST_TEST(has(hr::tls_hint(cfg, d),
                 "the engine refused the client certificate in HATCHET_CLIENT_TLS_CERT_FILE "
                 "(client.pem)"));
  d.what = kind::not_tls;
  BOOST_TEST(has(hr::tls_hint(cfg, d), "set HATCHET_CLIENT_TLS_STRATEGY=none"));
  d.what = kind::speaks_tls;
  BOOST_TEST(has(hr::tls_hint(tls_config(hatchet::tls_strategy::none), d),
                 "set HATCHET_CLIENT_TLS_STRATEGY=tls"));
  d.what = kind::invalid_certificate;
  d.detail = "certificate has expired";
  BOOST_TEST(has(hr::tls_hint(cfg, d), "does not verify (certificate has expired)"));

  for (auto k : {kind::accepted, kind::unreachable, kind::other}) {
    d.what = k;
    BOOST_TEST(hr::tls_hint(cfg, d).empty());
  }
}

BOOST_AUTO_TEST_CASE(a_hint_makes_a_failure_final_and_gRPCs_own_words_still_count) {
  auto cfg = tls_config();
  auto st = unavailable("Socket closed");
  BOOST_TEST(hr::fatal_hint(cfg, st).empty()); // retried unless a diagnosis says why
  st.hint = "the engine requires a client certificate: ...";
  BOOST_TEST(hr::fatal_hint(cfg, st) == st.hint);
  BOOST_TEST(has(hr::fatal_hint(cfg, unavailable("SSL routines::wrong version number")),
                 "does not speak TLS on that port"));
  BOOST_TEST(has(hr::fatal_hint(cfg, unavailable("certificate verify failed")),
                 "set HATCHET_CLIENT_TLS_ROOT_CA_FILE"));
  BOOST_TEST(has(hr::fatal_hint(cfg, unavailable("Peer name x is not in peer certificate")),
                 "set HATCHET_CLIENT_TLS_SERVER_NAME"));
  BOOST_TEST(hr::fatal_hint(tls_config(hatchet::tls_strategy::none),
                            unavailable("wrong version number"))
               .empty());
}

BOOST_AUTO_TEST_CASE(the_server_name_is_the_override_else_the_host_without_brackets) {
  auto cfg = tls_config();
  BOOST_TEST(hr::tls_server_name(cfg) == "127.0.0.1");
  cfg.host_port = "[::1]:7077";
  BOOST_TEST(hr::tls_server_name(cfg) == "::1");
  cfg.tls_server_name = "engine.internal";
  BOOST_TEST(hr::tls_server_name(cfg) == "engine.internal");
}

// A trigger whose answer may have been lost says that the run may exist and where to look; one
// that never left says what failed, as any call.
BOOST_AUTO_TEST_CASE(a_lost_answer_is_told_apart_from_a_call_that_never_left) {
  namespace ws = hatchet::wire::status;
  auto st = [](int code, std::string msg) {
    return hatchet::wire::rpc_status{code, std::move(msg), {}};
  };
  BOOST_TEST(hr::answer_may_be_lost(st(ws::deadline_exceeded, "Deadline Exceeded")));
  BOOST_TEST(hr::answer_may_be_lost(st(ws::unavailable, "Socket closed")));
  BOOST_TEST(hr::answer_may_be_lost(st(ws::unavailable, "keepalive watchdog timeout")));
  BOOST_TEST(hr::answer_may_be_lost(st(ws::internal, "Received RST_STREAM with error code 2")));
  BOOST_TEST(!hr::answer_may_be_lost(st(ws::unavailable,
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to "
    "connect to remote host: Connection refused")));
  BOOST_TEST(!hr::answer_may_be_lost(st(ws::unavailable, "empty address list: ")));
  BOOST_TEST(!hr::answer_may_be_lost(st(ws::invalid_argument, "workflow names not found: x")));
  BOOST_TEST(!hr::answer_may_be_lost(st(ws::unauthenticated, "invalid auth token")));
}

BOOST_AUTO_TEST_CASE(a_lost_trigger_answer_says_the_run_may_exist_and_how_to_find_it) {
  hatchet::config cfg = tls_config(hatchet::tls_strategy::none);
  cfg.server_url = "https://engine.example";
  cfg.tenant_id = "707d0855-80ab-4e1f-a156-f1c4546cbf52";
  hr::trigger_about about{"orders", "2026-12-08T00:10:01Z", "", 1};
  auto err = hr::trigger_error("TriggerWorkflow", unavailable("Socket closed"), cfg, about);
  BOOST_TEST(hatchet::has_code(err, hatchet::errc::outcome_unknown));
  auto text = hatchet::describe(err);
  BOOST_TEST(has(text, "the engine may have created the run, or not"), text);
  BOOST_TEST(has(text, "Triggering again may run it twice"), text);
  BOOST_TEST(has(text, "GET https://engine.example/api/v1/stable/tenants/"
                       "707d0855-80ab-4e1f-a156-f1c4546cbf52/workflow-runs?only_tasks=false"
                       "&since=2026-12-08T00:10:01Z"),
             text);
  BOOST_TEST(has(text, "additional_metadata=<key>:<value>"), text);
  // A child run: its parent task narrows the search.
  about.parent_task_run_external_id = "5b0c1f8e-0000-4000-8000-000000000001";
  text = hatchet::describe(hr::trigger_error(
    "TriggerWorkflow", {hatchet::wire::status::deadline_exceeded, "Deadline Exceeded", {}}, cfg,
    about));
  BOOST_TEST(has(text, "&parent_task_external_id=5b0c1f8e-0000-4000-8000-000000000001"), text);
  // Never sent: the usual error.
  err = hr::trigger_error("TriggerWorkflow",
                          unavailable("failed to connect to all addresses; Connection refused"),
                          cfg, about);
  BOOST_TEST(hatchet::has_code(err, hatchet::errc::rpc_failed), hatchet::describe(err));
}
