#pragma once
// The run listener's book of waits: who waits for which run, and which waits to give up when a
// subscription stream ends. A plain class (no locks, no gRPC) so its rules are unit-tested; the
// listener holds it under its mutex.
//
// Rules:
// - Several waits for one run share one subscription: `add` says whether the id is new.
// - A stream that delivered a result resets every wait's count of barren streams.
// - A stream that ended without delivering anything adds one to every wait it carried; a wait
//   that reaches the limit is given up. Only those: a wait that began a stream ago keeps its
//   own count, so a burst of cuts cannot fail a wait that has barely started.
// - An engine that refuses the subscription outright fails every wait alike (`take_all`).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hatchet::rpc {

template <class Callback>
class watch_book {
public:
  explicit watch_book(int barren_limit) : barren_limit_(barren_limit) {}

  /// Records a wait; returns its token and whether it is the first wait for `run_id` (the
  /// caller then subscribes to it on the open stream).
  std::pair<uint64_t, bool> add(const std::string& run_id, Callback cb) {
    auto& ws = waits_[run_id];
    ws.push_back({++next_token_, std::move(cb), 0});
    return {next_token_, ws.size() == 1};
  }

  /// Withdraws one wait; false if it was not there (already answered or given up).
  bool remove(const std::string& run_id, uint64_t token) {
    auto it = waits_.find(run_id);
    if (it == waits_.end())
      return false;
    auto& ws = it->second;
    for (auto w = ws.begin(); w != ws.end(); ++w)
      if (w->token == token) {
        ws.erase(w);
        if (ws.empty())
          waits_.erase(it);
        return true;
      }
    return false;
  }

  /// A result for `run_id` arrived: every wait for it, taken out (empty for a duplicate).
  std::vector<Callback> take(const std::string& run_id) {
    std::vector<Callback> out;
    if (auto it = waits_.find(run_id); it != waits_.end()) {
      for (auto& w : it->second)
        out.push_back(std::move(w.cb));
      waits_.erase(it);
    }
    return out;
  }

  /// Every wait, taken out.
  std::vector<Callback> take_all() {
    std::vector<Callback> out;
    for (auto& [id, ws] : waits_)
      for (auto& w : ws)
        out.push_back(std::move(w.cb));
    waits_.clear();
    return out;
  }

  /// A stream ended having delivered `delivered` results: counts it against every wait still
  /// here and returns the waits that reached the limit, taken out.
  std::vector<Callback> stream_ended(size_t delivered) {
    std::vector<Callback> given_up;
    for (auto it = waits_.begin(); it != waits_.end();) {
      auto& ws = it->second;
      for (auto w = ws.begin(); w != ws.end();) {
        w->barren_streams = delivered > 0 ? 0 : w->barren_streams + 1;
        if (w->barren_streams >= barren_limit_) {
          given_up.push_back(std::move(w->cb));
          w = ws.erase(w);
        } else {
          ++w;
        }
      }
      it = ws.empty() ? waits_.erase(it) : std::next(it);
    }
    return given_up;
  }

  /// The runs waited for: what a new stream subscribes to.
  std::vector<std::string> run_ids() const {
    std::vector<std::string> out;
    out.reserve(waits_.size());
    for (const auto& [id, ws] : waits_)
      out.push_back(id);
    return out;
  }

  bool empty() const { return waits_.empty(); }
  size_t runs() const { return waits_.size(); }

private:
  struct wait {
    uint64_t token;
    Callback cb;
    int barren_streams; ///< streams in a row this wait lived through that delivered nothing
  };
  int barren_limit_;
  uint64_t next_token_ = 0;
  std::unordered_map<std::string, std::vector<wait>> waits_;
};

} // namespace hatchet::rpc
