#pragma once
// The worker's runs from START to their report: whether a START runs here (run_rules), which
// slot takes it or how long it waits, relaying a CANCEL, giving a slot back early, and what the
// engine hears when the run ends. The slots themselves are the dispatcher's task actors; the
// keeper reaches them, and the engine, through `ports`, which the dispatcher implements by
// sending messages. Plain C++ over a template Slot: the unit tests drive it with integers
// (tests/unit/dispatcher_logic_test.cpp), the dispatcher with caf::actor.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "actors/run_link.hpp"
#include "actors/run_rules.hpp"
#include "actors/slot_pool.hpp"
#include "actors/worker_log.hpp"
#include "actors/worker_spec.hpp"
#include "health/worker_metrics.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

template <class Slot>
class run_keeper {
public:
  /// What the keeper asks of its owner.
  struct ports {
    virtual ~ports() = default;
    /// A new slot (a task actor), when a run needs one and none is free.
    virtual Slot new_slot() = 0;
    /// Run `job` on `slot`.
    virtual void start(const Slot& slot, msg::assignment job) = 0;
    /// Cancel run `key` on `slot`.
    virtual void cancel(const Slot& slot, const std::string& key) = 0;
    /// Tell the engine (STARTED, COMPLETED, FAILED; see event_delivery).
    virtual void report(wire::run_ref run, wire::step_event_type type, std::string payload,
                        bool should_not_retry) = 0;
    /// Raise or lower the bound on task threads (a synchronous run that gave its slot back
    /// keeps its thread).
    virtual void thread_bound(int delta) = 0;
  };

  run_keeper(ports& p, const worker_spec& spec, const worker_log& log,
             std::shared_ptr<worker_metrics> metrics)
    : ports_(p), spec_(spec), log_(log), metrics_(std::move(metrics)) {
  }

  /// What the runs started from now on get: the lifespan state (a reload swaps it; runs going
  /// keep theirs) and the current registration's services.
  void use_state(lifespan_state_ptr state) { state_ = std::move(state); }
  void use_services(std::shared_ptr<const worker_services> s) { services_ = std::move(s); }

  /// A START. `refusing`: the stop refuses new runs (drain::refuses_new_runs).
  void start(wire::assigned_action& a, bool refusing) {
    const auto& ref = a.ids;
    auto verdict = admit(a, pool_.contains(ref->key), spec_, refusing);
    switch (verdict.what) {
      case admission::duplicate:
        log_.warn("duplicate assignment of {} ignored", ref->key);
        return;
      case admission::refuse:
        log_.error("{}; failing it", verdict.why);
        return ports_.report(ref, wire::step_event_type::failed, std::move(verdict.failure), true);
      case admission::hand_back:
        // Runs assigned during the stop are run while the stream is open and drain_timeout has
        // not passed (the engine stops sending them once the pause has taken effect). After
        // that, a run started now would never get its cancellation: another worker takes it.
        log_.info("run {} assigned after drain_timeout or after the stream closed for the stop; "
                  "handing it back",
                  ref->key);
        return hand_back(ref);
      case admission::run:
        break;
    }
    ports_.report(ref, wire::step_event_type::started, "", false);
    msg::assignment job{std::move(a), verdict.task, state_, services_, spec_.client};
    if (!free_slot()) {
      std::string key = job.action.key();
      pool_.wait(std::move(key), std::move(job));
      log_.warn("more runs than slots assigned ({} waiting)", pool_.waiting());
      return;
    }
    dispatch(std::move(job));
  }

  /// A CANCEL from the engine.
  void cancel(const wire::assigned_action& a) {
    const auto& key = a.key();
    if (auto* run = pool_.find_running(key)) {
      log_.info("run {} cancelled by the engine", key);
      run->cancelled_by_engine = true;
      ports_.cancel(run->slot, key);
    } else if (pool_.drop_waiting(key)) {
      log_.info("queued run {} cancelled by the engine", key);
    } else {
      log_.info("CANCEL for run {} which is not running here; ignored", key);
    }
  }

  /// The engine freed the slot of run `key` at its request (ctx.release_slot): free it here too,
  /// so that the next run starts while this one goes on. A synchronous run keeps its task
  /// thread: the thread bound grows by one until it ends, so the next run gets a thread too.
  void slot_released(const std::string& key, bool refusing) {
    auto* run = pool_.release_early(key);
    if (run == nullptr)
      return; // ended meanwhile, or released already
    auto task = spec_.tasks.find(run->ref->action_id);
    if (task != spec_.tasks.end() && !task->second->async_fn) {
      ports_.thread_bound(+1);
      run->lent_thread = true;
    }
    log_.debug("run {} released its slot", key);
    note_slots();
    next(refusing);
  }

