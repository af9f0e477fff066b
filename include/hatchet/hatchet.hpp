#pragma once
// hatchet-caf: a Hatchet worker SDK on the C++ Actor Framework. Include this header for all of it.

#include "hatchet/client.hpp"
#include "hatchet/config.hpp"
#include "hatchet/context.hpp"
#include "hatchet/crons.hpp"
#include "hatchet/depends.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/events.hpp"
#include "hatchet/input.hpp"
#include "hatchet/lifespan.hpp"
#include "hatchet/run_options.hpp"
#include "hatchet/run_ref.hpp"
#include "hatchet/run_result.hpp"
#include "hatchet/schedules.hpp"
#include "hatchet/worker.hpp"
#include "hatchet/workflow.hpp"
