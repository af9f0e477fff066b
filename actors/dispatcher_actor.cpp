#include "actors/dispatcher_actor.hpp"

#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/drain.hpp"
#include "actors/engine_session.hpp"
#include "actors/executor.hpp"
#include "actors/ack_box.hpp"
#include "actors/outbox.hpp"
#include "actors/run_link.hpp"
#include "actors/slot_pool.hpp"
#include "actors/task_actor.hpp"
#include "client/engine_link.hpp"
#include "client/hints.hpp"
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

/// Room a StepActionEvent needs besides its payload (ids, timestamp, tags), generously.
constexpr size_t event_overhead_bytes = 4096;

/// What is kept of an error text that cannot be sent whole.
constexpr size_t truncated_error_bytes = 16 * 1024;

/// gRPC's words for a message over a size limit (RESOURCE_EXHAUSTED): "Received message larger
/// than max (N vs. M)" from the receiving side, "Sent message larger than max" from the sender.
bool over_size_limit(const wire::rpc_status& st) {
  return st.code == wire::status::resource_exhausted
         && st.message.find("larger than max") != std::string::npos;
}

/// `text` cut to `limit` bytes at most, saying how long it was. The cut never splits a UTF-8
/// character: a protobuf string must be valid UTF-8, and an engine refuses one that is not.
std::string truncated(std::string text, size_t limit) {
  if (text.size() <= limit)
    return text;
  auto note = "\n[truncated: the error text had " + std::to_string(text.size()) + " bytes]";
  size_t keep = limit > note.size() ? limit - note.size() : 0;
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80)
    --keep; // text[keep] continues a character: cut before that character starts
  text.resize(keep);
  return text + note;
}

/// A thin actor over the plain parts: it turns gRPC answers, timers and task outcomes into calls
/// on the engine session (connection phase and its decisions), the slot pool (which run holds
/// which slot, which runs wait) and the drain (the order of a stop), and performs what they
/// decide. Every engine call goes through the engine link.
class dispatcher_actor : public caf::event_based_actor {
public:
  dispatcher_actor(caf::actor_config& cfg, worker_spec_ptr spec, lifespan_state_ptr state,
                   caf::actor supervisor, std::shared_ptr<worker_metrics> metrics,
                   link_factory make_link)
    : caf::event_based_actor(cfg),
      spec_(std::move(spec)),
      state_(std::move(state)),
      supervisor_(std::move(supervisor)),
      metrics_(std::move(metrics)),
      make_link_(std::move(make_link)) {
  }

  const char* name() const override { return "hatchet.dispatcher"; }

