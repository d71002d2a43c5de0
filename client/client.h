// The C++ client library of mozuma.states.v1.StateService.
//
// A thin layer over the generated stub: one method per unary rpc, each
// returning absl::StatusOr with the server's error details (google.rpc
// ErrorInfo and BadRequest, see core/errors.h) kept as payloads of the
// status, and a default deadline on every call; shorthands for the common
// registry calls (Register, Get, Exists, List...); and Watch(), which follows
// the registry's changes on a thread of its own and resumes a broken stream
// (client/state_watcher.h). For checks that need no server, use the
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
//
//   v1::ListStatesRequest request;
//   request.mutable_state_type()->set_backend("pytorch");
//   request.mutable_state_type()->set_architecture("resnet18");
//   absl::StatusOr<std::vector<v1::State>> states = client->List(request);
#ifndef MOZUMA_STATES_CLIENT_CLIENT_H_
#define MOZUMA_STATES_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/state_watcher.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"

namespace mozuma::states {

struct ClientOptions {
  // The deadline of each unary call, from the moment it starts. Watch()
  // streams have none.
  absl::Duration timeout = absl::Seconds(10);
  // The largest response accepted. A full validation batch of long invalid
  // names can exceed gRPC's default of 4 MiB, hence the higher default.
  int max_response_bytes = 64 * 1024 * 1024;
  // How often an open call (a watch) checks that the connection is alive
  // with an HTTP/2 ping. statesd accepts pings every 20 s or more.
  absl::Duration keepalive_time = absl::Seconds(30);
};

// Returns the gRPC channel target for the server address `address`, as
// people write it:
//
//   http://HOST:PORT, grpc://HOST:PORT   plaintext, the URL form of `buf curl`
//                                        (a trailing `/` is allowed); HOST
//                                        may be a name, an IPv4 address or a
//                                        bracketed IPv6 one ([::1])
//   HOST:PORT, dns:///HOST:PORT,         gRPC's own target syntax, returned
//   unix:/path, ipv4:..., ipv6:...       as it is
//
// Returns INVALID_ARGUMENT, with a message that says what to write instead,
// for an empty address, `https://` or `grpcs://` (statesd serves plaintext
// only), and an http:// or grpc:// URL without a port, with a bad port, with
// user information, or with a path, query or fragment (a method URL pasted
// from `buf curl`). Needs no network.
absl::StatusOr<std::string> ChannelTarget(absl::string_view address);

// A connection to one StateService. Thread-safe: share one Client between
// threads; calls run concurrently over one HTTP/2 channel. Each unary call
// blocks the calling thread until the answer or the deadline; List() makes
// one call per page. Watch() returns at once and streams on its own thread.
class Client {
 public:
  // Returns a client for `target` (`host:port`, `http://host:port`,
  // `dns:///name:port`, `unix:/path`: see ChannelTarget()), over plaintext.
  // The connection is made on the first call, which fails with UNAVAILABLE
  // when the server cannot be reached. An address that ChannelTarget()
  // refuses is handed to gRPC as it is, so its calls fail with UNAVAILABLE
  // too; call ChannelTarget() first to report a bad address clearly.
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

  absl::StatusOr<v1::RegisterStateResponse> RegisterState(
      const v1::RegisterStateRequest& request) const;
  absl::StatusOr<v1::GetStateResponse> GetState(
      const v1::GetStateRequest& request) const;
  absl::StatusOr<v1::BatchGetStatesResponse> BatchGetStates(
      const v1::BatchGetStatesRequest& request) const;
  // One page of the listing; pass its `next_page_token` as the next
  // request's `page_token` (empty on the last page). List() walks them all.
  absl::StatusOr<v1::ListStatesResponse> ListStates(
      const v1::ListStatesRequest& request) const;
  absl::StatusOr<v1::DeleteStateResponse> DeleteState(
      const v1::DeleteStateRequest& request) const;

  // Shorthand for ParseStateKey: the key that dotted `name` stands for.
  absl::StatusOr<v1::StateKey> ParseStateKey(absl::string_view name) const;

  // Registers `state` (its output-only fields are ignored). The response
  // tells a new record (`created`), a no-op retry of the same content
  // (`changed` false) and, with `allow_overwrite`, a replacement apart.
  // Returns ALREADY_EXISTS (reason STATE_ALREADY_EXISTS) when the key holds
  // different content and `allow_overwrite` is false, INVALID_ARGUMENT
  // (INVALID_STATE) for a bad field.
  absl::StatusOr<v1::RegisterStateResponse> Register(
      const v1::State& state, bool allow_overwrite = false) const;

  // Returns the state registered under `key`, or NOT_FOUND (reason
  // STATE_NOT_FOUND) when there is none.
  absl::StatusOr<v1::State> Get(const v1::StateKey& key) const;

  // Returns whether a state is registered under `key`: false where Get()
  // returns NOT_FOUND. Any other error is returned as it is.
  absl::StatusOr<bool> Exists(const v1::StateKey& key) const;

  // Looks up every key of `keys` at one store revision: one result per key,
  // in order, `found` false for a key that is not registered. Returns
  // INVALID_ARGUMENT for an invalid key or more keys than the server takes
  // in one batch (1000 by default).
  absl::StatusOr<v1::BatchGetStatesResponse> BatchGet(
      const std::vector<v1::StateKey>& keys) const;

  // Returns every state `request` selects, in listing order, reading page
  // after page from `request.page_token()` (normally empty) to the last
  // one. Each page is its own call with its own deadline; the first error
  // ends the walk and is returned (INVALID_ARGUMENT, reason INVALID_FILTER,
  // for a bad filter). Returns INTERNAL if the server answers a page with
  // the token it was sent, which would never end.
  absl::StatusOr<std::vector<v1::State>> List(
      v1::ListStatesRequest request) const;

  // Deletes the state registered under `key`; with a nonzero
  // `expected_revision`, only if the state's revision still equals it.
  // Returns NOT_FOUND when no state has that key and FAILED_PRECONDITION
  // (reason REVISION_MISMATCH) when the revision differs.
  absl::StatusOr<v1::DeleteStateResponse> Delete(
      const v1::StateKey& key, std::int64_t expected_revision = 0) const;

  // Starts watching the registry with `request` (see WatchStates in
  // state_service.proto and StateWatcher) and returns at once. The watch
  // delivers to `callbacks` on a thread of its own, reconnects from the
  // last revision received after UNAVAILABLE, RESOURCE_EXHAUSTED and a
  // CANCELLED it did not ask for, and runs until an error that a
  // reconnection cannot cure (OUT_OF_RANGE, INVALID_ARGUMENT...), or until
  // the returned watcher is stopped or destroyed. It has no deadline. The
  // watcher may outlive this Client.
  std::unique_ptr<StateWatcher> Watch(const v1::WatchStatesRequest& request,
                                      WatchCallbacks callbacks,
                                      WatchOptions options = {}) const;

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
