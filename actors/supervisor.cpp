#include "actors/supervisor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/dispatcher_actor.hpp"
#include "actors/health_server.hpp"
#include "actors/lifespan_actor.hpp"
#include "actors/lifespan_gate.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

class supervisor : public caf::event_based_actor {
public:
  supervisor(caf::actor_config& cfg, worker_spec_ptr spec)
    : caf::event_based_actor(cfg), spec_(std::move(spec)),
      report_(std::make_shared<lifespan_report>()),
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
    lifespan_ = spawn_lifespan_actor(this, spec_->options.lifespan, spec_->name, report_);
    auto setup_began = std::chrono::steady_clock::now();
    request(lifespan_, caf::infinite, msg::setup_atom::value)
      .then([this, setup_began](lifespan_state_ptr& state) {
              metrics_->lifespan_setup_seconds.store(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_began)
                  .count());
              on_state(std::move(state));
            },
            [this](caf::error& err) {
              spdlog::error("worker {}: {}; the worker will not register", spec_->name,
                            describe(err));
              fail(std::move(err));
            });
    return {
      [this](msg::shutdown_atom) { begin_stop(); },
      [this](msg::status_atom, msg::worker_state state) {
        heard_status_ = true;
        if (!stopping_)
          state_ = state;
        note_health();
      },
      [this](msg::status_atom) {
        return std::string{to_string(stopping_ ? msg::worker_state::stopping : state_)};
      },
      [this](msg::released_atom) {
        if (waiting_for_holders_ && gate_closed())
          stop_lifespan();
      },
      [this](msg::deadline_atom, msg::released_atom) { on_holders_deadline(); },
      [this](msg::deadline_atom) {
        if (!lifespan_ || waiting_for_holders_)
          return;
        spdlog::error("worker {}: lifespan cleanup still running after cleanup_timeout ({} ms); "
                      "giving up on it",
                      spec_->name, spec_->options.cleanup_timeout.count());
        quit(make_error(errc::cleanup_timed_out,
                        "the cleanup did not finish within cleanup_timeout ("
                          + std::to_string(spec_->options.cleanup_timeout.count()) + " ms)"));
      },
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
    metrics_->state = health_state::stopped;
    health_.reset(); // stops serving: probes now fail to connect
    // Killed: the gate is not waited for, so a cleanup now could run under live task code.
    if (lifespan_ && !gate_closed()) {
      std::lock_guard lock{report_->mtx};
      report_->skip_cleanup = true;
    }
    // Only reached with children alive on a kill: take them down too.
    for (auto* child : {&dispatcher_, &lifespan_})
      if (*child)
        caf::anon_send_exit(*child, caf::exit_reason::kill);
    dispatcher_ = nullptr; // they hold ours: drop theirs so that all can be destroyed
    lifespan_ = nullptr;
  }

