#include "service/rpc/registry_handlers.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/errors.h"
#include "core/state_record.h"
#include "core/state_validation.h"
#include "core/status_macros.h"
#include "service/rpc/page_token.h"

namespace mozuma::states {
namespace {

void Append(std::vector<v1::Violation>& to, std::vector<v1::Violation> from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()),
            std::make_move_iterator(from.end()));
}

v1::Violation Missing(absl::string_view field, absl::string_view what) {
  return MakeViolation(field, "", v1::VIOLATION_REASON_MISSING,
                       absl::StrCat("is required: ", what));
}

v1::Violation Negative(absl::string_view field, std::int64_t value,
                       absl::string_view what) {
  return MakeViolation(field, absl::StrCat(value),
                       v1::VIOLATION_REASON_OUT_OF_RANGE,
                       absl::StrCat("must not be negative; ", what));
}

}  // namespace

RegistryHandlers::RegistryHandlers(StateStore& store, ServiceLimits limits,
                                   std::function<void()> on_change)
    : store_(store), limits_(limits), on_change_(std::move(on_change)) {}

absl::Status RegistryHandlers::ValidateKey(
    const v1::StateKey* key, std::vector<v1::Violation> violations) const {
  if (key == nullptr) {
    violations.insert(violations.begin(),
                      Missing("state_key", "the key of the state"));
  } else {
    std::vector<v1::Violation> key_violations =
        ValidateStateKey(*key, limits_.rules, "state_key.");
    Append(key_violations, std::move(violations));
    violations = std::move(key_violations);
  }
  if (violations.empty()) return absl::OkStatus();
  return InvalidFieldsError(reason::kInvalidStateKey, violations);
}

absl::StatusOr<v1::RegisterStateResponse> RegistryHandlers::RegisterState(
    const v1::RegisterStateRequest& request) const {
  std::vector<v1::Violation> violations;
  if (!request.has_state()) {
    violations.push_back(Missing("state", "the state to register"));
  } else {
    violations = ValidateState(request.state(), limits_.rules, "state.");
  }
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidState, violations);
  }
  ASSIGN_OR_RETURN(RegisterResult result,
                   store_.Register(request.state(), request.allow_overwrite(),
                                   absl::Now()));
  if (result.changed) on_change_();
  v1::RegisterStateResponse response;
  *response.mutable_state() = std::move(result.state);
  response.set_created(result.created);
  response.set_changed(result.changed);
  return response;
}

absl::StatusOr<v1::GetStateResponse> RegistryHandlers::GetState(
    const v1::GetStateRequest& request) const {
  RETURN_IF_ERROR(
      ValidateKey(request.has_state_key() ? &request.state_key() : nullptr));
  v1::GetStateResponse response;
  ASSIGN_OR_RETURN(*response.mutable_state(),
                   store_.Get(request.state_key()));
  return response;
}

absl::StatusOr<v1::BatchGetStatesResponse> RegistryHandlers::BatchGetStates(
    const v1::BatchGetStatesRequest& request) const {
  RETURN_IF_ERROR(CheckBatchSize("state_keys", request.state_keys_size(),
                                 limits_.max_batch_size));
  std::vector<v1::Violation> violations;
  for (int i = 0; i < request.state_keys_size(); ++i) {
    Append(violations, ValidateStateKey(request.state_keys(i), limits_.rules,
                                        absl::StrCat("state_keys[", i, "].")));
  }
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidStateKey, violations);
  }
  const std::vector<v1::StateKey> keys(request.state_keys().begin(),
                                       request.state_keys().end());
  ASSIGN_OR_RETURN(BatchGetResult result, store_.BatchGet(keys));
  v1::BatchGetStatesResponse response;
  response.set_revision(result.revision);
  response.mutable_results()->Reserve(request.state_keys_size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    v1::StateLookup* lookup = response.add_results();
    *lookup->mutable_state_key() = keys[i];
    lookup->set_found(result.states[i].has_value());
    if (result.states[i].has_value()) {
      *lookup->mutable_state() = *std::move(result.states[i]);
    }
  }
  return response;
}

absl::StatusOr<v1::ListStatesResponse> RegistryHandlers::ListStates(
    const v1::ListStatesRequest& request) const {
  std::vector<v1::Violation> violations =
      ValidateFilterFields(request, limits_.rules);
  if (request.page_size() < 0) {
    violations.push_back(Negative("page_size", request.page_size(),
                                  "0 asks for the default of 100"));
  }
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidFilter, violations);
  }
  // Built from a valid request only, so that the page token is checked
  // against the filter the request means.
  const StateFilter filter = FilterFromRequest(request);
  std::string after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after, DecodePageToken(store_.PageTokenKey(), filter,
                                            request.page_token()));
  }
  const int page_size = request.page_size() == 0
                            ? kDefaultPageSize
                            : std::min(request.page_size(), kMaxPageSize);
  ASSIGN_OR_RETURN(ListResult page,
                   store_.List(filter, after,
                               static_cast<std::size_t>(page_size)));
  v1::ListStatesResponse response;
  response.set_revision(page.revision);
  response.mutable_states()->Reserve(static_cast<int>(page.states.size()));
  // States with many long labels are large: end the page early rather
  // than send more than every gRPC client accepts by default.
  std::size_t bytes = 0;
  for (v1::State& state : page.states) {
    bytes += state.ByteSizeLong();
    if (bytes > kMaxPageBytes && response.states_size() > 0) {
      page.more = true;
      break;
    }
    *response.add_states() = std::move(state);
  }
  if (page.more && response.states_size() > 0) {
    response.set_next_page_token(EncodePageToken(
        store_.PageTokenKey(), filter,
        SortKey(response.states(response.states_size() - 1).state_key())));
  }
  return response;
}

absl::StatusOr<v1::DeleteStateResponse> RegistryHandlers::DeleteState(
    const v1::DeleteStateRequest& request) const {
  std::vector<v1::Violation> violations;
  if (request.expected_revision() < 0) {
    violations.push_back(Negative("expected_revision",
                                  request.expected_revision(),
                                  "0 deletes whatever the revision"));
  }
  RETURN_IF_ERROR(
      ValidateKey(request.has_state_key() ? &request.state_key() : nullptr,
                  std::move(violations)));
  ASSIGN_OR_RETURN(DeleteResult result,
                   store_.Delete(request.state_key(),
                                 request.expected_revision()));
  on_change_();
  v1::DeleteStateResponse response;
  *response.mutable_state() = std::move(result.state);
  response.set_revision(result.revision);
  return response;
}

absl::StatusOr<StateFilter> RegistryHandlers::WatchFilter(
    const v1::WatchStatesRequest& request) const {
  std::vector<v1::Violation> violations =
      ValidateFilterFields(request, limits_.rules);
  if (request.start_revision() < 0) {
    violations.push_back(Negative("start_revision", request.start_revision(),
                                  "0 starts with a snapshot"));
  }
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidFilter, violations);
  }
  return FilterFromRequest(request);
}

}  // namespace mozuma::states
