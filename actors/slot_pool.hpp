#pragma once
// The worker's slots: never more runs at once than slots, each run with the slot that runs it,
// and the runs the engine assigned beyond that waiting in arrival order.
//
// Shaped after a slot supplier: a slot is taken (reserved and marked used in one step, since a
// START is all the engine sends) for a run and released when the run ends. The pool keeps the
// ids the events about a run need (wire::run_ref, shared with the run: a running run is indexed
// by a view of its own key), never a copy of a running run's payload; only a waiting run keeps
// its whole job, because it has yet to be handed to a slot. Plain C++, no
// actors: the dispatcher actor owns one (Slot = a task actor handle) and the unit tests drive one
// with integers.
//
// A run may give its slot back while it goes on (ctx.release_slot(), once the engine freed the
// slot too): it then counts as released, not running, and keeps its Slot (the task actor running
// it) until it ends. So the bound is on slot-holding runs: running() never exceeds the slot
// count the owner checks against, while released runs go on beside them, each on a Slot of its
// own (the owner makes a new Slot when no free one is left). Released runs are bounded by what
// the engine assigns, as on the engine: it counts only slot-holding runs too.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <chrono>
#include <vector>

#include "messages/wire_types.hpp"

namespace hatchet::detail {

template <class Slot, class Job>
class slot_pool {
public:
  /// A run that holds a slot.
  struct run {
    Slot slot;
    wire::run_ref ref;
    bool cancelled_by_engine = false; ///< report nothing when it ends (also: fenced, fence.hpp)
    bool cancelled_for_stop = false;  ///< the stop cancelled it: report what it did
    std::chrono::steady_clock::time_point started{}; ///< when it took the slot
    bool released = false;            ///< it gave its slot back and goes on without one
    bool lent_thread = false;         ///< the owner raised its thread bound for it
  };

  /// A slot that can take a run.
  void add_slot(Slot s) { free_.push_back(std::move(s)); }

  /// A slot that died: forgotten if free; the run it held, if any, is returned and forgotten.
  std::optional<std::pair<std::string, run>> remove_slot(const Slot& s) {
    std::erase_if(free_, [&](const Slot& f) { return f == s; });
    for (auto* m : {&running_, &released_}) {
      for (auto i = m->begin(); i != m->end(); ++i) {
        if (i->second.slot == s) {
          std::pair<std::string, run> out{std::string{i->first}, std::move(i->second)};
          m->erase(i);
          return out;
        }
      }
    }
    return std::nullopt;
  }

  /// Running or waiting: the engine assigned this run here already.
  bool contains(std::string_view key) const {
    return running_.count(key) != 0 || released_.count(key) != 0
           || waiting_keys_.find(key) != waiting_keys_.end();
  }

  bool has_free_slot() const noexcept { return !free_.empty(); }

  /// Takes a free slot for the run `ref` (not null). Precondition: has_free_slot().
  Slot take(wire::run_ref ref) {
    Slot s = std::move(free_.back());
    free_.pop_back();
    std::string_view key = ref->key; // lives as long as the entry: the entry holds the ids
    running_.emplace(key, run{s, std::move(ref), false, false, std::chrono::steady_clock::now()});
    return s;
  }

  /// No slot free: the job waits, in arrival order.
  void wait(std::string key, Job job) {
    waiting_keys_.insert(key);
    waiting_.emplace_back(std::move(key), std::move(job));
  }

  /// The run that has waited longest, if any (it then holds no place in the pool until taken).
  std::optional<Job> next_waiting() {
    if (waiting_.empty())
      return std::nullopt;
    auto [key, job] = std::move(waiting_.front());
    waiting_.pop_front();
    waiting_keys_.erase(key);
    return std::move(job);
  }

  /// A run ended on `s`: the slot is free again. Returns the run if the pool still counted it
  /// (not if it was abandoned at shutdown before it ended).
  std::optional<run> release(std::string_view key, Slot s) {
    free_.push_back(std::move(s));
    for (auto* m : {&running_, &released_}) {
      auto i = m->find(key);
      if (i == m->end())
        continue;
      run r = std::move(i->second);
      m->erase(i);
      return r;
    }
    return std::nullopt;
  }

