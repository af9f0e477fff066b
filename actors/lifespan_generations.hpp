#pragma once
// The supervisor's book of lifespan states. A reload sets up a new state while the worker serves
// with the current one; each state (a generation) has its own lifespan actor, its own gate and
// its own cleanup. A generation moves through:
//
//   setting_up -> current -> retiring -> cleaning -> (gone)
//        \-> failed (setup threw or never yielded) ----^
//
// Only the current generation is handed to new assignments. A retiring one is cleaned up once
// its gate closes (its last holder is gone); at a stop, every generation still alive is cleaned
// up after the drain, newest first. Plain bookkeeping: no actor code, so it is tested alone.

#include <algorithm>
#include <chrono>
#include <atomic>
#include <functional>
#include <mutex>
#include <cstdint>
#include <memory>
#include <string>
#include <list>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/lifespan_actor.hpp"
#include "actors/lifespan_gate.hpp"
#include "hatchet/detail/lifespan_state.hpp"
#include "hatchet/errors.hpp"

namespace hatchet::detail {

struct generation {
  enum class phase : uint8_t { setting_up, current, retiring, cleaning };

  uint64_t id = 0;
  phase at = phase::setting_up;
  caf::actor actor; ///< the lifespan actor; null once it has ended
  std::shared_ptr<lifespan_report> report = std::make_shared<lifespan_report>();
  std::weak_ptr<const lifespan_state> holders; ///< the gated state, to count its holders
  std::shared_ptr<const std::atomic<bool>> gate_closed; ///< null until the gate is opened
  bool deadline_armed = false; ///< its cleanup is bounded by cleanup_timeout (stop only)

  /// No task code holds the state (or it never reached any).
  bool closed() const { return !gate_closed || gate_closed->load(); }
  long holder_count() const { return holders.use_count(); }

  /// Gates `state` (lifespan_gate.hpp): every copy handed out is a holder; `on_closed` runs when
  /// the last one is gone. The generation keeps only a weak reference, to count the holders.
  lifespan_state_ptr gate(lifespan_state_ptr state, std::function<void()> on_closed) {
    auto opened = open_gate(std::move(state), std::move(on_closed));
    holders = opened.state;
    gate_closed = std::move(opened.closed);
    return std::move(opened.state);
  }

  /// Its lifespan actor is to end without running the cleanup (task code may still hold it).
  void skip_cleanup() {
    std::lock_guard lock{report->mtx};
    report->skip_cleanup = true;
  }

  /// The cleanup's error, if it failed (read after the actor's down message).
  std::string cleanup_error() const {
    std::lock_guard lock{report->mtx};
    return report->cleanup_error;
  }
};

class lifespan_generations {
public:
  /// A new generation, setting up; ids count up from 1. The reference stays valid until
  /// remove(id).
  generation& add() {
    auto& g = all_.emplace_back();
    g.id = ++last_id_;
    return g;
  }

  generation* find(uint64_t id) {
    auto i = std::find_if(all_.begin(), all_.end(), [&](auto& g) { return g.id == id; });
    return i == all_.end() ? nullptr : &*i;
  }

  generation* find(const caf::actor_addr& actor) {
    auto i = std::find_if(all_.begin(), all_.end(),
                          [&](auto& g) { return g.actor && g.actor.address() == actor; });
    return i == all_.end() ? nullptr : &*i;
  }

  /// The generation new assignments get, if any.
  generation* current() {
    auto i = std::find_if(all_.begin(), all_.end(),
                          [](auto& g) { return g.at == generation::phase::current; });
    return i == all_.end() ? nullptr : &*i;
  }

  /// The current generation's id, 0 when there is none.
  uint64_t current_id() {
    auto* c = current();
    return c ? c->id : 0;
  }

  /// `g` becomes current; the one current before retires. Returns the retired one's id, 0 if
  /// there was none.
  uint64_t promote(generation& g) {
    uint64_t retired = 0;
    if (auto* old = current()) {
      old->at = generation::phase::retiring;
      retired = old->id;
    }
    g.at = generation::phase::current;
    return retired;
  }