private:
  void on_state(lifespan_state_ptr state) {
    if (stopping_) {
      spdlog::info("worker {}: stop requested during lifespan setup; not registering",
                   spec_->name);
      return stop_lifespan();
    }
    // The dispatcher and every assignment get the gated pointer; the supervisor keeps only a
    // weak reference, to see whether any holder is left.
    auto g = open_gate(std::move(state), [addr = address()] {
      if (auto self = caf::actor_cast<caf::actor>(addr))
        caf::anon_send(self, msg::released_atom::value);
    });
    holders_ = g.state;
    gate_closed_ = std::move(g.closed);
    dispatcher_ = spawn_dispatcher(this, spec_, std::move(g.state), metrics_);
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

  void begin_stop() {
    if (stopping_) {
      if (!dispatcher_ && lifespan_ && !running_)
        spdlog::warn("worker {}: second stop request during the lifespan setup: the setup is user "
                     "code and cannot be interrupted; the worker stops when it returns (SIGQUIT "
                     "ends the process at once)",
                     spec_->name);
      else
        spdlog::warn("worker {}: second stop request: not waiting for running tasks any more",
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
    // Still in lifespan setup: on_state sees stopping_ and skips registration.
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

  void fail(caf::error err) {
    if (!failure_)
      failure_ = std::move(err);
    stop_lifespan();
  }

  void release_ready_waiters() {
    for (auto& rp : ready_waiters_)
      rp.deliver(make_error(errc::shutting_down, "the worker stopped before it was ready"));
    ready_waiters_.clear();
  }

  /// The dispatcher and its task actors are gone; task code may not be (a sync task that ignores
  /// its cancellation runs on until it returns). The cleanup waits for the last holder of the
  /// state, up to cleanup_timeout.
  /// True once no task holds the state (or there never was a gate).
  bool gate_closed() const { return !gate_closed_ || gate_closed_->load(); }

  void await_holders() {
    if (gate_closed())
      return stop_lifespan();
    waiting_for_holders_ = true;
    spdlog::warn("worker {}: waiting for {} task(s) still inside user code before the lifespan "
                 "cleanup (up to cleanup_timeout, {} ms)",
                 spec_->name, holders_.use_count(), spec_->options.cleanup_timeout.count());
    delayed_send(this, spec_->options.cleanup_timeout, msg::deadline_atom::value,
                 msg::released_atom::value);
  }

  void on_holders_deadline() {
    if (!waiting_for_holders_ || !lifespan_)
      return;
    if (gate_closed())
      return stop_lifespan(); // the release message is on its way
    auto left = std::max<long>(holders_.use_count(), 1);
    waiting_for_holders_ = false;
    auto text = std::to_string(left)
                + " task(s) still inside user code after cleanup_timeout ("
                + std::to_string(spec_->options.cleanup_timeout.count())
                + " ms); the lifespan cleanup was skipped so that it never runs under them";
    spdlog::error("worker {}: {}", spec_->name, text);
    failure_ = make_error(errc::cleanup_skipped, std::move(text));
    skip_cleanup();
  }

  /// The lifespan actor ends without its cleanup (task code still holds the state).
  void skip_cleanup() {
    {
      std::lock_guard lock{report_->mtx};
      report_->skip_cleanup = true;
    }
    send_exit(lifespan_, caf::exit_reason::user_shutdown);
  }

  void stop_lifespan() {
    waiting_for_holders_ = false;
    if (!lifespan_)
      return;
    send_exit(lifespan_, caf::exit_reason::user_shutdown);
    delayed_send(this, spec_->options.cleanup_timeout, msg::deadline_atom::value);
  }

  void on_down(const caf::down_msg& dm) {
    if (dispatcher_ && dm.source == dispatcher_.address()) {
      dispatcher_ = nullptr;
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
    if (lifespan_ && dm.source == lifespan_.address()) {
      lifespan_ = nullptr;
      if (dispatcher_) {
        // The lifespan actor must outlive the tasks; if it died first, stop everything.
        spdlog::error("worker {}: lifespan actor ended early: {}", spec_->name,
                      describe(dm.reason));
        send_exit(dispatcher_, caf::exit_reason::kill);
      }
      std::string cleanup_error;
      {
        std::lock_guard lock{report_->mtx};
        cleanup_error = report_->cleanup_error;
      }
      if (!cleanup_error.empty()
          && (!failure_ || exit_code_for(failure_) >= exit_code::drain_timed_out))
        return quit(make_error(errc::lifespan_cleanup_failed, cleanup_error));
      if (failure_)
        return quit(failure_);
      spdlog::info("worker {}: stopped", spec_->name);
      return quit(caf::exit_reason::normal);
    }
  }

  worker_spec_ptr spec_;
  std::shared_ptr<lifespan_report> report_;
  caf::actor lifespan_;
  caf::actor dispatcher_;
  caf::error failure_;
  std::weak_ptr<const lifespan_state> holders_; ///< the gated state, to count its holders
  std::shared_ptr<const std::atomic<bool>> gate_closed_; ///< set when the last holder is gone
  bool waiting_for_holders_ = false;
  bool stopping_ = false;
  bool running_ = false;
  std::string worker_id_;
  msg::worker_state state_ = msg::worker_state::starting;
  bool heard_status_ = false; ///< the dispatcher has reported its state at least once
  std::vector<caf::response_promise> ready_waiters_;
  std::shared_ptr<worker_metrics> metrics_;
  std::unique_ptr<health_server> health_;
  bool was_ready_ = false; ///< healthy at least once: a detached worker is unhealthy, not starting
};

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, worker_spec_ptr spec) {
  return sys.spawn<supervisor>(std::move(spec));
}

} // namespace hatchet::detail

namespace hatchet {

namespace {

/// Asks the supervisor a question whose answer is a string, from a non-actor thread.
template <class Atom>
caf::expected<std::string> ask(caf::actor_system& sys, const caf::actor& worker, Atom question,
                               std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  caf::expected<std::string> result{make_error(errc::shutting_down, "no answer")};
  self->request(worker, timeout, question)
    .receive([&](std::string& answer) { result = std::move(answer); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::expected<std::string> await_ready(caf::actor_system& sys, const caf::actor& worker,
                                       std::chrono::milliseconds timeout) {
  return ask(sys, worker, msg::ready_atom::value, timeout);
}

caf::expected<std::string> worker_status(caf::actor_system& sys, const caf::actor& worker,
                                         std::chrono::milliseconds timeout) {
  return ask(sys, worker, msg::status_atom::value, timeout);
}

caf::expected<std::string> health_address(caf::actor_system& sys, const caf::actor& worker,
                                          std::chrono::milliseconds timeout) {
  return ask(sys, worker, msg::health_atom::value, timeout);
}

} // namespace hatchet

namespace hatchet::detail {

int exit_code_for(const caf::error& reason) {
  // Note: caf::error::category() must not be called on an empty error in CAF 0.17.
  if (!reason || reason == caf::exit_reason::normal)
    return exit_code::ok;
  if (reason == caf::exit_reason::kill)
    return exit_code::forced_stop;
  if (reason.category() == errc_category::value) {
    switch (static_cast<errc>(reason.code())) {
      case errc::lifespan_cleanup_failed:
      case errc::cleanup_timed_out:
        return exit_code::cleanup_failed;
      case errc::cleanup_skipped:
        return exit_code::cleanup_skipped;
      case errc::drain_timed_out:
        return exit_code::drain_timed_out;
      case errc::forced_stop:
        return exit_code::forced_stop;
      case errc::lifespan_setup_failed:
      case errc::invalid_config:
      case errc::invalid_token:
      case errc::invalid_workflow:
      case errc::rpc_failed:
        return exit_code::startup_failed;
      default:
        break;
    }
  }
  return exit_code::worker_failed;
}

} // namespace hatchet::detail
