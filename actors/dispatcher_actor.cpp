#include "actors/dispatcher_actor.hpp"

#include <chrono>
#include <set>
#include <string>

#include <caf/all.hpp>

#include "actors/drain.hpp"
#include "actors/engine_session.hpp"
#include "actors/event_delivery.hpp"
#include "actors/executor.hpp"
#include "actors/fence.hpp"
#include "actors/run_keeper.hpp"
#include "actors/run_link.hpp"
#include "actors/task_actor.hpp"
#include "actors/worker_log.hpp"
#include "client/engine_link.hpp"
#include "client/hints.hpp"
#include "messages/messages.hpp"
#include "util/wall_clock.hpp"

namespace hatchet::detail {

namespace {

using namespace std::chrono_literals;

/// A thin actor over plain parts: it turns gRPC answers, timers and task outcomes into calls on
/// the engine session (connection phase, start-up retries, which stream and beat is current),
/// the slot pool (which run holds which slot, which runs wait), the event delivery (the outbox
/// and what each answer means) and the drain (the order of a stop), and performs what they
/// decide. Every engine call goes through the engine link; every timer through CAF's clock, so
/// the actor tests run it on virtual time.
class dispatcher_actor : public caf::event_based_actor, private run_keeper<caf::actor>::ports {
public:
  dispatcher_actor(caf::actor_config& cfg, worker_spec_ptr spec, lifespan_state_ptr state,
                   caf::actor supervisor, std::shared_ptr<worker_metrics> metrics,
                   const wiring& wires)
    : caf::event_based_actor(cfg), spec_(std::move(spec)), supervisor_(std::move(supervisor)),
      metrics_(std::move(metrics)), log_(spec_->name),
      link_(wires.make_link ? wires.make_link(spec_->cfg) : rpc::make_engine_link(spec_->cfg)),
      exec_(wires.executor_for(spec_->task_threads())),
      delivery_(log_, spec_->cfg.max_send_bytes, metrics_),
      runs_(*this, *spec_, log_, metrics_), fence_(spec_->options.fence_after) {
    runs_.use_state(std::move(state));
    session_.explain_with(&log_, spec_->cfg.host_port, spec_->cfg.max_recv_bytes);
    drain_.explain_with(&log_, spec_->options.drain_timeout, spec_->options.cancel_grace);
  }

  const char* name() const override { return "hatchet.dispatcher"; }