  /// True when a generation newer than `id` is current already (a later reload finished first).
  bool superseded(uint64_t id) {
    auto* c = current();
    return c != nullptr && c->id > id;
  }

  void remove(uint64_t id) {
    std::erase_if(all_, [&](auto& g) { return g.id == id; });
  }

  bool empty() const noexcept { return all_.empty(); }
  size_t size() const noexcept { return all_.size(); }
  uint64_t last_id() const noexcept { return last_id_; }

  /// Every generation whose last holder is gone.
  bool all_closed() const {
    return std::all_of(all_.begin(), all_.end(), [](auto& g) { return g.closed(); });
  }

  /// Task code still holding a state, over every generation.
  long holders_left() const {
    long n = 0;
    for (const auto& g : all_)
      n += g.closed() ? 0 : std::max<long>(g.holder_count(), 1);
    return n;
  }

  /// The newest generation that has set up and is not yet told to clean up (setting_up ones are
  /// waited for: their setup is user code that cannot be interrupted).
  generation* newest_to_clean() {
    for (auto i = all_.rbegin(); i != all_.rend(); ++i)
      if (i->actor && i->at != generation::phase::cleaning
          && i->at != generation::phase::setting_up)
        return &*i;
    return nullptr;
  }

  /// A generation whose lifespan actor is cleaning up now, if any.
  generation* cleaning() {
    auto i = std::find_if(all_.begin(), all_.end(),
                          [](auto& g) { return g.at == generation::phase::cleaning; });
    return i == all_.end() ? nullptr : &*i;
  }

  /// Why generation `id`, just set up, is not put in service ("" when it is): the worker stops,
  /// or a later reload finished first.
  std::string refusal(uint64_t id, bool stopping) {
    if (stopping)
      return "the worker began stopping during its setup";
    if (superseded(id))
      return "a later reload (generation " + std::to_string(current()->id) + ") finished first";
    return {};
  }

  /// The cleanup to bound next at a stop: the one running now (begun while serving), else the
  /// newest to clean, which is marked cleaning and whose actor `start` is told to end. Null when
  /// none is left to start (a setup may still be running).
  template <class Start>
  generation* next_cleanup(Start start) {
    if (auto* g = cleaning())
      return g;
    auto* g = newest_to_clean();
    if (g != nullptr) {
      g->at = generation::phase::cleaning;
      start(*g);
    }
    return g;
  }

  /// Marks every generation still setting up as cleaning (its failed setup released what it
  /// built, so its actor ends without a cleanup); `end` is told to end each actor.
  template <class End>
  void end_setups(End end) {
    for (auto& g : all_)
      if (g.at == generation::phase::setting_up && g.actor) {
        g.at = generation::phase::cleaning;
        end(g);
      }
  }

  /// Every generation whose state task code still holds ends without its cleanup.
  void skip_held_cleanups() {
    for (auto& g : all_)
      if (!g.closed())
        g.skip_cleanup();
  }

  /// cleanup_timeout (`timeout`) passed while task code still held some states: those end
  /// without their cleanup, and the error says how many tasks held them. None when none did.
  caf::error skip_held_after(std::chrono::milliseconds timeout) {
    if (all_closed())
      return {};
    auto text = std::to_string(holders_left())
                + " task(s) still inside user code after cleanup_timeout ("
                + std::to_string(timeout.count())
                + " ms); the lifespan cleanup was skipped so that it never runs under them";
    skip_held_cleanups();
    return make_error(errc::cleanup_skipped, std::move(text));
  }

  /// The worker is killed: no gate is waited for, so no cleanup may run under live task code;
  /// every lifespan actor is killed and its handle dropped (it holds the supervisor's).
  void kill_all() {
    skip_held_cleanups();
    for (auto& g : all_) {
      if (g.actor)
        caf::anon_send_exit(g.actor, caf::exit_reason::kill);
      g.actor = nullptr;
    }
  }

  std::list<generation>& all() noexcept { return all_; }

private:
  std::list<generation> all_; ///< oldest first
  uint64_t last_id_ = 0;
};

} // namespace hatchet::detail
