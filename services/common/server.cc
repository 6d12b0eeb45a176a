#include "common/server.h"

#include <absl/synchronization/mutex.h>
#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

#include "common/errors.h"

namespace propdesk::common {
namespace {

int ToIntMs(std::chrono::milliseconds duration) {
  return static_cast<int>(std::min<int64_t>(duration.count(), INT32_MAX));
}

void ApplyChannelLimits(const GrpcServerOptions& options, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ToIntMs(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ToIntMs(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ToIntMs(options.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ToIntMs(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ToIntMs(options.max_connection_age_grace));
  // gRPC sets SO_REUSEPORT by default, which would let a second process bind
  // the same port silently and steal half the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

// The self-pipe of ShutdownSignal: [0] read end, [1] write end.
int g_signal_pipe[2] = {-1, -1};

extern "C" void OnShutdownSignal(int signal_number) {
  const int saved_errno = errno;
  const char byte = static_cast<char>(signal_number);
  [[maybe_unused]] ssize_t ignored = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

void InstallSignalPipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
      throw Internal(std::string("cannot create the signal pipe: ") + std::strerror(errno));
    }
  });
}

void SetHandler(int signal_number, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(signal_number, &action, nullptr);
}

}  // namespace

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

GrpcServer::GrpcServer(GrpcServerOptions options, const std::vector<grpc::Service*>& services,
                       prometheus::Registry* metrics_registry, const Logger* logger)
    : options_(std::move(options)), logger_(logger) {
  DisableMutexDeadlockDetection();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  const std::string address = options_.host + ":" + std::to_string(options_.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
  ApplyChannelLimits(options_, builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (metrics_registry != nullptr) {
    metrics_ = std::make_unique<GrpcServerMetrics>(*metrics_registry);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(metrics_->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    throw Error(ErrorKind::kUnavailable, "GRPC_PORT_UNAVAILABLE",
                "cannot serve gRPC on " + address + " (port in use or address invalid)",
                {{"address", address}});
  }
  SetServing(!options_.start_not_serving);
  if (logger_ != nullptr) {
    logger_->Info("grpc server listening", {{"port", port_}});
  }
}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::system_clock::now()); }

void GrpcServer::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  for (const std::string& name : options_.health_names) health->SetServingStatus(name, serving);
}

void GrpcServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    SetServing(false);
    // Every status NOT_SERVING from now on, whatever readiness reports.
    health->Shutdown();
  }
  server_->Shutdown(deadline);
  server_->Wait();
}

ShutdownSignal::ShutdownSignal() {
  InstallSignalPipe();
  SetHandler(SIGTERM, OnShutdownSignal);
  SetHandler(SIGINT, OnShutdownSignal);
}

int ShutdownSignal::Wait() {
  char byte = 0;
  for (;;) {
    const ssize_t n = ::read(g_signal_pipe[0], &byte, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    throw Internal(std::string("cannot read the signal pipe: ") + std::strerror(errno));
  }
  // A second SIGTERM/SIGINT during the graceful stop ends the process at once.
  SetHandler(SIGTERM, SIG_DFL);
  SetHandler(SIGINT, SIG_DFL);
  return static_cast<unsigned char>(byte);
}

void ShutdownSignal::Trigger() { OnShutdownSignal(0); }

void GracefulStop(GrpcServer& server, BlockingExecutor& executor, ReadinessProber* readiness,
                  std::chrono::milliseconds grace, const Logger& logger) {
  const auto start = std::chrono::steady_clock::now();
  logger.Info("shutting down", {{"grace_ms", static_cast<int64_t>(grace.count())}});
  if (readiness != nullptr) readiness->Stop();
  server.Shutdown(std::chrono::system_clock::now() + grace);
  executor.Stop();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  logger.Info("stopped", {{"ms", static_cast<int64_t>(took.count())}});
}

void RunUntilSignal(GrpcServer& server, BlockingExecutor& executor, ReadinessProber* readiness,
                    std::chrono::milliseconds grace, const Logger& logger) {
  ShutdownSignal signal;
  const int signal_number = signal.Wait();
  logger.Info("shutdown requested", {{"signal", signal_number}});
  GracefulStop(server, executor, readiness, grace, logger);
}

}  // namespace propdesk::common
