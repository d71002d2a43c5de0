// Reading statesctl's positional arguments: dotted state keys and state
// types, and the filter that list and watch share.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_ARGUMENTS_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_ARGUMENTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states::statesctl {

// The key of dotted state name `name` (`pytorch.resnet18.cls1000.imagenet`).
// Returns INVALID_ARGUMENT, reason INVALID_STATE_NAME, whose BadRequest
// describes each bad part. Checks the characters of each part; the lengths
// and the number of extras are left to the server, whose limits are flags.
absl::StatusOr<v1::StateKey> ParseNameArgument(absl::string_view name);

// The state type `text` stands for: dotted (`pytorch.resnet18.cls1000`) or
// with slashes (`pytorch/resnet18`, `pytorch/resnet18/cls1000`). Errors as
// ParseNameArgument, on field `state_type`.
absl::StatusOr<v1::StateType> ParseStateTypeArgument(absl::string_view text);

// The filter of list and watch: `args` holds at most the STATE_TYPE, and
// --exact and --training_id complete it. Returns INVALID_ARGUMENT for a bad
// STATE_TYPE. The caller rejects --exact without a STATE_TYPE.
struct Filter {
  v1::StateType state_type;
  bool has_state_type = false;
  v1::StateTypeMatch match = v1::STATE_TYPE_MATCH_UNSPECIFIED;
  std::string training_id;

  // Sets the filter fields of a ListStatesRequest or WatchStatesRequest.
  template <typename Request>
  void ApplyTo(Request& request) const {
    if (has_state_type) *request.mutable_state_type() = state_type;
    request.set_match(match);
    request.set_training_id(training_id);
  }
};
absl::StatusOr<Filter> FilterFromArguments(
    const std::vector<std::string>& args);

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_ARGUMENTS_H_
