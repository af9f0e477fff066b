#include "actors/engine_session.hpp"

#include "actors/outbox.hpp"

namespace hatchet::detail {

using namespace std::chrono_literals;

void engine_session::stream_opened(clock::time_point now) {
  stream_opened_ = now;
  heartbeat_refusals_ = 0;
  // Without heartbeats, nothing will confirm the stream: an open stream is all we know.
  phase_ = heartbeats_unsupported_ ? phase::attached : phase::connecting;
}

engine_session::heartbeat_verdict
engine_session::on_heartbeat(const wire::rpc_status& st, bool stream_open, clock::time_point now) {
  if (closed_for_stop())
    return {}; // the engine rightly refuses a worker whose stream we closed
  if (st.code == wire::status::unimplemented) {
    // As the official SDKs: an engine without Heartbeat tracks liveness by the stream alone.
    // Believed only when said several times in a row: a proxy's 404 for a moment looks the same.
    if (++heartbeat_unimplemented_ >= unimplemented_to_believe) {
      bool first = !heartbeats_unsupported_;
      heartbeats_unsupported_ = true;
      if (stream_open && phase_ == phase::connecting)
        phase_ = phase::attached;
      return first ? heartbeat_verdict{heartbeat_verdict::stop_heartbeats} : heartbeat_verdict{};
    }
    return {}; // not believed yet: the periodic heartbeat asks again
  } else {
    heartbeat_unimplemented_ = 0;
  }
  if (st.ok()) {
    heartbeat_refusals_ = 0;
    if (stream_open && (phase_ == phase::connecting || phase_ == phase::attached)) {
      reconnect_attempts_ = 0; // the engine accepted this stream: the next cut starts low
      phase_ = phase::attached;
      return {heartbeat_verdict::attach};
    }
    return {};
  }
  if (phase_ == phase::registering)
    return {};
  if (phase_ == phase::attached)
    phase_ = stream_open ? phase::connecting : phase::detached;
  if (st.code == wire::status::not_found && !stopping_)
    return {heartbeat_verdict::register_again};
  if (!stream_open)
    return {}; // the stream's end brings the reconnect
  // The stream is open, yet the engine says it is not (FAILED_PRECONDITION), or the call failed
  // on the way. A real engine marks a new stream active only once its database has it, which
  // can take longer than our first heartbeat: tearing the stream down would start the same race
  // again. Ask again with a backoff; only a stream error ends a stream, unless the refusals last
  // so long that the engine would reassign our runs.
  if (heartbeat_refusals_++ == 0)
    refused_since_ = now;
  if (now - refused_since_ > renew_after_refusals) {
    heartbeat_refusals_ = 0;
    return {heartbeat_verdict::renew_stream};
  }
  return {heartbeat_verdict::ask_again, jittered_backoff(heartbeat_refusals_ - 1, 200ms, 2000ms)};
}

engine_session::stream_verdict engine_session::on_stream_end(const wire::rpc_status& st,
                                                             clock::time_point now) {
  if (closed_for_stop())
    return {stream_verdict::finish_stop};
  if (stopping_ && (st.code == wire::status::not_found
                    || st.code == wire::status::failed_precondition)) {
    // Forgotten while stopping: registering again would only bring new work.
    phase_ = phase::closing;
    return {stream_verdict::finish_stop};
  }
  // A stream that lived a while was healthy: start the backoff again from the bottom.
  if (now - stream_opened_ > 5s)
    reconnect_attempts_ = 0;
  if (phase_ == phase::registering)
    return {stream_verdict::wait_register};
  phase_ = phase::detached;
  if (st.code == wire::status::unimplemented) {
    if (!legacy_listen_) {
      legacy_listen_ = true;
      return {stream_verdict::use_legacy};
    }
    // Neither listen: perhaps a proxy answering 404 for a while. Try ListenV2 again later.
    legacy_listen_ = false;
    return {stream_verdict::reconnect, next_reconnect_delay()};
  }
  if (!stopping_ && (st.code == wire::status::not_found
                     || st.code == wire::status::failed_precondition))
    return {stream_verdict::register_again};
  return {stream_verdict::reconnect, next_reconnect_delay()};
}

engine_session::ms engine_session::next_reconnect_delay() {
  return jittered_backoff(reconnect_attempts_++, 100ms, 5000ms);
}

const char* to_string(engine_session::phase p) noexcept {
  switch (p) {
    case engine_session::phase::starting: return "starting";
    case engine_session::phase::registering: return "registering";
    case engine_session::phase::connecting: return "connecting";
    case engine_session::phase::attached: return "attached";
    case engine_session::phase::detached: return "detached";
    case engine_session::phase::closing: return "closing";
    case engine_session::phase::unsubscribing: return "unsubscribing";
    case engine_session::phase::closed: return "closed";
  }
  return "?";
}

} // namespace hatchet::detail
