#pragma once
// gRPC-side definition of rpc::channel; included only by client/*.cpp.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/grpcpp.h>

#include "client/channel.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

/// Counts the asynchronous calls on a channel whose ClientContext still exists.
class call_counter {
public:
  void enter() {
    std::lock_guard lock{mtx_};
    ++n_;
  }
  void leave() {
    std::lock_guard lock{mtx_};
    if (--n_ == 0)
      cv_.notify_all();
  }
  bool idle() const {
    std::lock_guard lock{mtx_};
    return n_ == 0;
  }
  bool wait_idle(std::chrono::milliseconds patience) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, patience, [this] { return n_ == 0; });
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  int n_ = 0;
};

/// Held by an asynchronous call's storage, declared before its ClientContext so that it is
/// released after it.
class call_ticket {
public:
  explicit call_ticket(std::shared_ptr<call_counter> c) : c_(std::move(c)) { c_->enter(); }
  call_ticket(const call_ticket&) = delete;
  call_ticket& operator=(const call_ticket&) = delete;
  ~call_ticket() { c_->leave(); }

private:
  std::shared_ptr<call_counter> c_;
};

/// Every ClientContext holds its grpc::Channel, so without care the last asynchronous call to
/// end would destroy the channel inside its own completion callback, on a gRPC thread, which
/// gRPC does not survive (a double unref of the channel's completion queue). So: asynchronous
/// calls hold a call_ticket, and when this object goes while some are still in flight, the
/// grpc::Channel is handed to a short-lived thread that releases it after the last one.
class channel {
public:
  channel() = default;
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  ~channel();

  call_ticket ticket() const { return call_ticket{calls}; }

  std::shared_ptr<grpc::Channel> grpc;
  std::shared_ptr<call_counter> calls = std::make_shared<call_counter>();
  std::string bearer; ///< "Bearer <token>"
  std::string namespace_;

  /// Adds the auth metadata and a deadline to a call's context.
  void prepare(grpc::ClientContext& ctx, std::chrono::milliseconds deadline) const {
    ctx.AddMetadata("authorization", bearer);
    if (deadline.count() > 0)
      ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  }
};

/// One asynchronous unary call's storage, kept alive (shared by its callback) until the callback
/// has run. The ticket comes first, so it is released after the context.
template <class Req, class Resp>
struct unary_call {
  explicit unary_call(const channel& ch) : ticket(ch.ticket()) {}
  call_ticket ticket;
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};

/// Sets a protobuf Timestamp to `ns` nanoseconds since the epoch.
inline void set_timestamp(google::protobuf::Timestamp* ts, int64_t ns) {
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

inline wire::rpc_status to_wire(const grpc::Status& st) {
  return wire::rpc_status{static_cast<int>(st.error_code()), st.error_message(), {}};
}

} // namespace hatchet::rpc
