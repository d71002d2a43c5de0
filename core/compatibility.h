// MoZuMa's compatibility relation between state types.
//
// Two state types are compatible when `backend` and `architecture` are
// equal (MoZuMa's `StateType.is_compatible_with`); `extra` only tells an
// exact match from a compatible one. Comparison is byte-wise: names are not
// normalised, so `é` written precomposed and decomposed are different names
// (the decomposed form is invalid anyway, as combining marks are not name
// characters). Pure functions: thread-safe, no I/O.
#ifndef MOZUMA_STATES_CORE_COMPATIBILITY_H_
#define MOZUMA_STATES_CORE_COMPATIBILITY_H_

#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// Returns true when `a` and `b` have equal `backend` and `architecture`.
// Symmetric, reflexive and transitive.
bool IsCompatible(const v1::StateType& a, const v1::StateType& b);

// Compares `candidate` with the model's `state_type`: EXACT when every field
// is equal, COMPATIBLE when only `extra` differs, INCOMPATIBLE otherwise;
// `differing_fields` lists "backend", "architecture" and "extra" as they
// differ, in that order.
v1::CompatibilityResult CompareStateTypes(const v1::StateType& state_type,
                                          const v1::StateType& candidate);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_COMPATIBILITY_H_
