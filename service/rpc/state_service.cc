#include "service/rpc/state_service.h"

#include <utility>

#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "service/rpc/grpc_status.h"
#include "service/rpc/request_parser.h"

namespace mozuma::states {
namespace {

template <typename Request, typename Response, typename Handler>
absl::Status Run(const StateHandlers& handlers, Handler handler,
                 const grpc::ByteBuffer& request_bytes,
                 grpc::ByteBuffer& response_bytes) {
  Request request;
  RETURN_IF_ERROR(ParseRequest(request_bytes, request));
  ASSIGN_OR_RETURN(const Response response, (handlers.*handler)(request));
  bool own_buffer = false;
  const grpc::Status serialized =
      grpc::SerializationTraits<Response>::Serialize(response, &response_bytes,
                                                     &own_buffer);
  if (!serialized.ok()) {
    return absl::InternalError("could not serialize the response: " +
                               serialized.error_message());
  }
  return absl::OkStatus();
}

}  // namespace

StateService::StateService(ServiceLimits limits) : handlers_(limits) {}

StateService::~StateService() {
  std::lock_guard<std::mutex> lock(delayed_mutex_);
  for (std::thread& thread : delayed_) thread.join();
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* StateService::Serve(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer& request_bytes,
    grpc::ByteBuffer& response_bytes, Handler<Request, Response> handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Finish(context, reactor,
         ToGrpcStatus(Run<Request, Response>(handlers_, handler, request_bytes,
                                             response_bytes)));
  return reactor;
}

void StateService::Finish(grpc::CallbackServerContext* context,
                          grpc::ServerUnaryReactor* reactor,
                          grpc::Status status) {
  if (delay_ <= absl::ZeroDuration()) {
    reactor->Finish(std::move(status));
    return;
  }
  // Test-only path: answer later from a thread of its own, early if the
  // call is cancelled (as a drain past its grace period does).
  std::lock_guard<std::mutex> lock(delayed_mutex_);
  delayed_.emplace_back([context, reactor, status = std::move(status), this] {
    const absl::Time until = absl::Now() + delay_;
    while (absl::Now() < until && !context->IsCancelled()) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    reactor->Finish(status);
  });
}

grpc::ServerUnaryReactor* StateService::ValidateStateTypes(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response,
               &StateHandlers::ValidateStateTypes);
}

grpc::ServerUnaryReactor* StateService::ValidateStateKeys(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, &StateHandlers::ValidateStateKeys);
}

grpc::ServerUnaryReactor* StateService::CheckCompatibility(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response,
               &StateHandlers::CheckCompatibility);
}

grpc::ServerUnaryReactor* StateService::ParseStateKey(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, &StateHandlers::ParseStateKey);
}

}  // namespace mozuma::states
