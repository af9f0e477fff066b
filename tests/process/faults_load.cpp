// hatchet-fault-load: triggers N runs of EchoWorkflow, each with its own input {"i": k}, waits for
// all of them and checks that every run finished COMPLETED with exactly its own input as output.
//
// hatchet-run gives every run the same input, so it cannot tell a run that got another run's
// result, or a result delivered twice, from a correct one; this driver can. It talks to the engine
// named by HATCHET_CLIENT_* (the process tests point it at the engine directly, not through the
// fault proxy) and prints one JSON line of figures on stdout.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/admin_client.hpp"
#include "apps/command_line.hpp"
#include "core/parse.hpp"
#include "hatchet/config.hpp"
#include "hatchet/errors.hpp"

namespace {

const char* description = R"(hatchet-fault-load: triggers --count runs of --workflow (default EchoWorkflow,
whose task returns its input) with the inputs {"i":0} ... {"i":N-1}, in --batches equal batches
spread over --spread seconds, waits for every run, and prints one JSON line:
  {"runs":N,"completed":C,"failed":F,"wrong_output":W,"missing":M,"duplicate_results":D,
   "seconds":T,"first_errors":[...]}
Engine address and token come from HATCHET_CLIENT_* as for hatchet-run.)";

const char* footer = R"(
exit codes: 0 every run COMPLETED with its own input; 1 otherwise; 2 bad usage or config.)";

struct options {
  std::string workflow = "EchoWorkflow";
  std::string task = "echo";
  int count = 5000;
  int batches = 10;
  double spread_s = 0;
  int timeout_s = 300;
};

int parse(int argc, char** argv, options& o) {
  CLI::App app{description, "hatchet-fault-load"};
  app.footer(footer);
  std::string count = "5000", batches = "10", spread = "0", timeout = "300";
  app.add_option("--workflow", o.workflow, "workflow to trigger (default EchoWorkflow)")
    ->type_name("NAME");
  app.add_option("--task", o.task, "the task whose output is checked (default echo)")
    ->type_name("NAME");
  app.add_option("--count", count, "number of runs (default 5000)")->type_name("N");
  app.add_option("--batches", batches, "number of BulkTriggerWorkflow batches (default 10)")
    ->type_name("B");
  app.add_option("--spread", spread, "seconds over which the batches are spread (default 0)")
    ->type_name("S");
  app.add_option("--timeout", timeout,
                 "give up waiting after S whole seconds from the first trigger (default 300)")
    ->type_name("S");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-fault-load"); rc >= 0)
    return rc == 0 ? -1 : rc;
  using hatchet::detail::parse_whole;
  auto number = [](auto parsed) {
    return hatchet::apps::value_or_exit("hatchet-fault-load", std::move(parsed),
                                        hatchet::apps::usage_exit);
  };
  o.count = number(parse_whole<int>("--count", count, 1));
  o.batches = number(parse_whole<int>("--batches", batches, 1));
  o.spread_s = number(hatchet::detail::parse_seconds("--spread", spread)).count() / 1000.0;
  o.timeout_s = number(parse_whole<int>("--timeout", timeout, 1));
  if (o.batches > o.count)
    return hatchet::apps::usage_error("hatchet-fault-load", "need --count >= --batches");
  return 0;
}

/// What the checker knows about each run.
struct expectation {
  int i = 0;
  int results = 0; // FINISHED events seen for this run
};

} // namespace

