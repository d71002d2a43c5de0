// The gRPC transport of StateService on gRPC's callback API.
//
// Every method is registered raw (bytes in, bytes out) and goes through one
// generic path: ParseRequest(), the matching StateHandlers function,
// ToGrpcStatus() for errors, then serialisation. No rpc has a code path of
// its own, and no call holds a thread of its own: handlers run inline on
// gRPC's callback threads and finish at once.
#ifndef MOZUMA_STATES_SERVICE_RPC_STATE_SERVICE_H_
#define MOZUMA_STATES_SERVICE_RPC_STATE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"
#include "service/rpc/state_handlers.h"

namespace mozuma::states {

// The raw-callback form of every StateService method.
using StateServiceBase =
    v1::StateService::WithRawCallbackMethod_ValidateStateTypes<
        v1::StateService::WithRawCallbackMethod_ValidateStateKeys<
            v1::StateService::WithRawCallbackMethod_CheckCompatibility<
                v1::StateService::WithRawCallbackMethod_ParseStateKey<
                    v1::StateService::Service>>>>;

// Registers with a grpc::ServerBuilder. Thread-safe. Must outlive the
// grpc::Server it is registered with.
class StateService final : public StateServiceBase {
 public:
  explicit StateService(ServiceLimits limits);
  ~StateService() override;

  StateService(const StateService&) = delete;
  StateService& operator=(const StateService&) = delete;

  // Delays the answer to every call by `delay` (default zero), holding a
  // thread per call meanwhile. For tests of draining only: never in service.
  void TEST_SetResponseDelay(absl::Duration delay) { delay_ = delay; }

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

 private:
  template <typename Request, typename Response>
  using Handler =
      absl::StatusOr<Response> (StateHandlers::*)(const Request&) const;

  // The one path every unary call takes.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer& request_bytes,
                                  grpc::ByteBuffer& response_bytes,
                                  Handler<Request, Response> handler);

  void Finish(grpc::CallbackServerContext* context,
              grpc::ServerUnaryReactor* reactor, grpc::Status status);

  const StateHandlers handlers_;
  absl::Duration delay_ = absl::ZeroDuration();
  std::mutex delayed_mutex_;
  std::vector<std::thread> delayed_;  // guarded by delayed_mutex_
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_STATE_SERVICE_H_
