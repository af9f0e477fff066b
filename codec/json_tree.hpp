#pragma once
// An nlohmann tree built from JSON text that scan_json (json_scan.hpp) has already checked. The
// check is done, so the builder only builds: strings without escapes are copied whole rather
// than character by character, which is where nlohmann's own parser spends its time on a long
// input (a 64 KiB string took most of a run's CPU).

#include <string_view>

#include <nlohmann/json.hpp>

namespace hatchet::detail {

/// The tree of `text`, which must be one JSON value that scan_json accepted; it is the tree
/// nlohmann::json::parse would build, number types included (unsigned for a non-negative
/// integer, signed for a negative one, double for a fraction, an exponent or an integer too
/// large for 64 bits), and the last of duplicate keys wins.
nlohmann::json build_checked_json(std::string_view text);

} // namespace hatchet::detail
