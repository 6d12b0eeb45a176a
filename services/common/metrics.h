#pragma once

// Every process serves /metrics for Prometheus (ARCHITECTURE.md §10).
// MetricsServer owns the registry the process's metrics live in and the
// HTTP exposer serving it, and sets propdesk_build_info{service,version} = 1.

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <string_view>

namespace propdesk::common {

// The version this binary was built from (the CMake project version).
std::string_view BuildVersion();

class MetricsServer {
 public:
  // Serves GET http://<host>:<port>/metrics; port 0 picks a free port (see
  // port()). Throws Error(kUnavailable, "METRICS_PORT_UNAVAILABLE") when the
  // address cannot be bound.
  MetricsServer(std::string_view service, int port, std::string host = "0.0.0.0",
                std::string_view version = BuildVersion());
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& shared_registry() const { return registry_; }

  // The port actually bound.
  int port() const { return port_; }

 private:
  std::string host_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace propdesk::common
