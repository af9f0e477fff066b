#include "actors/event_delivery.hpp"

#include <algorithm>

namespace hatchet::detail {

event_delivery::event_delivery(const worker_log& log, int64_t max_send_bytes,
                               std::shared_ptr<worker_metrics> metrics)
  : log_(log), max_send_bytes_(max_send_bytes), metrics_(std::move(metrics)) {
}

std::string event_delivery::truncated(std::string text, size_t limit) {
  if (text.size() <= limit)
    return text;
  auto note = "\n[truncated: the error text had " + std::to_string(text.size()) + " bytes]";
  size_t keep = limit > note.size() ? limit - note.size() : 0;
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80)
    --keep; // text[keep] continues a character: cut before that character starts
  text.resize(keep);
  return text + note;
}

size_t event_delivery::max_payload() const noexcept {
  auto limit = static_cast<size_t>(max_send_bytes_);
  return limit > 2 * event_overhead_bytes ? limit - event_overhead_bytes : limit / 2;
}

void event_delivery::fit_to_limit(const wire::run_ref& r, wire::step_event_type& type,
                                  std::string& payload, bool& should_not_retry) const {
  auto limit = max_payload();
  if (payload.size() <= limit)
    return;
  if (type == wire::step_event_type::completed) {
    log_.error("run {} ({}) returned a {}-byte output, over what this worker can send ({} bytes); "
               "failing it",
               r->key, r->action_id, payload.size(), limit);
    payload = "hatchet::output_too_large: the task's output has " + std::to_string(payload.size())
              + " bytes, over the " + std::to_string(limit)
              + " bytes an event may carry under this worker's send limit of "
              + std::to_string(max_send_bytes_)
              + " bytes (HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH); the engine's own receive "
                "limit (4 MiB by default) applies too. Return less, or store the data elsewhere "
                "and return a reference.";
    type = wire::step_event_type::failed;
    should_not_retry = true;
    return;
  }
  payload = truncated(std::move(payload), std::min(limit, truncated_error_bytes));
}

void event_delivery::emit(wire::run_ref r, wire::step_event_type type, std::string payload,
                          bool should_not_retry, int64_t timestamp_ns,
                          const std::string& worker_id) {
  fit_to_limit(r, type, payload, should_not_retry);
  if (metrics_ && type == wire::step_event_type::completed)
    worker_metrics::add(metrics_->runs_completed);
  else if (metrics_ && type == wire::step_event_type::failed)
    worker_metrics::add(metrics_->runs_failed);
  wire::step_event ev;
  ev.run = std::move(r);
  ev.timestamp_ns = timestamp_ns;
  ev.type = type;
  ev.payload = std::move(payload);
  ev.should_not_retry = should_not_retry;
  auto seq = outbox_.add(std::move(ev));
  note_depth();
  send(seq, worker_id);
}

void event_delivery::send(uint64_t seq, const std::string& worker_id) {
  auto* e = outbox_.find(seq);
  if (e == nullptr || !link_)
    return;
  e->in_flight = true;
  link_->send_event(e->event, worker_id, seq, answers_);
}

event_delivery::verdict event_delivery::on_answer(uint64_t seq, const wire::rpc_status& st,
                                                  const std::string& worker_id) {
  auto settle = [&] {
    outbox_.ack(seq);
    note_depth();
    return verdict{};
  };
  if (st.ok())
    return settle();
  auto* e = outbox_.find(seq);
  if (e == nullptr)
    return {};
  e->in_flight = false;
  auto& ev = e->event;
  if (st.over_size_limit()) {
    // Refused for its size (the engine's receive limit may be below this worker's send limit):
    // sending it again changes nothing. The run ends FAILED with a short, clear text instead.
    if (ev.payload.size() <= 1024) {
      log_.error("the engine refused a {}-byte event for run {} as too large ({}); dropped",
                 ev.payload.size(), ev.run->key, st.describe());
      return settle();
    }
    log_.error("the engine refused a {}-byte event for run {} as too large ({}); reporting the "
               "run FAILED instead",
               ev.payload.size(), ev.run->key, st.describe());
    if (ev.type == wire::step_event_type::failed) {
      ev.payload = truncated(std::move(ev.payload), 1024);
    } else {
      ev.payload = "hatchet::output_too_large: the engine refused the task's result ("
                   + std::to_string(ev.payload.size()) + " bytes) as too large: " + st.describe();
      ev.type = wire::step_event_type::failed;
      ev.should_not_retry = true;
    }
    send(seq, worker_id);
    return {};
  }
  if (!outbox::retryable(st.code)) {
    log_.error("the engine refused event {} for run {}: {}; dropped", static_cast<int>(ev.type),
               ev.run->key, st.describe());
    return settle();
  }
  auto delay = outbox_.backoff(seq);
  auto cause = st.describe();
  if (auto held = failure_lines_.admit(cause, now_()); held && *held == 0) {
    log_.warn("sending event for run {} failed ({}); retrying in {} ms (more failures like this "
              "are logged once per {} s, counted)",
              ev.run->key, cause, delay.count(), failure_log_interval.count());
  } else if (held) {
    log_.warn("sending events failed {} more time(s) since the last such line ({}); still "
              "retrying each, run {} next in {} ms",
              *held + 1, cause, ev.run->key, delay.count());
  }
  return {verdict::retry_later, delay, static_cast<uint64_t>(e->attempts)};
}

void event_delivery::retry(uint64_t seq, uint64_t attempt, const std::string& worker_id) {
  const auto* e = outbox_.find(seq);
  if (e != nullptr && !e->in_flight && static_cast<uint64_t>(e->attempts) == attempt)
    send(seq, worker_id);
}

void event_delivery::send_waiting(const std::string& worker_id) {
  absorb_acks();
  for (auto seq : outbox_.waiting())
    send(seq, worker_id);
}

void event_delivery::absorb_acks() {
  acks_->take(absorbed_);
  if (absorbed_.empty())
    return;
  for (auto seq : absorbed_)
    outbox_.ack(seq);
  note_depth();
  // Once nothing waits any more (not at the first success, or intermittent failures would be
  // told afresh each time), what was held back is told.
  if (failure_lines_.any() && outbox_.empty()) {
    for (const auto& [cause, held] : failure_lines_.take_held())
      log_.info("events reach the engine again; {} failed send(s) were not logged ({})", held,
                cause);
  }
}

size_t event_delivery::drop_all(std::chrono::milliseconds flush_timeout) {
  absorb_acks();
  if (outbox_.empty())
    return 0;
  auto seqs = outbox_.all();
  log_.error("{} event(s) not acknowledged within flush_timeout ({} ms); dropping them",
             seqs.size(), flush_timeout.count());
  for (auto seq : seqs) {
    if (auto* e = outbox_.find(seq))
      log_.error("  dropped event {} for run {}", static_cast<int>(e->event.type),
                 e->event.run->key);
    outbox_.ack(seq);
  }
  note_depth();
  return seqs.size();
}

void event_delivery::note_depth() const {
  if (metrics_)
    metrics_->outbox_depth.store(static_cast<int64_t>(outbox_.size()), std::memory_order_relaxed);
}

} // namespace hatchet::detail
