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
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/names.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

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

// Returns every problem with dotted state type name `name`, each a
// violation of `field` (empty when the name is valid), in this order:
//
// * an empty name: EMPTY alone;
// * more extras than `rules` allow: TOO_MANY_EXTRAS alone, counted before
//   the name is split, so that a name of a few MiB of dots costs no more
//   than its own size;
// * fewer than two parts: TOO_FEW_PARTS ("has 1 dot-separated part(s)..."),
//   then the problems of every part (`part 1, character U+0020 SPACE at
//   index 6 is not allowed: ...`), so that `ResNet 18` reports its space
//   too;
// * otherwise the problems of every part, each description naming the
//   dotted part and its field ("part 2, the architecture, ...").
//
// Each part is checked with CheckName() (names.h), which names a part's
// first bad character.
std::vector<v1::Violation> CheckStateTypeName(absl::string_view name,
                                              const NameRules& rules,
                                              absl::string_view field = "name");

// As CheckStateTypeName(), for a dotted state key name (at least three
// parts; the last names "the training id").
std::vector<v1::Violation> CheckStateKeyName(absl::string_view name,
                                             const NameRules& rules,
                                             absl::string_view field = "name");

// Splits and validates a dotted state type name. Returns INVALID_ARGUMENT,
// reason INVALID_STATE_NAME, whose BadRequest has one violation on `field`
// per problem that CheckStateTypeName() finds; the ErrorInfo metadata maps
// `field` to the short reason of the first one (core/errors.h).
absl::StatusOr<v1::StateType> ParseStateTypeName(
    absl::string_view name, const NameRules& rules,
    absl::string_view field = "name");

// Splits and validates a dotted state key name; as above, with
// CheckStateKeyName().
absl::StatusOr<v1::StateKey> ParseStateKeyName(
    absl::string_view name, const NameRules& rules,
    absl::string_view field = "name");

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_STATE_NAMES_H_
