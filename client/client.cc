#include "client/client.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/grpc_status.h"

namespace mozuma::states {

std::unique_ptr<Client> Client::Connect(const std::string& target,
                                        ClientOptions options) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(options.max_response_bytes);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      target, grpc::InsecureChannelCredentials(), arguments);
  return std::make_unique<Client>(v1::StateService::NewStub(channel), options);
}

Client::Client(std::shared_ptr<v1::StateService::StubInterface> stub,
               ClientOptions options)
    : stub_(std::move(stub)), options_(options) {}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(
    BlockingMethod<Request, Response> blocking,
    CallbackMethod<Request, Response> callback, const Request& request) const {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  Response response;
  grpc::Status status;
  if (v1::StateService::StubInterface::async_interface* async =
          stub_->async()) {
    absl::Notification done;
    (async->*callback)(&context, &request, &response,
                       [&status, &done](grpc::Status result) {
                         status = std::move(result);
                         done.Notify();
                       });
    done.WaitForNotification();
  } else {
    status = ((*stub_).*blocking)(&context, request, &response);
  }
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ValidateStateTypesResponse> Client::ValidateStateTypes(
    const v1::ValidateStateTypesRequest& request) const {
  return Call(
      &v1::StateService::StubInterface::ValidateStateTypes,
      &v1::StateService::StubInterface::async_interface::ValidateStateTypes,
      request);
}

absl::StatusOr<v1::ValidateStateKeysResponse> Client::ValidateStateKeys(
    const v1::ValidateStateKeysRequest& request) const {
  return Call(
      &v1::StateService::StubInterface::ValidateStateKeys,
      &v1::StateService::StubInterface::async_interface::ValidateStateKeys,
      request);
}

absl::StatusOr<v1::CheckCompatibilityResponse> Client::CheckCompatibility(
    const v1::CheckCompatibilityRequest& request) const {
  return Call(
      &v1::StateService::StubInterface::CheckCompatibility,
      &v1::StateService::StubInterface::async_interface::CheckCompatibility,
      request);
}

absl::StatusOr<v1::ParseStateKeyResponse> Client::ParseStateKey(
    const v1::ParseStateKeyRequest& request) const {
  return Call(&v1::StateService::StubInterface::ParseStateKey,
              &v1::StateService::StubInterface::async_interface::ParseStateKey,
              request);
}

absl::StatusOr<v1::StateKey> Client::ParseStateKey(
    absl::string_view name) const {
  v1::ParseStateKeyRequest request;
  request.set_name(std::string(name));
  absl::StatusOr<v1::ParseStateKeyResponse> response = ParseStateKey(request);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_state_key());
}

}  // namespace mozuma::states
