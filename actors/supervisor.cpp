#include "actors/supervisor.hpp"

#include <map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/dispatcher_actor.hpp"
#include "health/health_server.hpp"
#include "actors/lifespan_actor.hpp"
#include "actors/lifespan_gate.hpp"
#include "actors/lifespan_generations.hpp"
#include "hatchet/exit_code.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

class supervisor : public caf::event_based_actor {
public:
  supervisor(caf::actor_config& cfg, worker_spec_ptr spec)
    : caf::event_based_actor(cfg), spec_(std::move(spec)),
      metrics_(std::make_shared<worker_metrics>()) {
  }

  const char* name() const override { return "hatchet.supervisor"; }

  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& em) {
      if (em.reason == caf::exit_reason::kill)
        return quit(em.reason);
      begin_stop();
    });
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    spdlog::info("worker {}: starting ({} slots)", spec_->name, spec_->options.slots);
    for (const auto& name : spec_->cfg.ignored_variables)
      spdlog::warn("worker {}: {} is set but this SDK does not read it", spec_->name, name);
    if (spec_->cfg.healthcheck_enabled && !start_health_server())
      return {};
    auto& first = start_generation();
    auto setup_began = std::chrono::steady_clock::now();
    request(first.actor, caf::infinite, msg::setup_atom::value)
      .then([this, id = first.id, setup_began](lifespan_state_ptr& state) {
              metrics_->lifespan_setup_seconds.store(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_began)
                  .count());
              on_first_state(id, std::move(state));
            },
            [this](caf::error& err) {
              spdlog::error("worker {}: {}; the worker will not register", spec_->name,
                            describe(err));
              fail(std::move(err));
            });
    return {
      [this](msg::shutdown_atom) { begin_stop(); },
      [this](msg::reload_atom) { return reload(); },
      [this](msg::status_atom, msg::worker_state state) {
        heard_status_ = true;
        if (!stopping_)
          state_ = state;
        note_health();
      },
      [this](msg::status_atom) {
        return std::string{to_string(stopping_ ? msg::worker_state::stopping : state_)};
      },
      [this](msg::released_atom, uint64_t id) { on_released(id); },
      [this](msg::deadline_atom, msg::released_atom) { on_holders_deadline(); },
      [this](msg::deadline_atom, uint64_t id) { on_cleanup_deadline(id); },
      [this](msg::health_atom) -> caf::result<std::string> {
        if (!health_)
          return make_error(errc::invalid_config, "the health server is not enabled "
                                                  "(HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED)");
        return spec_->cfg.healthcheck_bind_address + ":" + std::to_string(health_->port());
      },
      [this](msg::ready_atom) -> caf::result<std::string> {
        if (running_)
          return worker_id_;
        if (stopping_ || failure_)
          return make_error(errc::shutting_down, "the worker is stopping");
        auto rp = make_response_promise();
        ready_waiters_.push_back(rp);
        return caf::delegated<std::string>{};
      },
    };
  }

  void on_exit() override {
    release_ready_waiters();
    for (auto& [id, rp] : reload_waiters_)
      rp.deliver(make_error(errc::shutting_down, "the worker stopped during the reload"));
    reload_waiters_.clear();
    metrics_->state = health_state::stopped;
    health_.reset(); // stops serving: probes now fail to connect
    // Killed: the gates are not waited for, so a cleanup now could run under live task code.
    for (auto& g : generations_.all()) {
      if (!g.closed()) {
        std::lock_guard lock{g.report->mtx};
        g.report->skip_cleanup = true;
      }
      if (g.actor)
        caf::anon_send_exit(g.actor, caf::exit_reason::kill);
      g.actor = nullptr; // it holds ours: drop ours so that both can be destroyed
    }
    // Only reached with the dispatcher alive on a kill: take it down too.
    if (dispatcher_)
      caf::anon_send_exit(dispatcher_, caf::exit_reason::kill);
    dispatcher_ = nullptr;
  }

