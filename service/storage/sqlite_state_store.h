// The default StateStore: one SQLite file, embedded in the server.
//
// * Durable: WAL journal with synchronous=FULL, so a write that returned OK
//   survives a crash of the process and a loss of power.
// * Reads never wait behind writes: one connection writes, a pool of
//   connections reads, and WAL lets readers see the last commit while a
//   write is in progress.
// * Versioned schema: PRAGMA user_version holds the schema version and
//   Open() runs the migrations from it to the current one, each in a
//   transaction; a file from a newer version is refused.
// * History: every change is also appended to a `changes` table, trimmed
//   to the latest `history` revisions, for watches to resume from.
//
// Several processes may open one file (writes are serialised by SQLite's
// lock, waiting up to `busy_timeout`), but a store is meant to have one
// server.
#ifndef MOZUMA_STATES_SERVICE_STORAGE_SQLITE_STATE_STORE_H_
#define MOZUMA_STATES_SERVICE_STORAGE_SQLITE_STATE_STORE_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/storage/state_store.h"

namespace mozuma::states {
namespace internal_sqlite {
class Connection;
}  // namespace internal_sqlite

struct SqliteOptions {
  HistoryOptions history;
  // How long a write waits for another process's lock before failing with
  // UNAVAILABLE (STORAGE_BUSY).
  absl::Duration busy_timeout = absl::Seconds(5);
};

class SqliteStateStore final : public StateStore {
 public:
  // The schema version this code writes.
  static constexpr int kSchemaVersion = 1;

  // Opens the store at `path`, creating the file (not its directory) if
  // missing, and migrates its schema. Errors name the path and the cause:
  // INVALID_ARGUMENT for a file that is not a store of this service or is
  // from a newer version, INTERNAL otherwise.
  static absl::StatusOr<std::unique_ptr<SqliteStateStore>> Open(
      const std::string& path, SqliteOptions options = {});

  ~SqliteStateStore() override;

  absl::StatusOr<RegisterResult> Register(const v1::State& state,
                                          bool allow_overwrite,
                                          absl::Time now) override;
  absl::StatusOr<DeleteResult> Delete(const v1::StateKey& key,
                                      std::int64_t expected_revision) override;
  absl::StatusOr<v1::State> Get(const v1::StateKey& key) override;
  absl::StatusOr<BatchGetResult> BatchGet(
      const std::vector<v1::StateKey>& keys) override;
  absl::StatusOr<ListResult> List(const StateFilter& filter,
                                  absl::string_view after,
                                  std::size_t limit) override;
  absl::StatusOr<ChangeBatch> ReadChanges(std::int64_t after_revision,
                                          const StateFilter& filter,
                                          std::size_t limit) override;
  absl::StatusOr<std::int64_t> CurrentRevision() override;
  std::string PageTokenKey() const override { return token_key_; }

 private:
  using Connection = internal_sqlite::Connection;
  class ReadLease;

  SqliteStateStore(std::string path, SqliteOptions options,
                   std::unique_ptr<Connection> writer, std::string token_key);

  // A reader from the pool, or a new one. Returned to the pool when the
  // lease ends.
  absl::StatusOr<ReadLease> LeaseReader();
  void ReturnReader(std::unique_ptr<Connection> reader);

  const std::string path_;
  const SqliteOptions options_;
  const std::string token_key_;

  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;  // guarded by write_mutex_

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;  // guarded by pool_mutex_
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_STORAGE_SQLITE_STATE_STORE_H_
