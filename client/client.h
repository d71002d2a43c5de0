// The C++ client library of mozuma.states.v1.StateService.
//
// A thin layer over the generated stub: one method per rpc, each returning
// absl::StatusOr with the server's error details (google.rpc ErrorInfo and
// BadRequest, see core/errors.h) kept as payloads of the status, and a
// default deadline on every call. For checks that need no server, use the
// validation core directly (core/names.h, core/state_validation.h,
// core/state_names.h): it is the same code the server runs.
//
// Example:
//
//   auto client = mozuma::states::Client::Connect("127.0.0.1:50051");
//   absl::StatusOr<v1::StateKey> key =
//       client->ParseStateKey("pytorch.resnet18.cls1000.imagenet");
//   if (!key.ok()) {
//     if (auto info = GetErrorInfo(key.status())) { ... info->reason() ... }
//   }
#ifndef MOZUMA_STATES_CLIENT_CLIENT_H_
#define MOZUMA_STATES_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"

namespace mozuma::states {

struct ClientOptions {
  // The deadline of each call, from the moment it starts.
  absl::Duration timeout = absl::Seconds(10);
  // The largest response accepted. A full validation batch of long invalid
  // names can exceed gRPC's default of 4 MiB, hence the higher default.
  int max_response_bytes = 64 * 1024 * 1024;
};

// A connection to one StateService. Thread-safe: share one Client between
// threads; calls run concurrently over one HTTP/2 channel. Each call blocks
// the calling thread until the answer or the deadline.
class Client {
 public:
  // Returns a client for `target` (`host:port`, `dns:///name:port`,
  // `unix:/path`), over plaintext. The connection is made on the first call,
  // which fails with UNAVAILABLE when the server cannot be reached.
  static std::unique_ptr<Client> Connect(const std::string& target,
                                         ClientOptions options = {});

  // Returns a client over `stub`, for tests and custom channels.
  Client(std::shared_ptr<v1::StateService::StubInterface> stub,
         ClientOptions options);

  // The rpcs, as documented in state_service.proto. Each returns the
  // response, or the call's status: the server's code and message with its
  // google.rpc details as payloads, DEADLINE_EXCEEDED after
  // `options.timeout`, UNAVAILABLE when the server cannot be reached.
  absl::StatusOr<v1::ValidateStateTypesResponse> ValidateStateTypes(
      const v1::ValidateStateTypesRequest& request) const;
  absl::StatusOr<v1::ValidateStateKeysResponse> ValidateStateKeys(
      const v1::ValidateStateKeysRequest& request) const;
  absl::StatusOr<v1::CheckCompatibilityResponse> CheckCompatibility(
      const v1::CheckCompatibilityRequest& request) const;
  absl::StatusOr<v1::ParseStateKeyResponse> ParseStateKey(
      const v1::ParseStateKeyRequest& request) const;

  // Shorthand for ParseStateKey: the key that dotted `name` stands for.
  absl::StatusOr<v1::StateKey> ParseStateKey(absl::string_view name) const;

 private:
  template <typename Request, typename Response>
  using BlockingMethod = grpc::Status (v1::StateService::StubInterface::*)(
      grpc::ClientContext*, const Request&, Response*);
  template <typename Request, typename Response>
  using CallbackMethod =
      void (v1::StateService::StubInterface::async_interface::*)(
          grpc::ClientContext*, const Request*, Response*,
          std::function<void(grpc::Status)>);

  // The one path every call takes. It uses the stub's callback interface,
  // which costs about half the latency of the blocking one (see
  // docs/BENCHMARKS.md), and the blocking one for stubs without it (mocks).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(BlockingMethod<Request, Response> blocking,
                                CallbackMethod<Request, Response> callback,
                                const Request& request) const;

  std::shared_ptr<v1::StateService::StubInterface> stub_;
  ClientOptions options_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CLIENT_CLIENT_H_