  caf::behavior make_behavior() override {
    // Task actors are spawned on first use (see free_slot_available): spawning all of them here
    // made start-up grow with the square of the slot count in CAF 0.17's scheduler.
    set_down_handler([this](caf::down_msg& dm) { on_task_down(dm); });
    // The engine's answers to events: a success waits in the box (see ack_box.hpp), a failure
    // needs a decision now.
    delivery_.wire_to(link_, std::make_shared<const rpc::event_acks>(
                               [self = caf::actor_cast<caf::actor>(this),
                                box = delivery_.box()](uint64_t seq, wire::rpc_status st) {
                                 if (!st.ok())
                                   caf::anon_send(self, msg::event_ack_atom::value, seq,
                                                  std::move(st));
                                 else if (box->put(seq))
                                   caf::anon_send(self, msg::acks_atom::value);
                               }));
    return {
      [this](msg::start_atom) {
        start_rp_ = make_response_promise();
        get_version();
        return start_rp_;
      },
      // Start-up retries scheduled before a stop do not run after it.
      [this](msg::version_atom) { drain_.stopping() ? advance_stop() : get_version(); },
      [this](msg::version_atom, wire::rpc_status& st, std::string& version) {
        on_version(st, version);
      },
      [this](msg::put_wf_atom, size_t index) {
        drain_.stopping() ? advance_stop() : put_workflow(index);
      },
      [this](msg::put_wf_atom, size_t index, wire::rpc_status& st) { on_put_workflow(index, st); },
      [this](msg::registered_atom) { drain_.stopping() ? advance_stop() : register_worker(); },
      [this](msg::registered_atom, wire::rpc_status& st, std::string& worker_id) {
        on_registered(st, worker_id);
      },
      [this](msg::action_atom, uint64_t, wire::assigned_action& a) { on_action(a); },
      [this](msg::stream_end_atom, uint64_t gen, wire::rpc_status& st) { on_stream_end(gen, st); },
      [this](msg::reconnect_atom, uint64_t gen) {
        // A registration since then opens its own stream; so may a stream opened meanwhile.
        if (session_.is_current_reconnect(gen) && !listen_ && !session_.registering()
            && !session_.closed_for_stop())
          listen();
      },
      [this](msg::heartbeat_atom) { periodic_heartbeat(); },
      [this](msg::heartbeat_atom, uint64_t gen) {
        // An extra beat: proves a new stream without waiting 4 s, or asks again after a refusal.
        if (session_.extra_beat_fired(clock().now()) && gen == session_.current_stream()
            && listen_ && !session_.closed_for_stop())
          send_heartbeat();
      },
      [this](msg::hb_result_atom, uint64_t gen, uint64_t beat, wire::rpc_status& st) {
        on_heartbeat(gen, beat, st);
      },
      [this](msg::fence_atom, uint64_t beat) {
        if (fence_.due(beat, clock().now()))
          fence_now();
      },
      [this](msg::done_atom, msg::task_outcome& o, caf::actor& slot) {
        delivery_.absorb_acks();
        runs_.done(o, std::move(slot), drain_.refuses_new_runs());
        advance_stop();
      },
      [this](msg::slot_free_atom, const std::string& key) {
        runs_.slot_released(key, drain_.refuses_new_runs());
      },
      [this](msg::event_ack_atom, uint64_t seq, wire::rpc_status& st) { on_event_answer(seq, st); },
      [this](msg::acks_atom) {
        delivery_.absorb_acks();
        advance_stop();
      },
      [this](msg::retry_atom, uint64_t seq, uint64_t attempt) {
        delivery_.retry(seq, attempt, session_.worker_id());
      },
      // A reload: new assignments get the new state; runs going keep theirs. Dropping ours lets
      // the old state's gate close once its last run ends.
      [this](msg::swap_atom, lifespan_state_ptr& next) { runs_.use_state(std::move(next)); },
      [this](msg::drain_atom) { begin_stop(); },
      [this](msg::drain_atom, msg::force_atom) { force_stop(); },
      [this](msg::deadline_atom, msg::stop_timer timer) { on_stop_timer(timer); },
      [this](msg::pause_atom, int http_status, std::string& error) {
        drain_.pause_answered(error.empty(), http_status, error);
        advance_stop();
      },
      [this](msg::unsub_atom, wire::rpc_status& st) { on_unsubscribed(st); },
    };
  }

  void on_exit() override {
    // Normally every task actor is gone by now; on an abnormal exit, take them down with us so the
    // actor system can end.
    for (auto& addr : all_tasks_)
      if (auto t = caf::actor_cast<caf::actor>(addr))
        caf::anon_send_exit(t, caf::exit_reason::kill);
    if (listen_)
      listen_->cancel();
    // Never wait here: this is a scheduler thread. Jobs not started yet are dropped (with the
    // state they hold); a job inside user code keeps its thread, and the lifespan gate keeps
    // the cleanup waiting for it.
    if (exec_)
      exec_->shutdown(0ms);
    release_handles();
  }

private:
  /// Drops every handle this actor holds, here on its own thread. Task actors and the supervisor
  /// hold handles to this actor and it holds theirs: without this, a stopped worker's actors
  /// would keep each other (and the lifespan state and the gRPC channel) alive forever. gRPC
  /// callbacks still in flight hold this actor, never the channel, so the last of them to end may
  /// destroy the actor on a gRPC thread without tearing gRPC down from inside its own callback.
  void release_handles() {
    // A pending promise holds this actor: answer it (a kill during start-up) and let it go.
    if (start_rp_.pending())
      start_rp_.deliver(make_error(errc::shutting_down, "stopped before registration finished"));
    start_rp_ = caf::response_promise{};
    runs_.clear();
    supervisor_ = nullptr;
    listen_.reset();
    delivery_.unwire(); // its answer callback holds this actor
    link_.reset();      // the last owner of the channel
    exec_.reset();
  }

