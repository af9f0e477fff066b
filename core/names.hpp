#pragma once
// The one rule for the names the engine accepts for workers, workflows and tasks.

#include <string>

namespace hatchet::detail {

/// Non-empty and only [a-zA-Z0-9._-].
bool valid_name(const std::string& s);

} // namespace hatchet::detail
