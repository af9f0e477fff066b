#pragma once
// gRPC-side definition of rpc::channel; included only by client/*.cpp.

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "client/channel.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

class channel {
public:
  std::shared_ptr<grpc::Channel> grpc;
  std::string bearer; ///< "Bearer <token>"
  std::string namespace_;

  /// Adds the auth metadata and a deadline to a call's context.
  void prepare(grpc::ClientContext& ctx, std::chrono::milliseconds deadline) const {
    ctx.AddMetadata("authorization", bearer);
    if (deadline.count() > 0)
      ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  }
};

inline wire::rpc_status to_wire(const grpc::Status& st) {
  return wire::rpc_status{static_cast<int>(st.error_code()), st.error_message()};
}

} // namespace hatchet::rpc