  /// Posts a callback's arguments to this actor as a message; the callback holds the actor, never
  /// anything of gRPC's.
  template <class Atom, class... Extra>
  auto post(Atom atom, Extra... extra) {
    return [self = caf::actor_cast<caf::actor>(this), atom, extra...](auto&&... result) {
      caf::anon_send(self, atom, extra..., std::forward<decltype(result)>(result)...);
    };
  }

  // -- start-up: GetVersion, PutWorkflow (each), Register; again when the engine forgets us -----

  /// A start-up call failed: retry it (`again`, after the verdict's delay), or fail the start.
  void on_call_failed(engine_session::call c, const wire::rpc_status& st, caf::message again,
                      const std::string& failure) {
    auto hint = rpc::fatal_hint(spec_->cfg, st);
    auto v = session_.on_call_failed(c, st, start_rp_.pending(), !hint.empty());
    if (v.what == engine_session::retry_verdict::fail)
      return fail_startup(hint.empty() ? failure : hint + " (" + failure + ")");
    delayed_send(this, v.delay, std::move(again));
  }

  void fail_startup(const std::string& what) {
    log_.error("{}", what);
    if (start_rp_.pending())
      start_rp_.deliver(make_error(errc::rpc_failed, what));
    quit(make_error(errc::rpc_failed, what));
  }

  void get_version() { link_->get_version(post(msg::version_atom::value)); }

  void on_version(const wire::rpc_status& st, const std::string& version) {
    if (drain_.stopping())
      return advance_stop();
    if (st.ok())
      log_.info("engine {} at {}", version, spec_->cfg.host_port);
    else if (st.code == wire::status::unimplemented)
      log_.warn("the engine does not implement GetVersion (an old engine)");
    else
      return on_call_failed(engine_session::call::get_version, st,
                            caf::make_message(msg::version_atom::value),
                            "the engine at " + spec_->cfg.host_port + " answered GetVersion with "
                              + st.describe());
    session_.on_call_ok(engine_session::call::get_version);
    put_workflows();
  }

  void put_workflows() {
    session_.begin_put_workflows(spec_->options.workflows.size());
    for (size_t i = 0; i < spec_->options.workflows.size(); ++i)
      put_workflow(i);
  }

  void put_workflow(size_t index) {
    link_->put_workflow(spec_->options.workflows[index], post(msg::put_wf_atom::value, index));
  }

  void on_put_workflow(size_t index, const wire::rpc_status& st) {
    if (drain_.stopping())
      return advance_stop();
    const auto& wf = spec_->options.workflows[index];
    if (!st.ok())
      return on_call_failed(engine_session::call::put_workflow, st,
                            caf::make_message(msg::put_wf_atom::value, index),
                            "registering workflow '" + wf.name() + "' failed: " + st.describe());
    session_.on_call_ok(engine_session::call::put_workflow);
    log_.debug("workflow '{}' registered", wf.name());
    if (session_.workflow_put())
      register_worker();
  }

  /// The engine forgot this worker (it restarted, or dropped it): put the workflows again (an
  /// engine that kept them just stores a new version) and register anew.
  void reregister() {
    if (session_.registering())
      return;
    session_.registering_now();
    report_state();
    if (listen_)
      listen_->cancel(); // its end is ignored while registering
    put_workflows();
  }

  void register_worker() {
    session_.registering_now();
    rpc::register_request req;
    req.worker_name = spec_->name;
    req.actions = spec_->actions;
    req.slots = spec_->options.slots;
    req.labels = spec_->options.labels;
    link_->register_worker(req, post(msg::registered_atom::value));
  }

