#pragma once
// Which workflows a pushed event starts, and what metadata their runs get: the real engine's
// rules (see README.md, Conformance), apart from the model that applies them.

#include <string>
#include <string_view>

namespace hatchet::engine {

/// True when the pushed `key` matches a workflow's event trigger `pattern` as the real engine's
/// SQL does (`key LIKE REPLACE(pattern, '*', '%')`): `*` and `%` match any run of characters, `_`
/// any one character, everything else itself, case-sensitively.
bool event_key_matches(std::string_view key, std::string_view pattern);

/// The additional metadata of a run an event starts: the event's metadata (a JSON object; any
/// other text counts as none) without its `hatchet__*` keys, plus `hatchet__event_id` and
/// `hatchet__event_key`. Returns JSON object text.
std::string event_run_metadata(const std::string& event_metadata, const std::string& event_id,
                               const std::string& event_key);

} // namespace hatchet::engine