private:
  // -- lifespan generations ---------------------------------------------------------------------

  generation& start_generation() {
    auto& g = generations_.add();
    g.actor = spawn_lifespan_actor(this, spec_->options.lifespan, spec_->name, g.id, g.report);
    return g;
  }

  /// Gates `state` for generation `g`: every copy handed out is a holder, and the supervisor
  /// hears when the last one is gone.
  lifespan_state_ptr gate_for(generation& g, lifespan_state_ptr state) {
    auto opened = open_gate(std::move(state), [addr = address(), id = g.id] {
      if (auto self = caf::actor_cast<caf::actor>(addr))
        caf::anon_send(self, msg::released_atom::value, id);
    });
    g.holders = opened.state;
    g.gate_closed = std::move(opened.closed);
    return std::move(opened.state);
  }

  void on_first_state(uint64_t id, lifespan_state_ptr state) {
    auto* g = generations_.find(id);
    if (g == nullptr)
      return;
    if (stopping_) {
      spdlog::info("worker {}: stop requested during lifespan setup; not registering",
                   spec_->name);
      g->at = generation::phase::retiring;
      return clean_next();
    }
    generations_.promote(*g);
    // The dispatcher and every assignment get the gated pointer; the supervisor keeps only a
    // weak reference, to see whether any holder is left.
    dispatcher_ = spawn_dispatcher(this, spec_, gate_for(*g, std::move(state)), metrics_);
    request(dispatcher_, caf::infinite, msg::start_atom::value)
      .then(
        [this](std::string& worker_id) {
          running_ = true;
          worker_id_ = worker_id;
          // Registered, but not ready until the engine has accepted a heartbeat on the open
          // stream: the dispatcher says "ready" then (its messages arrive after this answer).
          if (!stopping_ && !heard_status_)
            state_ = msg::worker_state::detached;
          note_health();
          spdlog::info("worker {}: running as {}", spec_->name, worker_id);
          for (auto& rp : ready_waiters_)
            rp.deliver(worker_id);
          ready_waiters_.clear();
        },
        [this](caf::error& err) {
          if (!stopping_) {
            spdlog::error("worker {}: start-up failed: {}", spec_->name, describe(err));
            failure_ = err;
          }
          // The dispatcher quits by itself after a failed start; its down message continues.
        });
  }

  /// A new lifespan setup while the worker serves with the current state. Answers the new
  /// generation's number once it is in service, or why it is not.
  caf::result<uint64_t> reload() {
    auto refuse = [&](errc code, const char* why) {
      spdlog::warn("worker {}: no lifespan reload: {}", spec_->name, why);
      return make_error(code, why);
    };
    if (stopping_ || failure_)
      return refuse(errc::shutting_down, "the worker is stopping");
    if (!running_)
      return refuse(errc::reload_failed,
                    "the worker is still starting: reload it once it serves (await_ready)");
    if (!spec_->options.lifespan)
      return refuse(errc::reload_failed, "this worker has no lifespan to reload");
    auto& g = start_generation();
    spdlog::info("worker {}: reloading the lifespan (generation {}); serving with generation {} "
                 "meanwhile",
                 spec_->name, g.id, current_id());
    auto rp = make_response_promise<uint64_t>();
    reload_waiters_.emplace(g.id, rp);
    request(g.actor, caf::infinite, msg::setup_atom::value)
      .then([this, id = g.id](lifespan_state_ptr& state) { on_reloaded(id, std::move(state)); },
            [this, id = g.id](caf::error& err) { on_reload_failed(id, err); });
    return rp;
  }

  /// Answers the caller of reload `id` (once; later answers are dropped).
  template <class T>
  void answer(uint64_t id, T&& value_or_error) {
    auto i = reload_waiters_.find(id);
    if (i == reload_waiters_.end())
      return;
    auto rp = std::move(i->second);
    reload_waiters_.erase(i);
    rp.deliver(std::forward<T>(value_or_error));
  }

  void on_reloaded(uint64_t id, lifespan_state_ptr state) {
    auto* g = generations_.find(id);
    if (g == nullptr)
      return;
    auto refuse = [&](std::string why) {
      spdlog::warn("worker {}: lifespan generation {} is not put in service: {}", spec_->name, id,
                   why);
      answer(id, make_error(errc::reload_failed, std::move(why)));
      g->at = generation::phase::retiring; // never handed out: its gate is closed
      retire_or_clean(*g);
    };
    if (stopping_ || failure_ || !dispatcher_)
      return refuse("the worker began stopping during its setup");
    if (generations_.superseded(id))
      return refuse("a later reload (generation " + std::to_string(current_id())
                    + ") finished first");
    auto retired = generations_.promote(*g);
    send(dispatcher_, msg::swap_atom::value, gate_for(*g, std::move(state)));
    worker_metrics::add(metrics_->lifespan_reloads);
    spdlog::info("worker {}: lifespan generation {} in service; generation {} is cleaned up once "
                 "its last run ends",
                 spec_->name, id, retired);
    answer(id, id);
  }

  void on_reload_failed(uint64_t id, caf::error& err) {
    worker_metrics::add(metrics_->lifespan_reload_failures);
    spdlog::error("worker {}: lifespan reload failed ({}); still serving with generation {}",
                  spec_->name, describe(err), current_id());
    answer(id, make_error(errc::reload_failed, "the reload's setup failed: " + describe(err)));
    if (auto* g = generations_.find(id)) {
      // Its setup released what it built; the actor ends without a cleanup to run.
      g->at = generation::phase::cleaning;
      send_exit(g->actor, caf::exit_reason::user_shutdown);
    }
  }

  uint64_t current_id() {
    auto* c = generations_.current();
    return c ? c->id : 0;
  }

  /// A retiring generation is cleaned up once no task code holds it (at a stop, in order).
  void retire_or_clean(generation& g) {
    if (stopping_) {
      if (!dispatcher_ && !waiting_for_holders_)
        clean_next();
      return;
    }
    if (g.at == generation::phase::retiring && g.closed()) {
      g.at = generation::phase::cleaning;
      send_exit(g.actor, caf::exit_reason::user_shutdown);
    }
  }

  void on_released(uint64_t id) {
    if (waiting_for_holders_) {
      if (generations_.all_closed()) {
        waiting_for_holders_ = false;
        clean_next();
      }
      return;
    }
    if (auto* g = generations_.find(id))
      retire_or_clean(*g);
  }

  // -- stop --------------------------------------------------------------------------------------

  void begin_stop() {
    if (stopping_) {
      if (!dispatcher_ && !running_)
        spdlog::warn("worker {}: second stop request during the lifespan setup: the setup is user "
                     "code and cannot be interrupted; the worker stops when it returns (SIGQUIT "
                     "ends the process at once)",
                     spec_->name);
      else if (dispatcher_)
        spdlog::warn("worker {}: second stop request: not waiting for running tasks any more",
                     spec_->name);
      else
        spdlog::info("worker {}: stop requested again; the worker is already cleaning up",
                     spec_->name);
      if (dispatcher_)
        send(dispatcher_, msg::drain_atom::value, msg::force_atom::value);
      return;
    }
    stopping_ = true;
    note_health();
    spdlog::info("worker {}: shutting down", spec_->name);
    if (dispatcher_)
      send(dispatcher_, msg::drain_atom::value);
    // Still in lifespan setup: on_first_state sees stopping_ and skips registration.
  }

  void fail(caf::error err) {
    if (!failure_)
      failure_ = std::move(err);
    stopping_ = true;
    note_health();
    // The failed setup released what it built: its actor ends without a cleanup.
    for (auto& g : generations_.all())
      if (g.at == generation::phase::setting_up && g.actor) {
        g.at = generation::phase::cleaning;
        send_exit(g.actor, caf::exit_reason::user_shutdown);
      }
    if (generations_.empty())
      finish();
  }

  /// The dispatcher and its task actors are gone; task code may not be (a sync task that ignores
  /// its cancellation runs on until it returns). The cleanups wait for the last holder of every
  /// state, up to cleanup_timeout.
  void await_holders() {
    if (generations_.all_closed())
      return clean_next();
    waiting_for_holders_ = true;
    spdlog::warn("worker {}: waiting for {} task(s) still inside user code before the lifespan "
                 "cleanup (up to cleanup_timeout, {} ms)",
                 spec_->name, generations_.holders_left(), spec_->options.cleanup_timeout.count());
    delayed_send(this, spec_->options.cleanup_timeout, msg::deadline_atom::value,
                 msg::released_atom::value);
  }

  void on_holders_deadline() {
    if (!waiting_for_holders_)
      return;
    waiting_for_holders_ = false;
    if (generations_.all_closed())
      return clean_next(); // the release message is on its way
    auto text = std::to_string(generations_.holders_left())
                + " task(s) still inside user code after cleanup_timeout ("
                + std::to_string(spec_->options.cleanup_timeout.count())
                + " ms); the lifespan cleanup was skipped so that it never runs under them";
    spdlog::error("worker {}: {}", spec_->name, text);
    failure_ = make_error(errc::cleanup_skipped, std::move(text));
    // Those states end without their cleanup; the others are cleaned up as usual.
    for (auto& g : generations_.all())
      if (!g.closed()) {
        std::lock_guard lock{g.report->mtx};
        g.report->skip_cleanup = true;
      }
    clean_next();
  }

  /// At a stop, after the drain: one cleanup at a time, newest state first, each bounded by
  /// cleanup_timeout. A reload still setting up is waited for, then cleaned up too.
  void clean_next() {
    if (auto* busy = generations_.cleaning()) {
      // A cleanup begun while serving (a retired state) is bounded from the stop on, too.
      arm_cleanup_deadline(*busy);
      return; // its down message continues
    }
    auto* g = generations_.newest_to_clean();
    if (g == nullptr) {
      if (generations_.empty())
        finish();
      return; // a setup still running: its answer continues
    }
    g->at = generation::phase::cleaning;
    send_exit(g->actor, caf::exit_reason::user_shutdown);
    arm_cleanup_deadline(*g);
  }

  void arm_cleanup_deadline(generation& g) {
    if (g.deadline_armed)
      return;
    g.deadline_armed = true;
    delayed_send(this, spec_->options.cleanup_timeout, msg::deadline_atom::value, g.id);
  }

  void on_cleanup_deadline(uint64_t id) {
    auto* g = generations_.find(id);
    if (g == nullptr || g->at != generation::phase::cleaning)
      return;
    spdlog::error("worker {}: lifespan cleanup still running after cleanup_timeout ({} ms); "
                  "giving up on it",
                  spec_->name, spec_->options.cleanup_timeout.count());
    quit(make_error(errc::cleanup_timed_out,
                    "the cleanup did not finish within cleanup_timeout ("
                      + std::to_string(spec_->options.cleanup_timeout.count()) + " ms)"));
  }

  void on_down(const caf::down_msg& dm) {
    if (dispatcher_ && dm.source == dispatcher_.address()) {
      dispatcher_ = nullptr;
      stopping_ = true; // whatever ended it, nothing takes work any more
      if (dm.reason && !failure_) {
        spdlog::error("worker {}: dispatcher ended: {}", spec_->name, describe(dm.reason));
        bool own_verdict = dm.reason && dm.reason.category() == errc_category::value
                           && (dm.reason.code() == static_cast<uint8_t>(errc::drain_timed_out)
                               || dm.reason.code() == static_cast<uint8_t>(errc::forced_stop));
        failure_ = running_ && !own_verdict ? make_error(errc::engine_lost, describe(dm.reason))
                                            : dm.reason;
      }
      // Every task actor is gone (the dispatcher waits for them); the cleanup waits for the task
      // code too.
      return await_holders();
    }
    auto* g = generations_.find(dm.source);
    if (g == nullptr)
      return;
    if (dispatcher_ && g->at == generation::phase::current) {
      // The state in service must outlive the tasks; if its actor died, stop everything.
      spdlog::error("worker {}: lifespan actor ended early: {}", spec_->name, describe(dm.reason));
      send_exit(dispatcher_, caf::exit_reason::kill);
    }
    {
      std::lock_guard lock{g->report->mtx};
      if (!g->report->cleanup_error.empty() && cleanup_error_.empty())
        cleanup_error_ = g->report->cleanup_error;
    }
    generations_.remove(g->id);
    if (stopping_ && !dispatcher_ && !waiting_for_holders_)
      clean_next();
  }

  /// Every lifespan actor is gone: the supervisor quits with the first thing that went wrong.
  void finish() {
    // A failed cleanup outranks a drain that timed out or a forced stop, not a skipped cleanup:
    // that one says task code is still running, and the process must not be torn down under it.
    auto code = failure_ ? exit_code_for(failure_) : exit_code::ok;
    if (!cleanup_error_.empty()
        && (!failure_
            || (code >= exit_code::drain_timed_out && code != exit_code::cleanup_skipped)))
      return quit(make_error(errc::lifespan_cleanup_failed, cleanup_error_));
    if (failure_)
      return quit(failure_);
    spdlog::info("worker {}: stopped", spec_->name);
    quit(caf::exit_reason::normal);
  }

  /// Serves /health and /metrics; on failure the worker quits with the reason (nothing has
  /// started yet). False then.
  bool start_health_server() {
    const auto& cfg = spec_->cfg;
    health_server::identity who{spec_->name, spec_->options.slots, spec_->actions,
                                spec_->options.labels};
    auto server = health_server::start(cfg.healthcheck_bind_address, cfg.healthcheck_port,
                                       std::move(who), metrics_);
    if (!server) {
      spdlog::error("worker {}: {}", spec_->name, describe(server.error()));
      quit(std::move(server.error()));
      return false;
    }
    health_ = std::move(*server);
    spdlog::info("worker {}: health server on {}:{} (GET /health, GET /metrics)", spec_->name,
                 cfg.healthcheck_bind_address, health_->port());
    return true;
  }

  /// What /health reports: healthy only while the dispatcher says the stream is attached and the
  /// engine answers heartbeats; before the first time, starting; after it, unhealthy.
  void note_health() {
    health_state h = health_state::starting;
    if (stopping_)
      h = health_state::draining;
    else if (state_ == msg::worker_state::ready)
      h = health_state::healthy;
    else if (state_ == msg::worker_state::detached && was_ready_)
      h = health_state::unhealthy;
    if (h == health_state::healthy)
      was_ready_ = true;
    metrics_->state = h;
  }

  void release_ready_waiters() {
    for (auto& rp : ready_waiters_)
      rp.deliver(make_error(errc::shutting_down, "the worker stopped before it was ready"));
    ready_waiters_.clear();
  }

  worker_spec_ptr spec_;
  lifespan_generations generations_;
  caf::actor dispatcher_;
  caf::error failure_;
  std::string cleanup_error_; ///< the first failed cleanup's error, of any generation
  bool waiting_for_holders_ = false;
  bool stopping_ = false;
  bool running_ = false;
  std::string worker_id_;
  msg::worker_state state_ = msg::worker_state::starting;
  bool heard_status_ = false; ///< the dispatcher has reported its state at least once
  std::vector<caf::response_promise> ready_waiters_;
  /// Callers of reloads whose setup is still running, by generation.
  std::map<uint64_t, caf::typed_response_promise<uint64_t>> reload_waiters_;
  std::shared_ptr<worker_metrics> metrics_;
  std::unique_ptr<health_server> health_;
  bool was_ready_ = false; ///< healthy at least once: a detached worker is unhealthy, not starting
};

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, worker_spec_ptr spec) {
  return sys.spawn<supervisor>(std::move(spec));
}

} // namespace hatchet::detail
