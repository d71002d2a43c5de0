// statesd's server: the StateService over a StateStore, plus the standard
// health and reflection services, on one listening address, with a
// graceful drain.
#ifndef MOZUMA_STATES_SERVICE_SERVER_SERVER_H_
#define MOZUMA_STATES_SERVICE_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/rpc/state_service.h"
#include "service/rpc/watch_hub.h"
#include "service/storage/state_store.h"

namespace mozuma::states {

struct ServerOptions {
  // Where to listen, as gRPC understands it: `host:port`, `[::1]:port`,
  // `unix:/path`. Port 0 picks a free port (see Server::address()).
  std::string listen = "127.0.0.1:50051";
  ServiceLimits limits;
  WatchHubOptions watch;
  // The largest request accepted, in bytes.
  int max_request_bytes = 4 * 1024 * 1024;
  // See StateService::TEST_SetResponseDelay().
  absl::Duration TEST_response_delay = absl::ZeroDuration();
};

// A running server. Thread-safe. Destroying it drains with no grace period.
class Server {
 public:
  // Builds and starts the server. Returns UNAVAILABLE when the address
  // cannot be bound (in use, or not local), INVALID_ARGUMENT for a
  // malformed address.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, std::unique_ptr<StateStore> store);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The address clients can dial, with the port actually bound.
  const std::string& address() const { return address_; }

  // Drains: the health service reports NOT_SERVING for every service,
  // watches end with UNAVAILABLE (SERVER_DRAINING), the server stops
  // accepting calls, and calls in flight get until `grace` to finish and are
  // then cancelled. Returns when all is done. Idempotent.
  void Drain(absl::Duration grace);

 private:
  Server(std::unique_ptr<StateStore> store,
         std::unique_ptr<StateService> service, std::string address)
      : store_(std::move(store)),
        service_(std::move(service)),
        address_(std::move(address)) {}

  // Declared first so that they are destroyed last: gRPC's server must be
  // gone before the service it calls into, and the service before its
  // store.
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<StateService> service_;
  std::unique_ptr<grpc::Server> server_;
  const std::string address_;
  std::once_flag drained_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_SERVER_SERVER_H_
