#pragma once
// Settings for a process the worker owns (worker::run(), so hatchet-worker), never applied to a
// host's process by an embedded worker.

namespace hatchet::detail {

/// Called once by worker::run() before any worker thread starts.
void tune_process();

} // namespace hatchet::detail
