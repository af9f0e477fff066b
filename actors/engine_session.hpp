#pragma once
// The worker's session with the engine, as one explicit phase, and the decisions that move it:
// what a heartbeat answer and a stream's end mean, and when to register again.
//
// The dispatcher actor used to carry this as a dozen booleans spread over its handlers. Here it
// is plain C++ (no actors, no gRPC; the time is passed in), so each rule has a unit test. The
// actor performs what a verdict says: it owns the calls, the timers and the stream.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "actors/worker_log.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::detail {

class engine_session {
public:
  using clock = std::chrono::steady_clock;
  using ms = std::chrono::milliseconds;

  enum class phase {
    starting,      ///< GetVersion and PutWorkflow, before the first Register
    registering,   ///< Register sent: first time, or again after the engine forgot this worker
    connecting,    ///< registered, a stream is open, no heartbeat accepted on it yet
    attached,      ///< stream open and a heartbeat accepted on it: the engine may assign work
    detached,      ///< the stream is down; a reconnect is pending
    closing,       ///< the stop closed the stream on purpose: no reconnect
    unsubscribing, ///< Unsubscribe sent
    closed,        ///< Unsubscribe answered
  };

  /// What to do about a heartbeat's answer.
  struct heartbeat_verdict {
    enum kind {
      nothing,            ///< nothing changes
      attach,             ///< the engine accepts this stream: the worker is ready
      ask_again,          ///< refused on an open stream: heartbeat again after `delay`
      renew_stream,       ///< refused so long that the engine will reassign: new stream
      register_again,     ///< the engine forgot this worker (NOT_FOUND)
      stop_heartbeats,    ///< the engine has no Heartbeat (UNIMPLEMENTED, believed)
    } what = nothing;
    ms delay{0};
  };

  /// What to do about the end of the current stream.
  struct stream_verdict {
    enum kind {
      finish_stop,    ///< the stop closed it, or the engine forgot us while stopping
      wait_register,  ///< a registration is under way; it opens the next stream
      use_legacy,     ///< ListenV2 is UNIMPLEMENTED: open the legacy Listen now
      register_again, ///< the engine forgot this worker: put workflows, register anew
      reconnect,      ///< open a new stream after `delay`
    } what = reconnect;
    ms delay{0};
  };

  /// Heartbeat answered UNIMPLEMENTED this many times in a row: the engine has none.
  static constexpr int unimplemented_to_believe = 3;
  /// Heartbeats refused this long on a stream we hold open: renew it after all, on a new
  /// connection. The first refusal comes at most a heartbeat after the last accepted beat, so
  /// the renewal lands 15 to 21 s after it: before the worker fences itself (fence_after, 25 s
  /// by default) and before a real engine reassigns its runs (30 s).
  static constexpr std::chrono::seconds renew_after_refusals{15};

  /// From now on each verdict is also written to `log`, with the engine's address and this
  /// worker's receive limit where they are the advice (the unit tests leave it off).
  void explain_with(const worker_log* log, std::string host_port, int64_t max_recv_bytes) {
    log_ = log;
    host_port_ = std::move(host_port);
    max_recv_bytes_ = max_recv_bytes;
  }

  phase current() const noexcept { return phase_; }
  bool registering() const noexcept { return phase_ == phase::registering; }
  bool attached() const noexcept { return phase_ == phase::attached; }
  bool stopping() const noexcept { return stopping_; }
  bool closed_for_stop() const noexcept {
    return phase_ == phase::closing || phase_ == phase::unsubscribing || phase_ == phase::closed;
  }
  bool legacy_listen() const noexcept { return legacy_listen_; }
  bool heartbeats_unsupported() const noexcept { return heartbeats_unsupported_; }

  /// Register is sent (the first time, or again). Never reopens a session the stop closed.
  void registering_now() {
    if (!closed_for_stop())
      phase_ = phase::registering;
  }
  /// Register answered OK.
  void registered() {
    if (!closed_for_stop())
      phase_ = phase::detached;
  }
  /// A stream was opened.
  void stream_opened(clock::time_point now);
  /// The stop begins: no registering again from now on.
  void begin_stop() { stopping_ = true; }
  /// The stop closes the stream on purpose.
  void close_for_stop() { phase_ = phase::closing; }
  void unsubscribing_now() { phase_ = phase::unsubscribing; }
  void unsubscribed() { phase_ = phase::closed; }

  /// A heartbeat sent on the current stream was answered `st`; `stream_open` says whether the
  /// actor holds that stream open still.
  heartbeat_verdict on_heartbeat(const wire::rpc_status& st, bool stream_open,
                                 clock::time_point now);

