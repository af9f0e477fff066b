#pragma once
// Identifiers the engine hands out: random (version 4) UUIDs in their canonical text form.

#include <string>
#include <string_view>

namespace hatchet::util {

/// A fresh random UUID, lowercase, e.g. "3f2b8c1e-5d4a-4c3b-9a2f-0e1d2c3b4a59". Thread-safe.
std::string new_uuid();

/// True if `text` is a UUID in the canonical 8-4-4-4-12 hex layout (either case).
bool is_uuid(std::string_view text) noexcept;

} // namespace hatchet::util
