#pragma once
// A task's output as compact JSON text, as nlohmann's dump(-1, ' ', false, replace) writes it,
// but with the characters of a string that need no escape copied in runs: nlohmann's serializer
// looks at each character on its own, which was the largest cost left for a task that returns
// a 64 KiB string.

#include <string>

#include <nlohmann/json.hpp>

namespace hatchet::detail {

/// The same text as j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).
std::string dump_json(const nlohmann::json& j);

} // namespace hatchet::detail
