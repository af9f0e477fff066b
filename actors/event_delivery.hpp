#pragma once
// Getting every STARTED, COMPLETED and FAILED to the engine, and deciding what each answer means.
//
// An event stays in the outbox until the engine answers OK or refuses it for good; a transient
// failure is retried with jittered backoff; after a reconnect everything waiting goes out at
// once; at a stop, what flush_timeout leaves is dropped, each one logged. An event too large for
// this worker's send limit cannot be retried into fitting: an output becomes a FAILED run saying
// what to raise, an error text is cut to fit. An event the engine refuses as too large is
// replaced once by a short FAILED. Successful answers wait in the ack box until the dispatcher
// wakes for something else (see ack_box.hpp).
//
// Plain C++ over the engine link: it sends through the link it is wired to, and the dispatcher
// actor passes the answers back and arms the retry timers the verdicts ask for;
// tests/unit/dispatcher_logic_test.cpp walks the rules with a link that records the sends.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/ack_box.hpp"
#include "actors/outbox.hpp"
#include "actors/worker_log.hpp"
#include "client/engine_link.hpp"
#include "health/worker_metrics.hpp"
#include "messages/wire_types.hpp"
#include "util/repeat_limiter.hpp"

namespace hatchet::detail {

class event_delivery {
public:
  /// Room a StepActionEvent needs besides its payload (ids, timestamp, tags), generously.
  static constexpr size_t event_overhead_bytes = 4096;
  /// What is kept of an error text that cannot be sent whole.
  static constexpr size_t truncated_error_bytes = 16 * 1024;

  /// `max_send_bytes`: this worker's gRPC send limit. `metrics` may be null (tests).
  event_delivery(const worker_log& log, int64_t max_send_bytes,
                 std::shared_ptr<worker_metrics> metrics = nullptr);

  /// How often a transient failure of one kind is logged: the first at once, then one line per
  /// interval with the count held back, and a line when events get through again.
  static constexpr std::chrono::seconds failure_log_interval{10};

  /// The clock failure lines are limited by (tests pass their own).
  void use_clock(std::function<util::repeat_limiter::clock::time_point()> now) {
    now_ = std::move(now);
  }

  /// Where events go, and where the engine's answers come back (`acks` holds the dispatcher).
  void wire_to(std::shared_ptr<rpc::engine_link> link, std::shared_ptr<const rpc::event_acks> acks) {
    link_ = std::move(link);
    answers_ = std::move(acks);
  }
  /// Drops the link and the answer callback (the dispatcher's on_exit).
  void unwire() {
    link_.reset();
    answers_.reset();
  }

  /// Queues an event about run `r` (its ids shared, not copied), fitted to the send limit, and
  /// sends it, as from the worker `worker_id` (the current registration's).
  void emit(wire::run_ref r, wire::step_event_type type, std::string payload,
            bool should_not_retry, int64_t timestamp_ns, const std::string& worker_id);

  /// Sends event `seq` now, unless it was acknowledged or dropped meanwhile.
  void send(uint64_t seq, const std::string& worker_id);

  /// What to do after the engine answered an event.
  struct verdict {
    enum kind {
      settled,     ///< acknowledged, dropped for good (logged), or sent again at once
      retry_later, ///< a transient failure: retry(seq, attempt) after `delay`
    } what = settled;
    std::chrono::milliseconds delay{0};
    uint64_t attempt = 0;
  };
  /// An event refused as too large is replaced by a short FAILED and sent again at once.
  verdict on_answer(uint64_t seq, const wire::rpc_status& st, const std::string& worker_id);

  /// A retry timer fired for `seq`'s `attempt`: sends it, unless it was acknowledged, is in
  /// flight again (a reconnect sent it), or failed again since (a later timer is armed).
  void retry(uint64_t seq, uint64_t attempt, const std::string& worker_id);

  /// After a reconnect: every event waiting for its backoff goes out at once.
  void send_waiting(const std::string& worker_id);

  /// Strikes off the events whose success waits in the ack box.
  void absorb_acks();

  /// From the stop on: every success put in the box asks to wake the dispatcher.
  void wake_on_every_ack() { acks_->wake_on_every_put(); }

  /// flush_timeout passed: drops what is left, logging each run's event. Returns the count.
  size_t drop_all(std::chrono::milliseconds flush_timeout);

  bool empty() const noexcept { return outbox_.empty(); }
  size_t size() const noexcept { return outbox_.size(); }

  /// Where gRPC threads put successful answers (shared with the callback that sends them).
  const std::shared_ptr<ack_box>& box() const noexcept { return acks_; }

  /// The largest payload an event may carry under the send limit.
  size_t max_payload() const noexcept;

  /// `text` cut to `limit` bytes at most, saying how long it was, never inside a UTF-8 character
  /// (the engine refuses a protobuf string that is not valid UTF-8).
  static std::string truncated(std::string text, size_t limit);

private:
  void fit_to_limit(const wire::run_ref& r, wire::step_event_type& type, std::string& payload,
                    bool& should_not_retry) const;
  void note_depth() const;

  const worker_log& log_;
  int64_t max_send_bytes_;
  std::shared_ptr<worker_metrics> metrics_;
  outbox outbox_;
  std::shared_ptr<ack_box> acks_ = std::make_shared<ack_box>();
  std::vector<uint64_t> absorbed_;
  std::shared_ptr<rpc::engine_link> link_;
  std::shared_ptr<const rpc::event_acks> answers_;
  util::repeat_limiter failure_lines_{failure_log_interval};
  std::function<util::repeat_limiter::clock::time_point()> now_ = [] {
    return util::repeat_limiter::clock::now();
  };
};

} // namespace hatchet::detail
