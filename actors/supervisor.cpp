#include "actors/supervisor.hpp"

#include <caf/all.hpp>

#include "actors/dispatcher_actor.hpp"
#include "actors/lifespan_actor.hpp"
#include "actors/lifespan_generations.hpp"
#include "actors/supervisor_answers.hpp"
#include "actors/worker_log.hpp"
#include "actors/worker_status.hpp"
#include "core/parse.hpp"
#include "health/worker_health.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

/// Wires the lifespan generations (lifespan_generations.hpp), the dispatcher and the worker's
/// status (worker_status.hpp) together: which actor starts when, which cleanup runs when, and
/// what the worker ends with.
class supervisor : public caf::event_based_actor {
public:
  supervisor(caf::actor_config& cfg, worker_spec_ptr spec, wiring wires)
    : caf::event_based_actor(cfg), spec_(std::move(spec)), wires_(std::move(wires)),
      log_(spec_->name) {
  }

  const char* name() const override { return "hatchet.supervisor"; }

  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& em) {
      if (em.reason == caf::exit_reason::kill)
        return quit(em.reason);
      begin_stop();
    });
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    log_.info("starting ({} slots)", spec_->options.slots);
    for (const auto& name : spec_->cfg.ignored_variables)
      log_.warn("{} is set but this SDK does not read it", name);
    if (spec_->cfg.healthcheck_enabled) {
      if (auto err = health_.start(spec_->cfg, {spec_->name, spec_->options.slots,
                                                spec_->actions, spec_->options.labels})) {
        log_.error("{}", describe(err));
        quit(std::move(err)); // nothing has started yet
        return {};
      }
      log_.info("health server on {} (GET /health, GET /metrics)", *health_.address());
    }
    auto& first = start_generation();
    auto began = std::chrono::steady_clock::now();
    request(first.actor, caf::infinite, msg::setup_atom::value)
      .then(
        [this, id = first.id, began](lifespan_state_ptr& state) {
          std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
          health_.metrics()->lifespan_setup_seconds.store(took.count());
          on_first_state(id, std::move(state));
        },
        [this](caf::error& err) {
          log_.error("{}; the worker will not register", describe(err));
          fail(std::move(err));
        });
    return {
      [this](msg::shutdown_atom) { begin_stop(); },
      [this](msg::reload_atom) { return reload(); },
      [this](msg::status_atom, msg::worker_state state) {
        status_.dispatcher_says(state);
        note_health();
      },
      [this](msg::status_atom) { return std::string{to_string(status_.state())}; },
      [this](msg::released_atom, uint64_t id) { on_released(id); },
      [this](msg::deadline_atom, msg::released_atom) { on_holders_deadline(); },
      [this](msg::deadline_atom, uint64_t id) { on_cleanup_deadline(id); },
      [this](msg::health_atom) -> caf::result<std::string> {
        auto address = health_.address();
        if (!address)
          return std::move(address.error());
        return std::move(*address);
      },
      [this](msg::ready_atom) -> caf::result<std::string> {
        if (status_.running())
          return status_.worker_id();
        if (status_.stopping() || status_.failed())
          return make_error(errc::shutting_down, "the worker is stopping");
        answers_.await_ready(make_response_promise());
        return caf::delegated<std::string>{};
      },
    };
  }

  void on_exit() override {
    answers_.stopped();
    health_.stop();
    generations_.kill_all(); // reached before they are gone only on a kill
    // Only reached with the dispatcher alive on a kill: take it down too.
    if (dispatcher_)
      caf::anon_send_exit(dispatcher_, caf::exit_reason::kill);
    dispatcher_ = nullptr;
  }

