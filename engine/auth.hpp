#pragma once
// Tokens: the dev engine signs its own HS256 JWTs and accepts only those (see mint_token in
// dev_engine.hpp). No gRPC here; the services call token_verifier with the metadata value.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hatchet::engine {

/// Verifies `authorization` metadata values: "Bearer <jwt>" (scheme case-insensitive), a valid
/// HS256 signature under the secret, `sub` equal to the tenant, `exp` (required) not passed.
/// Verified tokens are cached (bounded) so the hot path of a busy worker is one map lookup.
class token_verifier {
public:
  token_verifier(std::string secret, std::string tenant_id);

  /// True if `header_value` (the whole metadata value) carries an acceptable token. Thread-safe.
  bool accept_header(std::string_view header_value) const;
  /// True if the bare token is acceptable. Thread-safe.
  bool accept_token(std::string_view token) const;

private:
  bool verify_uncached(std::string_view token, int64_t& exp) const;

  std::string secret_;
  std::string tenant_id_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, int64_t> cache_; // token -> exp (unix seconds)
};

/// base64url(HMAC-SHA256(secret, signing_input)), without padding.
std::string hs256_signature(std::string_view secret, std::string_view signing_input);

} // namespace hatchet::engine
