#pragma once
// The questions the supervisor answers later: await_ready() waits until the worker is running,
// reload() until the new lifespan is in service (or refused). Kept apart from the supervisor's
// flow so that every question gets exactly one answer, also when the worker stops first.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/response_promise.hpp>
#include <caf/typed_response_promise.hpp>

#include "hatchet/errors.hpp"

namespace hatchet::detail {

class supervisor_answers {
public:
  /// Someone waits for the worker to run.
  void await_ready(caf::response_promise rp) { ready_.push_back(std::move(rp)); }

  /// The worker runs as `worker_id` (or it cannot: an error); every waiter hears it once.
  template <class T>
  void ready(const T& worker_id_or_error) {
    for (auto& rp : ready_)
      rp.deliver(worker_id_or_error);
    ready_.clear();
  }

  /// Someone waits for reload `generation`.
  void await_reload(uint64_t generation, caf::typed_response_promise<uint64_t> rp) {
    reloads_.emplace(generation, std::move(rp));
  }

  /// Reload `generation` is in service (its number) or refused (an error): its caller hears it
  /// once; later answers are dropped.
  template <class T>
  void reloaded(uint64_t generation, T&& value_or_error) {
    if (auto i = reloads_.find(generation); i != reloads_.end()) {
      auto rp = std::move(i->second);
      reloads_.erase(i);
      rp.deliver(std::forward<T>(value_or_error));
    }
  }

  /// The worker stopped: whoever still waits hears so.
  void stopped() {
    ready(make_error(errc::shutting_down, "the worker stopped before it was ready"));
    for (auto& [id, rp] : reloads_)
      rp.deliver(make_error(errc::shutting_down, "the worker stopped during the reload"));
    reloads_.clear();
  }

private:
  std::vector<caf::response_promise> ready_;
  std::map<uint64_t, caf::typed_response_promise<uint64_t>> reloads_;
};

} // namespace hatchet::detail
