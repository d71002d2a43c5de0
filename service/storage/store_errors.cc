#include "service/storage/store_errors.h"

#include "absl/strings/str_cat.h"
#include "core/errors.h"
#include "core/state_names.h"

namespace mozuma::states {

absl::Status StateNotFoundError(const v1::StateKey& key) {
  const std::string name = FormatStateKey(key);
  return MakeError(absl::StatusCode::kNotFound, reason::kStateNotFound,
                   absl::StrCat("state ", name, " is not registered"),
                   {{"name", name}});
}

absl::Status StateAlreadyExistsError(const v1::State& stored) {
  const std::string name = FormatStateKey(stored.state_key());
  return MakeError(
      absl::StatusCode::kAlreadyExists, reason::kStateAlreadyExists,
      absl::StrCat("state ", name, " is already registered with different "
                   "content (uri ", stored.uri(), ", revision ",
                   stored.revision(), "); set allow_overwrite to replace it"),
      {{"name", name}, {"revision", absl::StrCat(stored.revision())}});
}

absl::Status RevisionMismatchError(const v1::State& stored,
                                   std::int64_t expected_revision) {
  const std::string name = FormatStateKey(stored.state_key());
  return MakeError(
      absl::StatusCode::kFailedPrecondition, reason::kRevisionMismatch,
      absl::StrCat("state ", name, " is at revision ", stored.revision(),
                   ", not the expected ", expected_revision,
                   "; nothing was deleted"),
      {{"name", name},
       {"expected_revision", absl::StrCat(expected_revision)},
       {"revision", absl::StrCat(stored.revision())}});
}

absl::Status HistoryCompactedError(std::int64_t after_revision,
                                   std::int64_t oldest_revision) {
  return MakeError(
      absl::StatusCode::kOutOfRange, reason::kHistoryCompacted,
      absl::StrCat("the changes after revision ", after_revision,
                   " are no longer kept; the oldest revision a watch can "
                   "start from is ",
                   oldest_revision, ": start again from 0"),
      {{"start_revision", absl::StrCat(after_revision)},
       {"oldest_revision", absl::StrCat(oldest_revision)}});
}

absl::Status FutureRevisionError(std::int64_t after_revision,
                                 std::int64_t revision) {
  return MakeError(
      absl::StatusCode::kOutOfRange, reason::kFutureRevision,
      absl::StrCat("revision ", after_revision,
                   " is ahead of the store, which is at revision ", revision,
                   " (was the store replaced?): start again from 0"),
      {{"start_revision", absl::StrCat(after_revision)},
       {"revision", absl::StrCat(revision)}});
}

absl::Status StorageError(absl::string_view what, absl::string_view detail) {
  return MakeError(absl::StatusCode::kInternal, reason::kStorageError,
                   absl::StrCat("storage: ", what, ": ", detail));
}

absl::Status StorageBusyError(absl::string_view what) {
  return MakeError(
      absl::StatusCode::kUnavailable, reason::kStorageBusy,
      absl::StrCat("storage: ", what,
                   ": the database stayed locked by another process; retry"));
}

absl::Status StoreFileGoneError(absl::string_view path,
                                absl::string_view outcome) {
  return MakeError(
      absl::StatusCode::kUnavailable, reason::kStoreFileGone,
      absl::StrCat("storage: the store file ", path,
                   " was deleted, moved or replaced while statesd ran; ",
                   outcome,
                   ". Writes fail until that same file is back at the path, "
                   "or statesd is restarted (it then opens whatever file is "
                   "at the path: restore it from a backup first)"),
      {{"path", std::string(path)}});
}

}  // namespace mozuma::states
