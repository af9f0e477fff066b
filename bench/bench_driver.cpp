// bench-driver: triggers runs in bulk on the engine named by HATCHET_CLIENT_* and measures them,
// and the worker process given by --pid.
//
// load mode (default): after --warmup runs (not measured), triggers --runs runs of --workflow
// with BulkTriggerWorkflow in chunks of at most 500, keeping at most --window runs unfinished
// (a closed loop, so latency is the latency of a loaded worker and not the length of a 20,000-run
// queue), waits for each on one SubscribeToWorkflowRuns stream, and prints one line
//   RESULT runs=N failed=F seconds=S throughput=R p50_ms=A p99_ms=B cpu_us_per_task=C
//          rss_kib=K hwm_kib=H threads=T
// throughput = runs / (last FINISHED received - first trigger sent); latency = FINISHED received
// - the trigger call of its chunk sent; CPU = utime+stime of --pid over the measured part.
//
// idle mode (--idle-seconds S): waits for one warm-up run, then samples the worker over S seconds:
//   RESULT idle_seconds=S cpu_percent=P rss_kib=K hwm_kib=H threads=T
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "apps/command_line.hpp"
#include "bench_common.hpp"
#include "core/parse.hpp"
#include "hatchet/config.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "workflows/workflows.grpc.pb.h"

namespace {

struct options {
  std::string workflow = "benchnoop";
  std::string input = "{}";
  long runs = 1000;
  long window = 1000;
  long warmup = 100;
  int pid = 0;
  int timeout_s = 600;
  double idle_seconds = 0;
  bool progress = false;
};

class runner {
public:
  runner(const hatchet::config& cfg, const options& opt)
    : cfg_(cfg), opt_(opt), ch_(bench::make_channel(cfg)),
      workflows_(WorkflowService::NewStub(ch_)), dispatcher_(Dispatcher::NewStub(ch_)) {
    bench::authorize(sub_ctx_, cfg_);
    stream_ = dispatcher_->SubscribeToWorkflowRuns(&sub_ctx_);
    reader_ = std::thread([this] { read_loop(); });
  }

  ~runner() {
    sub_ctx_.TryCancel();
    if (reader_.joinable())
      reader_.join();
  }

  /// Triggers `n` runs keeping at most `window` unfinished; returns false on error or timeout.
  bool run_batch(long n, long window, bool progress) {
    auto deadline = bench::clock::now() + std::chrono::seconds{opt_.timeout_s};
    std::atomic<bool> stop_progress{false};
    std::thread progress_thread;
    long base_done = done_count();
    if (progress) {
      progress_thread = std::thread([&] {
        auto t0 = bench::clock::now();
        while (!stop_progress.load()) {
          std::this_thread::sleep_for(std::chrono::milliseconds{500});
          long d = done_count() - base_done;
          double s = bench::seconds_since(t0);
          std::fprintf(stderr, "\r    %ld/%ld runs finished, %.0f runs/s, %.0f s   ", d, n,
                       s > 0 ? double(d) / s : 0.0, s);
        }
        std::fprintf(stderr, "\r%70s\r", "");
      });
    }
    long sent = 0;
    bool ok = true;
    while (sent < n) {
      // At most 500 runs per call, and at most 3 MiB of inputs (the engine takes 4 MiB messages).
      long by_size = std::max(1L, long((3L << 20) / std::max<size_t>(1, opt_.input.size())));
      long chunk = std::min({500L, by_size, std::max(1L, window / 2), n - sent});
      {
        std::unique_lock lock{mtx_};
        bool room = cv_.wait_until(lock, deadline, [&] {
          return failed_stream_ || (long(pending_.size()) + chunk <= window);
        });
        if (!room || failed_stream_) {
          ok = false;
          break;
        }
      }
      BulkTriggerWorkflowRequest req;
      for (long i = 0; i < chunk; ++i) {
        auto* w = req.add_workflows();
        w->set_name(opt_.workflow);
        w->set_input(opt_.input);
      }
      BulkTriggerWorkflowResponse resp;
      grpc::ClientContext ctx;
      bench::authorize(ctx, cfg_);
      auto t = bench::clock::now();
      if (first_trigger_ == bench::clock::time_point{})
        first_trigger_ = t;
      auto st = workflows_->BulkTriggerWorkflow(&ctx, req, &resp);
      if (!st.ok()) {
        std::fprintf(stderr, "bench-driver: BulkTriggerWorkflow: %s\n", st.error_message().c_str());
        ok = false;
        break;
      }
      {
        std::lock_guard lock{mtx_};
        for (const auto& id : resp.workflow_run_ids())
          pending_.emplace(id, t);
      }
      for (const auto& id : resp.workflow_run_ids()) {
        SubscribeToWorkflowRunsRequest s;
        s.set_workflow_run_id(id);
        if (!stream_->Write(s)) {
          std::fprintf(stderr, "bench-driver: the subscription stream broke\n");
          ok = false;
          break;
        }
      }
      sent += chunk;
    }
    if (ok) {
      std::unique_lock lock{mtx_};
      ok = cv_.wait_until(lock, deadline, [&] { return failed_stream_ || pending_.empty(); }) &&
           !failed_stream_;
    }
    stop_progress = true;
    if (progress_thread.joinable())
      progress_thread.join();
    if (!ok)
      std::fprintf(stderr, "bench-driver: %ld runs still unfinished (timeout or error)\n",
                   long(pending_.size()));
    return ok;
  }