  void on_registered(const wire::rpc_status& st, const std::string& worker_id) {
    if (!st.ok()) {
      if (drain_.stopping())
        return advance_stop();
      return on_call_failed(engine_session::call::register_worker, st,
                            caf::make_message(msg::registered_atom::value),
                            "Register failed: " + st.describe());
    }
    if (drain_.stopping() && drain_.current() >= drain::phase::unsubscribing) {
      // A registration that was under way when the stop had already unsubscribed: do not leave
      // it behind on the engine.
      log_.info("registered as {} after the stop began; unsubscribing it", worker_id);
      link_->unsubscribe(worker_id, [](wire::rpc_status) {});
      return;
    }
    session_.registered();
    fence_.registered();
    session_.on_call_ok(engine_session::call::register_worker);
    session_.set_worker_id(worker_id);
    // Runs assigned from now on see this registration's id; runs going on keep theirs.
    auto services = std::make_shared<worker_services>();
    services->link = link_;
    services->worker_id = worker_id;
    services->log = log_;
    services->dispatcher = address();
    runs_.use_services(std::move(services));
    log_.info("registered as {} with {} slots for {} action(s)", worker_id, spec_->options.slots,
              spec_->actions.size());
    if (drain_.stopping())
      return advance_stop();
    listen();
    if (session_.arm_heartbeats())
      periodic_heartbeat();
    if (start_rp_.pending())
      start_rp_.deliver(worker_id);
  }

  // -- the listen stream and the heartbeats -----------------------------------------------------

  void listen() {
    if (listen_)
      listen_->cancel(); // never two streams: the old one's end is ignored (older generation)
    auto gen = session_.next_stream();
    session_.stream_opened(clock().now());
    // The engine only assigns to a worker with an open stream and a heartbeat younger than 5 s;
    // after a reconnect, do not wait for the periodic beat (it may keep landing in a cut).
    if (session_.heartbeats_armed() && !session_.heartbeats_unsupported())
      extra_heartbeat(200ms);
    listen_ = link_->listen(session_.worker_id(), post(msg::action_atom::value, gen),
                            post(msg::stream_end_atom::value, gen), session_.legacy_listen());
    report_state();
  }

  void on_stream_end(uint64_t gen, const wire::rpc_status& st) {
    if (gen != session_.current_stream())
      return; // an older stream we already replaced
    listen_.reset();
    auto verdict = session_.on_stream_end(st, clock().now());
    report_state();
    switch (verdict.what) {
      case engine_session::stream_verdict::finish_stop:
        return advance_stop();
      case engine_session::stream_verdict::wait_register:
        return;
      case engine_session::stream_verdict::use_legacy:
        return listen();
      case engine_session::stream_verdict::register_again:
        return reregister();
      case engine_session::stream_verdict::reconnect:
        worker_metrics::add(metrics_->reconnects);
        delayed_send(this, verdict.delay, msg::reconnect_atom::value, session_.next_reconnect());
        return;
    }
  }

  void periodic_heartbeat() {
    delivery_.absorb_acks(); // keeps outbox_depth current when no run wakes this actor
    if (session_.current() == engine_session::phase::closed || session_.heartbeats_unsupported())
      return;
    send_heartbeat();
    session_.periodic_beat_sent(clock().now() + spec_->options.heartbeat_interval);
    delayed_send(this, spec_->options.heartbeat_interval, msg::heartbeat_atom::value);
  }

  /// One extra heartbeat on the current stream after `delay`; at most one is pending.
  void extra_heartbeat(std::chrono::milliseconds delay) {
    if (session_.claim_extra_beat())
      delayed_send(this, delay, msg::heartbeat_atom::value, session_.current_stream());
  }

  void send_heartbeat() {
    if (!session_.heartbeats_unsupported())
      link_->heartbeat(session_.worker_id(),
                       post(msg::hb_result_atom::value, session_.current_stream(),
                            fence_.beat_sent(clock().now())));
  }

  void on_heartbeat(uint64_t gen, uint64_t beat, const wire::rpc_status& st) {
    if (st.ok())
      if (auto deadline = fence_.accepted(beat))
        delayed_send(this, std::max(*deadline - clock().now(), fence::clock::duration{0}),
                     msg::fence_atom::value, beat);
    bool current = gen == session_.current_stream();
    if (!current && st.code != wire::status::unimplemented)
      return; // about a stream we already replaced
    if (!st.ok())
      worker_metrics::add(metrics_->heartbeat_failures);
    auto verdict = session_.on_heartbeat(st, current && listen_ != nullptr, clock().now());
    switch (verdict.what) {
      case engine_session::heartbeat_verdict::ask_again:
        extra_heartbeat(verdict.delay);
        break;
      case engine_session::heartbeat_verdict::renew_stream:
        link_->renew_connection(); // the old one may be the reason
        if (listen_)
          listen_->cancel();
        break;
      case engine_session::heartbeat_verdict::register_again:
        reregister();
        break;
      default:
        break;
    }
    report_state();
  }

