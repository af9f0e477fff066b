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
engine_session::decide_heartbeat(const wire::rpc_status& st, bool stream_open, clock::time_point now) {
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

engine_session::stream_verdict engine_session::decide_stream_end(const wire::rpc_status& st,
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

engine_session::heartbeat_verdict
engine_session::on_heartbeat(const wire::rpc_status& st, bool stream_open, clock::time_point now) {
  auto v = decide_heartbeat(st, stream_open, now);
  explain(v, st);
  return v;
}

engine_session::stream_verdict engine_session::on_stream_end(const wire::rpc_status& st,
                                                             clock::time_point now) {
  auto v = decide_stream_end(st, now);
  explain(v, st);
  return v;
}

void engine_session::explain(const heartbeat_verdict& v, const wire::rpc_status& st) const {
  if (log_ == nullptr)
    return;
  switch (v.what) {
    case heartbeat_verdict::nothing:
      if (!st.ok() && !closed_for_stop())
        log_->warn("heartbeat failed: {}", st.describe());
      return;
    case heartbeat_verdict::attach:
      return;
    case heartbeat_verdict::stop_heartbeats:
      log_->warn("the engine does not implement Dispatcher/Heartbeat ({}, {} times in a row); no "
                 "more heartbeats will be sent",
                 st.describe(), unimplemented_to_believe);
      return;
    case heartbeat_verdict::ask_again:
      log_->warn("heartbeat refused ({}); the stream stays open, asking again in {} ms",
                 st.describe(), v.delay.count());
      return;
    case heartbeat_verdict::renew_stream:
      log_->warn("heartbeats refused for {} s on an open stream ({}); renewing the stream",
                 renew_after_refusals.count(), st.describe());
      return;
    case heartbeat_verdict::register_again:
      log_->warn("heartbeat failed: {}; registering again", st.describe());
      return;
  }
}

void engine_session::explain(const stream_verdict& v, const wire::rpc_status& st) const {
  if (log_ == nullptr)
    return;
  auto ms = v.delay.count();
  switch (v.what) {
    case stream_verdict::finish_stop:
      if (st.code == wire::status::not_found || st.code == wire::status::failed_precondition)
        log_->warn("the engine no longer knows worker {} ({}) while stopping; not registering "
                   "again",
                   worker_id_, st.describe());
      return;
    case stream_verdict::wait_register:
      return;
    case stream_verdict::use_legacy:
      log_->warn("the engine does not implement Dispatcher/ListenV2 (an old engine); using the "
                 "legacy Dispatcher/Listen");
      return;
    case stream_verdict::register_again:
      log_->warn("the engine no longer knows worker {} ({}); registering again", worker_id_,
                 st.describe());
      return;
    case stream_verdict::reconnect:
      break;
  }
  if (st.code == wire::status::unimplemented)
    // Neither listen: perhaps a proxy in front of the engine answering 404 for a while (gRPC
    // maps that to UNIMPLEMENTED).
    log_->error("the engine at {} answers neither Dispatcher/ListenV2 nor Dispatcher/Listen ({}); "
                "this worker gets no work until it does; trying again in {} ms",
                host_port_, st.describe(), ms);
  else if (st.over_size_limit() && st.message.find("Sent message") != std::string::npos)
    log_->error("the listen stream broke on a message the engine could not send under its own "
                "size limit ({}); raising this worker's limits does not help: the engine's "
                "(SERVER_GRPC_MAX_MSG_SIZE on a real engine) must be raised, or the run's input "
                "made smaller; reconnecting in {} ms",
                st.describe(), ms);
  else if (st.code == wire::status::resource_exhausted)
    log_->error("the listen stream broke on a message larger than this worker accepts ({}); "
                "raise HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH (now {} bytes; the connection "
                "takes up to 4 times that); reconnecting in {} ms",
                st.describe(), max_recv_bytes_, ms);
  else
    log_->warn("listen stream ended ({}); reconnecting in {} ms", st.describe(), ms);
}

const char* engine_session::call_name(call c) noexcept {
  switch (c) {
    case call::get_version: return "GetVersion";
    case call::put_workflow: return "PutWorkflow";
    case call::register_worker: return "Register";
  }
  return "?";
}

engine_session::ms engine_session::next_reconnect_delay() {
  return jittered_backoff(reconnect_attempts_++, 100ms, 5000ms);
}

engine_session::retry_verdict engine_session::on_call_failed(call c, const wire::rpc_status& st,
                                                             bool first_start, bool fatal) {
  auto& attempts = attempts_[static_cast<int>(c)];
  retry_verdict v{retry_verdict::fail, 0ms, attempts + 1};
  if (!first_start) { // registering again: keep trying for as long as the worker runs
    v = {retry_verdict::retry, jittered_backoff(attempts++, 200ms, 5000ms), attempts};
    if (log_ != nullptr)
      log_->warn("{} failed while registering again ({}); retrying in {} ms", call_name(c),
                 st.describe(), v.delay.count());
  } else if (!fatal && outbox::retryable(st.code) && ++attempts < max_startup_attempts) {
    v = {retry_verdict::retry, jittered_backoff(attempts, 200ms, 5000ms), attempts};
    if (log_ != nullptr)
      log_->warn("{} to the engine at {} failed ({}), attempt {} of {}; retrying in {} ms",
                 call_name(c), host_port_, st.describe(), attempts, max_startup_attempts,
                 v.delay.count());
  }
  return v;
}

bool engine_session::extra_beat_fired(clock::time_point now) {
  extra_beat_pending_ = false;
  return next_periodic_beat_ - now > 100ms;
}

std::optional<bool> engine_session::attachment_change() {
  bool now = attached();
  if (now == reported_attached_)
    return std::nullopt;
  reported_attached_ = now;
  return now;
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