  void reset_stats() {
    std::lock_guard lock{mtx_};
    latencies_ms_.clear();
    failed_ = 0;
    first_trigger_ = {};
  }

  long done_count() {
    std::lock_guard lock{mtx_};
    return done_;
  }

  std::vector<double> latencies() {
    std::lock_guard lock{mtx_};
    return latencies_ms_;
  }
  long failed() {
    std::lock_guard lock{mtx_};
    return failed_;
  }
  bench::clock::time_point first_trigger() const { return first_trigger_; }
  bench::clock::time_point last_finish() {
    std::lock_guard lock{mtx_};
    return last_finish_;
  }

private:
  void read_loop() {
    WorkflowRunEvent ev;
    while (stream_->Read(&ev)) {
      auto now = bench::clock::now();
      if (ev.event_type() != WORKFLOW_RUN_EVENT_TYPE_FINISHED)
        continue;
      bool bad = false;
      for (const auto& r : ev.results())
        if (r.has_error() && !r.error().empty())
          bad = true;
      std::lock_guard lock{mtx_};
      auto it = pending_.find(ev.workflow_run_id());
      if (it == pending_.end())
        continue;
      latencies_ms_.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      pending_.erase(it);
      failed_ += bad ? 1 : 0;
      ++done_;
      last_finish_ = now;
      cv_.notify_all();
    }
    std::lock_guard lock{mtx_};
    failed_stream_ = true;
    cv_.notify_all();
  }

  const hatchet::config& cfg_;
  const options& opt_;
  std::shared_ptr<grpc::Channel> ch_;
  std::unique_ptr<WorkflowService::Stub> workflows_;
  std::unique_ptr<Dispatcher::Stub> dispatcher_;
  grpc::ClientContext sub_ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<SubscribeToWorkflowRunsRequest, WorkflowRunEvent>> stream_;
  std::thread reader_;

