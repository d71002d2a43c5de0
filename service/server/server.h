// statesd's server: the StateService over a StateStore, plus the standard
// health and reflection services, on one listening address, with a
// graceful drain.
#ifndef MOZUMA_STATES_SERVICE_SERVER_SERVER_H_
#define MOZUMA_STATES_SERVICE_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
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
  // How often the server asks the store whether it can still take writes
  // (StateStore::Health()); see Server.
  absl::Duration store_check_interval = absl::Seconds(1);
#ifdef MOZUMA_STATES_TEST_HOOKS
  // See StateService::TEST_SetResponseDelay(). Only in the test build of
  // the server (statesd_testing); statesd has no such option.
  absl::Duration TEST_response_delay = absl::ZeroDuration();
#endif
};

// A running server. Thread-safe. Destroying it drains with no grace period.
//
// A thread of its own calls the store's Health() every
// `store_check_interval`. When it starts failing (the store's file was
// deleted or replaced), the health service reports NOT_SERVING for every
// service and one line naming the cause goes to stderr; when it passes
// again, SERVING and another line. gRPC's threads never wait for it.
class Server {
 public:
  // Builds and starts the server. When it cannot listen on
  // `options.listen`, returns an error whose one-line message names the
  // cause (see CheckCanListen() in listen_address.h for the codes):
  // INVALID_ARGUMENT for a malformed address or a host that does not
  // resolve, UNAVAILABLE for an address in use by another process (gRPC's
  // SO_REUSEPORT is off, so a second server never shares a port with the
  // first), FAILED_PRECONDITION for an address not of this machine,
  // PERMISSION_DENIED for a privileged port, UNKNOWN otherwise. gRPC's own
  // log lines about the failed bind are kept off stderr: the first call
  // routes gRPC's log, for the whole process, through a function that holds
  // lines back while a server binds and otherwise prints each on one line
  // of stderr.
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
  // The store checker's loop: see the class comment.
  void CheckStore(absl::Duration interval);

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
  // The store checker; notified to stop before the drain.
  absl::Notification stop_checking_;
  std::thread checker_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_SERVER_SERVER_H_
