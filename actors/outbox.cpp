#include "actors/outbox.hpp"

#include <algorithm>
#include <random>

namespace hatchet::detail {

uint64_t outbox::add(wire::step_event ev) {
  auto seq = next_++;
  pending_.emplace(seq, entry{std::move(ev), 0});
  return seq;
}

outbox::entry* outbox::find(uint64_t seq) {
  auto i = pending_.find(seq);
  return i == pending_.end() ? nullptr : &i->second;
}

const outbox::entry* outbox::find(uint64_t seq) const {
  auto i = pending_.find(seq);
  return i == pending_.end() ? nullptr : &i->second;
}

std::chrono::milliseconds outbox::backoff(uint64_t seq) {
  auto* e = find(seq);
  int attempt = e ? e->attempts++ : 0;
  return jittered_backoff(attempt, std::chrono::milliseconds{200}, std::chrono::milliseconds{5000});
}

std::vector<uint64_t> outbox::waiting() const {
  std::vector<uint64_t> out;
  for (const auto& [seq, e] : pending_)
    if (!e.in_flight)
      out.push_back(seq);
  return out;
}

std::vector<uint64_t> outbox::all() const {
  std::vector<uint64_t> out;
  for (const auto& [seq, e] : pending_)
    out.push_back(seq);
  return out;
}

bool outbox::retryable(int code) noexcept {
  switch (code) {
    case wire::status::invalid_argument:
    case wire::status::not_found:
    case wire::status::already_exists:
    case wire::status::permission_denied:
    case wire::status::unauthenticated:
    case wire::status::unimplemented:
    case wire::status::failed_precondition:
      return false;
    default:
      return true;
  }
}

std::chrono::milliseconds jittered_backoff(int attempt, std::chrono::milliseconds base,
                                           std::chrono::milliseconds cap) {
  thread_local std::mt19937 rng{std::random_device{}()};
  double full = static_cast<double>(base.count()) * static_cast<double>(1u << std::min(attempt, 16));
  full = std::min(full, static_cast<double>(cap.count()));
  std::uniform_real_distribution<double> jitter{0.5, 1.0};
  return std::chrono::milliseconds{static_cast<int64_t>(full * jitter(rng))};
}

} // namespace hatchet::detail
