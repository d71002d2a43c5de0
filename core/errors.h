// The error model shared by the server and the client library.
//
// Errors travel inside the code as absl::Status values that carry
// `google.rpc` detail messages as payloads keyed by their type URL
// (`type.googleapis.com/google.rpc.ErrorInfo`). Every error made here has
// exactly one ErrorInfo (domain kErrorDomain, a stable reason) and, for
// INVALID_ARGUMENT, one BadRequest listing every bad field. The RPC layer
// turns such a status into a gRPC status in one place, and the client turns
// it back in one place, so the details survive the trip unchanged.
#ifndef MOZUMA_STATES_CORE_ERRORS_H_
#define MOZUMA_STATES_CORE_ERRORS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// The `google.rpc.ErrorInfo.domain` of every error this service reports.
inline constexpr char kErrorDomain[] = "mozuma.states.v1";

// The `google.rpc.ErrorInfo.reason` values. Stable: clients switch on them.
namespace reason {
inline constexpr char kMalformedRequest[] = "MALFORMED_REQUEST";
inline constexpr char kBatchTooLarge[] = "BATCH_TOO_LARGE";
inline constexpr char kInvalidStateType[] = "INVALID_STATE_TYPE";
inline constexpr char kInvalidStateName[] = "INVALID_STATE_NAME";
inline constexpr char kInvalidState[] = "INVALID_STATE";
inline constexpr char kInvalidStateKey[] = "INVALID_STATE_KEY";
inline constexpr char kInvalidFilter[] = "INVALID_FILTER";
inline constexpr char kInvalidPageToken[] = "INVALID_PAGE_TOKEN";
inline constexpr char kStateNotFound[] = "STATE_NOT_FOUND";
inline constexpr char kStateAlreadyExists[] = "STATE_ALREADY_EXISTS";
inline constexpr char kRevisionMismatch[] = "REVISION_MISMATCH";
inline constexpr char kHistoryCompacted[] = "HISTORY_COMPACTED";
inline constexpr char kFutureRevision[] = "FUTURE_REVISION";
inline constexpr char kWatchTooSlow[] = "WATCH_TOO_SLOW";
inline constexpr char kServerDraining[] = "SERVER_DRAINING";
inline constexpr char kStorageError[] = "STORAGE_ERROR";
inline constexpr char kStorageBusy[] = "STORAGE_BUSY";
inline constexpr char kStoreFileGone[] = "STORE_FILE_GONE";
}  // namespace reason

// Payload keys under which details are attached to an absl::Status.
inline constexpr char kErrorInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";

// Returns a status with `code`, `message` and an ErrorInfo carrying
// `reason` and `metadata`. `code` must not be OK.
absl::Status MakeError(absl::StatusCode code, absl::string_view reason,
                       absl::string_view message,
                       const std::map<std::string, std::string>& metadata = {});

// Returns INVALID_ARGUMENT for a request whose fields break the rules.
// `violations` (at least one) must carry field paths from the request root.
// The message lists the violations; the status carries a BadRequest with one
// field violation each and an ErrorInfo whose metadata maps each field path
// to its short reason (ShortReasonName()).
absl::Status InvalidFieldsError(absl::string_view reason,
                                const std::vector<v1::Violation>& violations);

// Returns INVALID_ARGUMENT, reason BATCH_TOO_LARGE, when `size` exceeds
// `max_size`, naming `field`; OK otherwise.
absl::Status CheckBatchSize(absl::string_view field, std::size_t size,
                            std::size_t max_size);

// The reason without its enum prefix: "INVALID_CHARACTER" for
// VIOLATION_REASON_INVALID_CHARACTER.
std::string ShortReasonName(v1::ViolationReason reason);

// The details attached to `status`, if any.
std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status);
std::optional<google::rpc::BadRequest> GetBadRequest(
    const absl::Status& status);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_ERRORS_H_
