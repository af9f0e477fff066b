#pragma once
// base64url without padding, as JWTs use it. Shared by the token parser and the dev engine.
#include <optional>
#include <string>
#include <string_view>

namespace hatchet::util {

std::string base64url_encode(std::string_view bytes);

/// Accepts input with or without '=' padding; returns nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace hatchet::util
