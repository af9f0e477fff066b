#include "actors/dispatcher_actor.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/executor.hpp"
#include "actors/outbox.hpp"
#include "actors/task_actor.hpp"
#include "client/admin_client.hpp"
#include "client/dispatcher_client.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

using namespace std::chrono_literals;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Start-up calls give up after this many failed attempts (about 30 s with the backoff).
constexpr int max_startup_attempts = 10;

/// Heartbeat answered UNIMPLEMENTED this many times in a row: the engine has no Heartbeat.
constexpr int unimplemented_to_believe = 3;

class dispatcher_actor : public caf::event_based_actor {
public:
  dispatcher_actor(caf::actor_config& cfg, worker_spec_ptr spec, lifespan_state_ptr state,
                   caf::actor supervisor)
    : caf::event_based_actor(cfg),
      spec_(std::move(spec)),
      state_(std::move(state)),
      supervisor_(std::move(supervisor)) {
  }

  const char* name() const override { return "hatchet.dispatcher"; }

  caf::behavior make_behavior() override {
    auto ch = rpc::make_channel(spec_->cfg);
    dispatcher_ = std::make_shared<rpc::dispatcher_client>(ch, spec_->cfg);
    admin_ = std::make_shared<rpc::admin_client>(ch, spec_->cfg);
    auto threads = spec_->options.max_task_threads > 0 ? spec_->options.max_task_threads
                                                       : spec_->options.slots;
    exec_ = executor::make(static_cast<size_t>(threads));
    auto me = caf::actor_cast<caf::actor>(this);
    for (int i = 0; i < spec_->options.slots; ++i) {
      auto t = spawn_task_actor(this, me, exec_);
      free_.push_back(t);
      all_tasks_.insert(t.address());
    }
    set_down_handler([this](caf::down_msg& dm) { on_task_down(dm); });
    return {
      [this](msg::start_atom) {
        start_rp_ = make_response_promise();
        get_version();
        return start_rp_;
      },
      [this](msg::version_atom) { get_version(); },
      [this](msg::version_atom, wire::rpc_status& st, std::string& version) {
        on_version(st, version);
      },
      [this](msg::put_wf_atom, size_t index, wire::rpc_status& st) { on_put_workflow(index, st); },
      [this](msg::put_wf_atom, size_t index) { put_workflow(index); },
      [this](msg::registered_atom) { register_worker(); },
      [this](msg::registered_atom, wire::rpc_status& st, std::string& worker_id) {
        on_registered(st, worker_id);
      },
      [this](msg::action_atom, uint64_t gen, wire::assigned_action& a) { on_action(gen, a); },
      [this](msg::stream_end_atom, uint64_t gen, wire::rpc_status& st) { on_stream_end(gen, st); },
      [this](msg::reconnect_atom, uint64_t gen) {
        // A registration since then opens its own stream; so may a stream opened meanwhile.
        if (gen == reconnect_gen_ && !listen_ && !registering_ && !draining_)
          listen();
      },
      [this](msg::heartbeat_atom) { heartbeat(); },
      [this](msg::heartbeat_atom, uint64_t gen) {
        if (gen == stream_gen_ && listen_)
          send_heartbeat(); // one-shot: prove the new stream to the engine without waiting 4 s
      },
      [this](msg::hb_result_atom, uint64_t gen, wire::rpc_status& st) { on_heartbeat(gen, st); },
      [this](msg::done_atom, msg::task_outcome& o, caf::actor& slot) { on_done(o, slot); },
      [this](msg::event_ack_atom, uint64_t seq, wire::rpc_status& st) { on_event_ack(seq, st); },
      [this](msg::retry_atom, uint64_t seq, uint64_t attempt) { on_retry(seq, attempt); },
      [this](msg::drain_atom) { drain(); },
      [this](msg::drain_atom, msg::force_atom) { force_stop(); },
      [this](msg::deadline_atom, int phase) { on_deadline(phase); },
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
    free_.clear();
    running_.clear();
    backlog_.clear();
    backlog_keys_.clear();
    supervisor_ = nullptr;
    state_.reset();
    listen_.reset();
    dispatcher_.reset(); // with admin_, the last owner of the channel
    admin_.reset();
    exec_.reset();
  }

  // -- start-up: GetVersion, PutWorkflow (each), Register, ListenV2 -----------------------------

  bool retry_startup(int& attempts, const wire::rpc_status& st, const char* what,
                     caf::message retry_msg) {
    if (outbox::retryable(st.code) && ++attempts < max_startup_attempts) {
      auto delay = jittered_backoff(attempts, 200ms, 5000ms);
      spdlog::warn("worker {}: {} to the engine at {} failed ({}), attempt {} of {}; retrying in "
                   "{} ms",
                   spec_->name, what, spec_->cfg.host_port, st.describe(), attempts,
                   max_startup_attempts, delay.count());
      delayed_send(this, delay, std::move(retry_msg));
      return true;
    }
    return false;
  }

  /// Registering again after the engine forgot us: unlike start-up, keep trying for as long as
  /// the worker runs (it is detached, not ready, meanwhile).
  void retry_after_loss(int& attempts, const wire::rpc_status& st, const char* what,
                        caf::message retry_msg) {
    auto delay = jittered_backoff(attempts++, 200ms, 5000ms);
    spdlog::warn("worker {}: {} failed while registering again ({}); retrying in {} ms",
                 spec_->name, what, st.describe(), delay.count());
    delayed_send(this, delay, std::move(retry_msg));
  }

  void fail_startup(const std::string& what) {
    spdlog::error("worker {}: {}", spec_->name, what);
    if (start_rp_.pending())
      start_rp_.deliver(make_error(errc::rpc_failed, what));
    quit(make_error(errc::rpc_failed, what));
  }

  void get_version() {
    auto self = caf::actor_cast<caf::actor>(this);
    dispatcher_->get_version([self](wire::rpc_status st, std::string v) {
      caf::anon_send(self, msg::version_atom::value, std::move(st), std::move(v));
    });
  }

  void on_version(const wire::rpc_status& st, const std::string& version) {
    if (draining_)
      return finish_if_drained();
    if (st.ok()) {
      spdlog::info("worker {}: engine {} at {}", spec_->name, version, spec_->cfg.host_port);
    } else if (st.code == wire::status::unimplemented) {
      spdlog::warn("worker {}: the engine does not implement GetVersion (an old engine)",
                   spec_->name);
    } else {
      if (retry_startup(version_attempts_, st, "GetVersion",
                        caf::make_message(msg::version_atom::value)))
        return;
      return fail_startup("the engine at " + spec_->cfg.host_port + " answered GetVersion with "
                          + st.describe());
    }
    for (size_t i = 0; i < spec_->options.workflows.size(); ++i)
      put_workflow(i);
  }

  void put_workflow(size_t index) {
    auto self = caf::actor_cast<caf::actor>(this);
    admin_->put_workflow(spec_->options.workflows[index], [self, index](wire::rpc_status st) {
      caf::anon_send(self, msg::put_wf_atom::value, index, std::move(st));
    });
  }

  void on_put_workflow(size_t index, const wire::rpc_status& st) {
    if (draining_)
      return finish_if_drained();
    const auto& wf = spec_->options.workflows[index];
    if (!st.ok()) {
      if (start_rp_.pending()) {
        if (retry_startup(put_attempts_, st, "PutWorkflow",
                          caf::make_message(msg::put_wf_atom::value, index)))
          return;
        return fail_startup("registering workflow '" + wf.name() + "' failed: " + st.describe());
      }
      return retry_after_loss(put_attempts_, st, "PutWorkflow",
                              caf::make_message(msg::put_wf_atom::value, index));
    }
    put_attempts_ = 0;
    spdlog::debug("worker {}: workflow '{}' registered", spec_->name, wf.name());
    if (++workflows_put_ == spec_->options.workflows.size())
      register_worker();
  }

  /// The engine forgot this worker (it restarted, or dropped it): put the workflows again (an
  /// engine that kept them just stores a new version) and register anew.
  void reregister() {
    if (registering_)
      return;
    registering_ = true;
    set_attached(false);
    workflows_put_ = 0;
    for (size_t i = 0; i < spec_->options.workflows.size(); ++i)
      put_workflow(i);
  }

  void register_worker() {
    registering_ = true;
    auto self = caf::actor_cast<caf::actor>(this);
    rpc::register_request req;
    req.worker_name = spec_->name;
    req.actions = spec_->actions;
    req.slots = spec_->options.slots;
    req.labels = spec_->options.labels;
    dispatcher_->register_worker(req, [self](wire::rpc_status st, std::string id) {
      caf::anon_send(self, msg::registered_atom::value, std::move(st), std::move(id));
    });
  }

  void on_registered(const wire::rpc_status& st, const std::string& worker_id) {
    if (!st.ok()) {
      if (draining_)
        return finish_if_drained();
      if (start_rp_.pending()) {
        if (retry_startup(register_attempts_, st, "Register",
                          caf::make_message(msg::registered_atom::value)))
          return;
        return fail_startup("Register failed: " + st.describe());
      }
      return retry_after_loss(register_attempts_, st, "Register",
                              caf::make_message(msg::registered_atom::value));
    }
    registering_ = false;
    register_attempts_ = 0;
    worker_id_ = worker_id;
    spdlog::info("worker {}: registered as {} with {} slots for {} action(s)", spec_->name,
                 worker_id_, spec_->options.slots, spec_->actions.size());
    if (draining_)
      return finish_if_drained();
    listen();
    if (!heartbeat_armed_) {
      heartbeat_armed_ = true;
      heartbeat();
    }
    if (start_rp_.pending())
      start_rp_.deliver(worker_id_);
  }

  // -- the listen stream ------------------------------------------------------------------------

  void listen() {
    if (listen_)
      listen_->cancel(); // never two streams: the old one's end is ignored (older generation)
    auto gen = ++stream_gen_;
    auto self = caf::actor_cast<caf::actor>(this);
    stream_opened_ = std::chrono::steady_clock::now();
    // The engine only assigns to a worker with an open stream and a heartbeat younger than 5 s;
    // after a reconnect, do not wait for the periodic beat (it may keep landing in a cut).
    if (heartbeat_armed_ && !heartbeats_unsupported_)
      delayed_send(this, 200ms, msg::heartbeat_atom::value, gen);
    listen_ = dispatcher_->listen(
      worker_id_,
      [self, gen](wire::assigned_action a) {
        caf::anon_send(self, msg::action_atom::value, gen, std::move(a));
      },
      [self, gen](wire::rpc_status st) {
        caf::anon_send(self, msg::stream_end_atom::value, gen, std::move(st));
      },
      legacy_listen_);
    if (heartbeats_unsupported_)
      set_attached(true); // no heartbeat will confirm the stream: an open stream is all we know
  }

  void on_stream_end(uint64_t gen, const wire::rpc_status& st) {
    if (gen != stream_gen_)
      return; // an older stream we already replaced
    listen_.reset();
    if (draining_)
      return finish_if_drained();
    // A stream that lived a while was healthy: start the backoff again from the bottom.
    if (std::chrono::steady_clock::now() - stream_opened_ > 5s)
      reconnect_attempts_ = 0;
    set_attached(false);
    if (registering_)
      return; // a new registration is under way; it opens the next stream
    if (st.code == wire::status::unimplemented) {
      if (!legacy_listen_) {
        spdlog::warn("worker {}: the engine does not implement Dispatcher/ListenV2 (an old "
                     "engine); using the legacy Dispatcher/Listen",
                     spec_->name);
        legacy_listen_ = true;
        return listen();
      }
      // Neither: perhaps a proxy in front of the engine answering 404 for a while (gRPC maps
      // that to UNIMPLEMENTED). Stay up, detached, and try ListenV2 again with the backoff.
      legacy_listen_ = false;
      auto delay = jittered_backoff(reconnect_attempts_++, 100ms, 5000ms);
      spdlog::error("worker {}: the engine at {} answers neither Dispatcher/ListenV2 nor "
                    "Dispatcher/Listen ({}); this worker gets no work until it does; trying "
                    "again in {} ms",
                    spec_->name, spec_->cfg.host_port, st.describe(), delay.count());
      delayed_send(this, delay, msg::reconnect_atom::value, ++reconnect_gen_);
      return;
    }
    if (st.code == wire::status::resource_exhausted)
      spdlog::error("worker {}: the listen stream broke on a message larger than this worker "
                    "accepts ({}); raise HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH (now {} "
                    "bytes; the connection takes up to 4 times that)",
                    spec_->name, st.describe(), spec_->cfg.max_recv_bytes);
    if (reregister_ || st.code == wire::status::not_found
        || st.code == wire::status::failed_precondition) {
      reregister_ = false;
      spdlog::warn("worker {}: the engine no longer knows worker {} ({}); registering again",
                   spec_->name, worker_id_, st.describe());
      return reregister();
    }
    auto delay = jittered_backoff(reconnect_attempts_++, 100ms, 5000ms);
    spdlog::warn("worker {}: listen stream ended ({}); reconnecting in {} ms", spec_->name,
                 st.describe(), delay.count());
    delayed_send(this, delay, msg::reconnect_atom::value, ++reconnect_gen_);
  }

  // -- heartbeats -------------------------------------------------------------------------------

  void heartbeat() {
    if (unsubscribed_ || heartbeats_unsupported_)
      return;
    send_heartbeat();
    delayed_send(this, spec_->options.heartbeat_interval, msg::heartbeat_atom::value);
  }

  void send_heartbeat() {
    if (heartbeats_unsupported_)
      return;
    auto self = caf::actor_cast<caf::actor>(this);
    auto gen = stream_gen_;
    dispatcher_->heartbeat(worker_id_, [self, gen](wire::rpc_status st) {
      caf::anon_send(self, msg::hb_result_atom::value, gen, std::move(st));
    });
  }

  void on_heartbeat(uint64_t gen, const wire::rpc_status& st) {
    if (unsubscribed_)
      return;
    if (st.code == wire::status::unimplemented
        && ++heartbeat_unimplemented_ >= unimplemented_to_believe) {
      // As the official SDKs: an engine without Heartbeat tracks liveness by the stream alone.
      // Only believed when it says so several times in a row: a proxy answering 404 for a moment
      // looks the same once.
      if (!heartbeats_unsupported_)
        spdlog::warn("worker {}: the engine does not implement Dispatcher/Heartbeat ({}, {} "
                     "times in a row); no more heartbeats will be sent",
                     spec_->name, st.describe(), heartbeat_unimplemented_);
      heartbeats_unsupported_ = true;
      if (listen_ && !registering_)
        set_attached(true);
      return;
    }
    if (st.code != wire::status::unimplemented)
      heartbeat_unimplemented_ = 0;
    if (gen != stream_gen_)
      return;
    if (st.ok()) {
      if (listen_ && !registering_) {
        reconnect_attempts_ = 0; // the engine accepted this stream: the next cut starts low
        set_attached(true);
      }
      return;
    }
    if (draining_) {
      spdlog::debug("worker {}: heartbeat failed while draining: {}", spec_->name, st.describe());
      return;
    }
    spdlog::warn("worker {}: heartbeat failed: {}", spec_->name, st.describe());
    set_attached(false);
    if (registering_)
      return;
    // The engine may consider us gone: renew the stream. NOT_FOUND means it forgot this worker
    // (e.g. it restarted): register again once the stream has ended.
    if (st.code == wire::status::not_found)
      reregister_ = true;
    if (listen_)
      listen_->cancel();
    else if (reregister_) {
      reregister_ = false;
      reregister();
    }
  }

  /// Tells the supervisor whether the worker can take work (registered, stream open, engine
  /// answering heartbeats); on attaching, events waiting for a retry go out at once.
  void set_attached(bool attached) {
    if (attached == attached_)
      return;
    attached_ = attached;
    if (!draining_)
      send(supervisor_, msg::status_atom::value, std::string{attached ? "ready" : "detached"});
    if (attached)
      flush_outbox_now();
  }

  // -- work ------------------------------------------------------------------------------------

  void on_action(uint64_t gen, wire::assigned_action& a) {
    switch (a.type) {
      case wire::action_type::start_step_run:
        return on_start(a);
      case wire::action_type::cancel_step_run:
        return on_cancel(a);
      default:
        spdlog::warn("worker {}: ignoring action type {} for {}", spec_->name,
                     static_cast<int>(a.type), a.action_id);
    }
  }

  void on_start(wire::assigned_action& a) {
    auto key = a.key();
    if (running_.count(key) != 0 || backlog_keys_.count(key) != 0) {
      spdlog::warn("worker {}: duplicate assignment of {} ignored", spec_->name, key);
      return;
    }
    auto task = spec_->tasks.find(a.action_id);
    if (task == spec_->tasks.end()) {
      spdlog::error("worker {}: assigned unknown action '{}' (run {}); failing it", spec_->name,
                    a.action_id, key);
      return emit(a, wire::step_event_type::failed,
                  "hatchet::unknown_action: this worker does not serve action '" + a.action_id
                    + "'",
                  true);
    }
    if (a.action_payload.size() > static_cast<size_t>(spec_->cfg.max_recv_bytes)) {
      spdlog::error("worker {}: run {} ({}) carries a {}-byte payload, over this worker's limit "
                    "of {} bytes; failing it",
                    spec_->name, key, a.action_id, a.action_payload.size(),
                    spec_->cfg.max_recv_bytes);
      return emit(a, wire::step_event_type::failed,
                  "hatchet::payload_too_large: the action payload has "
                    + std::to_string(a.action_payload.size())
                    + " bytes, over this worker's limit of "
                    + std::to_string(spec_->cfg.max_recv_bytes)
                    + " bytes (raise HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH)",
                  true);
    }
    if (draining_) {
      spdlog::info("worker {}: run {} assigned while shutting down; handing it back", spec_->name,
                   key);
      return emit(a, wire::step_event_type::failed,
                  "hatchet::worker_shutting_down: the worker was shutting down when this run "
                  "arrived",
                  false);
    }
    emit(a, wire::step_event_type::started, "", false);
    msg::assignment job{std::move(a), task->second, state_};
    if (free_.empty()) {
      backlog_keys_.insert(key);
      backlog_.push_back(std::move(job));
      spdlog::warn("worker {}: more runs than slots assigned ({} waiting)", spec_->name,
                   backlog_.size());
      return;
    }
    dispatch(std::move(job));
  }

  void dispatch(msg::assignment job) {
    auto slot = std::move(free_.back());
    free_.pop_back();
    auto key = job.action.key();
    spdlog::debug("worker {}: run {} ({}) starting", spec_->name, key, job.action.action_id);
    running_.emplace(key, running_run{slot, job.action});
    send(slot, msg::run_atom::value, std::move(job));
  }

  void on_cancel(const wire::assigned_action& a) {
    auto key = a.key();
    if (auto i = running_.find(key); i != running_.end()) {
      spdlog::info("worker {}: run {} cancelled by the engine", spec_->name, key);
      i->second.cancelled = true;
      send(i->second.slot, msg::cancel_atom::value, key);
      return;
    }
    if (backlog_keys_.erase(key) != 0) {
      backlog_.erase(std::remove_if(backlog_.begin(), backlog_.end(),
                                    [&](const msg::assignment& j) { return j.action.key() == key; }),
                     backlog_.end());
      spdlog::info("worker {}: queued run {} cancelled by the engine", spec_->name, key);
      return;
    }
    spdlog::info("worker {}: CANCEL for run {} which is not running here; ignored", spec_->name,
                 key);
  }

  void on_done(msg::task_outcome& o, caf::actor& slot) {
    auto i = running_.find(o.key);
    if (i == running_.end()) {
      // Reported FAILED at the end of the grace period already; its result is too late.
    spdlog::warn("worker {}: run {} ended after it was reported failed at shutdown", spec_->name,
                 o.key);
    } else {
      auto action = std::move(i->second.action);
      bool cancelled = i->second.cancelled;
      bool shutdown_cancelled = i->second.shutdown_cancelled;
      running_.erase(i);
      if (cancelled) {
        spdlog::debug("worker {}: cancelled run {} ended; nothing reported", spec_->name, o.key);
      } else if (shutdown_cancelled && o.kind == msg::task_outcome::failed) {
        // Interrupted by the shutdown: let the engine run it again elsewhere.
        emit(action, wire::step_event_type::failed, std::move(o.payload), false);
      } else if (o.kind == msg::task_outcome::completed) {
        spdlog::debug("worker {}: run {} completed", spec_->name, o.key);
        emit(action, wire::step_event_type::completed, std::move(o.payload), false);
      } else {
        spdlog::info("worker {}: run {} ({}) failed: {}", spec_->name, o.key, action.action_id,
                     o.payload.substr(0, o.payload.find('\n')));
        emit(action, wire::step_event_type::failed, std::move(o.payload), o.should_not_retry);
      }
    }
    free_.push_back(std::move(slot));
    if (!backlog_.empty()) {
      auto job = std::move(backlog_.front());
      backlog_.pop_front();
      backlog_keys_.erase(job.action.key());
      dispatch(std::move(job));
    }
    finish_if_drained();
  }

  void on_task_down(const caf::down_msg& dm) {
    all_tasks_.erase(dm.source);
    if (stopping_tasks_) {
      if (all_tasks_.empty())
        finish();
      return;
    }
    // A task actor never throws (execute() catches everything); if one died anyway, fail its run
    // and replace the slot so the worker keeps its capacity.
    spdlog::error("worker {}: a task actor died ({}); replacing it", spec_->name,
                  to_string(dm.reason));
    for (auto i = running_.begin(); i != running_.end(); ++i) {
      if (i->second.slot.address() == dm.source) {
        emit(i->second.action, wire::step_event_type::failed,
             "hatchet::worker_error: the task actor running this run died", false);
        running_.erase(i);
        break;
      }
    }
    free_.erase(std::remove_if(free_.begin(), free_.end(),
                               [&](const caf::actor& a) { return a.address() == dm.source; }),
                free_.end());
    auto t = spawn_task_actor(this, caf::actor_cast<caf::actor>(this), exec_);
    all_tasks_.insert(t.address());
    free_.push_back(std::move(t));
  }

  // -- events to the engine ---------------------------------------------------------------------

  void emit(const wire::assigned_action& a, wire::step_event_type type, std::string payload,
            bool should_not_retry) {
    wire::step_event ev;
    ev.worker_id = worker_id_;
    ev.job_id = a.job_id;
    ev.job_run_id = a.job_run_id;
    ev.task_id = a.task_id;
    ev.task_run_external_id = a.task_run_external_id;
    ev.action_id = a.action_id;
    ev.timestamp_ns = now_ns();
    ev.type = type;
    ev.payload = std::move(payload);
    ev.retry_count = a.retry_count;
    ev.should_not_retry = should_not_retry;
    send_event(outbox_.add(std::move(ev)));
  }

  void send_event(uint64_t seq) {
    auto* e = outbox_.find(seq);
    if (e == nullptr)
      return;
    e->in_flight = true;
    e->event.worker_id = worker_id_; // the current registration, if it changed meanwhile
    auto self = caf::actor_cast<caf::actor>(this);
    dispatcher_->send_event(e->event, [self, seq](wire::rpc_status st) {
      caf::anon_send(self, msg::event_ack_atom::value, seq, std::move(st));
    });
  }

  void on_event_ack(uint64_t seq, const wire::rpc_status& st) {
    if (st.ok()) {
      outbox_.ack(seq);
      return finish_if_drained();
    }
    auto* e = outbox_.find(seq);
    if (e == nullptr)
      return;
    e->in_flight = false;
    if (!outbox::retryable(st.code)) {
      spdlog::error("worker {}: the engine refused event {} for run {}/{}: {}; dropped",
                    spec_->name, static_cast<int>(e->event.type), e->event.task_run_external_id,
                    e->event.retry_count, st.describe());
      outbox_.ack(seq);
      return finish_if_drained();
    }
    auto delay = outbox_.backoff(seq);
    spdlog::warn("worker {}: sending event for run {}/{} failed ({}); retrying in {} ms",
                 spec_->name, e->event.task_run_external_id, e->event.retry_count, st.describe(),
                 delay.count());
    delayed_send(this, delay, msg::retry_atom::value, seq, static_cast<uint64_t>(e->attempts));
  }

  void on_retry(uint64_t seq, uint64_t attempt) {
    auto* e = outbox_.find(seq);
    // Skip when acknowledged, already re-sent by a flush, or superseded by a later failure.
    if (e == nullptr || e->in_flight || static_cast<uint64_t>(e->attempts) != attempt)
      return;
    send_event(seq);
  }

  /// After a reconnect: everything waiting for its backoff goes out now.
  void flush_outbox_now() {
    for (auto seq : outbox_.waiting())
      send_event(seq);
  }

  // -- shutdown ---------------------------------------------------------------------------------

  enum deadline_phase : int { drain_deadline = 0, grace_deadline = 1, flush_deadline = 2 };

  void drain() {
    if (draining_)
      return;
    draining_ = true;
    send(supervisor_, msg::status_atom::value, std::string{"stopping"});
    spdlog::info("worker {}: stopping: no new work; waiting up to {} ms for {} running run(s)",
                 spec_->name, spec_->options.drain_timeout.count(),
                 running_.size() + backlog_.size());
    if (listen_)
      listen_->cancel();
    delayed_send(this, spec_->options.drain_timeout, msg::deadline_atom::value,
                 static_cast<int>(drain_deadline));
    finish_if_drained();
  }

  /// A second stop request: no more waiting for runs.
  void force_stop() {
    if (!draining_)
      drain();
    if (forced_)
      return;
    forced_ = true;
    spdlog::warn("worker {}: forced stop: cancelling {} run(s) now", spec_->name,
                 running_.size() + backlog_.size());
    cancel_stragglers();
    fail_stragglers("a second stop signal cut the drain short");
  }

  void on_deadline(int phase) {
    switch (phase) {
      case drain_deadline:
        if (running_.empty() && backlog_.empty())
          return;
        spdlog::warn("worker {}: {} run(s) still going after drain_timeout ({} ms); cancelling "
                     "them, {} ms grace",
                     spec_->name, running_.size() + backlog_.size(),
                     spec_->options.drain_timeout.count(), spec_->options.cancel_grace.count());
        cancel_stragglers();
        delayed_send(this, spec_->options.cancel_grace, msg::deadline_atom::value,
                     static_cast<int>(grace_deadline));
        return;
      case grace_deadline:
        drain_timed_out_ = drain_timed_out_ || !running_.empty() || !backlog_.empty();
        fail_stragglers("drain_timeout and cancel_grace passed");
        return;
      case flush_deadline:
        if (outbox_.empty() || unsubscribing_ || stopping_tasks_)
          return;
        spdlog::error("worker {}: {} event(s) not acknowledged within flush_timeout ({} ms); "
                      "dropping them",
                      spec_->name, outbox_.size(), spec_->options.flush_timeout.count());
        for (auto seq : outbox_.all()) {
          if (auto* e = outbox_.find(seq))
            spdlog::error("worker {}:   dropped event {} for run {}/{}", spec_->name,
                          static_cast<int>(e->event.type), e->event.task_run_external_id,
                          e->event.retry_count);
          outbox_.ack(seq);
        }
        return finish_if_drained();
    }
  }

  void cancel_stragglers() {
    for (auto& [key, run] : running_) {
      if (run.cancelled || run.shutdown_cancelled)
        continue;
      run.shutdown_cancelled = true;
      send(run.slot, msg::cancel_atom::value, key);
    }
  }

  /// Reports every run still here FAILED, so that none stays RUNNING on the engine; their task
  /// actors are stopped with the rest, their late results are dropped.
  void fail_stragglers(const std::string& why) {
    auto text = "hatchet::worker_shutdown: the worker shut down before this run finished (" + why
                + "); the engine may retry it";
    for (auto& [key, run] : running_) {
      if (run.cancelled)
        continue; // the engine cancelled it: nothing to report
      spdlog::warn("worker {}: run {} abandoned at shutdown; reported FAILED", spec_->name, key);
      emit(run.action, wire::step_event_type::failed, text, false);
    }
    for (auto& job : backlog_)
      emit(job.action, wire::step_event_type::failed, text, false);
    abandoned_ += running_.size() + backlog_.size();
    running_.clear();
    backlog_.clear();
    backlog_keys_.clear();
    finish_if_drained();
  }

  void finish_if_drained() {
    if (!draining_ || unsubscribing_ || stopping_tasks_)
      return;
    if (!running_.empty() || !backlog_.empty())
      return;
    if (!outbox_.empty()) {
      if (!flush_armed_) {
        flush_armed_ = true;
        delayed_send(this, spec_->options.flush_timeout, msg::deadline_atom::value,
                     static_cast<int>(flush_deadline));
      }
      return;
    }
    if (start_rp_.pending())
      start_rp_.deliver(make_error(errc::shutting_down, "stopped before registration finished"));
    if (worker_id_.empty())
      return stop_tasks();
    unsubscribing_ = true;
    auto self = caf::actor_cast<caf::actor>(this);
    dispatcher_->unsubscribe(worker_id_, [self](wire::rpc_status st) {
      caf::anon_send(self, msg::unsub_atom::value, std::move(st));
    });
  }

  void on_unsubscribed(const wire::rpc_status& st) {
    unsubscribed_ = true;
    if (st.ok())
      spdlog::info("worker {}: unsubscribed", spec_->name);
    else
      spdlog::warn("worker {}: Unsubscribe failed ({}); the engine will notice the closed stream",
                   spec_->name, st.describe());
    stop_tasks();
  }

  void stop_tasks() {
    stopping_tasks_ = true;
    if (all_tasks_.empty())
      return finish();
    for (auto& addr : all_tasks_)
      if (auto t = caf::actor_cast<caf::actor>(addr))
        send_exit(t, caf::exit_reason::user_shutdown);
  }

  /// Every task actor is gone: quit, saying how the drain went.
  void finish() {
    if (forced_)
      return quit(make_error(errc::forced_stop, std::to_string(abandoned_)
                                                  + " run(s) reported FAILED after a second stop "
                                                    "request"));
    if (drain_timed_out_)
      return quit(make_error(errc::drain_timed_out,
                             std::to_string(abandoned_) + " run(s) did not finish within "
                               + std::to_string(spec_->options.drain_timeout.count())
                               + " ms + cancel_grace and were reported FAILED"));
    quit();
  }

  struct running_run {
    caf::actor slot;
    wire::assigned_action action;
    bool cancelled = false;          ///< by the engine: report nothing
    bool shutdown_cancelled = false; ///< by the shutdown: report what it did
  };

  worker_spec_ptr spec_;
  lifespan_state_ptr state_;
  std::shared_ptr<rpc::dispatcher_client> dispatcher_;
  std::shared_ptr<rpc::admin_client> admin_;
  std::shared_ptr<executor> exec_;
  std::shared_ptr<rpc::listen_stream> listen_;
  caf::response_promise start_rp_;

  std::string worker_id_;
  std::vector<caf::actor> free_;
  std::set<caf::actor_addr> all_tasks_;
  std::unordered_map<std::string, running_run> running_;
  std::deque<msg::assignment> backlog_;
  std::unordered_set<std::string> backlog_keys_;
  outbox outbox_;

  uint64_t stream_gen_ = 0;
  uint64_t reconnect_gen_ = 0;
  int reconnect_attempts_ = 0;
  std::chrono::steady_clock::time_point stream_opened_;
  int version_attempts_ = 0;
  int put_attempts_ = 0;
  int register_attempts_ = 0;
  size_t workflows_put_ = 0;
  caf::actor supervisor_;
  bool heartbeat_armed_ = false;
  bool heartbeats_unsupported_ = false; ///< the engine answered Heartbeat with UNIMPLEMENTED
  int heartbeat_unimplemented_ = 0;     ///< ...so many times in a row
  bool legacy_listen_ = false;          ///< the engine answered ListenV2 with UNIMPLEMENTED
  bool registering_ = false;
  bool reregister_ = false;
  bool attached_ = false;
  bool forced_ = false;
  bool drain_timed_out_ = false;
  bool flush_armed_ = false;
  size_t abandoned_ = 0;
  bool draining_ = false;
  bool unsubscribing_ = false;
  bool unsubscribed_ = false;
  bool stopping_tasks_ = false;
};

} // namespace

caf::actor spawn_dispatcher(caf::local_actor* parent, worker_spec_ptr spec,
                            lifespan_state_ptr state) {
  return parent->spawn<dispatcher_actor, caf::monitored>(std::move(spec), std::move(state),
                                                         caf::actor_cast<caf::actor>(parent));
}

} // namespace hatchet::detail
