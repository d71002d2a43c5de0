// Which registered states a listing or a watch selects, and the order they
// are listed in. Shared by every storage implementation so that they all
// agree, and free of storage and gRPC.
#ifndef MOZUMA_STATES_CORE_STATE_FILTER_H_
#define MOZUMA_STATES_CORE_STATE_FILTER_H_

#include <optional>
#include <string>
#include <vector>

#include "core/names.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// A filter on state keys, as `ListStatesRequest` and `WatchStatesRequest`
// express it. Plain value type; the default selects every state.
struct StateFilter {
  // Only states of this type, compatible with it or (with `exact`) equal.
  std::optional<v1::StateType> state_type;
  // With `state_type`: the extra must be equal too.
  bool exact = false;
  // Only states with this training id, when not empty.
  std::string training_id;
};

// The filter of a request. Does not validate it: see ValidateFilterFields().
// `match` counts only with `state_type`, and only STATE_TYPE_MATCH_EXACT
// makes the filter exact; a `match` that StateTypeMatch does not declare
// would read as compatible, so validate the request first.
StateFilter FilterFromRequest(const v1::ListStatesRequest& request);
StateFilter FilterFromRequest(const v1::WatchStatesRequest& request);

// The violations of the filter fields of `request`, in field order, with
// paths from the request root: those of ValidateFilter() on its filter
// (`state_type.backend`, `training_id`...), and an UNKNOWN_ENUM_VALUE on
// `match` when it is not a StateTypeMatch value, with or without
// `state_type`. Empty exactly when FilterFromRequest(request) is a valid
// filter that means what the request asked for.
std::vector<v1::Violation> ValidateFilterFields(
    const v1::ListStatesRequest& request, const NameRules& rules);
std::vector<v1::Violation> ValidateFilterFields(
    const v1::WatchStatesRequest& request, const NameRules& rules);

// The violations of the names in `filter` (`state_type.backend`,
// `training_id`...), each path prefixed with `prefix`. A StateFilter has
// no `match` left to check: validate requests with ValidateFilterFields().
std::vector<v1::Violation> ValidateFilter(const StateFilter& filter,
                                          const NameRules& rules,
                                          absl::string_view prefix = "");

// True when `filter` selects the state with key `key`. Compares whole
// fields, never prefixes.
bool Matches(const StateFilter& filter, const v1::StateKey& key);

// A canonical text form of `filter`, equal for equal filters and different
// for different ones. Names hold no control characters, so it is
// unambiguous. For binding page tokens to their filter.
std::string CanonicalFilter(const StateFilter& filter);

// The listing order as bytes: for valid keys a and b, a lists before b
// exactly when SortKey(a) < SortKey(b) as byte strings (memcmp). The order
// is backend, architecture, extra element by element (a list before its
// extensions), then training id, each by Unicode code point (UTF-8 byte
// order). Valid names hold no byte below 0x20, so 0x00 and 0x01 serve as
// separators. Two keys are equal exactly when their sort keys are, so it
// also serves as the key's identity in storage.
std::string SortKey(const v1::StateKey& key);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_STATE_FILTER_H_
