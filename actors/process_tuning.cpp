#include "actors/process_tuning.hpp"

#include <absl/synchronization/mutex.h>

namespace hatchet::detail {

void tune_process() {
  // Debian's abseil is built without NDEBUG, so every absl::Mutex keeps deadlock-detection
  // bookkeeping (one graph for the whole process behind one lock), which upstream release builds
  // switch off. gRPC takes such mutexes on every call, and with the worker's gRPC and scheduler
  // threads calling at once, that shared graph was a point of contention per run.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

} // namespace hatchet::detail
