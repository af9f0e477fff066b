#pragma once
// Tokens and the secret that signs them. The dev engine signs its own HS256 JWTs and accepts only
// those (see mint_token in dev_engine.hpp). No gRPC here; the services hand token_verifier the
// metadata value and turn its verdict into their own refusal.
//
// Secrets: an engine has no usable default. A fixed one would be public, so a token of one engine
// would open every other and anyone could forge one; so the binary keeps a random secret per user
// in a file (load_or_create_secret), and tests draw a fresh one per engine (random_secret).

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hatchet::engine {

/// The key every engine used to sign with by default. It is public, so every engine refuses it as
/// a secret (engine_options::validate) and names it when it refuses a token signed with it.
inline constexpr std::string_view old_public_dev_secret = "hatchet-dev-engine-secret";

/// Why a token was or was not accepted. `reason` says it in words for the client (empty when
/// accepted); the callers prefix it ("invalid auth token: ...", "Please provide valid
/// credentials: ...") and keep their status codes.
struct token_verdict {
  enum class kind {
    accepted,
    missing,       ///< no authorization value, not "Bearer <token>", or an empty token
    malformed,     ///< not three base64url parts, header/payload not JSON objects, alg not
                   ///< HS256, or no string `sub` / numeric `exp`
    bad_signature, ///< signed with another key: another engine's token, or a forged one
    other_tenant,  ///< signed by this engine's key but `sub` is not its tenant
    expired,       ///< `exp` has passed (the reason names the time, RFC 3339 UTC)
  };
  kind what = kind::accepted;
  std::string reason;

  explicit operator bool() const noexcept { return what == kind::accepted; }
};

/// Verifies `authorization` metadata values: "Bearer <jwt>" (scheme case-insensitive), a valid
/// HS256 signature under the secret, `sub` equal to the tenant, `exp` (required) not passed.
/// Accepted tokens are cached (bounded) so the hot path of a busy worker is one map lookup;
/// refusals are not (a forged token costs one HMAC, as before).
class token_verifier {
public:
  token_verifier(std::string secret, std::string tenant_id);

  /// The verdict on `header_value` (one whole metadata value). Thread-safe.
  token_verdict check_header(std::string_view header_value) const;
  /// The verdict on a bare token. Thread-safe.
  token_verdict check_token(std::string_view token) const;

private:
  token_verdict verify_uncached(std::string_view token, int64_t& exp) const;

  std::string secret_;
  std::string tenant_id_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, int64_t> cache_; // token -> exp (unix seconds)
};

/// base64url(HMAC-SHA256(secret, signing_input)), without padding.
std::string hs256_signature(std::string_view secret, std::string_view signing_input);

/// 32 random bytes (OpenSSL RAND_bytes, else /dev/urandom) as 64 lowercase hex digits: a secret
/// for an engine nobody else needs to mint tokens for (tests, benchmarks, embedded engines).
/// Throws std::runtime_error only if the system has no randomness to give.
std::string random_secret();

/// The result of load_or_create_secret: `secret` on success, else `error` (a sentence naming the
/// file and what to do). `created` tells whether this call made the file.
struct secret_file {
  std::string secret;
  std::string path; ///< <dir>/secret
  bool created = false;
  std::string error; ///< "" on success
};

/// The secret kept in `<dir>/secret`, made on first use so that every engine and token command
/// of one user share it and nobody else knows it.
///  - `dir` is created (mode 0700, parents too) if missing.
///  - A missing file is created with a random_secret(), mode 0600, without a race: written to a
///    temporary name (O_CREAT|O_EXCL, 0600) and hard-linked into place; if another process got
///    there first, its file is read instead, so concurrent first starts agree on one secret.
///  - An existing file must be a regular file owned by this user, with no permission bits for
///    group or others, and non-empty (surrounding whitespace is ignored); otherwise `error` says
///    which, and nothing is changed. Its content is used as is (any text, not only hex).
secret_file load_or_create_secret(const std::string& dir);

/// The directory load_or_create_secret is given when no other is: `$XDG_DATA_HOME/
/// hatchet-dev-engine` if XDG_DATA_HOME is an absolute path, else `$HOME/.local/share/
/// hatchet-dev-engine` (HOME from the environment, else the password database). "" if neither is
/// known.
std::string default_data_dir();
/// The same rule over given values (nullptr or "" for unset); default_data_dir() passes the
/// environment's.
std::string default_data_dir(const char* xdg_data_home, const char* home);

} // namespace hatchet::engine
