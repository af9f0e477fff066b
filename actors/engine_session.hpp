#pragma once
// The worker's session with the engine, as one explicit phase, and the decisions that move it:
// what a heartbeat answer and a stream's end mean, and when to register again.
//
// The dispatcher actor used to carry this as a dozen booleans spread over its handlers. Here it
// is plain C++ (no actors, no gRPC; the time is passed in), so each rule has a unit test. The
// actor performs what a verdict says: it owns the calls, the timers and the stream.

#include <chrono>
#include <cstdint>

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
  /// Heartbeats refused this long on a stream we hold open: renew it after all (a real engine
  /// reassigns a worker's runs after 30 s without an accepted heartbeat).
  static constexpr std::chrono::seconds renew_after_refusals{20};

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

private:
  phase phase_ = phase::starting;
  bool stopping_ = false;
  bool legacy_listen_ = false;
  bool heartbeats_unsupported_ = false;
  int heartbeat_unimplemented_ = 0;
  int reconnect_attempts_ = 0;
  int heartbeat_refusals_ = 0;
  clock::time_point stream_opened_{};
  clock::time_point refused_since_{};
};

const char* to_string(engine_session::phase p) noexcept;

} // namespace hatchet::detail
