#pragma once
// Shared set-up for the integration tests: a dev engine on a free loopback port, a worker spawned
// in a test-owned actor system, and helpers to trigger runs and wait for them over real gRPC.

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include <hatchet/hatchet.hpp>

#include "actors/supervisor.hpp"
#include "client/admin_client.hpp"
#include "engine/auth.hpp"
#include "engine/dev_engine.hpp"

namespace harness {

using namespace std::chrono_literals;

/// A counter other threads can wait on without sleeping.
class gauge {
public:
  void add(int d) {
    std::lock_guard lock{mtx_};
    value_ += d;
    peak_ = std::max(peak_, value_);
    cv_.notify_all();
  }
  int peak() const {
    std::lock_guard lock{mtx_};
    return peak_;
  }
  int value() const {
    std::lock_guard lock{mtx_};
    return value_;
  }
  /// Waits until the value reaches at least n; false on timeout.
  bool wait_at_least(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] { return value_ >= n; });
  }
  /// Waits until the value is at most n; false on timeout.
  bool wait_at_most(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] { return value_ <= n; });
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  int value_ = 0;
  int peak_ = 0;
};

struct engine_fixture {
  hatchet::engine::dev_engine engine{[] {
    hatchet::engine::engine_options o;
    o.port = 0;
    o.rest_port = 0; // tests run in parallel: never the fixed default
    o.secret = hatchet::engine::random_secret();
    return o;
  }()};
  hatchet::config cfg;

  engine_fixture() {
    auto err = engine.start();
    BOOST_REQUIRE_MESSAGE(err.empty(), "engine start: " << err);
    cfg.token = engine.mint_token();
    cfg.tenant_id = engine.options().tenant_id;
    cfg.host_port = engine.address();
    cfg.server_url = engine.rest_address(); // where a stopping worker pauses itself
    cfg.tls = hatchet::tls_strategy::none;
  }

  hatchet::rpc::admin_client admin() const {
    return hatchet::rpc::admin_client{hatchet::rpc::make_channel(cfg), cfg};
  }

  /// Triggers `inputs.size()` runs of `workflow` and waits for all of them.
  std::vector<hatchet::rpc::run_result> run_all(const std::string& workflow,
                                                const std::vector<std::string>& inputs,
                                                std::chrono::milliseconds timeout = 60s) const {
    auto a = admin();
    std::vector<hatchet::rpc::trigger_request> reqs;
    for (const auto& in : inputs) {
      hatchet::rpc::trigger_request r;
      r.workflow_name = workflow;
      r.input_json = in;
      reqs.push_back(std::move(r));
    }
    auto ids = a.bulk_trigger(reqs);
    if (!ids)
      BOOST_FAIL("bulk trigger: " << hatchet::describe(ids.error()));
    return wait(*ids, timeout);
  }

  std::vector<hatchet::rpc::run_result> wait(const std::vector<std::string>& ids,
                                             std::chrono::milliseconds timeout = 60s) const {
    std::mutex mtx;
    std::vector<hatchet::rpc::run_result> results;
    auto err = admin().wait_for_runs(
      ids,
      [&](const hatchet::rpc::run_result& r) {
        std::lock_guard lock{mtx};
        results.push_back(r);
      },
      timeout);
    if (err)
      BOOST_FAIL("waiting for runs: " << hatchet::describe(err));
    return results;
  }
};

/// A worker spawned in its own actor system (configured as hatchet::configure says; with
/// `scheduler_threads` CAF scheduler threads when not 0).
class running_worker {
public:
  running_worker(const hatchet::config& cfg, const std::string& name, hatchet::worker_options opts,
                 size_t scheduler_threads = 0)
    : sys_(configured(cfg_, scheduler_threads)), self_(sys_) {
    hatchet::worker w{cfg, name, std::move(opts)};
    auto sup = w.spawn(sys_);
    if (!sup)
      BOOST_FAIL("spawn: " << hatchet::describe(sup.error()));
    sup_ = *sup;
    self_->monitor(sup_);
  }

  /// Waits for registration (the supervisor answers once the stream is open).
  std::string ready(std::chrono::milliseconds timeout = 20s) {
    auto id = hatchet::await_ready(sys_, sup_, timeout);
    if (!id)
      BOOST_FAIL("worker not ready: " << hatchet::describe(id.error()));
    return *id;
  }

  /// A test that ended early (a failed REQUIRE) kills its worker. That must end within a bound:
  /// a kill that hangs aborts with a message here (and a core to read) instead of leaving the
  /// test hanging until ctest's timeout without a word.
  ~running_worker() {
    if (stopped_)
      return;
    caf::anon_send_exit(sup_, caf::exit_reason::kill);
    bool down = false;
    self_->receive([&](caf::down_msg&) { down = true; }, caf::after(30s) >> [] {});
    if (!down) {
      std::fprintf(stderr, "running_worker: the worker did not stop within 30 s of a kill\n");
      std::abort();
    }
  }

  caf::actor_system& system() { return sys_; }
  const caf::actor& supervisor() const { return sup_; }

  std::string status(std::chrono::milliseconds timeout = 5s) {
    auto s = hatchet::worker_status(sys_, sup_, timeout);
    return s ? *s : "error: " + hatchet::describe(s.error());
  }

  /// Polls the status (a query: the worker publishes no event for it) until it reads `want`.
  bool wait_status(const std::string& want, std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (status() != want) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  /// Asks for the graceful stop a host would (an exit message) and waits for the supervisor.
  caf::error stop(std::chrono::milliseconds timeout = 30s) {
    caf::anon_send_exit(sup_, caf::exit_reason::user_shutdown);
    return wait_down(timeout);
  }

  caf::error wait_down(std::chrono::milliseconds timeout = 30s) {
    caf::error reason;
    bool got = false;
    self_->receive([&](caf::down_msg& dm) {
                     reason = dm.reason;
                     got = true;
                   },
                   caf::after(timeout) >> [] {});
    BOOST_REQUIRE_MESSAGE(got, "the worker did not stop in time");
    stopped_ = true;
    return reason;
  }

private:
  static caf::actor_system_config& configured(caf::actor_system_config& cfg,
                                              size_t scheduler_threads) {
    hatchet::configure(cfg);
    if (scheduler_threads > 0)
      cfg.set("scheduler.max-threads", scheduler_threads);
    return cfg;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::scoped_actor self_;
  caf::actor sup_;
  bool stopped_ = false;
};

} // namespace harness
