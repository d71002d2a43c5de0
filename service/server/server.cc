#include "service/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"

namespace mozuma::states {
namespace {

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

  auto service =
      std::make_unique<StateService>(options.limits, *store, options.watch);
  service->TEST_SetResponseDelay(options.TEST_response_delay);

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
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on \"", options.listen,
        "\": the address is malformed, in use, or not on this machine"));
  }
  std::unique_ptr<Server> server(
      new Server(std::move(store), std::move(service),
                 BoundAddress(options.listen, port)));
  server->server_ = std::move(grpc_server);
  server->server_->GetHealthCheckService()->SetServingStatus(
      v1::StateService::service_full_name(), true);
  return server;
}

Server::~Server() { Drain(absl::ZeroDuration()); }

void Server::Drain(absl::Duration grace) {
  std::call_once(drained_, [&] {
    server_->GetHealthCheckService()->SetServingStatus(false);
    service_->BeginShutdown();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  });
}

}  // namespace mozuma::states
