// What someone meant to type: the known name closest to a mistyped one.
// statesd and statesctl use it to suggest a flag or a command after an
// unknown one. Pure functions: thread-safe, no I/O.
#ifndef MOZUMA_STATES_CORE_CLOSEST_NAME_H_
#define MOZUMA_STATES_CORE_CLOSEST_NAME_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mozuma::states {

// The name in `candidates` closest to `name`, ignoring case and `-` versus
// `_`: the only candidate that holds `name` (3 characters or more; `exp`
// for `expected_revision`, `charset` for `name_charset`), else the first
// one at the smallest edit distance (insertions, deletions, substitutions
// and swaps of neighbours each cost 1) when that is at most 1 for names of
// 4 characters or less and 2 for longer ones. Empty when none is close.
std::string ClosestName(absl::string_view name,
                        const std::vector<std::string>& candidates);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_CLOSEST_NAME_H_
