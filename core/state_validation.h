// Validation of whole state types and state keys.
//
// These functions apply the name rules (names.h) to every field of an item
// and report each problem as a v1::Violation whose field path starts at
// `prefix`, so the same code serves a batch item (`extra[2]`) and a request
// field (`candidates[3].extra[2]`). Pure functions: thread-safe, no I/O.
#ifndef MOZUMA_STATES_CORE_STATE_VALIDATION_H_
#define MOZUMA_STATES_CORE_STATE_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/names.h"
#include "google/protobuf/descriptor.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// Appends to `violations` one entry per problem with one name. `field` is the
// full path of the name.
void AppendNameViolations(absl::string_view name, absl::string_view field,
                          const NameRules& rules,
                          std::vector<v1::Violation>& violations);

// A violation of `field`. `value` is made printable (PrintableValue()).
v1::Violation MakeViolation(absl::string_view field, absl::string_view value,
                            v1::ViolationReason reason,
                            std::string description);

// Appends to `violations` an UNKNOWN_ENUM_VALUE violation of `field` when
// `value` is not a number that `type` declares; appends nothing otherwise.
// Proto3 enums are open: a parsed request keeps any number in an enum field,
// so every enum field of a request goes through this. The description
// names the declared values with their numbers, then `usage` when it is not
// empty (what unset means, for example).
void AppendEnumViolation(const google::protobuf::EnumDescriptor& type,
                         int value, absl::string_view field,
                         absl::string_view usage,
                         std::vector<v1::Violation>& violations);

// The TOO_MANY_EXTRAS violation of `field` for a state type with `extras`
// extras.
v1::Violation TooManyExtrasViolation(absl::string_view field,
                                     std::size_t extras,
                                     const NameRules& rules);

// Returns every problem with `state_type`, in field order: backend,
// architecture, then each extra; when there are more extras than
// `rules.max_extras`, a single TOO_MANY_EXTRAS instead of one entry per
// extra, so that the report stays small. Field paths are
// `prefix` followed by the field name (`prefix` is "" or ends with '.').
std::vector<v1::Violation> ValidateStateType(const v1::StateType& state_type,
                                             const NameRules& rules,
                                             absl::string_view prefix = "");

// Returns every problem with `state_key`: MISSING when `state_type` is not
// set, otherwise the problems of the state type under `state_type.`, then
// those of `training_id`.
std::vector<v1::Violation> ValidateStateKey(const v1::StateKey& state_key,
                                            const NameRules& rules,
                                            absl::string_view prefix = "");

// Builds the answer for one batch item: `valid`, the violations and, for a
// valid item, `name`.
v1::ValidationResult MakeValidationResult(std::vector<v1::Violation> violations,
                                          std::string name);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_STATE_VALIDATION_H_
