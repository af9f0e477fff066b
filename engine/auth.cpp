#include "engine/auth.hpp"

#include <chrono>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "client/base64url.hpp"
#include "engine/dev_engine.hpp"
#include "engine/ids.hpp"

namespace hatchet::engine {

namespace {

constexpr size_t max_cached_tokens = 256;
constexpr int64_t token_lifetime_s = 90LL * 24 * 3600;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y)
      return false;
  }
  return true;
}

/// "http://<host>:<port + 1>" for "<host>:<port>" (the command line's default REST port).
std::string default_server_url(const std::string& grpc_address) {
  auto colon = grpc_address.rfind(':');
  if (colon != std::string::npos && colon + 1 < grpc_address.size() &&
      grpc_address.size() - colon - 1 <= 5 &&
      grpc_address.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    int port = std::stoi(grpc_address.substr(colon + 1));
    if (port < 65535)
      return "http://" + grpc_address.substr(0, colon + 1) + std::to_string(port + 1);
  }
  return "http://" + grpc_address;
}

} // namespace

std::string hs256_signature(std::string_view secret, std::string_view signing_input) {
  return detail::base64url_encode(hmac_sha256(secret, signing_input));
}

std::string mint_token(const engine_options& opts, const std::string& grpc_address,
                       const std::string& server_url) {
  const nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  const int64_t now = unix_now();
  const nlohmann::json payload = {
    {"sub", opts.tenant_id},
    {"server_url", server_url.empty() ? default_server_url(grpc_address) : server_url},
    {"grpc_broadcast_address", grpc_address},
    {"iat", now},
    {"exp", now + token_lifetime_s},
    {"token_id", new_uuid()},
  };
  std::string signing_input =
    detail::base64url_encode(header.dump()) + "." + detail::base64url_encode(payload.dump());
  std::string signature = hs256_signature(opts.secret, signing_input);
  return signing_input + "." + signature;
}

token_verifier::token_verifier(std::string secret, std::string tenant_id)
  : secret_(std::move(secret)), tenant_id_(std::move(tenant_id)) {}

bool token_verifier::accept_header(std::string_view value) const {
  // "<scheme> <token>" with any amount of spaces after the scheme.
  auto space = value.find(' ');
  if (space == std::string_view::npos || !iequals(value.substr(0, space), "bearer"))
    return false;
  auto token = value.substr(space);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  return accept_token(token);
}

bool token_verifier::accept_token(std::string_view token) const {
  const int64_t now = unix_now();
  {
    std::lock_guard lk{mu_};
    if (auto it = cache_.find(std::string{token}); it != cache_.end())
      return it->second > now;
  }
  int64_t exp = 0;
  if (!verify_uncached(token, exp) || exp <= now)
    return false;
  std::lock_guard lk{mu_};
  if (cache_.size() >= max_cached_tokens)
    cache_.clear();
  cache_.emplace(std::string{token}, exp);
  return true;
}

bool token_verifier::verify_uncached(std::string_view token, int64_t& exp) const {
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos)
    return false;
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return false;
  auto signing_input = token.substr(0, dot2);
  auto given = detail::base64url_decode(token.substr(dot2 + 1));
  if (!given)
    return false;
  auto expected = hmac_sha256(secret_, signing_input);
  if (given->size() != expected.size() ||
      CRYPTO_memcmp(given->data(), expected.data(), expected.size()) != 0)
    return false;
  auto header_text = detail::base64url_decode(token.substr(0, dot1));
  auto payload_text = detail::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!header_text || !payload_text)
    return false;
  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (!header.is_object() || !payload.is_object())
    return false;
  // Only HS256: never let the token pick a weaker algorithm (or "none").
  if (auto alg = header.find("alg"); alg == header.end() || *alg != "HS256")
    return false;
  auto sub = payload.find("sub");
  if (sub == payload.end() || !sub->is_string() || sub->get<std::string>() != tenant_id_)
    return false;
  auto e = payload.find("exp");
  if (e == payload.end() || !e->is_number())
    return false;
  exp = e->is_number_integer() ? e->get<int64_t>() : static_cast<int64_t>(e->get<double>());
  return true;
}

} // namespace hatchet::engine
