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
// * Checked: Open() runs SQLite's `PRAGMA quick_check` and refuses a file
//   that fails it. While open, every write checks that the path still
//   names the file it opened (see Health()), before its transaction and
//   again after its commit, so that a write into a deleted, moved or
//   replaced file is never acknowledged.
//
// Several processes may open one file (writes are serialised by SQLite's
// lock, waiting up to `busy_timeout`), but a store is meant to have one
// server.
#ifndef MOZUMA_STATES_SERVICE_STORAGE_SQLITE_STATE_STORE_H_
#define MOZUMA_STATES_SERVICE_STORAGE_SQLITE_STATE_STORE_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/storage/state_store.h"

namespace mozuma::states {
namespace internal_sqlite {
class Connection;
}  // namespace internal_sqlite

// A file's identity: what stat() reports for it.
struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
};

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
  // missing, checks it with `PRAGMA quick_check` (it reads the whole file:
  // see docs/API.md for what that costs) and migrates its schema. Errors
  // name the path and the cause: INVALID_ARGUMENT for a file that is not a
  // store of this service or is from a newer version, DATA_LOSS
  // (STORAGE_ERROR) for a file that fails the check, with what SQLite
  // reported and how to recover, INTERNAL otherwise.
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

  // OK while the path still names the database file (and WAL file) the
  // store opened. UNAVAILABLE (STORE_FILE_GONE) once it was deleted, moved
  // or replaced; OK again if the very same file comes back to the path.
  // One stat() of the path: cheap, never waits for a write in progress.
  //
  // While it fails, Register() and Delete() fail with the same error and
  // write nothing; a write whose commit raced with the loss fails with it
  // too, although it went into the old file. Reads go on from the
  // connections already open to the old file, and fail with the same error
  // when they would need a new connection: they never read a file put at
  // the path after Open().
  absl::Status Health() override;

 private:
  using Connection = internal_sqlite::Connection;
  class ReadLease;

  SqliteStateStore(std::string path, SqliteOptions options,
                   std::unique_ptr<Connection> writer, std::string token_key,
                   FileId db_file, std::optional<FileId> wal_file);

  // A reader from the pool, or a new one. Returned to the pool when the
  // lease ends.
  absl::StatusOr<ReadLease> LeaseReader();
  // OK while `path_` and its WAL path name the files Open() opened; see
  // Health(). `outcome` is for the error message: what became of the call.
  absl::Status CheckPath(absl::string_view outcome) const;
  // CheckPath(), and that the writer's database file is still the file at
  // the path. When not, empties the writer's WAL (EmptyWal()) and returns
  // the error. Requires write_mutex_.
  absl::Status CheckFiles(absl::string_view outcome);
  // Copies what the writer's WAL holds into the writer's database file and
  // truncates the WAL, both by the files the writer has open, wherever
  // they now are. Once the files left their paths, this keeps a WAL left at
  // the path from being read over whatever file is put there (SQLite does
  // not checkpoint at close a file that has moved), keeps the changes with
  // the database file they belong to (a file moved aside is complete), and
  // saves into the database file the changes of a deleted WAL. Best effort.
  // Requires write_mutex_.
  void EmptyWal();
  void ReturnReader(std::unique_ptr<Connection> reader);

  const std::string path_;
  const SqliteOptions options_;
  const std::string token_key_;
  // The database file and the WAL file Open() opened, as stat() names
  // them (a WAL that was missing after Open() is not checked).
  const FileId db_file_;
  const std::optional<FileId> wal_file_;

  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;  // guarded by write_mutex_

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;  // guarded by pool_mutex_
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_STORAGE_SQLITE_STATE_STORE_H_
