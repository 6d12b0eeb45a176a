#pragma once

// Runs a gateway in-process for tests: TestGatewayConfig gives a config for
// a list of upstreams and descriptor sets (loopback, port 0, the test JWT
// secret, generous limits, fast readiness probing), GatewayUnderTest starts
// it and captures its log lines. End-to-end tests against a real service
// use the same pieces: start the service, then
//   GatewayUnderTest gw(TestGatewayConfig({{"tickets", tickets.address()}},
//                                         {DescriptorPath("propdesk_tickets.pb")}));

#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/log.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "support/http_client.h"
#include "support/test_descriptors.h"

namespace propdesk::gateway::test {

GatewayConfig TestGatewayConfig(std::vector<UpstreamConfig> upstreams,
                                std::vector<std::string> descriptors);

// Collects log lines (thread-safe).
class LogCapture {
 public:
  common::LogSink Sink();
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
};

class GatewayUnderTest {
 public:
  // Starts the gateway; with `wait_ready`, waits until every upstream has
  // answered SERVING (fails the test after 10 s).
  explicit GatewayUnderTest(GatewayConfig config, bool wait_ready = true);
  ~GatewayUnderTest();

  int port() const { return gateway_->port(); }
  Gateway& gateway() { return *gateway_; }
  const LogCapture& logs() const { return *logs_; }
  std::unique_ptr<HttpClient> Client() const { return std::make_unique<HttpClient>(port()); }

 private:
  std::shared_ptr<LogCapture> logs_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Gateway> gateway_;
};

}  // namespace propdesk::gateway::test