  /// The current stream ended with `st`.
  stream_verdict on_stream_end(const wire::rpc_status& st, clock::time_point now);

  /// Backoff for the next reconnect (jittered, 100 ms doubling to 5 s).
  ms next_reconnect_delay();

  // -- start-up calls, and registering again ----------------------------------------------------

  enum class call { get_version, put_workflow, register_worker };

  /// What to do after a GetVersion, PutWorkflow or Register failed.
  struct retry_verdict {
    enum kind {
      retry, ///< call again after `delay`
      fail,  ///< the start fails (a fatal status, or max_startup_attempts used up)
    } what = fail;
    ms delay{0};
    int attempt = 0; ///< this call's failures in a row, this one included
  };

  /// Start-up calls give up after this many failed attempts in a row (about 30 s of backoff).
  static constexpr int max_startup_attempts = 10;

  /// `first_start`: the worker has not registered yet, so a failure that persists ends the start;
  /// after that (the engine forgot this worker) the calls are retried for as long as the worker
  /// runs, detached meanwhile. `fatal`: no retry can fix it (a TLS or token mismatch).
  retry_verdict on_call_failed(call c, const wire::rpc_status& st, bool first_start, bool fatal);
  /// The name of a start-up call, as the log says it ("GetVersion", ...).
  static const char* call_name(call c) noexcept;
  /// The call succeeded: its next failure starts the backoff from the bottom.
  void on_call_ok(call c) { attempts_[static_cast<int>(c)] = 0; }

  /// PutWorkflow goes out for `count` workflows; Register follows once all are answered OK.
  void begin_put_workflows(size_t count) { workflows_left_ = count; }
  /// One PutWorkflow answered OK: true when it was the last one.
  bool workflow_put() { return workflows_left_ > 0 && --workflows_left_ == 0; }

  /// The id the engine gave this worker at its latest Register (empty before).
  const std::string& worker_id() const noexcept { return worker_id_; }
  void set_worker_id(std::string id) { worker_id_ = std::move(id); }

  // -- streams and heartbeats: which messages are current ---------------------------------------

  /// A new stream: messages about older ones are stale from now on.
  uint64_t next_stream() { return ++stream_gen_; }
  uint64_t current_stream() const noexcept { return stream_gen_; }
  /// A new reconnect timer: older timers are stale from now on.
  uint64_t next_reconnect() { return ++reconnect_gen_; }
  bool is_current_reconnect(uint64_t gen) const noexcept { return gen == reconnect_gen_; }

  /// The periodic heartbeat starts at the first registration only: true that first time.
  bool arm_heartbeats() { return !std::exchange(heartbeats_armed_, true); }
  bool heartbeats_armed() const noexcept { return heartbeats_armed_; }
  /// An extra heartbeat is wanted: true when none is pending already (so refusals do not start
  /// parallel chains of retries).
  bool claim_extra_beat() { return !std::exchange(extra_beat_pending_, true); }
  /// The extra heartbeat's timer fired: true when it should go out, i.e. the periodic beat is not
  /// due within 100 ms anyway.
  bool extra_beat_fired(clock::time_point now);
  /// The periodic heartbeat went out; the next is due at `next`.
  void periodic_beat_sent(clock::time_point next) { next_periodic_beat_ = next; }

  /// Whether the worker can take work changed since it was last reported: the new value, once.
  std::optional<bool> attachment_change();

private:
  heartbeat_verdict decide_heartbeat(const wire::rpc_status& st, bool stream_open,
                                     clock::time_point now);
  stream_verdict decide_stream_end(const wire::rpc_status& st, clock::time_point now);
  void explain(const stream_verdict& v, const wire::rpc_status& st) const;
  void explain(const heartbeat_verdict& v, const wire::rpc_status& st) const;

  const worker_log* log_ = nullptr;
  std::string host_port_;
  int64_t max_recv_bytes_ = 0;
  phase phase_ = phase::starting;
  bool stopping_ = false;
  bool legacy_listen_ = false;
  bool heartbeats_unsupported_ = false;
  int heartbeat_unimplemented_ = 0;
  int reconnect_attempts_ = 0;
  int heartbeat_refusals_ = 0;
  clock::time_point stream_opened_{};
  clock::time_point refused_since_{};
  int attempts_[3] = {0, 0, 0};
  size_t workflows_left_ = 0;
  std::string worker_id_;
  uint64_t stream_gen_ = 0;
  uint64_t reconnect_gen_ = 0;
  bool heartbeats_armed_ = false;
  bool extra_beat_pending_ = false;
  clock::time_point next_periodic_beat_{};
  bool reported_attached_ = false;
};

const char* to_string(engine_session::phase p) noexcept;

} // namespace hatchet::detail
