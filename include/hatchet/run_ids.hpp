#pragma once
// Internal: the ids of one run attempt, as the engine assigned it. Made once, when the assignment
// arrives, and then shared read-only by everything that speaks of the run (its slot, its context,
// its STARTED/COMPLETED/FAILED events): passing a run around never copies its ids.

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hatchet::detail {

struct run_ids {
  std::string workflow_run_id;
  std::string job_id;
  std::string job_run_id;
  std::string task_id;
  std::string task_run_external_id;
  std::string action_id;
  int32_t retry_count = 0;
  /// "<task_run_external_id>/<retry_count>": the attempt's identity, as the SDKs key it.
  std::string key;

  /// Fills `key` from task_run_external_id and retry_count (with one allocation).
  void make_key() {
    char digits[12];
    auto end = std::to_chars(digits, digits + sizeof digits, retry_count).ptr;
    key.clear();
    key.reserve(task_run_external_id.size() + 1 + static_cast<size_t>(end - digits));
    key += task_run_external_id;
    key += '/';
    key.append(digits, end);
  }
};

/// A run's ids as they are passed around: shared, never null once the run is assigned.
using run_ids_ptr = std::shared_ptr<const run_ids>;

/// The empty ids (a context made without a run, in unit tests).
inline const run_ids& no_run_ids() {
  static const run_ids empty;
  return empty;
}

} // namespace hatchet::detail
