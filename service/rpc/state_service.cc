#include "service/rpc/state_service.h"

#include <utility>

#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "service/rpc/grpc_status.h"
#include "service/rpc/request_parser.h"

namespace mozuma::states {
namespace {

template <typename Request, typename Response, typename Handlers,
          typename Handler>
absl::Status Run(const Handlers& handlers, Handler handler,
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

StateService::StateService(ServiceLimits limits, StateStore& store,
                           WatchHubOptions watch_options)
    : handlers_(limits),
      watches_(store, watch_options),
      registry_(store, limits, [this] { watches_.Notify(); }) {}

StateService::~StateService() {
#ifdef MOZUMA_STATES_TEST_HOOKS
  std::lock_guard<std::mutex> lock(delayed_mutex_);
  for (std::thread& thread : delayed_) thread.join();
#endif
}

template <typename Handlers, typename Request, typename Response>
grpc::ServerUnaryReactor* StateService::Serve(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer& request_bytes,
    grpc::ByteBuffer& response_bytes, const Handlers& handlers,
    Handler<Handlers, Request, Response> handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Finish(context, reactor,
         ToGrpcStatus(Run<Request, Response>(handlers, handler, request_bytes,
                                             response_bytes)));
  return reactor;
}

void StateService::Finish(grpc::CallbackServerContext* context,
                          grpc::ServerUnaryReactor* reactor,
                          grpc::Status status) {
#ifndef MOZUMA_STATES_TEST_HOOKS
  (void)context;
  reactor->Finish(std::move(status));
#else
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
#endif
}

grpc::ServerUnaryReactor* StateService::ValidateStateTypes(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, handlers_,
               &StateHandlers::ValidateStateTypes);
}

grpc::ServerUnaryReactor* StateService::ValidateStateKeys(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, handlers_,
               &StateHandlers::ValidateStateKeys);
}

grpc::ServerUnaryReactor* StateService::CheckCompatibility(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, handlers_,
               &StateHandlers::CheckCompatibility);
}

grpc::ServerUnaryReactor* StateService::ParseStateKey(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, handlers_,
               &StateHandlers::ParseStateKey);
}

grpc::ServerUnaryReactor* StateService::RegisterState(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, registry_,
               &RegistryHandlers::RegisterState);
}

grpc::ServerUnaryReactor* StateService::GetState(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, registry_,
               &RegistryHandlers::GetState);
}

grpc::ServerUnaryReactor* StateService::BatchGetStates(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, registry_,
               &RegistryHandlers::BatchGetStates);
}

grpc::ServerUnaryReactor* StateService::ListStates(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, registry_,
               &RegistryHandlers::ListStates);
}

grpc::ServerUnaryReactor* StateService::DeleteState(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, *request, *response, registry_,
               &RegistryHandlers::DeleteState);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* StateService::WatchStates(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  v1::WatchStatesRequest watch;
  absl::Status status = ParseRequest(*request, watch);
  absl::StatusOr<StateFilter> filter =
      status.ok() ? registry_.WatchFilter(watch) : status;
  if (!filter.ok()) {
    // A reactor that only reports the error.
    class Refusal final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
     public:
      explicit Refusal(const absl::Status& status) {
        Finish(ToGrpcStatus(status));
      }
      void OnDone() override { delete this; }
    };
    return new Refusal(filter.status());
  }
  return watches_.Start(context, *std::move(filter), watch.start_revision());
}

}  // namespace mozuma::states
