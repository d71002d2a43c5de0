// The logic of each StateService rpc, as plain functions from request to
// response, free of gRPC: the transport (state_service.h) parses, calls one
// of these and converts the result.
#ifndef MOZUMA_STATES_SERVICE_RPC_STATE_HANDLERS_H_
#define MOZUMA_STATES_SERVICE_RPC_STATE_HANDLERS_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "core/names.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// What a server accepts. Plain value type.
struct ServiceLimits {
  static constexpr std::size_t kDefaultMaxBatchSize = 1000;

  NameRules rules;
  // The most items one batch request may hold.
  std::size_t max_batch_size = kDefaultMaxBatchSize;
};

// Answers the StateService rpcs. Immutable after construction, so safe to
// call from many threads at once.
class StateHandlers {
 public:
  explicit StateHandlers(ServiceLimits limits) : limits_(limits) {}

  const ServiceLimits& limits() const { return limits_; }

  // Each returns the response, or an error as documented on the rpc in
  // state_service.proto: INVALID_ARGUMENT with a BadRequest and an ErrorInfo
  // for a request that breaks the rules.
  absl::StatusOr<v1::ValidateStateTypesResponse> ValidateStateTypes(
      const v1::ValidateStateTypesRequest& request) const;
  absl::StatusOr<v1::ValidateStateKeysResponse> ValidateStateKeys(
      const v1::ValidateStateKeysRequest& request) const;
  absl::StatusOr<v1::CheckCompatibilityResponse> CheckCompatibility(
      const v1::CheckCompatibilityRequest& request) const;
  absl::StatusOr<v1::ParseStateKeyResponse> ParseStateKey(
      const v1::ParseStateKeyRequest& request) const;

 private:
  const ServiceLimits limits_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_STATE_HANDLERS_H_