  /// No heartbeat accepted for fence_after: the engine hands this worker's runs to another one
  /// (fence.hpp). Give them up, and come back as a new worker over a new connection.
  void fence_now() {
    log_.warn("{}", fence_.explain(runs_.fence_all(), clock().now()));
    link_->renew_connection();
    if (drain_.stopping())
      return advance_stop();
    reregister();
  }

  /// Tells the supervisor whether the worker can take work (registered, stream open, engine
  /// answering heartbeats); on attaching, events waiting for a retry go out at once.
  void report_state() {
    auto attached = session_.attachment_change();
    if (!attached)
      return;
    if (!drain_.stopping())
      send(supervisor_, msg::status_atom::value,
           *attached ? msg::worker_state::ready : msg::worker_state::detached);
    if (*attached)
      delivery_.send_waiting(session_.worker_id());
  }

  // -- runs: see run_keeper.hpp; the ports are messages to task actors and events -------------

  caf::actor new_slot() override {
    auto t = spawn_task_actor(this, caf::actor_cast<caf::actor>(this), exec_);
    all_tasks_.insert(t.address());
    return t;
  }
  void start(const caf::actor& slot, msg::assignment job) override {
    send(slot, msg::run_atom::value, std::move(job));
  }
  void cancel(const caf::actor& slot, const std::string& key) override {
    send(slot, msg::cancel_atom::value, key);
  }
  void report(wire::run_ref r, wire::step_event_type type, std::string payload,
              bool should_not_retry) override {
    delivery_.emit(std::move(r), type, std::move(payload), should_not_retry, util::wall_clock_ns(),
                   session_.worker_id());
  }
  void thread_bound(int delta) override { exec_->adjust_bound(delta); }

  void on_action(wire::assigned_action& a) {
    delivery_.absorb_acks();
    switch (a.type) {
      case wire::action_type::start_step_run:
        return runs_.start(a, drain_.refuses_new_runs());
      case wire::action_type::cancel_step_run:
        runs_.cancel(a);
        return advance_stop();
      default:
        log_.warn("ignoring action type {} for {}", static_cast<int>(a.type), a.ids->action_id);
    }
  }

  void on_task_down(const caf::down_msg& dm) {
    all_tasks_.erase(dm.source);
    if (drain_.current() == drain::phase::stopping_tasks) {
      if (all_tasks_.empty())
        finish();
      return;
    }
    log_.error("a task actor died ({}); replacing it", to_string(dm.reason));
    runs_.slot_died(caf::actor_cast<caf::actor>(dm.source), drain_.refuses_new_runs());
  }

  // -- events to the engine: see event_delivery.hpp ---------------------------------------------

  void on_event_answer(uint64_t seq, const wire::rpc_status& st) {
    auto v = delivery_.on_answer(seq, st, session_.worker_id());
    if (v.what == event_delivery::verdict::retry_later)
      delayed_send(this, v.delay, msg::retry_atom::value, seq, v.attempt);
    else
      advance_stop();
  }

  // -- stopping: see drain.hpp for the order and why -------------------------------------------

  void begin_stop() {
    if (drain_.stopping())
      return;
    // The stop waits for the outbox to empty: from now on every answer wakes this actor.
    delivery_.wake_on_every_ack();
    delivery_.absorb_acks();
    const auto& id = session_.worker_id();
    bool can_pause = !id.empty() && !session_.registering();
    drain_.begin(can_pause, runs_.running() + runs_.waiting());
    session_.begin_stop();
    send(supervisor_, msg::status_atom::value, msg::worker_state::stopping);
    if (can_pause)
      // Weakly: the call may outlive a forced stop, and must not keep this actor, or its actor
      // system, alive.
      link_->set_paused(id, true, [addr = address()](int status, std::string error) {
        if (auto self = caf::actor_cast<caf::actor>(addr))
          caf::anon_send(self, msg::pause_atom::value, status, std::move(error));
      });
    delayed_send(this, spec_->options.drain_timeout, msg::deadline_atom::value,
                 msg::stop_timer::drain);
    advance_stop();
  }

