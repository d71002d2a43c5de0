// The dotted names of state types and state keys.
//
// MoZuMa's file stores name a state `{backend}.{architecture}[.{extra}...]
// .{training_id}` (`pytorch.resnet18.cls1000.imagenet`). Valid names hold no
// dot, so the form is unambiguous: first part backend, second architecture,
// last training id, the parts between extras. A state type is written the
// same way without the training id (`pytorch.resnet18.cls1000`). Pure
// functions: thread-safe, no I/O.
#ifndef MOZUMA_STATES_CORE_STATE_NAMES_H_
#define MOZUMA_STATES_CORE_STATE_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/names.h"
#include "mozuma/states/v1/state.pb.h"

namespace mozuma::states {

// Returns the dotted form of `state_type`. Meaningful only for a valid state
// type: an invalid name may itself hold a dot.
std::string FormatStateType(const v1::StateType& state_type);

// Returns the dotted form of `state_key`, as above.
std::string FormatStateKey(const v1::StateKey& state_key);

// Splits a dotted state type name into its parts without checking them
// against the name rules (see ParseStateTypeName for that). Returns
// INVALID_ARGUMENT, reason INVALID_STATE_NAME, with a BadRequest on `field`
// when the name has fewer than two parts.
absl::StatusOr<v1::StateType> SplitStateTypeName(
    absl::string_view name, absl::string_view field = "name");

// Splits a dotted state key name; as above, with at least three parts.
absl::StatusOr<v1::StateKey> SplitStateKeyName(
    absl::string_view name, absl::string_view field = "name");

// Splits and validates a dotted state type name. Returns INVALID_ARGUMENT,
// reason INVALID_STATE_NAME, whose BadRequest has one violation on `field`
// per problem, each description naming the dotted part ("part 2, the
// architecture, ...").
absl::StatusOr<v1::StateType> ParseStateTypeName(
    absl::string_view name, const NameRules& rules,
    absl::string_view field = "name");

// Splits and validates a dotted state key name; as above.
absl::StatusOr<v1::StateKey> ParseStateKeyName(
    absl::string_view name, const NameRules& rules,
    absl::string_view field = "name");

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_STATE_NAMES_H_
