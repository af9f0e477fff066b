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
#include "core/parse.hpp"
#include "hatchet/config.hpp"
#include "hatchet/errors.hpp"

namespace {

constexpr const char* usage = R"(usage: hatchet-fault-load [options]

Triggers --count runs of --workflow (default EchoWorkflow, whose task returns its input) with the
inputs {"i":0} ... {"i":N-1}, in --batches equal batches spread over --spread seconds, waits for
every run, and prints one JSON line:
  {"runs":N,"completed":C,"failed":F,"wrong_output":W,"missing":M,"duplicate_results":D,
   "seconds":T,"first_errors":[...]}
Engine address and token come from HATCHET_CLIENT_* as for hatchet-run.

options:
  --workflow NAME   workflow to trigger (default EchoWorkflow)
  --task NAME       the task whose output is checked (default echo)
  --count N         number of runs (default 5000)
  --batches B       number of BulkTriggerWorkflow batches (default 10)
  --spread S        seconds over which the batches are spread (default 0: all at once)
  --timeout S       give up waiting after S seconds from the first trigger (default 300)
  -h, --help        this text

exit codes: 0 every run COMPLETED with its own input; 1 otherwise; 2 bad usage or config.
)";

struct options {
  std::string workflow = "EchoWorkflow";
  std::string task = "echo";
  int count = 5000;
  int batches = 10;
  double spread_s = 0;
  int timeout_s = 300;
};

int parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      return -1;
    }
    if (i + 1 >= argc) {
      std::cerr << "hatchet-fault-load: " << a << " needs a value\n";
      return 2;
    }
    std::string v = argv[++i];
    using hatchet::detail::parse_whole;
    auto number = [&](auto parsed) {
      if (!parsed) {
        std::cerr << "hatchet-fault-load: " << hatchet::detail::error_text(parsed.error()) << "\n";
        std::exit(2);
      }
      return *parsed;
    };
    if (a == "--workflow")
      o.workflow = v;
    else if (a == "--task")
      o.task = v;
    else if (a == "--count")
      o.count = number(parse_whole<int>(a, v, 1));
    else if (a == "--batches")
      o.batches = number(parse_whole<int>(a, v, 1));
    else if (a == "--spread")
      o.spread_s = number(hatchet::detail::parse_seconds(a, v)).count() / 1000.0;
    else if (a == "--timeout")
      o.timeout_s = number(parse_whole<int>(a, v, 1));
    else {
      std::cerr << "hatchet-fault-load: unknown option " << a << "\n";
      return 2;
    }
  }
  if (o.count < 1 || o.batches < 1 || o.batches > o.count || o.spread_s < 0 || o.timeout_s < 1) {
    std::cerr << "hatchet-fault-load: need --count >= --batches >= 1, --spread >= 0, --timeout >= 1\n";
    return 2;
  }
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
