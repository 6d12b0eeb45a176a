#include "common/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/gauge.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>
#include <vector>

#include "common/errors.h"

#ifndef PROPDESK_VERSION
#define PROPDESK_VERSION "dev"
#endif

namespace propdesk::common {
namespace {

// Opens and closes one TCP connection to host:port (IPv4 only; anything else
// is simply not woken and stops at civetweb's own pace).
void WakeListener(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  ::close(fd);
}

}  // namespace

std::string_view BuildVersion() { return PROPDESK_VERSION; }

MetricsServer::MetricsServer(std::string_view service, int port, std::string host,
                             std::string_view version)
    : host_(std::move(host)), registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("propdesk_build_info")
      .Help("Always 1; labels name the service and the version it was built from.")
      .Register(*registry_)
      .Add({{"service", std::string(service)}, {"version", std::string(version)}})
      .Set(1);

  const std::string address = host_ + ":" + std::to_string(port);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kUnavailable, "METRICS_PORT_UNAVAILABLE",
                "cannot serve /metrics on " + address + ": " + e.what(), {{"address", address}});
  }
  exposer_->RegisterCollectable(registry_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? port : ports.front();
}

MetricsServer::~MetricsServer() {
  // civetweb's listener checks its stop flag only between polls of 2 s; a
  // connection wakes the poll, so stopping takes milliseconds instead.
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      WakeListener(host_ == "0.0.0.0" || host_.empty() ? "127.0.0.1" : host_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  stopped.store(true);
  waker.join();
}

}  // namespace propdesk::common
