#include "engine/dispatcher/clean_results.hpp"

namespace hatchet::engine {

namespace {

struct sizes {
  size_t total = 0;
  size_t outputs = 0;
};

sizes measure(const std::vector<step_result>& results) {
  sizes s;
  for (const auto& r : results) {
    if (r.output) {
      s.total += r.output->size();
      s.outputs += r.output->size();
    }
    if (r.error)
      s.total += r.error->size();
  }
  return s;
}

} // namespace

std::optional<std::vector<step_result>> clean_results(std::vector<step_result> results,
                                                      size_t threshold) {
  auto s = measure(results);
  if (s.total < threshold)
    return results;
  if (s.outputs >= threshold || results.empty())
    return std::nullopt;
  const size_t per_field = (threshold - s.outputs) / results.size();
  for (auto& r : results)
    if (r.error && r.error->size() > per_field)
      r.error = error_too_large_text;
  if (measure(results).total > threshold)
    return std::nullopt;
  return results;
}

} // namespace hatchet::engine
