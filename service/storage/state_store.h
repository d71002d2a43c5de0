// The registry's storage, behind an interface so that the service layer
// does not know which database holds the states. Implementations:
// SqliteStateStore (the default: one file, embedded) and MemoryStateStore
// (nothing durable; for tests and throwaway servers). A networked database
// for many replicas is another implementation of this interface.
//
// Every implementation passes the same conformance suite
// (tests/storage/state_store_conformance.h), which pins down the contract
// below.
#ifndef MOZUMA_STATES_SERVICE_STORAGE_STATE_STORE_H_
#define MOZUMA_STATES_SERVICE_STORAGE_STATE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/state_filter.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// The outcome of StateStore::Register().
struct RegisterResult {
  // The state as stored, output-only fields set.
  v1::State state;
  // The key was new.
  bool created = false;
  // The store changed: created, or replaced under `allow_overwrite`.
  bool changed = false;
};

// The outcome of StateStore::Delete().
struct DeleteResult {
  // The state as it was.
  v1::State state;
  // The revision of the deletion.
  std::int64_t revision = 0;
};

// The outcome of StateStore::BatchGet().
struct BatchGetResult {
  // One entry per requested key, in order; nullopt for an absent key.
  std::vector<std::optional<v1::State>> states;
  // The store revision all of them were read at.
  std::int64_t revision = 0;
};

// One page of StateStore::List().
struct ListResult {
  // The matching states after the cursor, in SortKey() order.
  std::vector<v1::State> states;
  // True when more matching states follow the last one returned.
  bool more = false;
  // The store revision the page was read at.
  std::int64_t revision = 0;
};

// The outcome of StateStore::ReadChanges().
struct ChangeBatch {
  // The matching changes, in revision order. Each event's `state` has its
  // output-only fields set; a deletion carries the state as it was.
  std::vector<v1::StateEvent> events;
  // Every change up to this revision has been examined: the caller's next
  // `after_revision`. At least the requested `after_revision`.
  std::int64_t scanned_through = 0;
};

// A store of State records, one per key, with a store-wide revision that
// each change increments by one, and a bounded history of the changes.
//
// Contract for every implementation:
//
// * Thread-safe; calls may come from any number of threads at once.
// * Writes are atomic and, once they return OK, durable to the extent the
//   implementation promises (SqliteStateStore: across process crashes and
//   power loss).
// * Reads see every write that returned before they started, and each read
//   call sees one consistent revision of the store.
// * Keys are compared by SortKey(): two keys are the same key exactly when
//   every field is equal.
// * Arguments are valid (the service layer validates requests first).
// * Errors: NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE as
//   documented per method, each with the ErrorInfo reason of core/errors.h;
//   any other failure of the database is INTERNAL (STORAGE_ERROR) or
//   UNAVAILABLE (STORAGE_BUSY).
class StateStore {
 public:
  virtual ~StateStore() = default;

  // Stores `state` (its output-only fields are ignored) under its key.
  // A new key is created at the next revision, with create_time and
  // update_time `now`. A key with SameContent() is left alone (created and
  // changed false, the stored state returned). Other content fails with
  // ALREADY_EXISTS (STATE_ALREADY_EXISTS, metadata `name` and `revision`)
  // unless `allow_overwrite`, when the record is replaced at the next
  // revision with update_time `now`, keeping create_time.
  virtual absl::StatusOr<RegisterResult> Register(const v1::State& state,
                                                  bool allow_overwrite,
                                                  absl::Time now) = 0;

  // Deletes the state of `key` at the next revision. With
  // `expected_revision` > 0, only when the state's revision equals it, else
  // FAILED_PRECONDITION (REVISION_MISMATCH, metadata `expected_revision`
  // and `revision`). NOT_FOUND (STATE_NOT_FOUND, metadata `name`) when
  // there is no such state.
  virtual absl::StatusOr<DeleteResult> Delete(
      const v1::StateKey& key, std::int64_t expected_revision) = 0;

  // The state of `key`; NOT_FOUND (STATE_NOT_FOUND, metadata `name`) when
  // there is none.
  virtual absl::StatusOr<v1::State> Get(const v1::StateKey& key) = 0;

  // The states of `keys`, read at one revision.
  virtual absl::StatusOr<BatchGetResult> BatchGet(
      const std::vector<v1::StateKey>& keys) = 0;

  // Up to `limit` states matching `filter` whose SortKey() is greater than
  // `after` (every matching state when `after` is empty), in SortKey()
  // order, read at one revision. `after` need not be the key of a stored
  // state.
  virtual absl::StatusOr<ListResult> List(const StateFilter& filter,
                                          absl::string_view after,
                                          std::size_t limit) = 0;

  // The changes after `after_revision` that match `filter`, in revision
  // order, examining at most `limit` changes (so `events` may be empty
  // while `scanned_through` advances). Fails with OUT_OF_RANGE
  // (HISTORY_COMPACTED, metadata `oldest_revision`) when changes after
  // `after_revision` have been discarded, and OUT_OF_RANGE
  // (FUTURE_REVISION, metadata `revision`) when `after_revision` is ahead
  // of the store.
  virtual absl::StatusOr<ChangeBatch> ReadChanges(std::int64_t after_revision,
                                                  const StateFilter& filter,
                                                  std::size_t limit) = 0;

  // The revision of the latest change, 0 for a store never written. Sees
  // writes made through other StateStore objects on the same database.
  virtual absl::StatusOr<std::int64_t> CurrentRevision() = 0;

  // A secret made when the store was created and kept with it, the same
  // for every process that opens the store. Signs page tokens, so that a
  // token stays valid across restarts and replicas. At least 32 bytes.
  virtual std::string PageTokenKey() const = 0;

  // OK while the store can take writes as far as a cheap check can tell;
  // otherwise the error its writes would fail with (SqliteStateStore:
  // UNAVAILABLE, STORE_FILE_GONE, when its file was deleted or replaced).
  // Fast and non-blocking: the server calls it periodically to set its
  // health status. The default is always OK.
  virtual absl::Status Health() { return absl::OkStatus(); }
};

// How much change history a store keeps for watches to resume from.
struct HistoryOptions {
  static constexpr std::int64_t kDefaultHistory = 100000;
  // Changes older than the latest `history` revisions may be discarded.
  // At least 1.
  std::int64_t history = kDefaultHistory;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_STORAGE_STATE_STORE_H_
