#include "support/gateway_harness.h"

#include <gtest/gtest.h>

#include "support/test_upstream.h"

namespace propdesk::gateway::test {

GatewayConfig TestGatewayConfig(std::vector<UpstreamConfig> upstreams,
                                std::vector<std::string> descriptors) {
  GatewayConfig config;
  config.http_host = "127.0.0.1";
  config.http_port = 0;
  config.upstreams = std::move(upstreams);
  config.descriptor_paths = std::move(descriptors);
  config.jwt = TestJwtConfig();
  config.per_principal = {100000, 100000};
  config.per_site = {100000, 100000};
  config.threads = 2;
  config.readiness_interval = std::chrono::milliseconds(50);
  config.default_timeout = std::chrono::seconds(5);
  config.log_level = common::LogLevel::kInfo;
  return config;
}

common::LogSink LogCapture::Sink() {
  return [this](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(line);
  };
}

std::vector<std::string> LogCapture::lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

GatewayUnderTest::GatewayUnderTest(GatewayConfig config, bool wait_ready)
    : logs_(std::make_shared<LogCapture>()), registry_(std::make_shared<prometheus::Registry>()) {
  const common::LogLevel level = config.log_level;
  auto logger = std::make_shared<const common::Logger>("gateway", level, logs_->Sink());
  gateway_ = std::make_unique<Gateway>(std::move(config), logger, registry_);
  gateway_->Start();
  if (wait_ready && !gateway_->WaitUntilReady(std::chrono::seconds(10))) {
    ADD_FAILURE() << "the gateway's upstreams did not become ready";
  }
}

GatewayUnderTest::~GatewayUnderTest() {
  gateway_->Shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}

}  // namespace propdesk::gateway::test
