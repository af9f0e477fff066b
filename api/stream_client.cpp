// hatchet::client::subscribe_stream (include/hatchet/client.hpp), over
// client/stream_subscription.

#include "client/stream_subscription.hpp"
#include "hatchet/client.hpp"

namespace hatchet {

caf::error client::subscribe_stream(const std::string& workflow_run_id,
                                    const std::function<void(const stream_chunk&)>& on_chunk,
                                    std::chrono::milliseconds timeout) const {
  if (auto err = cfg_.validate())
    return err;
  return rpc::subscribe_stream(cfg_, workflow_run_id, on_chunk, timeout);
}

} // namespace hatchet