  std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<std::string, bench::clock::time_point> pending_;
  std::vector<double> latencies_ms_;
  long failed_ = 0;
  long done_ = 0;
  bool failed_stream_ = false;
  bench::clock::time_point first_trigger_{};
  bench::clock::time_point last_finish_{};
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<size_t>(p * double(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

} // namespace

/// A number from the command line, or the error printed and the process ended with exit 2.
template <class T>
T number(caf::expected<T> parsed) {
  return hatchet::apps::value_or_exit("bench-driver", std::move(parsed),
                                      hatchet::apps::usage_exit);
}

int main(int argc, char** argv) {
  options opt;
  CLI::App app{"bench-driver: triggers runs of a benchmark workflow against a worker and prints "
               "its throughput, latency and CPU (bench/run.sh drives it)",
               "bench-driver"};
  std::string runs = "1000", window = "1000", warmup = "100", pid, timeout = "600", idle;
  app.add_option("--pid", pid, "the worker's process id, whose CPU and memory are read")
    ->type_name("P")
    ->required();
  app.add_option("--workflow", opt.workflow, "the workflow to run (default benchnoop)")
    ->type_name("W");
  app.add_option("--input", opt.input, "every run's input (default {})")->type_name("JSON");
  app.add_option("--runs", runs, "measured runs (default 1000)")->type_name("N");
  app.add_option("--window", window, "runs in flight at most (default 1000)")->type_name("N");
  app.add_option("--warmup", warmup, "unmeasured runs first (default 100)")->type_name("K");
  app.add_option("--timeout", timeout, "give up after S whole seconds (default 600)")
    ->type_name("S");
  app.add_option("--idle-seconds", idle, "then measure the idle worker's CPU for S seconds")
    ->type_name("S");
  app.add_flag("--progress", opt.progress, "print a line per second while running");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "bench-driver"); rc >= 0)
    return rc;
  using hatchet::detail::parse_whole;
  // As the official SDKs trigger: lowercased (the engine matches names exactly).
  opt.workflow = hatchet::to_lower(opt.workflow);
  opt.runs = number(parse_whole<long>("--runs", runs, 1));
  opt.window = number(parse_whole<long>("--window", window, 1));
  opt.warmup = number(parse_whole<long>("--warmup", warmup, 0));
  opt.pid = number(parse_whole<int>("--pid", pid, 1));
  opt.timeout_s = number(parse_whole<int>("--timeout", timeout, 1));
  if (!idle.empty())
    opt.idle_seconds = number(hatchet::detail::parse_seconds("--idle-seconds", idle)).count()
                       / 1000.0;
  auto cfg = bench::config_or_die("bench-driver");
  runner r{cfg, opt};
  if (opt.warmup > 0 && !r.run_batch(opt.warmup, std::max(opt.window, opt.warmup), false))
    return 1;
  if (r.failed() > 0) {
    std::fprintf(stderr, "bench-driver: %ld warm-up run(s) failed\n", r.failed());
    return 1;
  }
  if (opt.idle_seconds > 0) {
    double c0 = bench::cpu_us(opt.pid);
    auto t0 = bench::clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.idle_seconds));
    double c1 = bench::cpu_us(opt.pid);
    double s = bench::seconds_since(t0);
    std::printf("RESULT idle_seconds=%.1f cpu_percent=%.3f rss_kib=%ld hwm_kib=%ld threads=%ld\n",
                s, (c1 - c0) / (s * 1e6) * 100.0, bench::status_value(opt.pid, "VmRSS"),
                bench::status_value(opt.pid, "VmHWM"), bench::status_value(opt.pid, "Threads"));
    return 0;
  }
  r.reset_stats();
  double c0 = bench::cpu_us(opt.pid);
  bool ok = r.run_batch(opt.runs, opt.window, opt.progress);
  double c1 = bench::cpu_us(opt.pid);
  if (!ok)
    return 1;
  auto lat = r.latencies();
  double secs = std::chrono::duration<double>(r.last_finish() - r.first_trigger()).count();
  std::printf("RESULT runs=%ld failed=%ld seconds=%.3f throughput=%.1f p50_ms=%.2f p99_ms=%.2f "
              "cpu_us_per_task=%.1f rss_kib=%ld hwm_kib=%ld threads=%ld\n",
              opt.runs, r.failed(), secs, double(opt.runs) / secs, percentile(lat, 0.5),
              percentile(lat, 0.99), (c1 - c0) / double(opt.runs),
              bench::status_value(opt.pid, "VmRSS"), bench::status_value(opt.pid, "VmHWM"),
              bench::status_value(opt.pid, "Threads"));
  return r.failed() > 0 ? 1 : 0;
}
