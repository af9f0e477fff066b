#pragma once
// Shared by the service translation units: status mapping, the auth check every handler runs,
// the unary-handler wrapper and timestamps. Internal to the engine.

#include <chrono>
#include <exception>
#include <string_view>
#include <utility>

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "engine/auth.hpp"
#include "engine/state.hpp"

namespace hatchet::engine {

inline grpc::Status to_grpc(const status& st) {
  switch (st.code) {
    case status_code::ok:
      return grpc::Status::OK;
    case status_code::invalid_argument:
      return {grpc::StatusCode::INVALID_ARGUMENT, st.message};
    case status_code::not_found:
      return {grpc::StatusCode::NOT_FOUND, st.message};
    case status_code::failed_precondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, st.message};
    case status_code::unavailable:
      return {grpc::StatusCode::UNAVAILABLE, st.message};
    case status_code::internal:
      return {grpc::StatusCode::INTERNAL, st.message};
  }
  return {grpc::StatusCode::INTERNAL, st.message};
}

inline grpc::Status unauthenticated() {
  return {grpc::StatusCode::UNAUTHENTICATED, "invalid auth token"};
}

/// True if the call carries `authorization: Bearer <token>` with a token this engine accepts.
inline bool authorized(const grpc::CallbackServerContext* ctx, const token_verifier& auth) {
  const auto& md = ctx->client_metadata();
  auto [first, last] = md.equal_range("authorization");
  for (auto it = first; it != last; ++it)
    if (auth.accept_header(std::string_view{it->second.data(), it->second.size()}))
      return true;
  return false;
}

/// Runs `body` (returning grpc::Status) for an authorized unary call and finishes the call with
/// its result; exceptions become INTERNAL.
template <class Body>
grpc::ServerUnaryReactor* unary(grpc::CallbackServerContext* ctx, const token_verifier& auth,
                                Body&& body) {
  auto* reactor = ctx->DefaultReactor();
  grpc::Status st;
  if (!authorized(ctx, auth)) {
    st = unauthenticated();
  } else {
    try {
      st = std::forward<Body>(body)();
    } catch (const std::exception& e) {
      spdlog::error("unexpected error in a handler: {}", e.what());
      st = grpc::Status{grpc::StatusCode::INTERNAL, e.what()};
    }
  }
  reactor->Finish(st);
  return reactor;
}

inline void set_time(google::protobuf::Timestamp* ts, std::chrono::system_clock::time_point tp) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

inline void set_now(google::protobuf::Timestamp* ts) {
  set_time(ts, std::chrono::system_clock::now());
}

} // namespace hatchet::engine
