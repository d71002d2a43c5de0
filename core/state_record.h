// The rules for a registered `State` beyond its key: its URI, digest, size
// and labels, and when two registrations carry the same content.
#ifndef MOZUMA_STATES_CORE_STATE_RECORD_H_
#define MOZUMA_STATES_CORE_STATE_RECORD_H_

#include <cstddef>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/names.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// Limits of a State record. Documented in state.proto.
inline constexpr std::size_t kMaxUriBytes = 4096;
inline constexpr std::size_t kMaxLabels = 64;
inline constexpr std::size_t kMaxLabelValueBytes = 1024;

// The violations of `state` as a registration: its key, `uri` (required,
// absolute, no whitespace or control characters), `sha256` (empty or 64
// lowercase hex digits), `size_bytes` (not negative) and `labels`. Field
// paths are prefixed with `prefix` (`state.`). Output-only fields are not
// checked.
std::vector<v1::Violation> ValidateState(const v1::State& state,
                                         const NameRules& rules,
                                         absl::string_view prefix = "");

// True when `a` and `b` record the same weights: equal `uri`, `sha256`,
// `size_bytes` (both unset, or equal) and `labels`. Keys and output-only
// fields are not compared.
bool SameContent(const v1::State& a, const v1::State& b);

// `state` with its output-only fields cleared, as a registration request
// carries it.
v1::State ContentOnly(const v1::State& state);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_STATE_RECORD_H_
