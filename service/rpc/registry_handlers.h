// The logic of the registry rpcs, as plain functions from request to
// response over a StateStore, free of gRPC like StateHandlers. WatchStates
// is streaming and lives in watch_hub.h; it validates its request here.
#ifndef MOZUMA_STATES_SERVICE_RPC_REGISTRY_HANDLERS_H_
#define MOZUMA_STATES_SERVICE_RPC_REGISTRY_HANDLERS_H_

#include <cstddef>
#include <functional>

#include "absl/status/statusor.h"
#include "core/state_filter.h"
#include "mozuma/states/v1/state_service.pb.h"
#include "service/rpc/state_handlers.h"
#include "service/storage/state_store.h"

namespace mozuma::states {

// Page sizes of ListStates.
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
// A page ends early rather than grow past this many bytes of states, well
// under the 4 MiB that gRPC clients accept by default.
inline constexpr std::size_t kMaxPageBytes = 2 * 1024 * 1024;

class RegistryHandlers {
 public:
  // `store` must outlive this object. `on_change` is called after every
  // call that changed the store (for watches); it must be cheap.
  RegistryHandlers(StateStore& store, ServiceLimits limits,
                   std::function<void()> on_change);

  // Each validates its request (INVALID_ARGUMENT with a BadRequest naming
  // every bad field) and answers as documented in state_service.proto.
  // Thread-safe.
  absl::StatusOr<v1::RegisterStateResponse> RegisterState(
      const v1::RegisterStateRequest& request) const;
  absl::StatusOr<v1::GetStateResponse> GetState(
      const v1::GetStateRequest& request) const;
  absl::StatusOr<v1::BatchGetStatesResponse> BatchGetStates(
      const v1::BatchGetStatesRequest& request) const;
  absl::StatusOr<v1::ListStatesResponse> ListStates(
      const v1::ListStatesRequest& request) const;
  absl::StatusOr<v1::DeleteStateResponse> DeleteState(
      const v1::DeleteStateRequest& request) const;

  // The filter of a valid WatchStatesRequest; INVALID_ARGUMENT (reason
  // INVALID_FILTER) otherwise.
  absl::StatusOr<StateFilter> WatchFilter(
      const v1::WatchStatesRequest& request) const;

 private:
  absl::Status ValidateKey(const v1::StateKey* key,
                           std::vector<v1::Violation> extra = {}) const;

  StateStore& store_;
  const ServiceLimits limits_;
  const std::function<void()> on_change_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_REGISTRY_HANDLERS_H_
