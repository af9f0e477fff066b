#pragma once
// hatchet-caf: a Hatchet worker SDK on the C++ Actor Framework. Include this header for all of it.

#include "hatchet/client.hpp"
#include "hatchet/config.hpp"
#include "hatchet/context.hpp"
#include "hatchet/crons.hpp"
#include "hatchet/depends.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/events.hpp"
#include "hatchet/exit_code.hpp"
#include "hatchet/input.hpp"
#include "hatchet/lifespan.hpp"
#include "hatchet/run_options.hpp"
#include "hatchet/run_ref.hpp"
#include "hatchet/run_result.hpp"
#include "hatchet/schedules.hpp"
#include "hatchet/task_ref.hpp"
#include "hatchet/worker.hpp"
#include "hatchet/workers.hpp"
#include "hatchet/workflows.hpp"
#include "hatchet/workflow.hpp"

namespace hatchet {

/// The SDK's version ("0.1.0"): what a worker reports to the engine at Register
/// (RuntimeInfo.sdk_version), and what the installed CMake package is versioned as.
const char* version() noexcept;

} // namespace hatchet
