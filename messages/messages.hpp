#pragma once
// The messages the worker's actors exchange, in one place: atoms, the assignment a task actor
// receives, the outcome it reports, and the shutdown phases.
//
// This is one of the two places that know CAF 0.17's message-type rules (the other is
// cmake/hatchet_deps.cmake for the build): shared_ptr<const T> must be whitelisted by alias at
// global scope, structs need an inspect() overload.

#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "hatchet/detail/lifespan_state.hpp"
#include "hatchet/detail/task_def.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::detail {
struct worker_services;
class client_core;
} // namespace hatchet::detail

namespace hatchet::msg {

// Phases and commands.
using setup_atom = caf::atom_constant<caf::atom("setup")>;       // supervisor -> lifespan
using start_atom = caf::atom_constant<caf::atom("start")>;       // supervisor -> dispatcher
using drain_atom = caf::atom_constant<caf::atom("drain")>;       // supervisor -> dispatcher
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>; // host/signal -> supervisor
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;     // dispatcher -> task actor
using run_atom = caf::atom_constant<caf::atom("run")>;           // dispatcher -> task actor
using done_atom = caf::atom_constant<caf::atom("done")>;         // task actor -> dispatcher
using resume_atom = caf::atom_constant<caf::atom("resume")>;     // a co_task's wait ended
using ready_atom = caf::atom_constant<caf::atom("ready")>;       // anyone -> supervisor
using released_atom = caf::atom_constant<caf::atom("released")>; // gate -> supervisor: no holder

// gRPC results, posted into the dispatcher by client callbacks.
using version_atom = caf::atom_constant<caf::atom("version")>;
using registered_atom = caf::atom_constant<caf::atom("registered")>;
using put_wf_atom = caf::atom_constant<caf::atom("put_wf")>;
using action_atom = caf::atom_constant<caf::atom("action")>;
using stream_end_atom = caf::atom_constant<caf::atom("stream_end")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using hb_result_atom = caf::atom_constant<caf::atom("hb_result")>;
using event_ack_atom = caf::atom_constant<caf::atom("event_ack")>;
using acks_atom = caf::atom_constant<caf::atom("acks")>;            // answers wait in the ack box
using unsub_atom = caf::atom_constant<caf::atom("unsub")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;  // drain phases' timers
using health_atom = caf::atom_constant<caf::atom("health")>;      // anyone -> supervisor
using reload_atom = caf::atom_constant<caf::atom("reload")>;      // anyone -> supervisor
using swap_atom = caf::atom_constant<caf::atom("swap")>;          // supervisor -> dispatcher
using status_atom = caf::atom_constant<caf::atom("status")>;      // dispatcher -> supervisor, queries
using force_atom = caf::atom_constant<caf::atom("force")>;        // second stop request
using pause_atom = caf::atom_constant<caf::atom("pause")>;        // REST pause answered
using slot_free_atom = caf::atom_constant<caf::atom("slot_free")>; // a run released its slot
using fence_atom = caf::atom_constant<caf::atom("fence")>;        // a fencing deadline (fence.hpp)

/// What the dispatcher tells the supervisor about the worker, and what worker_status() reports.
enum class worker_state : uint8_t {
  starting, ///< lifespan setup, start-up calls
  ready,    ///< registered, stream open, the engine accepted a heartbeat on it
  detached, ///< registered, but the stream is down or not yet confirmed
  stopping, ///< a stop is under way
};

/// "starting", "ready", "detached", "stopping": the words worker_status() answers with.
inline const char* to_string(worker_state s) noexcept {
  switch (s) {
    case worker_state::starting: return "starting";
    case worker_state::ready: return "ready";
    case worker_state::detached: return "detached";
    case worker_state::stopping: return "stopping";
  }
  return "?";
}

/// The dispatcher's stop timers.
enum class stop_timer : uint8_t {
  drain, ///< drain_timeout passed: cancel the runs still going
  grace, ///< cancel_grace passed: report the runs still going FAILED
  flush, ///< flush_timeout passed: drop the events still unacknowledged
};

/// What a task actor receives for one run: the action, the task to call, and the lifespan state
/// (the same immutable object for every run on this worker).
struct assignment {
  wire::assigned_action action;
  detail::task_def_ptr task;
  detail::lifespan_state_ptr state;
  /// How the run's context reaches the engine (logs, stream, timeout, slot); null in unit tests.
  std::shared_ptr<const detail::worker_services> services;
  /// The worker's connection for the run's child runs (ctx.spawn); null in unit tests.
  std::shared_ptr<detail::client_core> client;
};

/// What a task actor reports when its run ends.
struct task_outcome {
  enum class kind_t : uint8_t { completed, failed };
  static constexpr kind_t completed = kind_t::completed;
  static constexpr kind_t failed = kind_t::failed;
  wire::run_ref run; ///< the run's ids, as assigned (its key: run->key)
  kind_t kind = kind_t::completed;
  std::string payload; ///< COMPLETED: output JSON text; FAILED: error text
  bool should_not_retry = false;
};

} // namespace hatchet::msg

// Whitelisted because they carry shared_ptrs (CAF 0.17 cannot serialise them; we only send them
// locally, by reference, which is the point: the state and a run's ids are never copied).
using hatchet_assignment = hatchet::msg::assignment;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hatchet_assignment)
using hatchet_assigned_action = hatchet::wire::assigned_action;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hatchet_assigned_action)
using hatchet_task_outcome = hatchet::msg::task_outcome;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hatchet_task_outcome)
using hatchet_lifespan_state_ptr = hatchet::detail::lifespan_state_ptr;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hatchet_lifespan_state_ptr)
// Local-only enums: never serialised.
using hatchet_worker_state = hatchet::msg::worker_state;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hatchet_worker_state)
using hatchet_stop_timer = hatchet::msg::stop_timer;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hatchet_stop_timer)
