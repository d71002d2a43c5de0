#include "service/rpc/state_handlers.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/compatibility.h"
#include "core/errors.h"
#include "core/state_names.h"
#include "core/state_validation.h"
#include "core/status_macros.h"

namespace mozuma::states {

absl::StatusOr<v1::ValidateStateTypesResponse>
StateHandlers::ValidateStateTypes(
    const v1::ValidateStateTypesRequest& request) const {
  RETURN_IF_ERROR(CheckBatchSize("state_types", request.state_types_size(),
                                 limits_.max_batch_size));
  v1::ValidateStateTypesResponse response;
  response.mutable_results()->Reserve(request.state_types_size());
  for (const v1::StateType& state_type : request.state_types()) {
    *response.add_results() =
        MakeValidationResult(ValidateStateType(state_type, limits_.rules),
                             FormatStateType(state_type));
  }
  return response;
}

absl::StatusOr<v1::ValidateStateKeysResponse> StateHandlers::ValidateStateKeys(
    const v1::ValidateStateKeysRequest& request) const {
  RETURN_IF_ERROR(CheckBatchSize("state_keys", request.state_keys_size(),
                                 limits_.max_batch_size));
  v1::ValidateStateKeysResponse response;
  response.mutable_results()->Reserve(request.state_keys_size());
  for (const v1::StateKey& state_key : request.state_keys()) {
    *response.add_results() = MakeValidationResult(
        ValidateStateKey(state_key, limits_.rules), FormatStateKey(state_key));
  }
  return response;
}

absl::StatusOr<v1::CheckCompatibilityResponse>
StateHandlers::CheckCompatibility(
    const v1::CheckCompatibilityRequest& request) const {
  RETURN_IF_ERROR(CheckBatchSize("candidates", request.candidates_size(),
                                 limits_.max_batch_size));
  std::vector<v1::Violation> violations;
  if (!request.has_state_type()) {
    v1::Violation& violation = violations.emplace_back();
    violation.set_field("state_type");
    violation.set_reason(v1::VIOLATION_REASON_MISSING);
    violation.set_description("is required: the model's state type");
  } else {
    violations =
        ValidateStateType(request.state_type(), limits_.rules, "state_type.");
  }
  for (int i = 0; i < request.candidates_size(); ++i) {
    std::vector<v1::Violation> candidate =
        ValidateStateType(request.candidates(i), limits_.rules,
                          absl::StrCat("candidates[", i, "]."));
    violations.insert(violations.end(),
                      std::make_move_iterator(candidate.begin()),
                      std::make_move_iterator(candidate.end()));
  }
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidStateType, violations);
  }

  v1::CheckCompatibilityResponse response;
  response.mutable_results()->Reserve(request.candidates_size());
  for (const v1::StateType& candidate : request.candidates()) {
    *response.add_results() =
        CompareStateTypes(request.state_type(), candidate);
  }
  return response;
}

absl::StatusOr<v1::ParseStateKeyResponse> StateHandlers::ParseStateKey(
    const v1::ParseStateKeyRequest& request) const {
  v1::ParseStateKeyResponse response;
  ASSIGN_OR_RETURN(*response.mutable_state_key(),
                   ParseStateKeyName(request.name(), limits_.rules));
  return response;
}

}  // namespace mozuma::states
