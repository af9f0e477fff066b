#pragma once
// The write side of the dev engine's server streams (ListenV2, SubscribeToWorkflowRuns,
// SubscribeToWorkflowEvents), shared by their reactors in dispatcher_service.cpp.

#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace hatchet::engine {

/// The write side of a server stream fed from other threads: a queue, at most one write in
/// flight, and Finish only once no write is in flight. Decisions are made under mu_; the gRPC
/// calls (StartWrite, Finish) are made outside it, so a reactor callback that runs inline can
/// take mu_ again. `Derived` provides StartWrite, Finish and `to_wire(const Item&, Wire&)`.
template <class Derived, class Item, class Wire>
class write_pump {
public:
  /// Queue an item (the model calls this under its lock; it never blocks on the network).
  void push(Item item) {
    std::lock_guard lk{mu_};
    queue_.push_back(std::move(item));
  }

  /// Write whatever is queued, or finish if that was asked for. Never call under the model lock.
  void pump() {
    std::unique_lock lk{mu_};
    if (writing_ || finished_)
      return;
    if (aborting_ || (finish_when_drained_ && queue_.empty())) {
      finished_ = true;
      grpc::Status st = final_status_;
      lk.unlock();
      self().Finish(st);
      return;
    }
    if (queue_.empty())
      return;
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    self().to_wire(*in_flight_, wire_);
    writing_ = true;
    lk.unlock();
    self().StartWrite(&wire_);
  }

  /// Finish after the write in flight (if any); whatever is still queued is left unsent.
  void abort(grpc::Status st) {
    {
      std::lock_guard lk{mu_};
      if (!aborting_) {
        aborting_ = true;
        final_status_ = std::move(st);
      }
    }
    pump();
  }

  /// Finish with OK once everything queued has been written.
  void finish_when_drained() {
    {
      std::lock_guard lk{mu_};
      finish_when_drained_ = true;
    }
    pump();
  }

protected:
  void write_done(bool ok) {
    {
      std::lock_guard lk{mu_};
      writing_ = false;
      if (ok) {
        in_flight_.reset();
      } else if (!aborting_) {
        // the client is gone; in_flight_ stays so it can be reported as undelivered
        aborting_ = true;
        final_status_ = grpc::Status{grpc::StatusCode::CANCELLED, "stream broken"};
      }
    }
    pump();
  }

  /// Everything never written (the failed in-flight item first). Call only after the stream ended.
  std::vector<Item> take_unsent() {
    std::lock_guard lk{mu_};
    std::vector<Item> out;
    if (in_flight_)
      out.push_back(std::move(*in_flight_));
    in_flight_.reset();
    for (auto& item : queue_)
      out.push_back(std::move(item));
    queue_.clear();
    return out;
  }

private:
  Derived& self() { return static_cast<Derived&>(*this); }

  std::mutex mu_;
  std::deque<Item> queue_;
  std::optional<Item> in_flight_;
  Wire wire_;
  bool writing_ = false;
  bool finished_ = false;
  bool aborting_ = false;
  bool finish_when_drained_ = false;
  grpc::Status final_status_;
};

} // namespace hatchet::engine
