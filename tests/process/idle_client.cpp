// A client and a worker that go quiet across connection cuts (and, with the script's help, an
// engine restart), then wait for results again, through every way there is to wait: client.run,
// run_no_wait + result(), and, inside tasks, ctx.run_child, ctx.spawn()->result() and
// run_ref::async_result. Each is used once before the quiet spell, so that its run listener has
// a stream to lose, and again after it; then RUNS more runs through the client. Prints one
// "idle-client: ..." line with the figures and exits 0 only if every result came back, right and
// once. Engine and token from HATCHET_CLIENT_* (the script points both sides at a cutting proxy).
//   hatchet-idle-client --idle S [--runs N]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <hatchet/hatchet.hpp>

#include "apps/command_line.hpp"

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

hatchet::workflow child() {
  hatchet::workflow wf{"IdleChild"};
  wf.task("double", [](const json& in, hatchet::context&) { return json{{"n", 2 * in.value("n", 0)}}; });
  return wf;
}

/// A parent that waits for a child in one of the three ways a task can.
hatchet::workflow parent(const std::string& name, int how) {
  hatchet::workflow wf{name};
  if (how == 0)
    wf.task("wait", [](const json& in, hatchet::context& ctx) -> hatchet::co_task<json> {
      auto c = ctx.run_child<json>("IdleChild", in);
      auto out = co_await c;
      co_return out ? *out : json{{"error", hatchet::describe(out.error())}};
    });
  else if (how == 1)
    wf.task("wait", [](const json& in, hatchet::context& ctx) {
      auto ref = ctx.spawn("IdleChild", in);
      if (!ref)
        return json{{"error", hatchet::describe(ref.error())}};
      auto out = ref->result(30s);
      return out ? *out : json{{"error", hatchet::describe(out.error())}};
    });
  else
    wf.task("wait", [](const json& in, hatchet::context& ctx) -> hatchet::co_task<json> {
      auto ref = ctx.spawn("IdleChild", in);
      if (!ref)
        co_return json{{"error", hatchet::describe(ref.error())}};
      auto waited = ref->async_result<json>(ctx);
      auto out = co_await waited;
      co_return out ? *out : json{{"error", hatchet::describe(out.error())}};
    });
  return wf;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"hatchet-idle-client: every way to wait for a result, before and after a quiet "
               "spell",
               "hatchet-idle-client"};
  std::string idle_text, runs_text = "50";
  app.add_option("--idle", idle_text, "seconds of quiet between the two rounds")->required();
  app.add_option("--runs", runs_text, "client runs after the quiet spell (default 50)");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-idle-client"); rc >= 0)
    return rc;
  auto idle = hatchet::apps::value_or_exit(
    "hatchet-idle-client", hatchet::detail::parse_seconds("--idle", idle_text), 2);
  int runs = hatchet::apps::value_or_exit(
    "hatchet-idle-client", hatchet::detail::parse_whole<int>("--runs", runs_text, 1), 2);

  auto client = hatchet::client::from_env();
  if (!client) {
    std::cerr << hatchet::describe(client.error()) << "\n";
    return 2;
  }
  auto worker = client
                  ->worker("idle-worker",
                           {.slots = 8,
                            .workflows = {child(), parent("IdleParentCo", 0),
                                          parent("IdleParentSync", 1), parent("IdleParentAsync", 2)}})
                  .start();
  if (!worker) {
    std::cerr << hatchet::describe(worker.error()) << "\n";
    return 1;
  }
  int wrong = 0;
  std::vector<std::string> problems;
  auto check = [&](const std::string& what, const caf::expected<json>& out, int n) {
    json want = {{"n", 2 * n}};
    if (!out || *out != want) {
      ++wrong;
      problems.push_back(what + ": " + (out ? out->dump() : hatchet::describe(out.error())));
    }
  };
  // client.run waits without a deadline: a deaf client would hang there. The watchdog names the
  // wait that never ended and exits 1, so a failure reads as one, not as the script's timeout.
  std::mutex step_mtx;
  std::condition_variable step_cv;
  std::string step = "start";
  bool finished = false;
  std::thread watchdog{[&] {
    std::unique_lock lk{step_mtx};
    for (;;) {
      auto seen_step = step;
      if (step_cv.wait_for(lk, 45s, [&] { return finished || step != seen_step; })) {
        if (finished)
          return;
        continue;
      }
      std::cout << "idle-client: stuck: no result for 45 s at step '" << step << "'" << std::endl;
      std::_Exit(1);
    }
  }};
  auto at = [&](std::string s) {
    std::lock_guard lk{step_mtx};
    step = std::move(s);
    step_cv.notify_all();
  };
  auto one_round = [&](int n) {
    at("round " + std::to_string(n) + ": client.run");
    check("client.run", client->run("IdleChild", json{{"n", n}}), n);
    at("round " + std::to_string(n) + ": run_no_wait+result");
    auto ref = client->run_no_wait("IdleChild", json{{"n", n}});
    check("run_no_wait+result", ref ? ref->result(30s) : caf::expected<json>{ref.error()}, n);
    for (const char* wf : {"IdleParentCo", "IdleParentSync", "IdleParentAsync"}) {
      at("round " + std::to_string(n) + ": " + wf);
      check(wf, client->run(wf, json{{"n", n}}), n);
    }
  };
  one_round(1);
  at("quiet spell");
  std::this_thread::sleep_for(idle); // the cuts (and the engine restart) happen here
  one_round(2);
  at("many runs");
  // Then many runs at once, each result once.
  std::vector<hatchet::run_ref> refs;
  for (int i = 0; i < runs; ++i)
    if (auto r = client->run_no_wait("IdleChild", json{{"n", 100 + i}}))
      refs.push_back(*r);
  std::set<std::string> seen;
  int results = 0;
  for (size_t i = 0; i < refs.size(); ++i) {
    at("many runs: result of run " + std::to_string(i));
    auto out = refs[i].result(30s);
    check("run " + std::to_string(i), out, 100 + static_cast<int>(i));
    if (out && seen.insert(refs[i].id()).second)
      ++results;
  }
  at("worker stop");
  int code = worker->stop();
  {
    std::lock_guard lk{step_mtx};
    finished = true;
    step_cv.notify_all();
  }
  watchdog.join();
  std::cout << "idle-client: idle_s=" << idle.count() / 1000.0 << " runs=" << runs
            << " triggered=" << refs.size() << " results=" << results << " wrong=" << wrong
            << " worker_exit=" << code << "\n";
  for (const auto& p : problems)
    std::cout << "  " << p << "\n";
  return wrong == 0 && results == runs && code == 0 ? 0 : 1;
}