  /// The run gave its slot back and goes on: it no longer counts in running(). Returns it, or
  /// null when it is not running (ended, abandoned, or released already).
  run* release_early(std::string_view key) {
    auto i = running_.find(key);
    if (i == running_.end())
      return nullptr;
    auto [j, inserted] = released_.emplace(i->first, std::move(i->second));
    running_.erase(i);
    j->second.released = true;
    return &j->second;
  }

  /// A run going on, holding its slot or released.
  run* find_running(std::string_view key) {
    if (auto i = running_.find(key); i != running_.end())
      return &i->second;
    auto i = released_.find(key);
    return i == released_.end() ? nullptr : &i->second;
  }

  /// Forgets a waiting run (the engine cancelled it before it started). False if not waiting.
  bool drop_waiting(std::string_view key) {
    auto k = waiting_keys_.find(key);
    if (k == waiting_keys_.end())
      return false;
    waiting_keys_.erase(k);
    std::erase_if(waiting_, [&](const auto& w) { return w.first == key; });
    return true;
  }

  /// Runs holding a slot.
  size_t running() const noexcept { return running_.size(); }
  /// Runs going on after giving their slot back.
  size_t released() const noexcept { return released_.size(); }
  size_t waiting() const noexcept { return waiting_.size(); }
  bool idle() const noexcept { return running_.empty() && released_.empty() && waiting_.empty(); }

  /// Marks every running run not yet cancelled as cancelled for the stop; returns them as
  /// (key, slot) so the caller can tell each slot.
  std::vector<std::pair<std::string, Slot>> cancel_all_for_stop() {
    std::vector<std::pair<std::string, Slot>> out;
    for (auto* m : {&running_, &released_}) {
      for (auto& [key, r] : *m) {
        if (r.cancelled_by_engine || r.cancelled_for_stop)
          continue;
        r.cancelled_for_stop = true;
        out.emplace_back(std::string{key}, r.slot);
      }
    }
    return out;
  }

  /// The worker fenced itself (fence.hpp): no run here is its to finish any more. Running runs
  /// not yet cancelled by the engine are marked to report nothing and returned as (key, slot);
  /// `tell` says whether the slot still needs to hear the cancel (one the stop cancelled already
  /// has). Waiting runs are forgotten; their number goes to `dropped`.
  struct fenced_run {
    std::string key;
    Slot slot;
    bool tell;
  };
  std::vector<fenced_run> fence_all(size_t& dropped) {
    std::vector<fenced_run> out;
    for (auto* m : {&running_, &released_})
      for (auto& [key, r] : *m) {
        if (r.cancelled_by_engine)
          continue;
        out.push_back({std::string{key}, r.slot, !r.cancelled_for_stop});
        r.cancelled_by_engine = true;
      }
    dropped = waiting_.size();
    waiting_.clear();
    waiting_keys_.clear();
    return out;
  }

  /// Gives up on every run still here (the stop's deadline passed): returns the refs of those
  /// the engine did not cancel, running and waiting, and forgets them all. Their slots stay
  /// taken until their task actors end.
  template <class RefOfJob>
  std::vector<wire::run_ref> abandon_all(RefOfJob ref_of) {
    std::vector<wire::run_ref> out;
    for (auto* m : {&running_, &released_})
      for (auto& [key, r] : *m)
        if (!r.cancelled_by_engine)
          out.push_back(std::move(r.ref));
    for (auto& [key, job] : waiting_)
      out.push_back(ref_of(job));
    running_.clear();
    released_.clear();
    waiting_.clear();
    waiting_keys_.clear();
    return out;
  }

  /// Drops everything (the owner is going away).
  void clear() {
    free_.clear();
    running_.clear();
    released_.clear();
    waiting_.clear();
    waiting_keys_.clear();
  }

private:
  /// Looks a waiting run's key up by a view, without making a string of it.
  struct key_hash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const noexcept {
      return std::hash<std::string_view>{}(k);
    }
  };

  std::vector<Slot> free_;
  // Keyed by a view of the entry's own ref->key (see take()).
  std::unordered_map<std::string_view, run> running_;
  std::unordered_map<std::string_view, run> released_;
  std::deque<std::pair<std::string, Job>> waiting_;
  std::unordered_set<std::string, key_hash, std::equal_to<>> waiting_keys_;
};

} // namespace hatchet::detail