  caf::behavior make_behavior() override {
    link_ = make_link_ ? make_link_(spec_->cfg) : rpc::make_engine_link(spec_->cfg);
    make_link_ = nullptr;
    auto threads = spec_->options.max_task_threads > 0 ? spec_->options.max_task_threads
                                                       : spec_->options.slots;
    exec_ = executor::make(static_cast<size_t>(threads));
    // Task actors are spawned on first use (see free_slot_available): spawning all of them here
    // made start-up grow with the square of the slot count in CAF 0.17's scheduler.
    set_down_handler([this](caf::down_msg& dm) { on_task_down(dm); });
    return {
      [this](msg::start_atom) {
        start_rp_ = make_response_promise();
        get_version();
        return start_rp_;
      },
      // Start-up retries scheduled before a stop do not run after it.
      [this](msg::version_atom) {
        if (drain_.stopping())
          return advance_stop();
        get_version();
      },
      [this](msg::version_atom, wire::rpc_status& st, std::string& version) {
        on_version(st, version);
      },
      [this](msg::put_wf_atom, size_t index, wire::rpc_status& st) { on_put_workflow(index, st); },
      [this](msg::put_wf_atom, size_t index) {
        if (drain_.stopping())
          return advance_stop();
        put_workflow(index);
      },
      [this](msg::registered_atom) {
        if (drain_.stopping())
          return advance_stop();
        register_worker();
      },
      [this](msg::registered_atom, wire::rpc_status& st, std::string& worker_id) {
        on_registered(st, worker_id);
      },
      [this](msg::action_atom, uint64_t gen, wire::assigned_action& a) { on_action(gen, a); },
      [this](msg::stream_end_atom, uint64_t gen, wire::rpc_status& st) { on_stream_end(gen, st); },
      [this](msg::reconnect_atom, uint64_t gen) {
        // A registration since then opens its own stream; so may a stream opened meanwhile.
        if (gen == reconnect_gen_ && !listen_ && !session_.registering()
            && !session_.closed_for_stop())
          listen();
      },
      [this](msg::heartbeat_atom) { heartbeat(); },
      [this](msg::heartbeat_atom, uint64_t gen) {
        // One-shot: prove a new stream without waiting 4 s, or ask again after a refusal; not
        // when the periodic beat is due about now anyway.
        one_shot_pending_ = false;
        if (gen == stream_gen_ && listen_ && !session_.closed_for_stop()
            && next_periodic_beat_ - std::chrono::steady_clock::now() > 100ms)
          send_heartbeat();
      },
      [this](msg::hb_result_atom, uint64_t gen, wire::rpc_status& st) { on_heartbeat(gen, st); },
      [this](msg::done_atom, msg::task_outcome& o, caf::actor& slot) { on_done(o, slot); },
      [this](msg::slot_free_atom, const std::string& key) { on_slot_released(key); },
      [this](msg::event_ack_atom, uint64_t seq, wire::rpc_status& st) { on_event_ack(seq, st); },
      [this](msg::acks_atom) {
        absorb_acks();
        advance_stop();
      },
      [this](msg::retry_atom, uint64_t seq, uint64_t attempt) { on_retry(seq, attempt); },
      // A reload: new assignments get the new state; runs going keep theirs. Dropping ours lets
      // the old state's gate close once its last run ends.
      [this](msg::swap_atom, lifespan_state_ptr& next) { state_ = std::move(next); },
      [this](msg::drain_atom) { begin_stop(); },
      [this](msg::drain_atom, msg::force_atom) { force_stop(); },
      [this](msg::deadline_atom, msg::stop_timer timer) { on_stop_timer(timer); },
      [this](msg::pause_atom, int http_status, std::string& error) {
        on_paused(http_status, error);
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
  using pool_t = slot_pool<caf::actor, msg::assignment>;

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
    pool_.clear();
    supervisor_ = nullptr;
    state_.reset();
    listen_.reset();
    services_.reset();
    link_.reset(); // the last owner of the channel
    event_acks_.reset(); // it holds this actor
    exec_.reset();
  }

  void add_slot() {
    auto t = spawn_task_actor(this, caf::actor_cast<caf::actor>(this), exec_);
    all_tasks_.insert(t.address());
    pool_.add_slot(std::move(t));
  }

  /// A free slot for one more run: fewer than `slots` runs hold one, and a task actor to run it
  /// (an idle one, or a new one). Runs that released their slot keep their task actors, so
  /// there may be more task actors than slots, never more slot-holding runs.
  bool free_slot_available() {
    if (pool_.running() >= static_cast<size_t>(spec_->options.slots))
      return false;
    if (!pool_.has_free_slot())
      add_slot();
    return true;
  }

  /// Posts a callback's arguments to this actor as a message; the callback holds the actor, never
  /// anything of gRPC's.
  template <class Atom, class... Extra>
  auto post(Atom atom, Extra... extra) {
    return [self = caf::actor_cast<caf::actor>(this), atom, extra...](auto&&... result) {
      caf::anon_send(self, atom, extra..., std::forward<decltype(result)>(result)...);
    };
  }

  // -- start-up: GetVersion, PutWorkflow (each), Register, ListenV2 -----------------------------

  bool retry_startup(int& attempts, const wire::rpc_status& st, const char* what,
                     caf::message retry_msg) {
    if (!rpc::fatal_hint(spec_->cfg, st).empty())
      return false; // a retry cannot fix it; fail_startup says what to change
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

  void fail_startup(std::string what, const wire::rpc_status& st = {}) {
    if (auto hint = rpc::fatal_hint(spec_->cfg, st); !hint.empty())
      what = hint + " (" + what + ")";
    spdlog::error("worker {}: {}", spec_->name, what);
    if (start_rp_.pending())
      start_rp_.deliver(make_error(errc::rpc_failed, what));
    quit(make_error(errc::rpc_failed, what));
  }

  void get_version() { link_->get_version(post(msg::version_atom::value)); }

  void on_version(const wire::rpc_status& st, const std::string& version) {
    if (drain_.stopping())
      return advance_stop();
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
                            + st.describe(),
                          st);
    }
    put_workflows();
  }

  void put_workflows() {
    workflows_put_ = 0;
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
    if (!st.ok()) {
      if (start_rp_.pending()) {
        if (retry_startup(put_attempts_, st, "PutWorkflow",
                          caf::make_message(msg::put_wf_atom::value, index)))
          return;
        return fail_startup("registering workflow '" + wf.name() + "' failed: " + st.describe(),
                            st);
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
      if (start_rp_.pending()) {
        if (retry_startup(register_attempts_, st, "Register",
                          caf::make_message(msg::registered_atom::value)))
          return;
        return fail_startup("Register failed: " + st.describe(), st);
      }
      return retry_after_loss(register_attempts_, st, "Register",
                              caf::make_message(msg::registered_atom::value));
    }
    if (drain_.stopping() && drain_.current() >= drain::phase::unsubscribing) {
      // A registration that was under way when the stop had already unsubscribed: do not leave
      // it behind on the engine.
      spdlog::info("worker {}: registered as {} after the stop began; unsubscribing it",
                   spec_->name, worker_id);
      link_->unsubscribe(worker_id, [](wire::rpc_status) {});
      return;
    }
    session_.registered();
    register_attempts_ = 0;
    worker_id_ = worker_id;
    // Runs assigned from now on see this registration's id; runs going on keep theirs.
    auto services = std::make_shared<worker_services>();
    services->link = link_;
    services->worker_id = worker_id_;
    services->worker_name = spec_->name;
    services->dispatcher = address();
    services_ = std::move(services);
    spdlog::info("worker {}: registered as {} with {} slots for {} action(s)", spec_->name,
                 worker_id_, spec_->options.slots, spec_->actions.size());
    if (drain_.stopping())
      return advance_stop();
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
    session_.stream_opened(std::chrono::steady_clock::now());
    // The engine only assigns to a worker with an open stream and a heartbeat younger than 5 s;
    // after a reconnect, do not wait for the periodic beat (it may keep landing in a cut).
    if (heartbeat_armed_ && !session_.heartbeats_unsupported())
      one_shot_heartbeat(200ms);
    listen_ = link_->listen(worker_id_, post(msg::action_atom::value, gen),
                            post(msg::stream_end_atom::value, gen), session_.legacy_listen());
    report_state();
  }

  void on_stream_end(uint64_t gen, const wire::rpc_status& st) {
    if (gen != stream_gen_)
      return; // an older stream we already replaced
    listen_.reset();
    auto verdict = session_.on_stream_end(st, std::chrono::steady_clock::now());
    report_state();
    using v = engine_session::stream_verdict;
    switch (verdict.what) {
      case v::finish_stop:
        if (st.code == wire::status::not_found || st.code == wire::status::failed_precondition)
          spdlog::warn("worker {}: the engine no longer knows worker {} ({}) while stopping; not "
                       "registering again",
                       spec_->name, worker_id_, st.describe());
        return advance_stop();
      case v::wait_register:
        return;
      case v::use_legacy:
        spdlog::warn("worker {}: the engine does not implement Dispatcher/ListenV2 (an old "
                     "engine); using the legacy Dispatcher/Listen",
                     spec_->name);
        return listen();
      case v::register_again:
        spdlog::warn("worker {}: the engine no longer knows worker {} ({}); registering again",
                     spec_->name, worker_id_, st.describe());
        return reregister();
      case v::reconnect:
        break;
    }
    if (st.code == wire::status::unimplemented)
      // Neither listen: perhaps a proxy in front of the engine answering 404 for a while (gRPC
      // maps that to UNIMPLEMENTED). Stay up, detached, and try ListenV2 again with the backoff.
      spdlog::error("worker {}: the engine at {} answers neither Dispatcher/ListenV2 nor "
                    "Dispatcher/Listen ({}); this worker gets no work until it does; trying "
                    "again in {} ms",
                    spec_->name, spec_->cfg.host_port, st.describe(), verdict.delay.count());
    else if (over_size_limit(st) && st.message.find("Sent message") != std::string::npos)
      spdlog::error("worker {}: the listen stream broke on a message the engine could not send "
                    "under its own size limit ({}); raising this worker's limits does not help: "
                    "the engine's (SERVER_GRPC_MAX_MSG_SIZE on a real engine) must be raised, or "
                    "the run's input made smaller; reconnecting in {} ms",
                    spec_->name, st.describe(), verdict.delay.count());
    else if (st.code == wire::status::resource_exhausted)
      spdlog::error("worker {}: the listen stream broke on a message larger than this worker "
                    "accepts ({}); raise HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH (now {} "
                    "bytes; the connection takes up to 4 times that); reconnecting in {} ms",
                    spec_->name, st.describe(), spec_->cfg.max_recv_bytes,
                    verdict.delay.count());
    else
      spdlog::warn("worker {}: listen stream ended ({}); reconnecting in {} ms", spec_->name,
                   st.describe(), verdict.delay.count());
    worker_metrics::add(metrics_->reconnects);
    delayed_send(this, verdict.delay, msg::reconnect_atom::value, ++reconnect_gen_);
  }

  // -- heartbeats -------------------------------------------------------------------------------

  void heartbeat() {
    absorb_acks(); // keeps outbox_depth current when no run wakes this actor
    if (session_.current() == engine_session::phase::closed || session_.heartbeats_unsupported())
      return;
    send_heartbeat();
    next_periodic_beat_ = std::chrono::steady_clock::now() + spec_->options.heartbeat_interval;
    delayed_send(this, spec_->options.heartbeat_interval, msg::heartbeat_atom::value);
  }

  /// One extra heartbeat on the current stream after `delay`; at most one is pending, so refused
  /// heartbeats do not start parallel chains of retries.
  void one_shot_heartbeat(std::chrono::milliseconds delay) {
    if (one_shot_pending_)
      return;
    one_shot_pending_ = true;
    delayed_send(this, delay, msg::heartbeat_atom::value, stream_gen_);
  }

  void send_heartbeat() {
    if (session_.heartbeats_unsupported())
      return;
    link_->heartbeat(worker_id_, post(msg::hb_result_atom::value, stream_gen_));
  }

  void on_heartbeat(uint64_t gen, const wire::rpc_status& st) {
    if (gen != stream_gen_ && st.code != wire::status::unimplemented)
      return; // about a stream we already replaced
    if (!st.ok())
      worker_metrics::add(metrics_->heartbeat_failures);
    auto verdict =
      session_.on_heartbeat(st, gen == stream_gen_ && listen_ != nullptr,
                            std::chrono::steady_clock::now());
    using v = engine_session::heartbeat_verdict;
    switch (verdict.what) {
      case v::nothing:
        if (!st.ok() && !session_.closed_for_stop())
          spdlog::warn("worker {}: heartbeat failed: {}", spec_->name, st.describe());
        break;
      case v::attach:
        break;
      case v::stop_heartbeats:
        spdlog::warn("worker {}: the engine does not implement Dispatcher/Heartbeat ({}, {} "
                     "times in a row); no more heartbeats will be sent",
                     spec_->name, st.describe(), engine_session::unimplemented_to_believe);
        break;
      case v::ask_again:
        spdlog::warn("worker {}: heartbeat refused ({}); the stream stays open, asking again in "
                     "{} ms",
                     spec_->name, st.describe(), verdict.delay.count());
        one_shot_heartbeat(verdict.delay);
        break;
      case v::renew_stream:
        spdlog::warn("worker {}: heartbeats refused for {} s on an open stream ({}); renewing "
                     "the stream",
                     spec_->name, engine_session::renew_after_refusals.count(), st.describe());
        if (listen_)
          listen_->cancel();
        break;
      case v::register_again:
        spdlog::warn("worker {}: heartbeat failed: {}; registering again", spec_->name,
                     st.describe());
        reregister();
        break;
    }
    report_state();
  }

  /// Tells the supervisor whether the worker can take work (registered, stream open, engine
  /// answering heartbeats); on attaching, events waiting for a retry go out at once.
  void report_state() {
    bool attached = session_.attached();
    if (attached == attached_)
      return;
    attached_ = attached;
    if (!drain_.stopping())
      send(supervisor_, msg::status_atom::value,
           attached ? msg::worker_state::ready : msg::worker_state::detached);
    if (attached)
      flush_outbox_now();
  }

  // -- work ------------------------------------------------------------------------------------

  void on_action(uint64_t, wire::assigned_action& a) {
    absorb_acks();
    switch (a.type) {
      case wire::action_type::start_step_run:
        return on_start(a);
      case wire::action_type::cancel_step_run:
        return on_cancel(a);
      default:
        spdlog::warn("worker {}: ignoring action type {} for {}", spec_->name,
                     static_cast<int>(a.type), a.ids->action_id);
    }
  }

  void on_start(wire::assigned_action& a) {
    const auto& ref = a.ids;
    const auto& key = ref->key;
    if (pool_.contains(key)) {
      spdlog::warn("worker {}: duplicate assignment of {} ignored", spec_->name, key);
      return;
    }
    auto task = spec_->tasks.find(ref->action_id);
    if (task == spec_->tasks.end()) {
      spdlog::error("worker {}: assigned unknown action '{}' (run {}); failing it", spec_->name,
                    ref->action_id, key);
      return emit(ref, wire::step_event_type::failed,
                  "hatchet::unknown_action: this worker does not serve action '" + ref->action_id
                    + "'",
                  true);
    }
    if (a.action_payload.size() > static_cast<size_t>(spec_->cfg.max_recv_bytes)) {
      spdlog::error("worker {}: run {} ({}) carries a {}-byte payload, over this worker's limit "
                    "of {} bytes; failing it",
                    spec_->name, key, ref->action_id, a.action_payload.size(),
                    spec_->cfg.max_recv_bytes);
      return emit(ref, wire::step_event_type::failed,
                  "hatchet::payload_too_large: the action payload has "
                    + std::to_string(a.action_payload.size())
                    + " bytes, over this worker's limit of "
                    + std::to_string(spec_->cfg.max_recv_bytes)
                    + " bytes (raise HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH)",
                  true);
    }
    if (drain_.refuses_new_runs()) {
      // Runs assigned during the stop are run while the stream is open and drain_timeout has not
      // passed (the engine stops sending them once the pause has taken effect). After that, a
      // run started now would never get its cancellation: hand it back for another worker.
      spdlog::info("worker {}: run {} assigned after drain_timeout or after the stream closed for "
                   "the stop; handing it back",
                   spec_->name, key);
      return hand_back(ref);
    }
    emit(ref, wire::step_event_type::started, "", false);
    if (!free_slot_available()) {
      std::string waiting_key = key;
      pool_.wait(std::move(waiting_key),
                 msg::assignment{std::move(a), task->second, state_, services_, spec_->client});
      spdlog::warn("worker {}: more runs than slots assigned ({} waiting)", spec_->name,
                   pool_.waiting());
      return;
    }
    dispatch(msg::assignment{std::move(a), task->second, state_, services_, spec_->client});
  }

  /// A run this worker will not start: FAILED and retryable, so the engine runs it elsewhere.
  void hand_back(const wire::run_ref& ref) {
    emit(ref, wire::step_event_type::failed,
         "hatchet::worker_shutting_down: the worker was shutting down when this run arrived",
         false);
  }

  /// A slot was freed: the run that waited longest takes it, unless the stop refuses new runs.
  void dispatch_waiting() {
    if (drain_.refuses_new_runs()) {
      while (auto job = pool_.next_waiting())
        hand_back(job->action.ids);
      return;
    }
    if (pool_.waiting() > 0 && free_slot_available())
      dispatch(std::move(*pool_.next_waiting()));
  }

  /// A run takes a free slot.
  void dispatch(msg::assignment job) {
    // A run that waited for a slot across a reload starts with the state current now.
    job.state = state_;
    job.services = services_;
    const auto& ids = *job.action.ids;
    spdlog::debug("worker {}: run {} ({}) starting", spec_->name, ids.key, ids.action_id);
    auto slot = pool_.take(job.action.ids);
    worker_metrics::add(metrics_->runs_started);
    note_slots();
    send(slot, msg::run_atom::value, std::move(job));
  }

  void on_cancel(const wire::assigned_action& a) {
    const auto& key = a.key();
    if (auto* run = pool_.find_running(key)) {
      spdlog::info("worker {}: run {} cancelled by the engine", spec_->name, key);
      run->cancelled_by_engine = true;
      send(run->slot, msg::cancel_atom::value, key);
      return;
    }
    if (pool_.drop_waiting(key)) {
      spdlog::info("worker {}: queued run {} cancelled by the engine", spec_->name, key);
      return advance_stop();
    }
    spdlog::info("worker {}: CANCEL for run {} which is not running here; ignored", spec_->name,
                 key);
  }

  /// The engine freed the slot of run `key` at its request (ctx.release_slot): free it here too,
  /// so that the next run starts while this one goes on. A synchronous run keeps its task
  /// thread: the thread bound grows by one until it ends, so the next run gets a thread too.
  void on_slot_released(const std::string& key) {
    auto* run = pool_.release_early(key);
    if (run == nullptr)
      return; // ended meanwhile, or released already
    auto task = spec_->tasks.find(run->ref->action_id);
    if (task != spec_->tasks.end() && !task->second->async_fn) {
      exec_->adjust_bound(+1);
      run->lent_thread = true;
    }
    spdlog::debug("worker {}: run {} released its slot", spec_->name, key);
    note_slots();
    dispatch_waiting();
  }

  void on_done(msg::task_outcome& o, caf::actor& slot) {
    absorb_acks();
    const auto& key = o.run->key;
    auto run = pool_.release(key, std::move(slot));
    note_slots();
    if (run && run->lent_thread)
      exec_->adjust_bound(-1);
    if (run)
      metrics_->observe_run(std::chrono::steady_clock::now() - run->started);
    if (!run) {
      // Reported FAILED at the end of the grace period already; its result is too late.
      spdlog::warn("worker {}: run {} ended after it was reported failed at shutdown",
                   spec_->name, key);
    } else if (run->cancelled_by_engine) {
      spdlog::debug("worker {}: cancelled run {} ended; nothing reported", spec_->name, key);
      worker_metrics::add(metrics_->runs_cancelled);
    } else if (run->cancelled_for_stop && o.kind == msg::task_outcome::failed) {
      // Interrupted by the shutdown: let the engine run it again elsewhere.
      emit(std::move(run->ref), wire::step_event_type::failed, std::move(o.payload), false);
    } else if (o.kind == msg::task_outcome::completed) {
      spdlog::debug("worker {}: run {} completed", spec_->name, key);
      emit(std::move(run->ref), wire::step_event_type::completed, std::move(o.payload), false);
    } else {
      spdlog::info("worker {}: run {} ({}) failed: {}", spec_->name, key, run->ref->action_id,
                   o.payload.substr(0, o.payload.find('\n')));
      emit(std::move(run->ref), wire::step_event_type::failed, std::move(o.payload),
           o.should_not_retry);
    }
    dispatch_waiting();
    advance_stop();
  }

  void on_task_down(const caf::down_msg& dm) {
    all_tasks_.erase(dm.source);
    if (drain_.current() == drain::phase::stopping_tasks) {
      if (all_tasks_.empty())
        finish();
      return;
    }
    // A task actor never throws (execute() catches everything); if one died anyway, fail its run
    // and replace the slot so the worker keeps its capacity.
    spdlog::error("worker {}: a task actor died ({}); replacing it", spec_->name,
                  to_string(dm.reason));
    if (auto lost = pool_.remove_slot(caf::actor_cast<caf::actor>(dm.source)))
      emit(lost->second.ref, wire::step_event_type::failed,
           "hatchet::worker_error: the task actor running this run died", false);
    dispatch_waiting(); // a new task actor takes its place when a run needs one
  }

  void note_slots() {
    metrics_->slots_in_use.store(static_cast<int64_t>(pool_.running()),
                                 std::memory_order_relaxed);
  }

  void note_outbox() {
    metrics_->outbox_depth.store(static_cast<int64_t>(outbox_.size()), std::memory_order_relaxed);
  }

  // -- events to the engine ---------------------------------------------------------------------

  /// The largest payload an event may carry under this worker's send limit.
  size_t max_event_payload() const {
    auto limit = static_cast<size_t>(spec_->cfg.max_send_bytes);
    return limit > 2 * event_overhead_bytes ? limit - event_overhead_bytes : limit / 2;
  }

  /// An output too large to send cannot be retried into fitting: the run ends FAILED, not
  /// retried, saying how large and what to raise. A failure text too large is cut to fit.
  void fit_to_limit(const wire::run_ref& r, wire::step_event_type& type, std::string& payload,
                    bool& should_not_retry) {
    auto limit = max_event_payload();
    if (payload.size() <= limit)
      return;
    if (type == wire::step_event_type::completed) {
      spdlog::error("worker {}: run {} ({}) returned a {}-byte output, over what this worker can "
                    "send ({} bytes); failing it",
                    spec_->name, r->key, r->action_id, payload.size(), limit);
      payload = "hatchet::output_too_large: the task's output has " + std::to_string(payload.size())
                + " bytes, over the " + std::to_string(limit)
                + " bytes an event may carry under this worker's send limit of "
                + std::to_string(spec_->cfg.max_send_bytes)
                + " bytes (HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH); the engine's own receive "
                  "limit (4 MiB by default) applies too. Return less, or store the data elsewhere "
                  "and return a reference.";
      type = wire::step_event_type::failed;
      should_not_retry = true;
      return;
    }
    payload = truncated(std::move(payload), std::min(limit, truncated_error_bytes));
  }

  /// Queues an event about run `r` (its ids are shared with the event, not copied) and sends it.
  void emit(wire::run_ref r, wire::step_event_type type, std::string payload,
            bool should_not_retry) {
    fit_to_limit(r, type, payload, should_not_retry);
    wire::step_event ev;
    ev.run = std::move(r);
    ev.timestamp_ns = now_ns();
    ev.type = type;
    ev.payload = std::move(payload);
    ev.should_not_retry = should_not_retry;
    if (type == wire::step_event_type::completed)
      worker_metrics::add(metrics_->runs_completed);
    else if (type == wire::step_event_type::failed)
      worker_metrics::add(metrics_->runs_failed);
    auto seq = outbox_.add(std::move(ev));
    note_outbox();
    send_event(seq);
  }

  void send_event(uint64_t seq) {
    auto* e = outbox_.find(seq);
    if (e == nullptr)
      return;
    e->in_flight = true;
    if (!event_acks_)
      event_acks_ = std::make_shared<const rpc::event_acks>(
        [self = caf::actor_cast<caf::actor>(this), box = ack_box_](uint64_t s,
                                                                  wire::rpc_status st) {
          // A success waits in the box (see ack_box.hpp); a failure needs a decision now.
          if (!st.ok())
            caf::anon_send(self, msg::event_ack_atom::value, s, std::move(st));
          else if (box->put(s))
            caf::anon_send(self, msg::acks_atom::value);
        });
    // The worker id is the current registration's, if it changed since the event was made.
    link_->send_event(e->event, worker_id_, seq, event_acks_);
  }

  /// Strikes off the events the engine has acknowledged since the last look (see ack_box.hpp).
  void absorb_acks() {
    ack_box_->take(absorbed_);
    if (absorbed_.empty())
      return;
    for (auto seq : absorbed_)
      outbox_.ack(seq);
    note_outbox();
  }

  void on_event_ack(uint64_t seq, const wire::rpc_status& st) {
    if (st.ok()) {
      outbox_.ack(seq);
      note_outbox();
      return advance_stop();
    }
    auto* e = outbox_.find(seq);
    if (e == nullptr)
      return;
    e->in_flight = false;
    if (over_size_limit(st)) {
      // Refused for its size (the engine's receive limit may be below this worker's send limit):
      // sending it again changes nothing. The run ends FAILED with a short, clear text instead.
      auto& ev = e->event;
      if (ev.payload.size() <= 1024) {
        // Even the short replacement was refused: there is nothing left to make smaller.
        spdlog::error("worker {}: the engine refused a {}-byte event for run {} as too large "
                      "({}); dropped",
                      spec_->name, ev.payload.size(), ev.run->key, st.describe());
        outbox_.ack(seq);
        note_outbox();
        return advance_stop();
      }
      spdlog::error("worker {}: the engine refused a {}-byte event for run {} as too large "
                    "({}); reporting the run FAILED instead",
                    spec_->name, ev.payload.size(), ev.run->key, st.describe());
      if (ev.type == wire::step_event_type::failed) {
        ev.payload = truncated(std::move(ev.payload), 1024);
      } else {
        ev.payload = "hatchet::output_too_large: the engine refused the task's result ("
                     + std::to_string(ev.payload.size()) + " bytes) as too large: "
                     + st.describe();
        ev.type = wire::step_event_type::failed;
        ev.should_not_retry = true;
      }
      return send_event(seq);
    }
    if (!outbox::retryable(st.code)) {
      spdlog::error("worker {}: the engine refused event {} for run {}: {}; dropped",
                    spec_->name, static_cast<int>(e->event.type), e->event.run->key, st.describe());
      outbox_.ack(seq);
      note_outbox();
      return advance_stop();
    }
    auto delay = outbox_.backoff(seq);
    spdlog::warn("worker {}: sending event for run {} failed ({}); retrying in {} ms",
                 spec_->name, e->event.run->key, st.describe(), delay.count());
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
    absorb_acks();
    for (auto seq : outbox_.waiting())
      send_event(seq);
  }

  // -- stopping: see drain.hpp for the order and why -------------------------------------------

  void begin_stop() {
    if (drain_.stopping())
      return;
    // The stop waits for the outbox to empty: from now on every answer wakes this actor.
    ack_box_->wake_on_every_put();
    absorb_acks();
    bool can_pause = !worker_id_.empty() && !session_.registering();
    drain_.begin(can_pause);
    session_.begin_stop();
    send(supervisor_, msg::status_atom::value, msg::worker_state::stopping);
    spdlog::info("worker {}: stopping: {}; waiting up to {} ms for {} run(s)", spec_->name,
                 can_pause ? "pausing on the engine so that no new run comes"
                           : "not registered, nothing to pause",
                 spec_->options.drain_timeout.count(), pool_.running() + pool_.waiting());
    if (can_pause)
      // Weakly: the call may outlive a forced stop, and must not keep this actor, or its actor
      // system, alive.
      link_->set_paused(worker_id_, true, [addr = address()](int status, std::string error) {
        if (auto self = caf::actor_cast<caf::actor>(addr))
          caf::anon_send(self, msg::pause_atom::value, status, std::move(error));
      });
    delayed_send(this, spec_->options.drain_timeout, msg::deadline_atom::value,
                 msg::stop_timer::drain);
    advance_stop();
  }

  void on_paused(int http_status, const std::string& error) {
    drain_.pause_answered(error.empty());
    if (error.empty())
      spdlog::info("worker {}: paused on the engine (HTTP {}): no new runs will be assigned",
                   spec_->name, http_status);
    else
      spdlog::warn("worker {}: could not pause on the engine ({}); runs it still assigns until "
                   "the stream closes are run within drain_timeout",
                   spec_->name, error);
    advance_stop();
  }

  /// A second stop request: no more waiting for runs.
  void force_stop() {
    if (!drain_.stopping())
      begin_stop();
    auto left = pool_.running() + pool_.waiting();
    if (!drain_.force(0))
      return;
    spdlog::warn("worker {}: forced stop: cancelling {} run(s) now", spec_->name, left);
    cancel_stragglers();
    fail_stragglers("a second stop signal cut the drain short");
  }

  void on_stop_timer(msg::stop_timer timer) {
    switch (timer) {
      case msg::stop_timer::drain: {
        bool runs_left = !pool_.idle();
        if (drain_.on_drain_deadline(runs_left)) {
          spdlog::warn("worker {}: {} run(s) still going after drain_timeout ({} ms); cancelling "
                       "them, {} ms grace; runs that have not started are handed back",
                       spec_->name, pool_.running() + pool_.waiting(),
                       spec_->options.drain_timeout.count(), spec_->options.cancel_grace.count());
          dispatch_waiting(); // hands them back: they have not started
          cancel_stragglers();
          delayed_send(this, spec_->options.cancel_grace, msg::deadline_atom::value,
                       msg::stop_timer::grace);
        } else if (drain_.pause() == drain::pause_state::pending) {
          spdlog::warn("worker {}: the pause call has not answered within drain_timeout; closing "
                       "the stream without it",
                       spec_->name);
        }
        return advance_stop();
      }
      case msg::stop_timer::grace:
        fail_stragglers("drain_timeout and cancel_grace passed");
        return;
      case msg::stop_timer::flush:
        absorb_acks();
        if (outbox_.empty() || drain_.current() != drain::phase::flushing)
          return;
        spdlog::error("worker {}: {} event(s) not acknowledged within flush_timeout ({} ms); "
                      "dropping them",
                      spec_->name, outbox_.size(), spec_->options.flush_timeout.count());
        for (auto seq : outbox_.all()) {
          if (auto* e = outbox_.find(seq))
            spdlog::error("worker {}:   dropped event {} for run {}", spec_->name,
                          static_cast<int>(e->event.type), e->event.run->key);
          outbox_.ack(seq);
        }
        note_outbox();
        return advance_stop();
    }
  }

  void cancel_stragglers() {
    for (auto& [key, slot] : pool_.cancel_all_for_stop())
      send(slot, msg::cancel_atom::value, key);
  }

  /// Reports every run still here FAILED, so that none stays RUNNING on the engine; their task
  /// actors are stopped with the rest, their late results are dropped.
  void fail_stragglers(const std::string& why) {
    auto text = "hatchet::worker_shutdown: the worker shut down before this run finished (" + why
                + "); the engine may retry it";
    auto refs = pool_.abandon_all([](const msg::assignment& j) { return j.action.ids; });
    drain_.on_grace_deadline(refs.size());
    for (auto& r : refs) {
      spdlog::warn("worker {}: run {} abandoned at shutdown; reported FAILED", spec_->name,
                   r->key);
      emit(r, wire::step_event_type::failed, text, false);
    }
    advance_stop();
  }

  /// Performs the drain's next steps until it has to wait for something.
  void advance_stop() {
    if (drain_.stopping())
      absorb_acks();
    for (;;) {
      switch (drain_.next_step(!pool_.idle(), outbox_.empty(), !worker_id_.empty())) {
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
          link_->unsubscribe(worker_id_, post(msg::unsub_atom::value));
          return;
        case drain::step::stop_tasks:
          return stop_tasks();
      }
    }
  }

  void on_unsubscribed(const wire::rpc_status& st) {
    session_.unsubscribed();
    if (st.ok())
      spdlog::info("worker {}: unsubscribed", spec_->name);
    else
      spdlog::warn("worker {}: Unsubscribe failed ({}); the engine will notice the closed stream",
                   spec_->name, st.describe());
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
  void finish() {
    if (drain_.forced())
      return quit(make_error(errc::forced_stop, std::to_string(drain_.abandoned())
                                                  + " run(s) reported FAILED after a second stop "
                                                    "request"));
    if (drain_.timed_out())
      return quit(make_error(errc::drain_timed_out,
                             std::to_string(drain_.abandoned()) + " run(s) did not finish within "
                               + std::to_string(spec_->options.drain_timeout.count())
                               + " ms + cancel_grace and were reported FAILED"));
    quit();
  }

  worker_spec_ptr spec_;
  lifespan_state_ptr state_;
  caf::actor supervisor_;
  std::shared_ptr<worker_metrics> metrics_; ///< counted here, served by the health server
  link_factory make_link_;
  std::shared_ptr<rpc::engine_link> link_;
  /// What the runs of the current registration use to reach the engine (made at registration).
  std::shared_ptr<const worker_services> services_;
  /// Where the engine's answers to step events go (made at the first event; holds this actor).
  std::shared_ptr<const rpc::event_acks> event_acks_;
  /// Successful answers to events, waiting to be struck off the outbox (see ack_box.hpp).
  std::shared_ptr<ack_box> ack_box_ = std::make_shared<ack_box>();
  std::vector<uint64_t> absorbed_;
  std::shared_ptr<executor> exec_;
  std::shared_ptr<rpc::listen_stream> listen_;
  caf::response_promise start_rp_;

  engine_session session_;
  drain drain_;
  pool_t pool_;
  outbox outbox_;
  std::set<caf::actor_addr> all_tasks_;

  std::string worker_id_;
  uint64_t stream_gen_ = 0;    ///< the current stream; older streams' messages are stale
  uint64_t reconnect_gen_ = 0; ///< the current reconnect timer
  int version_attempts_ = 0;
  int put_attempts_ = 0;
  int register_attempts_ = 0;
  size_t workflows_put_ = 0;
  bool heartbeat_armed_ = false;
  bool one_shot_pending_ = false; ///< an extra heartbeat is scheduled
  std::chrono::steady_clock::time_point next_periodic_beat_{};
  bool attached_ = false; ///< what the supervisor was last told
};

} // namespace

caf::actor spawn_dispatcher(caf::local_actor* parent, worker_spec_ptr spec,
                            lifespan_state_ptr state, std::shared_ptr<worker_metrics> metrics,
                            link_factory make_link) {
  return parent->spawn<dispatcher_actor, caf::monitored>(
    std::move(spec), std::move(state), caf::actor_cast<caf::actor>(parent), std::move(metrics),
    std::move(make_link));
}

} // namespace hatchet::detail
