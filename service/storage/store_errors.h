// The errors every StateStore reports, made in one place so that every
// implementation reports them alike.
#ifndef MOZUMA_STATES_SERVICE_STORAGE_STORE_ERRORS_H_
#define MOZUMA_STATES_SERVICE_STORAGE_STORE_ERRORS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mozuma/states/v1/state.pb.h"

namespace mozuma::states {

// NOT_FOUND, STATE_NOT_FOUND, metadata `name`.
absl::Status StateNotFoundError(const v1::StateKey& key);

// ALREADY_EXISTS, STATE_ALREADY_EXISTS, metadata `name` and `revision`.
absl::Status StateAlreadyExistsError(const v1::State& stored);

// FAILED_PRECONDITION, REVISION_MISMATCH, metadata `expected_revision` and
// `revision`.
absl::Status RevisionMismatchError(const v1::State& stored,
                                   std::int64_t expected_revision);

// OUT_OF_RANGE, HISTORY_COMPACTED, metadata `start_revision` and
// `oldest_revision` (the oldest revision a watch can start from).
absl::Status HistoryCompactedError(std::int64_t after_revision,
                                   std::int64_t oldest_revision);

// OUT_OF_RANGE, FUTURE_REVISION, metadata `start_revision` and `revision`.
absl::Status FutureRevisionError(std::int64_t after_revision,
                                 std::int64_t revision);

// INTERNAL, STORAGE_ERROR: `what` failed because of `detail`.
absl::Status StorageError(absl::string_view what, absl::string_view detail);

// UNAVAILABLE, STORAGE_BUSY.
absl::Status StorageBusyError(absl::string_view what);

// UNAVAILABLE, STORE_FILE_GONE, metadata `path`: the store's file at `path`
// was deleted, moved or replaced while the server ran. `outcome` says what
// became of the call ("nothing was written").
absl::Status StoreFileGoneError(absl::string_view path,
                                absl::string_view outcome);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_STORAGE_STORE_ERRORS_H_