private:
  // -- lifespan generations: the first, and each reload ----------------------------------------

  generation& start_generation() {
    auto& g = generations_.add();
    g.actor = spawn_lifespan_actor(this, spec_->options.lifespan, spec_->name, g.id, g.report,
                                   wires_.detach_lifespan);
    return g;
  }

  lifespan_state_ptr gate_for(generation& g, lifespan_state_ptr state) {
    return g.gate(std::move(state), [addr = address(), id = g.id] {
      if (auto self = caf::actor_cast<caf::actor>(addr))
        caf::anon_send(self, msg::released_atom::value, id);
    });
  }

  void on_first_state(uint64_t id, lifespan_state_ptr state) {
    auto* g = generations_.find(id);
    if (g == nullptr)
      return;
    if (status_.stopping()) {
      log_.info("stop requested during lifespan setup; not registering");
      g->at = generation::phase::retiring;
      return clean_next();
    }
    generations_.promote(*g);
    dispatcher_ = spawn_dispatcher(this, spec_, gate_for(*g, std::move(state)), health_.metrics(),
                                   wires_);
    request(dispatcher_, caf::infinite, msg::start_atom::value)
      .then(
        [this](std::string& worker_id) {
          status_.registered(worker_id);
          note_health();
          log_.info("running as {}", worker_id);
          answers_.ready(worker_id);
        },
        [this](caf::error& err) {
          if (!status_.stopping()) {
            log_.error("start-up failed: {}", describe(err));
            status_.fail(err);
          }
          // The dispatcher quits by itself after a failed start; its down message continues.
        });
  }

  /// A new lifespan setup while the worker serves with the current state. Answers the new
  /// generation's number once it is in service, or why it is not.
  caf::result<uint64_t> reload() {
    if (auto refused = status_.reload_refusal(static_cast<bool>(spec_->options.lifespan))) {
      log_.warn("no lifespan reload: {}", error_text(refused));
      return refused;
    }
    auto& g = start_generation();
    log_.info("reloading the lifespan (generation {}); serving with generation {} meanwhile", g.id,
              generations_.current_id());
    auto rp = make_response_promise<uint64_t>();
    answers_.await_reload(g.id, rp);
    request(g.actor, caf::infinite, msg::setup_atom::value)
      .then([this, id = g.id](lifespan_state_ptr& state) { on_reloaded(id, std::move(state)); },
            [this, id = g.id](caf::error& err) { on_reload_failed(id, err); });
    return rp;
  }

  void on_reloaded(uint64_t id, lifespan_state_ptr state) {
    auto* g = generations_.find(id);
    if (g == nullptr)
      return;
    auto refused =
      generations_.refusal(id, status_.stopping() || status_.failed() || !dispatcher_);
    if (!refused.empty()) {
      log_.warn("lifespan generation {} is not put in service: {}", id, refused);
      answers_.reloaded(id, make_error(errc::reload_failed, std::move(refused)));
      g->at = generation::phase::retiring; // never handed out: its gate is closed
      return retire_or_clean(*g);
    }
    auto retired = generations_.promote(*g);
    send(dispatcher_, msg::swap_atom::value, gate_for(*g, std::move(state)));
    worker_metrics::add(health_.metrics()->lifespan_reloads);
    log_.info("lifespan generation {} in service; generation {} is cleaned up once its last run "
              "ends",
              id, retired);
    answers_.reloaded(id, id);
  }

  void on_reload_failed(uint64_t id, caf::error& err) {
    worker_metrics::add(health_.metrics()->lifespan_reload_failures);
    log_.error("lifespan reload failed ({}); still serving with generation {}", describe(err),
               generations_.current_id());
    answers_.reloaded(id, make_error(errc::reload_failed, "the reload's setup failed: " + describe(err)));
    if (auto* g = generations_.find(id)) {
      g->at = generation::phase::cleaning; // its setup released what it built: nothing to clean
      end(*g);
    }
  }

  /// A retiring generation is cleaned up once no task code holds it (at a stop, in order).
  void retire_or_clean(generation& g) {
    if (status_.stopping()) {
      if (!dispatcher_ && !waiting_for_holders_)
        clean_next();
    } else if (g.at == generation::phase::retiring && g.closed()) {
      g.at = generation::phase::cleaning;
      end(g);
    }
  }

  void on_released(uint64_t id) {
    if (!waiting_for_holders_) {
      if (auto* g = generations_.find(id))
        retire_or_clean(*g);
    } else if (generations_.all_closed()) {
      waiting_for_holders_ = false;
      clean_next();
    }
  }

  // -- stop ---------------------------------------------------------------------------------------

  void begin_stop() {
    if (!status_.stopping()) {
      status_.stop();
      note_health();
      log_.info("shutting down");
      if (dispatcher_)
        send(dispatcher_, msg::drain_atom::value);
      return; // still in lifespan setup: on_first_state sees the stop and skips registration
    }
    log_.warn("{}", status_.second_stop(static_cast<bool>(dispatcher_)));
    if (dispatcher_)
      send(dispatcher_, msg::drain_atom::value, msg::force_atom::value);
  }

  void fail(caf::error err) {
    status_.fail(std::move(err));
    note_health();
    generations_.end_setups([this](generation& g) { end(g); });
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
    log_.warn("waiting for {} task(s) still inside user code before the lifespan cleanup (up to "
              "cleanup_timeout, {} ms)",
              generations_.holders_left(), spec_->options.cleanup_timeout.count());
    delayed_send(this, spec_->options.cleanup_timeout, msg::deadline_atom::value,
                 msg::released_atom::value);
  }

  void on_holders_deadline() {
    if (!std::exchange(waiting_for_holders_, false))
      return;
    // The states still held end without their cleanup; the others are cleaned up as usual.
    if (auto skipped = generations_.skip_held_after(spec_->options.cleanup_timeout)) {
      log_.error("{}", error_text(skipped));
      status_.cleanup_skipped(std::move(skipped));
    }
    clean_next(); // when all closed: the release message is on its way
  }

  /// At a stop, after the drain: one cleanup at a time, newest state first, each bounded by
  /// cleanup_timeout. A reload still setting up is waited for, then cleaned up too.
  void clean_next() {
    auto* g = generations_.next_cleanup([this](generation& next) { end(next); });
    if (g == nullptr) {
      if (generations_.empty())
        finish();
      return; // a setup still running: its answer continues
    }
    if (!std::exchange(g->deadline_armed, true))
      delayed_send(this, spec_->options.cleanup_timeout, msg::deadline_atom::value, g->id);
  }

  void on_cleanup_deadline(uint64_t id) {
    auto* g = generations_.find(id);
    if (g == nullptr || g->at != generation::phase::cleaning)
      return;
    auto ms = std::to_string(spec_->options.cleanup_timeout.count());
    log_.error("lifespan cleanup still running after cleanup_timeout ({} ms); giving up on it", ms);
    quit(make_error(errc::cleanup_timed_out,
                    "the cleanup did not finish within cleanup_timeout (" + ms + " ms)"));
  }

  void on_down(const caf::down_msg& dm) {
    if (dispatcher_ && dm.source == dispatcher_.address()) {
      dispatcher_ = nullptr;
      if (dm.reason && !status_.failed())
        log_.error("dispatcher ended: {}", describe(dm.reason));
      status_.dispatcher_ended(dm.reason);
      note_health();
      // Every task actor is gone (the dispatcher waits for them); the cleanup waits for the task
      // code too.
      return await_holders();
    }
    auto* g = generations_.find(dm.source);
    if (g == nullptr)
      return;
    if (dispatcher_ && g->at == generation::phase::current) {
      // The state in service must outlive the tasks; if its actor died, stop everything.
      log_.error("lifespan actor ended early: {}", describe(dm.reason));
      send_exit(dispatcher_, caf::exit_reason::kill);
    }
    if (auto error = g->cleanup_error(); !error.empty())
      status_.cleanup_failed(error);
    generations_.remove(g->id);
    if (status_.stopping() && !dispatcher_ && !waiting_for_holders_)
      clean_next();
  }

  /// Tells `g`'s lifespan actor to end: it runs the cleanup in its on_exit (unless its setup
  /// failed, or the cleanup is to be skipped).
  void end(generation& g) { send_exit(g.actor, caf::exit_reason::user_shutdown); }

  /// Every lifespan actor is gone: the supervisor quits with the first thing that went wrong.
  void finish() {
    auto reason = status_.final_reason();
    if (!reason)
      log_.info("stopped");
    quit(reason ? std::move(reason) : caf::error{caf::exit_reason::normal});
  }

  void note_health() { health_.show(status_.health()); }

  worker_spec_ptr spec_;
  wiring wires_;
  worker_log log_;
  worker_status status_;
  lifespan_generations generations_;
  caf::actor dispatcher_;
  bool waiting_for_holders_ = false;
  supervisor_answers answers_;
  worker_health health_;
};

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, worker_spec_ptr spec, const wiring& wires) {
  return sys.spawn<supervisor>(std::move(spec), wires);
}

} // namespace hatchet::detail
