#pragma once
// Shared by the service translation units: status mapping, the auth check every handler runs,
// the unary-handler wrapper and timestamps. Internal to the engine.

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "engine/auth.hpp"
#include "engine/request_fields.hpp"
#include "engine/state.hpp"

namespace hatchet::engine {

/// The most of a status message sent: it travels as a header (percent-encoded, so up to three
/// times longer), and a client drops headers past its metadata limit, 8 KiB by default. Inputs
/// are quoted by prefix (util/quoted.hpp); this bounds whatever else a message gathers.
inline constexpr size_t max_status_message_bytes = 2048;

/// `st` with its message cut to max_status_message_bytes (never inside a UTF-8 character).
inline grpc::Status bounded(grpc::Status st) {
  const auto& text = st.error_message();
  if (text.size() <= max_status_message_bytes)
    return st;
  size_t keep = max_status_message_bytes - 64;
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80)
    --keep;
  return {st.error_code(),
          text.substr(0, keep) + "... (message cut: " + std::to_string(text.size()) + " bytes)"};
}

inline grpc::Status to_grpc_unbounded(const status& st) {
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
    case status_code::unknown:
      return {grpc::StatusCode::UNKNOWN, st.message};
  }
  return {grpc::StatusCode::INTERNAL, st.message};
}

inline grpc::Status to_grpc(const status& st) {
  return bounded(to_grpc_unbounded(st));
}

/// UNIMPLEMENTED naming the first field set in `req` that the dev engine does not model
/// (request_fields.hpp), or OK. Every handler calls it before acting on a request.
inline grpc::Status refuse_unmodelled(const google::protobuf::Message& req) {
  if (auto why = unmodelled_field(req))
    return bounded({grpc::StatusCode::UNIMPLEMENTED, *why});
  return grpc::Status::OK;
}

/// UNIMPLEMENTED for a method the dev engine does not serve, naming it.
inline grpc::Status refuse_method(std::string_view method) {
  return {grpc::StatusCode::UNIMPLEMENTED, refused_method_message(method)};
}

/// UNAUTHENTICATED with the real engine's text, "invalid auth token", and, unlike the real engine
/// (which only logs it at debug level), the reason: expired, not signed by this engine, another
/// tenant, malformed or missing. A developer with a stale token should not have to guess.
inline grpc::Status unauthenticated(const token_verdict& verdict) {
  return {grpc::StatusCode::UNAUTHENTICATED, "invalid auth token: " + verdict.reason};
}

/// The same without a verdict at hand (kept for callers that only know the check failed).
inline grpc::Status unauthenticated() {
  return {grpc::StatusCode::UNAUTHENTICATED, "invalid auth token"};
}

/// The verdict on the call's `authorization: Bearer <token>` metadata: accepted if any value
/// carries a token this engine accepts, else the first value's refusal (or "missing").
inline token_verdict check_auth(const grpc::CallbackServerContext* ctx,
                                const token_verifier& auth) {
  const auto& md = ctx->client_metadata();
  auto [first, last] = md.equal_range("authorization");
  if (first == last)
    return {token_verdict::kind::missing,
            "no authorization metadata (expected 'authorization: Bearer <token>')"};
  std::optional<token_verdict> first_refusal;
  for (auto it = first; it != last; ++it) {
    auto verdict = auth.check_header(std::string_view{it->second.data(), it->second.size()});
    if (verdict)
      return verdict;
    if (!first_refusal)
      first_refusal = std::move(verdict);
  }
  return *first_refusal;
}

/// True if the call carries a token this engine accepts (see check_auth for why not).
inline bool authorized(const grpc::CallbackServerContext* ctx, const token_verifier& auth) {
  return static_cast<bool>(check_auth(ctx, auth));
}

/// Runs `body` (returning grpc::Status) for an authorized unary call and finishes the call with
/// its result; exceptions become INTERNAL.
template <class Body>
grpc::ServerUnaryReactor* unary(grpc::CallbackServerContext* ctx, const token_verifier& auth,
                                Body&& body) {
  auto* reactor = ctx->DefaultReactor();
  grpc::Status st;
  if (auto verdict = check_auth(ctx, auth); !verdict) {
    st = unauthenticated(verdict);
  } else {
    try {
      st = std::forward<Body>(body)();
    } catch (const std::exception& e) {
      spdlog::error("unexpected error in a handler: {}", e.what());
      st = grpc::Status{grpc::StatusCode::INTERNAL, e.what()};
    }
  }
  reactor->Finish(bounded(std::move(st)));
  return reactor;
}

inline void set_time(google::protobuf::Timestamp* ts, std::chrono::system_clock::time_point tp) {
  // Seconds rounded down, so that nanos stay 0..999,999,999 before 1970 too.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch());
  auto secs = std::chrono::floor<std::chrono::seconds>(ns);
  ts->set_seconds(secs.count());
  ts->set_nanos(static_cast<int32_t>((ns - secs).count()));
}

inline void set_now(google::protobuf::Timestamp* ts) {
  set_time(ts, std::chrono::system_clock::now());
}

} // namespace hatchet::engine