  /// A second stop request: no more waiting for runs.
  void force_stop() {
    if (!drain_.stopping())
      begin_stop();
    if (!drain_.force(runs_.running() + runs_.waiting()))
      return;
    runs_.cancel_all_for_stop();
    fail_stragglers("a second stop signal cut the drain short");
  }

  void on_stop_timer(msg::stop_timer timer) {
    const auto& o = spec_->options;
    switch (timer) {
      case msg::stop_timer::drain:
        if (drain_.on_drain_deadline(!runs_.idle(), runs_.running() + runs_.waiting())) {
          runs_.next(true); // hands back the runs that have not started
          runs_.cancel_all_for_stop();
          delayed_send(this, o.cancel_grace, msg::deadline_atom::value, msg::stop_timer::grace);
        }
        return advance_stop();
      case msg::stop_timer::grace:
        return fail_stragglers("drain_timeout and cancel_grace passed");
      case msg::stop_timer::flush:
        if (drain_.current() == drain::phase::flushing && delivery_.drop_all(o.flush_timeout) > 0)
          advance_stop();
        return;
    }
  }

  /// Reports every run still here FAILED, so that none stays RUNNING on the engine; their task
  /// actors are stopped with the rest, their late results are dropped.
  void fail_stragglers(const std::string& why) {
    drain_.on_grace_deadline(runs_.abandon_all(drain::abandoned_text(why)));
    advance_stop();
  }

  /// Performs the drain's next steps until it has to wait for something.
  void advance_stop() {
    if (drain_.stopping())
      delivery_.absorb_acks();
    const auto& id = session_.worker_id();
    for (;;) {
      switch (drain_.next_step(!runs_.idle(), delivery_.empty(), !id.empty())) {
        case drain::step::wait:
          return;
        case drain::step::close_stream:
          session_.close_for_stop();
          if (listen_)
            listen_->cancel();
          continue;
        case drain::step::arm_flush_deadline:
          delayed_send(this, spec_->options.flush_timeout, msg::deadline_atom::value,
                       msg::stop_timer::flush);
          return;
        case drain::step::unsubscribe:
          session_.unsubscribing_now();
          link_->unsubscribe(id, post(msg::unsub_atom::value));
          return;
        case drain::step::stop_tasks:
          return stop_tasks();
      }
    }
  }

  void on_unsubscribed(const wire::rpc_status& st) {
    session_.unsubscribed();
    if (st.ok())
      log_.info("unsubscribed");
    else
      log_.warn("Unsubscribe failed ({}); the engine will notice the closed stream",
                st.describe());
    drain_.unsubscribed();
    stop_tasks();
  }

  void stop_tasks() {
    if (start_rp_.pending())
      start_rp_.deliver(make_error(errc::shutting_down, "stopped before registration finished"));
    if (all_tasks_.empty())
      return finish();
    for (auto& addr : all_tasks_)
      if (auto t = caf::actor_cast<caf::actor>(addr))
        send_exit(t, caf::exit_reason::user_shutdown);
  }

  /// Every task actor is gone: quit, saying how the drain went.
  void finish() { quit(drain_.outcome(spec_->options.drain_timeout)); }

  worker_spec_ptr spec_;
  caf::actor supervisor_;
  std::shared_ptr<worker_metrics> metrics_; ///< counted here, served by the health server
  worker_log log_;
  std::shared_ptr<rpc::engine_link> link_;
  std::shared_ptr<executor> exec_;
  std::shared_ptr<rpc::listen_stream> listen_;
  caf::response_promise start_rp_;
  engine_session session_;
  event_delivery delivery_;
  drain drain_;
  run_keeper<caf::actor> runs_;
  fence fence_;
  std::set<caf::actor_addr> all_tasks_; ///< every task actor alive, slot-holding or not
};

} // namespace

caf::actor spawn_dispatcher(caf::local_actor* parent, worker_spec_ptr spec,
                            lifespan_state_ptr state, std::shared_ptr<worker_metrics> metrics,
                            const wiring& wires) {
  return parent->spawn<dispatcher_actor, caf::monitored>(
    std::move(spec), std::move(state), caf::actor_cast<caf::actor>(parent), std::move(metrics),
    wires);
}

} // namespace hatchet::detail
