// Page tokens of ListStates: opaque to clients, bound to one filter, and
// signed so that an altered token is refused rather than misread.
//
// A token holds the SortKey() of the last state of its page (listing
// resumes after it, so concurrent writes never make it repeat or skip a
// state) and a truncated HMAC-SHA256, keyed by the store's
// PageTokenKey(), over that position and the canonical filter. It is
// URL-safe base64 without padding.
#ifndef MOZUMA_STATES_SERVICE_RPC_PAGE_TOKEN_H_
#define MOZUMA_STATES_SERVICE_RPC_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/state_filter.h"

namespace mozuma::states {

// The token that continues a listing with `filter` after `after`.
std::string EncodePageToken(absl::string_view key, const StateFilter& filter,
                            absl::string_view after);

// The position `token` continues after. INVALID_ARGUMENT, reason
// INVALID_PAGE_TOKEN, with a BadRequest on `page_token`, when the token is
// malformed, altered, signed by another store or made for another filter.
absl::StatusOr<std::string> DecodePageToken(absl::string_view key,
                                            const StateFilter& filter,
                                            absl::string_view token);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_PAGE_TOKEN_H_