int main(int argc, char** argv) {
  options o;
  if (int rc = parse(argc, argv, o); rc != 0)
    return rc < 0 ? 0 : rc;
  auto cfg = hatchet::config::from_env();
  if (!cfg) {
    std::cerr << "hatchet-fault-load: " << hatchet::describe(cfg.error()) << "\n";
    return 2;
  }
  auto ch = hatchet::rpc::make_channel(*cfg);
  hatchet::rpc::admin_client admin{ch, *cfg};

  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds{o.timeout_s};
  std::mutex mu;
  std::unordered_map<std::string, expectation> runs; // by workflow run id
  size_t completed = 0, failed = 0, wrong = 0, duplicates = 0;
  nlohmann::json first_errors = nlohmann::json::array();
  auto note = [&](std::string what) { // under mu
    if (first_errors.size() < 10)
      first_errors.push_back(std::move(what));
  };

  // One waiter thread per batch: results of early batches flow while later ones are triggered.
  std::vector<std::thread> waiters;
  std::atomic<size_t> wait_errors{0};
  bool trigger_failed = false;
  for (int b = 0; b < o.batches; ++b) {
    if (o.spread_s > 0 && b > 0) {
      auto at = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(o.spread_s * b / o.batches));
      std::this_thread::sleep_until(at);
    }
    const int first = static_cast<int>(static_cast<long long>(o.count) * b / o.batches);
    const int last = static_cast<int>(static_cast<long long>(o.count) * (b + 1) / o.batches);
    std::vector<hatchet::rpc::trigger_request> reqs;
    for (int k = first; k < last; ++k)
      reqs.push_back({o.workflow, nlohmann::json{{"i", k}}.dump(), ""});
    auto ids = admin.bulk_trigger(reqs);
    if (!ids || ids->size() != reqs.size()) {
      std::lock_guard lk{mu};
      note("batch " + std::to_string(b) + ": BulkTriggerWorkflow failed: " +
           (ids ? std::string{"wrong id count"} : hatchet::describe(ids.error())));
      trigger_failed = true;
      break;
    }
    {
      std::lock_guard lk{mu};
      for (size_t n = 0; n < ids->size(); ++n)
        runs[(*ids)[n]] = expectation{first + static_cast<int>(n), 0};
    }
    waiters.emplace_back([&, ids = std::move(*ids)] {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      auto err = admin.wait_for_runs(
        ids,
        [&](const hatchet::rpc::run_result& r) {
          std::lock_guard lk{mu};
          auto it = runs.find(r.workflow_run_id);
          if (it == runs.end())
            return;
          if (++it->second.results > 1) {
            ++duplicates;
            return;
          }
          if (r.failed()) {
            ++failed;
            std::string why;
            for (const auto& t : r.tasks)
              if (t.error)
                why = *t.error;
            note("run " + r.workflow_run_id + " {\"i\":" + std::to_string(it->second.i) +
                 "} failed: " + why.substr(0, 200));
            return;
          }
          ++completed;
          for (const auto& t : r.tasks) {
            if (t.task_name != o.task)
              continue;
            auto out = nlohmann::json::parse(t.output.value_or("{}"), nullptr, false);
            if (!out.is_object() || out.value("i", -1) != it->second.i || out.size() != 1) {
              ++wrong;
              note("run " + r.workflow_run_id + " {\"i\":" + std::to_string(it->second.i) +
                   "} returned " + t.output.value_or("<nothing>"));
            }
          }
        },
        std::max(left, std::chrono::milliseconds{1}));
      if (err)
        ++wait_errors;
    });
  }
  for (auto& t : waiters)
    t.join();
  const double seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  size_t missing = 0;
  for (const auto& [id, e] : runs)
    if (e.results == 0) {
      ++missing;
      note("run " + id + " {\"i\":" + std::to_string(e.i) + "} never finished");
    }
  missing += static_cast<size_t>(o.count) - runs.size(); // never triggered
  nlohmann::json line = {{"runs", o.count},
                         {"triggered", runs.size()},
                         {"completed", completed},
                         {"failed", failed},
                         {"wrong_output", wrong},
                         {"missing", missing},
                         {"duplicate_results", duplicates},
                         {"wait_errors", wait_errors.load()},
                         {"seconds", std::round(seconds * 100) / 100},
                         {"first_errors", first_errors}};
  std::cout << line.dump() << std::endl;
  bool ok = !trigger_failed && completed == static_cast<size_t>(o.count) && failed == 0 &&
            wrong == 0 && missing == 0 && duplicates == 0;
  return ok ? 0 : 1;
}
