#pragma once
// Factories for the gRPC services, so the server builder (dev_engine.cpp) never includes the
// generated headers: each heavy translation unit is compiled once.

#include <memory>

namespace grpc {
class Service;
} // namespace grpc

namespace hatchet::engine {

class engine_state;
class token_verifier;
struct engine_options;

/// What every service handler needs. All referenced objects outlive the services.
struct service_env {
  engine_state& state;
  const token_verifier& auth;
  const engine_options& opts;
};

/// `/Dispatcher/*` (dispatcher_service.cpp).
std::unique_ptr<grpc::Service> make_dispatcher_service(service_env env);
/// `/WorkflowService/*` (api_services.cpp).
std::unique_ptr<grpc::Service> make_workflow_service(service_env env);
/// `/v1.AdminService/*` (api_services.cpp).
std::unique_ptr<grpc::Service> make_admin_service(service_env env);
/// `/EventsService/*` (api_services.cpp).
std::unique_ptr<grpc::Service> make_events_service(service_env env);

} // namespace hatchet::engine
