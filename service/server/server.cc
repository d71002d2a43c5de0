#include "service/server/server.h"

#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "service/server/listen_address.h"

namespace mozuma::states {
namespace {

// gRPC's log lines. While a server binds they are held back, because a
// failed bind is reported by Start() in one line of its own; the last one
// held is kept for a failure Start() cannot explain. Otherwise each goes to
// stderr in one line, as gRPC's default does.
std::atomic<int> binding_servers{0};
std::mutex held_mutex;
std::string held_line;  // guarded by held_mutex

void LogGrpcLine(gpr_log_func_args* args) {
  if (binding_servers.load() > 0) {
    std::lock_guard<std::mutex> lock(held_mutex);
    held_line = args->message;
    return;
  }
  const char* file = std::strrchr(args->file, '/');
  std::fprintf(stderr, "%s grpc %s:%d] %s\n",
               gpr_log_severity_string(args->severity),
               file == nullptr ? args->file : file + 1, args->line,
               args->message);
}

// The innermost os_error of a gRPC error tree, or the line itself.
std::string SummarizeGrpcLine(const std::string& line) {
  const std::string key = "os_error:\"";
  const std::size_t at = line.rfind(key);
  if (at == std::string::npos) return line.substr(0, line.find('{'));
  const std::size_t end = line.find('"', at + key.size());
  return line.substr(at + key.size(), end - at - key.size());
}

// `host:port` with the port replaced by `port`; other schemes unchanged.
std::string BoundAddress(const std::string& listen, int port) {
  if (absl::StartsWith(listen, "unix:") ||
      absl::StartsWith(listen, "unix-abstract:")) {
    return listen;
  }
  const std::size_t colon = listen.rfind(':');
  return absl::StrCat(listen.substr(0, colon), ":", port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, std::unique_ptr<StateStore> store) {
  // Both are process-wide switches that only take effect for servers built
  // after them; setting them again is harmless.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // Referencing the health descriptors keeps the linker from dropping them,
  // so that reflection can describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();

  // Catches what gRPC would misreport or silently accept: a malformed
  // address, and a bind that would fail or steal a unix socket.
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status();
  if (absl::Status can = CheckCanListen(*address); !can.ok()) return can;

  auto service =
      std::make_unique<StateService>(options.limits, *store, options.watch);
#ifdef MOZUMA_STATES_TEST_HOOKS
  service->TEST_SetResponseDelay(options.TEST_response_delay);
#endif

  static std::once_flag log_installed;
  std::call_once(log_installed, [] { gpr_set_log_function(LogGrpcLine); });
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           &port);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  // gRPC sets SO_REUSEPORT by default, which lets a second statesd bind the
  // same port and silently take half of the traffic. Fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Watches are long-lived: ping quiet connections so that a client that
  // vanished without closing frees its watch, and accept clients' own
  // keepalive pings down to every 20 s (gRPC's default refuses pings more
  // often than every 5 minutes and closes the connection).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 20 * 1000);
  builder.RegisterService(service.get());
  ++binding_servers;
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  --binding_servers;
  if (grpc_server == nullptr || port == 0) {
    // Something took the address since the check, or gRPC failed for a
    // reason of its own: say which.
    if (absl::Status can = CheckCanListen(*address); !can.ok()) return can;
    std::lock_guard<std::mutex> lock(held_mutex);
    return absl::UnknownError(
        absl::StrCat("gRPC could not listen: ", SummarizeGrpcLine(held_line)));
  }
  std::unique_ptr<Server> server(
      new Server(std::move(store), std::move(service),
                 BoundAddress(options.listen, port)));
  server->server_ = std::move(grpc_server);
  server->server_->GetHealthCheckService()->SetServingStatus(
      v1::StateService::service_full_name(), true);
  server->checker_ = std::thread(&Server::CheckStore, server.get(),
                                 options.store_check_interval);
  return server;
}

Server::~Server() { Drain(absl::ZeroDuration()); }

void Server::CheckStore(absl::Duration interval) {
  bool healthy = true;
  while (!stop_checking_.WaitForNotificationWithTimeout(interval)) {
    const absl::Status health = store_->Health();
    if (health.ok() == healthy) continue;
    healthy = health.ok();
    // Set before the line is printed, so that whoever reads the line sees
    // the status it announces.
    server_->GetHealthCheckService()->SetServingStatus(healthy);
    if (healthy) {
      std::fprintf(stderr,
                   "statesd: the store's file is back; health is SERVING and "
                   "writes are accepted again\n");
    } else {
      std::fprintf(stderr, "statesd: health is NOT_SERVING: %s\n",
                   std::string(health.message()).c_str());
    }
  }
}

void Server::Drain(absl::Duration grace) {
  std::call_once(drained_, [&] {
    // Stopped first, so that it cannot report SERVING during the drain.
    stop_checking_.Notify();
    if (checker_.joinable()) checker_.join();
    server_->GetHealthCheckService()->SetServingStatus(false);
    service_->BeginShutdown();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  });
}

}  // namespace mozuma::states
