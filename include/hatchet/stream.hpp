#pragma once
// A run's stream as a client reads it: the chunks its tasks send with ctx.put_stream(), in the
// order each task sent them (hatchet::client::subscribe_stream).

#include <cstdint>
#include <optional>
#include <string>

namespace hatchet {

/// One chunk of a run's stream.
struct stream_chunk {
  /// The task run that sent it.
  std::string task_run_external_id;
  /// The bytes as the task passed them to ctx.put_stream().
  std::string data;
  /// Its place in that task's stream (0, 1, 2, ... per attempt); empty when the producer gave
  /// none (another SDK may not).
  std::optional<int64_t> index;
};

} // namespace hatchet