  /// A run ended on `slot` with outcome `o`.
  void done(msg::task_outcome& o, Slot slot, bool refusing) {
    const auto& key = o.run->key;
    auto run = pool_.release(key, std::move(slot));
    note_slots();
    if (!run) {
      // Reported FAILED at the end of the grace period already; its result is too late.
      log_.warn("run {} ended after it was reported failed at shutdown", key);
      return next(refusing);
    }
    if (run->lent_thread)
      ports_.thread_bound(-1);
    if (metrics_)
      metrics_->observe_run(std::chrono::steady_clock::now() - run->started);
    auto report = report_for(run->cancelled_by_engine, run->cancelled_for_stop, o);
    if (report.what == run_report::nothing) {
      log_.debug("cancelled run {} ended; nothing reported", key);
      if (metrics_)
        worker_metrics::add(metrics_->runs_cancelled);
    } else if (report.what == run_report::completed) {
      log_.debug("run {} completed", key);
      ports_.report(std::move(run->ref), wire::step_event_type::completed, std::move(o.payload),
                    false);
    } else {
      if (!run->cancelled_for_stop)
        log_.info("run {} ({}) failed: {}", key, run->ref->action_id,
                  o.payload.substr(0, o.payload.find('\n')));
      ports_.report(std::move(run->ref), wire::step_event_type::failed, std::move(o.payload),
                    report.should_not_retry);
    }
    next(refusing);
  }

  /// A slot died (a task actor never throws; if one ended anyway): its run fails, and a new
  /// slot takes its place when a run needs one.
  void slot_died(const Slot& slot, bool refusing) {
    if (auto lost = pool_.remove_slot(slot))
      ports_.report(lost->second.ref, wire::step_event_type::failed,
                    "hatchet::worker_error: the task actor running this run died", false);
    next(refusing);
  }

  /// A slot may be free: the run that waited longest takes it; when the stop refuses new runs,
  /// every waiting run is handed back instead (it has not started).
  void next(bool refusing) {
    if (refusing) {
      while (auto job = pool_.next_waiting())
        hand_back(job->action.ids);
      return;
    }
    if (pool_.waiting() > 0 && free_slot())
      dispatch(std::move(*pool_.next_waiting()));
  }

  /// The stop's deadline: every run still going is cancelled (and reports what it did).
  void cancel_all_for_stop() {
    for (auto& [key, slot] : pool_.cancel_all_for_stop())
      ports_.cancel(slot, key);
  }

  /// The worker fenced itself (fence.hpp): the engine hands every run here to another worker.
  /// Running runs are cancelled and report nothing when they end; waiting ones are dropped.
  /// Returns how many runs it gave up, both kinds.
  size_t fence_all() {
    size_t dropped = 0;
    auto runs = pool_.fence_all(dropped);
    for (auto& r : runs)
      if (r.tell)
        ports_.cancel(r.slot, r.key);
    if (metrics_)
      worker_metrics::add(metrics_->runs_fenced, runs.size() + dropped);
    return runs.size() + dropped;
  }

  /// The stop gives up on every run still here: each is reported FAILED with `text` (retryable)
  /// so that none stays RUNNING on the engine. Returns how many.
  size_t abandon_all(const std::string& text) {
    auto refs = pool_.abandon_all([](const msg::assignment& j) { return j.action.ids; });
    for (auto& r : refs) {
      log_.warn("run {} abandoned at shutdown; reported FAILED", r->key);
      ports_.report(r, wire::step_event_type::failed, text, false);
    }
    return refs.size();
  }

  /// Runs holding a slot, and waiting for one.
  size_t running() const noexcept { return pool_.running(); }
  size_t waiting() const noexcept { return pool_.waiting(); }
  /// No run here at all (running, released or waiting).
  bool idle() const noexcept { return pool_.idle(); }

  /// Drops every slot, run and reference (the owner is going away).
  void clear() {
    pool_.clear();
    state_.reset();
    services_.reset();
  }

private:
  /// A free slot for one more run: fewer than `slots` runs hold one, and a Slot to run it (a free
  /// one, or a new one). Runs that released their slot keep their Slots, so there may be more
  /// Slots than slots, never more slot-holding runs.
  bool free_slot() {
    if (pool_.running() >= static_cast<size_t>(spec_.options.slots))
      return false;
    if (!pool_.has_free_slot())
      pool_.add_slot(ports_.new_slot());
    return true;
  }

  /// A run that waited for a slot across a reload starts with the state current now.
  void dispatch(msg::assignment job) {
    job.state = state_;
    job.services = services_;
    log_.debug("run {} ({}) starting", job.action.key(), job.action.ids->action_id);
    auto slot = pool_.take(job.action.ids);
    if (metrics_)
      worker_metrics::add(metrics_->runs_started);
    note_slots();
    ports_.start(slot, std::move(job));
  }

  /// A run this worker will not start: FAILED and retryable, so the engine runs it elsewhere.
  void hand_back(const wire::run_ref& ref) {
    ports_.report(ref, wire::step_event_type::failed,
                  "hatchet::worker_shutting_down: the worker was shutting down when this run "
                  "arrived",
                  false);
  }

  void note_slots() {
    if (metrics_)
      metrics_->slots_in_use.store(static_cast<int64_t>(pool_.running()),
                                   std::memory_order_relaxed);
  }

  ports& ports_;
  const worker_spec& spec_;
  const worker_log& log_;
  std::shared_ptr<worker_metrics> metrics_;
  slot_pool<Slot, msg::assignment> pool_;
  lifespan_state_ptr state_;
  std::shared_ptr<const worker_services> services_;
};

} // namespace hatchet::detail
