// The gRPC transport of StateService on gRPC's callback API.
//
// Every method is registered raw (bytes in, bytes out). Every unary method
// goes through one generic path: ParseRequest(), the matching function of
// StateHandlers or RegistryHandlers, ToGrpcStatus() for errors, then
// serialisation. No rpc has a code path of its own, and no call holds a
// thread of its own: handlers run inline on gRPC's callback threads (the
// registry's reads and writes are local SQLite calls of well under a
// millisecond, plus an fsync per write) and finish at once. WatchStates
// parses and validates the same way and is then served by the WatchHub.
#ifndef MOZUMA_STATES_SERVICE_RPC_STATE_SERVICE_H_
#define MOZUMA_STATES_SERVICE_RPC_STATE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"
#include "service/rpc/registry_handlers.h"
#include "service/rpc/state_handlers.h"
#include "service/rpc/watch_hub.h"
#include "service/storage/state_store.h"

namespace mozuma::states {

// The raw-callback form of every StateService method.
template <typename Base>
using RawCallbackMethods =
    v1::StateService::WithRawCallbackMethod_ValidateStateTypes<
    v1::StateService::WithRawCallbackMethod_ValidateStateKeys<
    v1::StateService::WithRawCallbackMethod_CheckCompatibility<
    v1::StateService::WithRawCallbackMethod_ParseStateKey<
    v1::StateService::WithRawCallbackMethod_RegisterState<
    v1::StateService::WithRawCallbackMethod_GetState<
    v1::StateService::WithRawCallbackMethod_BatchGetStates<
    v1::StateService::WithRawCallbackMethod_ListStates<
    v1::StateService::WithRawCallbackMethod_DeleteState<
    v1::StateService::WithRawCallbackMethod_WatchStates<Base>>>>>>>>>>;
using StateServiceBase = RawCallbackMethods<v1::StateService::Service>;

// Registers with a grpc::ServerBuilder. Thread-safe. Must outlive the
// grpc::Server it is registered with.
class StateService final : public StateServiceBase {
 public:
  // `store` must outlive the service.
  StateService(ServiceLimits limits, StateStore& store,
               WatchHubOptions watch_options);
  ~StateService() override;

  StateService(const StateService&) = delete;
  StateService& operator=(const StateService&) = delete;

#ifdef MOZUMA_STATES_TEST_HOOKS
  // Delays the answer to every call by `delay` (default zero), holding a
  // thread per call meanwhile. For tests of draining only: compiled only into
  // the test build of the server (statesd_testing), never into statesd.
  void TEST_SetResponseDelay(absl::Duration delay) { delay_ = delay; }
#endif

  grpc::ServerUnaryReactor* ValidateStateTypes(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ValidateStateKeys(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* CheckCompatibility(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ParseStateKey(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RegisterState(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetState(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchGetStates(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListStates(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteState(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchStates(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;

  // Ends every watch with UNAVAILABLE (SERVER_DRAINING), now and from now
  // on, so that a drain does not wait for watches to end by themselves.
  void BeginShutdown() { watches_.Shutdown(); }

 private:
  template <typename Handlers, typename Request, typename Response>
  using Handler = absl::StatusOr<Response> (Handlers::*)(const Request&) const;

  // The one path every unary call takes.
  template <typename Handlers, typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer& request_bytes,
                                  grpc::ByteBuffer& response_bytes,
                                  const Handlers& handlers,
                                  Handler<Handlers, Request, Response> handler);

  void Finish(grpc::CallbackServerContext* context,
              grpc::ServerUnaryReactor* reactor, grpc::Status status);

  const StateHandlers handlers_;
  WatchHub watches_;
  const RegistryHandlers registry_;
#ifdef MOZUMA_STATES_TEST_HOOKS
  absl::Duration delay_ = absl::ZeroDuration();
  std::mutex delayed_mutex_;
  std::vector<std::thread> delayed_;  // guarded by delayed_mutex_
#endif
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_STATE_SERVICE_H_
