#include "service/storage/sqlite_state_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/errors.h"
#include "core/state_names.h"
#include "core/state_record.h"
#include "core/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "service/storage/store_errors.h"
#include "service/storage/token_key.h"

namespace mozuma::states {
namespace {

// PRAGMA application_id of every store file: "MZST".
constexpr int kApplicationId = 0x4D5A5354;

// The schema, one step per version: kMigrations[i] takes a store from
// version i to i + 1. Append to this list; never edit a step that shipped.
constexpr const char* kMigrations[] = {
    // 0 -> 1: states, the change log and the store-wide counters.
    R"sql(
      CREATE TABLE store (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL,
        -- A watch may start from any revision >= oldest_revision: every
        -- change after it is still in `changes`.
        oldest_revision INTEGER NOT NULL,
        page_token_key BLOB NOT NULL
      );
      CREATE TABLE states (
        sort_key BLOB PRIMARY KEY,   -- SortKey(state_key): identity and order
        backend TEXT NOT NULL,
        architecture TEXT NOT NULL,
        extras BLOB NOT NULL,        -- the extra elements, each after a 0x01
        training_id TEXT NOT NULL,
        name TEXT NOT NULL,          -- the dotted name, for people
        uri TEXT NOT NULL,           -- for people; `record` is authoritative
        revision INTEGER NOT NULL,
        record BLOB NOT NULL         -- the v1.State, serialized
      ) WITHOUT ROWID;
      CREATE INDEX states_by_type ON states (backend, architecture, sort_key);
      CREATE TABLE changes (
        revision INTEGER PRIMARY KEY,
        type INTEGER NOT NULL,       -- v1.StateEvent.Type
        record BLOB NOT NULL         -- the v1.State after (or, deleted, before)
      );
    )sql",
};
constexpr int kMigrationCount =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kMigrationCount == SqliteStateStore::kSchemaVersion);

std::string ExtrasColumn(const v1::StateType& state_type) {
  std::string extras;
  for (const std::string& extra : state_type.extra()) {
    absl::StrAppend(&extras, "\x01", extra);
  }
  return extras;
}

// The status for SQLite result `code` while doing `what`.
absl::Status SqliteStatus(absl::string_view what, int code,
                          absl::string_view detail) {
  switch (code & 0xff) {  // the primary code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StorageBusyError(what);
    case SQLITE_NOTADB:
      return MakeError(absl::StatusCode::kInvalidArgument,
                       reason::kStorageError,
                       absl::StrCat("storage: ", what, ": ", detail,
                                    " (not a SQLite file)"));
    default:
      return StorageError(what, detail);
  }
}

}  // namespace

namespace internal_sqlite {

// One prepared statement, borrowed from a Connection's cache and reset when
// it goes out of scope. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, absl::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int index, absl::string_view bytes) {
    // A null pointer would bind NULL, not an empty blob.
    sqlite3_bind_blob(stmt_, index, bytes.data() ? bytes.data() : "",
                      static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }

  // True when a row is ready, false when done.
  absl::StatusOr<bool> Step() {
    const int code = sqlite3_step(stmt_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    return Error(code);
  }
  // Steps a statement that returns no row.
  absl::Status Run() {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    return absl::OkStatus();
  }

  std::int64_t Int64(int column) { return sqlite3_column_int64(stmt_, column); }
  absl::string_view Blob(int column) {
    const void* data = sqlite3_column_blob(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? absl::string_view()
                           : absl::string_view(static_cast<const char*>(data),
                                               static_cast<std::size_t>(size));
  }

 private:
  absl::Status Error(int code) const {
    const char* sql = sqlite3_sql(stmt_);
    return SqliteStatus(absl::StrCat("running `", sql ? sql : "", "`"), code,
                        sqlite3_errmsg(db_));
  }

  sqlite3* const db_;
  sqlite3_stmt* const stmt_;
};

class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, bool create, absl::Duration busy_timeout) {
    sqlite3* db = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                      (create ? SQLITE_OPEN_CREATE : 0);
    const int code = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto connection = std::unique_ptr<Connection>(new Connection(db));
    if (code != SQLITE_OK) {
      return StorageError(absl::StrCat("opening ", path),
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(
        db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
    return connection;
  }

  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  absl::Status Exec(absl::string_view sql) {
    char* message = nullptr;
    const int code =
        sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message);
    std::string detail = message ? message : sqlite3_errstr(code);
    sqlite3_free(message);
    if (code == SQLITE_OK) return absl::OkStatus();
    return SqliteStatus(absl::StrCat("running `", sql, "`"), code, detail);
  }

  // The prepared statement for `sql`, from the cache.
  absl::StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const int code = sqlite3_prepare_v3(db_, sql.c_str(),
                                          static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &stmt,
                                          nullptr);
      if (code != SQLITE_OK) {
        return SqliteStatus(absl::StrCat("preparing `", sql, "`"), code,
                            sqlite3_errmsg(db_));
      }
      it = cache_.emplace(sql, stmt).first;
    }
    return std::make_unique<Statement>(db_, it->second);
  }

  // A single integer from `sql`.
  absl::StatusOr<std::int64_t> QueryInt64(const std::string& sql) {
    ASSIGN_OR_RETURN(std::unique_ptr<Statement> statement, Prepare(sql));
    ASSIGN_OR_RETURN(const bool row, statement->Step());
    if (!row) return StorageError(sql, "returned no row");
    return statement->Int64(0);
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* const db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace internal_sqlite

using internal_sqlite::Statement;

namespace {

// A transaction on one connection, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(internal_sqlite::Connection& connection)
      : connection_(connection) {}
  ~Transaction() {
    if (open_) connection_.Exec("ROLLBACK").IgnoreError();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // BEGIN IMMEDIATE takes the write lock at once, so that a write never
  // fails to upgrade a read lock halfway.
  absl::Status Begin(bool write) {
    RETURN_IF_ERROR(connection_.Exec(write ? "BEGIN IMMEDIATE" : "BEGIN"));
    open_ = true;
    return absl::OkStatus();
  }
  // On failure the transaction stays open and the destructor rolls it back.
  absl::Status Commit() {
    RETURN_IF_ERROR(connection_.Exec("COMMIT"));
    open_ = false;
    return absl::OkStatus();
  }

 private:
  internal_sqlite::Connection& connection_;
  bool open_ = false;
};

absl::StatusOr<v1::State> ParseRecord(absl::string_view bytes) {
  v1::State state;
  if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return StorageError("reading a state record", "the record is corrupt");
  }
  return state;
}

struct Counters {
  std::int64_t revision = 0;
  std::int64_t oldest_revision = 0;
};

absl::StatusOr<Counters> ReadCounters(internal_sqlite::Connection& db) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<Statement> statement,
      db.Prepare("SELECT revision, oldest_revision FROM store WHERE id = 1"));
  ASSIGN_OR_RETURN(const bool row, statement->Step());
  if (!row) return StorageError("reading the store counters", "no row");
  return Counters{statement->Int64(0), statement->Int64(1)};
}

// Reads the state of `sort_key`, if any, into `state`.
absl::StatusOr<bool> ReadState(internal_sqlite::Connection& db,
                               absl::string_view sort_key, v1::State& state) {
  ASSIGN_OR_RETURN(std::unique_ptr<Statement> statement,
                   db.Prepare("SELECT record FROM states WHERE sort_key = ?"));
  statement->BindBlob(1, sort_key);
  ASSIGN_OR_RETURN(const bool row, statement->Step());
  if (!row) return false;
  ASSIGN_OR_RETURN(state, ParseRecord(statement->Blob(0)));
  return true;
}

// Appends a change at `revision`, advances the store's revision to it and
// trims the history to `history` revisions. Inside a write transaction.
absl::Status RecordChange(internal_sqlite::Connection& db,
                          std::int64_t revision, v1::StateEvent::Type type,
                          const v1::State& state, std::int64_t history) {
  {
    ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> insert,
        db.Prepare("INSERT INTO changes (revision, type, record) "
                   "VALUES (?, ?, ?)"));
    insert->Bind(1, revision)
        .Bind(2, static_cast<std::int64_t>(type))
        .BindBlob(3, state.SerializeAsString());
    RETURN_IF_ERROR(insert->Run());
  }
  const std::int64_t oldest = std::max<std::int64_t>(0, revision - history);
  {
    ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> trim,
        db.Prepare("DELETE FROM changes WHERE revision <= ?"));
    trim->Bind(1, oldest);
    RETURN_IF_ERROR(trim->Run());
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<Statement> update,
      db.Prepare("UPDATE store SET revision = ?, "
                 "oldest_revision = max(oldest_revision, ?) WHERE id = 1"));
  update->Bind(1, revision).Bind(2, oldest);
  return update->Run();
}

// Refuses a file that is not a registry of this or an older version. Reads
// only, so that a refused file is left as it was.
absl::Status CheckIdentity(internal_sqlite::Connection& db,
                           const std::string& path) {
  ASSIGN_OR_RETURN(const std::int64_t version,
                   db.QueryInt64("PRAGMA user_version"));
  ASSIGN_OR_RETURN(const std::int64_t application_id,
                   db.QueryInt64("PRAGMA application_id"));
  if (version > SqliteStateStore::kSchemaVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " has schema version ", version, ", newer than the ",
        SqliteStateStore::kSchemaVersion,
        " this statesd knows: run a newer statesd"));
  }
  if (version == 0) {
    ASSIGN_OR_RETURN(const std::int64_t tables,
                     db.QueryInt64("SELECT count(*) FROM sqlite_master"));
    if (tables > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " is a SQLite database but not a mozuma-states store"));
    }
  } else if (application_id != kApplicationId) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a mozuma-states store (application_id ",
                     application_id, ")"));
  }
  return absl::OkStatus();
}

// Runs `PRAGMA quick_check` on `db`: OK, or DATA_LOSS with the first
// problems SQLite reported and what to do. quick_check verifies every page
// of every b-tree and their free lists, but not that each index matches its
// table (integrity_check does, at about twice the cost: see docs/API.md).
absl::Status CheckIntegrity(internal_sqlite::Connection& db,
                            const std::string& path) {
  // At most 5 problems: enough to see the damage, short enough for a log.
  sqlite3_stmt* check = nullptr;
  int code = sqlite3_prepare_v2(db.db(), "PRAGMA quick_check(5)", -1, &check,
                                nullptr);
  std::vector<std::string> problems;
  while (code == SQLITE_OK || code == SQLITE_ROW) {
    code = sqlite3_step(check);
    if (code != SQLITE_ROW) break;
    const unsigned char* text = sqlite3_column_text(check, 0);
    // SQLite breaks a report into lines; the error is one line of a log.
    problems.push_back(absl::StrReplaceAll(
        text ? reinterpret_cast<const char*>(text) : "", {{"\n", " "}}));
  }
  if (code != SQLITE_DONE) problems.emplace_back(sqlite3_errmsg(db.db()));
  sqlite3_finalize(check);
  if (problems.size() == 1 && problems[0] == "ok") return absl::OkStatus();
  return MakeError(
      absl::StatusCode::kDataLoss, reason::kStorageError,
      absl::StrCat(
          path, " is damaged: SQLite's integrity check (PRAGMA quick_check) "
          "reported: ", absl::StrJoin(problems, "; "),
          ". statesd will not write into a damaged store. Restore the file "
          "from a backup, or salvage what SQLite can still read into a new "
          "file (`sqlite3 ", path, " .recover | sqlite3 NEW.db`) and start "
          "statesd with --db=NEW.db"));
}

// Whether `db`'s database file is no longer the file at its path (deleted,
// renamed or replaced), as SQLite's unix VFS tells by comparing the open
// file's inode with the path's. (It cannot tell for the WAL file, which it
// opens without an inode record.)
bool FileHasMoved(sqlite3* db) {
  int moved = 0;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) !=
      SQLITE_OK) {
    return false;
  }
  return moved != 0;
}

// The identity of the file at `path`, if there is one.
std::optional<FileId> IdOf(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileId{info.st_dev, info.st_ino};
}

bool Same(const std::optional<FileId>& a, const FileId& b) {
  return a.has_value() && a->device == b.device && a->inode == b.inode;
}

// Runs the migrations from the file's version to kSchemaVersion, each in a
// write transaction that reads the version again, so that two processes
// opening a new file at once do not both create it.
absl::Status Migrate(internal_sqlite::Connection& db, const std::string& path) {
  while (true) {
    Transaction transaction(db);
    RETURN_IF_ERROR(transaction.Begin(/*write=*/true));
    RETURN_IF_ERROR(CheckIdentity(db, path));
    ASSIGN_OR_RETURN(const std::int64_t step,
                     db.QueryInt64("PRAGMA user_version"));
    if (step >= kMigrationCount) return absl::OkStatus();
    RETURN_IF_ERROR(db.Exec(kMigrations[step]));
    if (step == 0) {
      ASSIGN_OR_RETURN(
          std::unique_ptr<Statement> init,
          db.Prepare("INSERT INTO store (id, revision, oldest_revision, "
                     "page_token_key) VALUES (1, 0, 0, ?)"));
      init->BindBlob(1, NewTokenKey());
      RETURN_IF_ERROR(init->Run());
      init.reset();
      RETURN_IF_ERROR(
          db.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId)));
    }
    RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA user_version = ", step + 1)));
    RETURN_IF_ERROR(transaction.Commit());
  }
}

// Prefixes the message of a failed Open() with the path.
absl::Status AtPath(const std::string& path, const absl::Status& status) {
  if (status.ok() || absl::StrContains(status.message(), path)) return status;
  absl::Status with_path(status.code(),
                         absl::StrCat(path, ": ", status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    with_path.SetPayload(url, payload);
  });
  return with_path;
}

}  // namespace

class SqliteStateStore::ReadLease {
 public:
  ReadLease(SqliteStateStore* store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  ReadLease(ReadLease&&) = default;
  ~ReadLease() {
    if (connection_ != nullptr) store_->ReturnReader(std::move(connection_));
  }
  Connection& operator*() { return *connection_; }

 private:
  SqliteStateStore* store_;
  std::unique_ptr<Connection> connection_;
};

namespace {

// Sets `db`'s journal mode to WAL; false when SQLite kept another mode (the
// file system cannot do WAL). The switch takes the file's exclusive lock,
// and while another process is opening the same new file SQLite reports
// BUSY at once instead of calling the busy handler, so the switch is tried
// again until `busy_timeout` has passed.
absl::StatusOr<bool> SwitchToWal(internal_sqlite::Connection& db,
                                 absl::Duration busy_timeout) {
  const absl::Time deadline = absl::Now() + busy_timeout;
  while (true) {
    absl::StatusOr<std::unique_ptr<internal_sqlite::Statement>> wal =
        db.Prepare("PRAGMA journal_mode = WAL");
    if (!wal.ok()) return wal.status();
    absl::StatusOr<bool> row = (*wal)->Step();
    if (row.ok()) {
      const bool is_wal = *row && (*wal)->Blob(0) == "wal";
      wal->reset();
      return is_wal;
    }
    wal->reset();
    if (!absl::IsUnavailable(row.status()) || absl::Now() >= deadline) {
      return row.status();
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(
    const std::string& path, SqliteOptions options) {
  absl::StatusOr<std::unique_ptr<Connection>> writer =
      Connection::Open(path, /*create=*/true, options.busy_timeout);
  if (!writer.ok()) return AtPath(path, writer.status());
  Connection& db = **writer;
  // The file opened, by its identity, for Health() to compare the path
  // with. A file renamed over the path between the open and the stat() is
  // told apart by FileHasMoved().
  const std::optional<FileId> opened = IdOf(path);
  if (!opened.has_value() || FileHasMoved(db.db())) {
    return StorageError(
        absl::StrCat("opening ", path),
        "the file was deleted or replaced while statesd opened it; try again");
  }
  {
    // One read transaction, so that the checks see one state of the file
    // even while another process creates it.
    Transaction read(db);
    absl::Status identity = read.Begin(/*write=*/false);
    if (identity.ok()) identity = CheckIdentity(db, path);
    if (identity.ok()) identity = CheckIntegrity(db, path);
    if (identity.ok()) identity = read.Commit();
    if (!identity.ok()) return AtPath(path, identity);
  }
  // WAL: readers see the last commit while a write is in progress.
  // synchronous=FULL: a commit is on disk (WAL fsynced) before it returns.
  absl::StatusOr<bool> wal = SwitchToWal(db, options.busy_timeout);
  if (!wal.ok()) return AtPath(path, wal.status());
  if (!*wal) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": the file system does not support SQLite's WAL mode"));
  }
  absl::StatusOr<bool> row;
  absl::Status status = db.Exec("PRAGMA synchronous = FULL");
  if (status.ok()) status = Migrate(db, path);
  if (!status.ok()) return AtPath(path, status);
  absl::StatusOr<std::unique_ptr<Statement>> key =
      db.Prepare("SELECT page_token_key FROM store WHERE id = 1");
  if (!key.ok()) return AtPath(path, key.status());
  row = (*key)->Step();
  if (!row.ok()) return AtPath(path, row.status());
  if (!*row) return AtPath(path, StorageError("reading the store", "no row"));
  std::string token_key((*key)->Blob(0));
  key->reset();
  return std::unique_ptr<SqliteStateStore>(new SqliteStateStore(
      path, options, *std::move(writer), std::move(token_key), *opened,
      // Open() has read the file in WAL mode, which opens (creates) the WAL
      // file; the writer keeps it open, and so SQLite never deletes it,
      // until the store closes.
      IdOf(absl::StrCat(path, "-wal"))));
}

SqliteStateStore::SqliteStateStore(std::string path, SqliteOptions options,
                                   std::unique_ptr<Connection> writer,
                                   std::string token_key, FileId db_file,
                                   std::optional<FileId> wal_file)
    : path_(std::move(path)),
      options_(options),
      token_key_(std::move(token_key)),
      db_file_(db_file),
      wal_file_(wal_file),
      writer_(std::move(writer)) {}

SqliteStateStore::~SqliteStateStore() {
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (!CheckPath("").ok()) EmptyWal();
}

absl::Status SqliteStateStore::CheckPath(absl::string_view outcome) const {
  if (!Same(IdOf(path_), db_file_)) return StoreFileGoneError(path_, outcome);
  if (wal_file_.has_value()) {
    const std::string wal = absl::StrCat(path_, "-wal");
    if (!Same(IdOf(wal), *wal_file_)) return StoreFileGoneError(wal, outcome);
  }
  return absl::OkStatus();
}

absl::Status SqliteStateStore::Health() {
  absl::Status health = CheckPath("statesd cannot write to it");
  // Without waiting for a write in progress, which will do it.
  if (!health.ok() && write_mutex_.try_lock()) {
    EmptyWal();
    write_mutex_.unlock();
  }
  return health;
}

absl::Status SqliteStateStore::CheckFiles(absl::string_view outcome) {
  absl::Status status = CheckPath(outcome);
  if (status.ok() && FileHasMoved(writer_->db())) {
    status = StoreFileGoneError(path_, outcome);
  }
  if (!status.ok()) EmptyWal();
  return status;
}

void SqliteStateStore::EmptyWal() {
  writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)").IgnoreError();
}

namespace {
// How a write that found the store's file gone ended, for its error.
constexpr absl::string_view kNothingWritten = "nothing was written";
// The file went while the write committed: it is in the old file, which
// is not what a restart will open, so it must not be acknowledged.
constexpr absl::string_view kCommittedToTheOldFile =
    "this change went into the old file, which a restart will not open: "
    "treat it as not done, and retry it once the store is back";
}  // namespace

absl::StatusOr<SqliteStateStore::ReadLease> SqliteStateStore::LeaseReader() {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!readers_.empty()) {
      std::unique_ptr<Connection> reader = std::move(readers_.back());
      readers_.pop_back();
      return ReadLease(this, std::move(reader));
    }
  }
  // A new connection opens whatever is at the path: only the file the
  // writer writes to will do.
  constexpr absl::string_view kNotRead =
      "nothing was read (reads only go on while a connection to the old "
      "file is free)";
  RETURN_IF_ERROR(CheckPath(kNotRead));
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader,
                   Connection::Open(path_, /*create=*/false,
                                    options_.busy_timeout));
  RETURN_IF_ERROR(CheckPath(kNotRead));
  if (FileHasMoved(reader->db())) return StoreFileGoneError(path_, kNotRead);
  RETURN_IF_ERROR(reader->Exec("PRAGMA query_only = ON"));
  return ReadLease(this, std::move(reader));
}

void SqliteStateStore::ReturnReader(std::unique_ptr<Connection> reader) {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  readers_.push_back(std::move(reader));
}

absl::StatusOr<RegisterResult> SqliteStateStore::Register(
    const v1::State& state, bool allow_overwrite, absl::Time now) {
  const v1::StateKey& key = state.state_key();
  const std::string sort_key = SortKey(key);
  std::lock_guard<std::mutex> lock(write_mutex_);
  Connection& db = *writer_;
  RETURN_IF_ERROR(CheckFiles(kNothingWritten));
  Transaction transaction(db);
  RETURN_IF_ERROR(transaction.Begin(/*write=*/true));

  RegisterResult result;
  v1::State existing;
  ASSIGN_OR_RETURN(const bool exists, ReadState(db, sort_key, existing));
  if (exists && SameContent(existing, state)) {
    result.state = std::move(existing);
    return result;  // rolls back the empty transaction
  }
  if (exists && !allow_overwrite) return StateAlreadyExistsError(existing);

  ASSIGN_OR_RETURN(const Counters counters, ReadCounters(db));
  const std::int64_t revision = counters.revision + 1;
  const google::protobuf::Timestamp timestamp =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(now));
  v1::State stored = ContentOnly(state);
  stored.set_name(FormatStateKey(key));
  *stored.mutable_create_time() =
      exists ? existing.create_time() : timestamp;
  *stored.mutable_update_time() = timestamp;
  stored.set_revision(revision);
  {
    ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> upsert,
        db.Prepare("INSERT OR REPLACE INTO states (sort_key, backend, "
                   "architecture, extras, training_id, name, uri, revision, "
                   "record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    upsert->BindBlob(1, sort_key)
        .Bind(2, key.state_type().backend())
        .Bind(3, key.state_type().architecture())
        .BindBlob(4, ExtrasColumn(key.state_type()))
        .Bind(5, key.training_id())
        .Bind(6, stored.name())
        .Bind(7, stored.uri())
        .Bind(8, revision)
        .BindBlob(9, stored.SerializeAsString());
    RETURN_IF_ERROR(upsert->Run());
  }
  RETURN_IF_ERROR(RecordChange(
      db, revision,
      exists ? v1::StateEvent::TYPE_UPDATED : v1::StateEvent::TYPE_ADDED,
      stored, options_.history.history));
  RETURN_IF_ERROR(transaction.Commit());
  RETURN_IF_ERROR(CheckFiles(kCommittedToTheOldFile));
  result.created = !exists;
  result.changed = true;
  result.state = std::move(stored);
  return result;
}

absl::StatusOr<DeleteResult> SqliteStateStore::Delete(
    const v1::StateKey& key, std::int64_t expected_revision) {
  const std::string sort_key = SortKey(key);
  std::lock_guard<std::mutex> lock(write_mutex_);
  Connection& db = *writer_;
  RETURN_IF_ERROR(CheckFiles(kNothingWritten));
  Transaction transaction(db);
  RETURN_IF_ERROR(transaction.Begin(/*write=*/true));
  DeleteResult result;
  ASSIGN_OR_RETURN(const bool exists, ReadState(db, sort_key, result.state));
  if (!exists) return StateNotFoundError(key);
  if (expected_revision > 0 && result.state.revision() != expected_revision) {
    return RevisionMismatchError(result.state, expected_revision);
  }
  ASSIGN_OR_RETURN(const Counters counters, ReadCounters(db));
  result.revision = counters.revision + 1;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Statement> remove,
                     db.Prepare("DELETE FROM states WHERE sort_key = ?"));
    remove->BindBlob(1, sort_key);
    RETURN_IF_ERROR(remove->Run());
  }
  RETURN_IF_ERROR(RecordChange(db, result.revision,
                               v1::StateEvent::TYPE_DELETED, result.state,
                               options_.history.history));
  RETURN_IF_ERROR(transaction.Commit());
  RETURN_IF_ERROR(CheckFiles(kCommittedToTheOldFile));
  return result;
}

absl::StatusOr<v1::State> SqliteStateStore::Get(const v1::StateKey& key) {
  ASSIGN_OR_RETURN(ReadLease db, LeaseReader());
  v1::State state;
  ASSIGN_OR_RETURN(const bool exists, ReadState(*db, SortKey(key), state));
  if (!exists) return StateNotFoundError(key);
  return state;
}

absl::StatusOr<BatchGetResult> SqliteStateStore::BatchGet(
    const std::vector<v1::StateKey>& keys) {
  ASSIGN_OR_RETURN(ReadLease db, LeaseReader());
  Transaction transaction(*db);
  RETURN_IF_ERROR(transaction.Begin(/*write=*/false));
  BatchGetResult result;
  ASSIGN_OR_RETURN(const Counters counters, ReadCounters(*db));
  result.revision = counters.revision;
  result.states.reserve(keys.size());
  for (const v1::StateKey& key : keys) {
    v1::State state;
    ASSIGN_OR_RETURN(const bool exists, ReadState(*db, SortKey(key), state));
    if (exists) {
      result.states.emplace_back(std::move(state));
    } else {
      result.states.emplace_back(std::nullopt);
    }
  }
  RETURN_IF_ERROR(transaction.Commit());
  return result;
}

absl::StatusOr<ListResult> SqliteStateStore::List(const StateFilter& filter,
                                                  absl::string_view after,
                                                  std::size_t limit) {
  // One statement per filter shape; each is prepared once per connection.
  std::string sql = "SELECT record FROM states WHERE sort_key > ?1";
  if (filter.state_type.has_value()) {
    absl::StrAppend(&sql, " AND backend = ?2 AND architecture = ?3");
    if (filter.exact) absl::StrAppend(&sql, " AND extras = ?4");
  }
  if (!filter.training_id.empty()) {
    absl::StrAppend(&sql, " AND training_id = ?5");
  }
  absl::StrAppend(&sql, " ORDER BY sort_key LIMIT ?6");

  ASSIGN_OR_RETURN(ReadLease db, LeaseReader());
  Transaction transaction(*db);
  RETURN_IF_ERROR(transaction.Begin(/*write=*/false));
  ListResult result;
  ASSIGN_OR_RETURN(const Counters counters, ReadCounters(*db));
  result.revision = counters.revision;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Statement> select, (*db).Prepare(sql));
    select->BindBlob(1, after);
    if (filter.state_type.has_value()) {
      select->Bind(2, filter.state_type->backend())
          .Bind(3, filter.state_type->architecture());
      if (filter.exact) select->BindBlob(4, ExtrasColumn(*filter.state_type));
    }
    if (!filter.training_id.empty()) select->Bind(5, filter.training_id);
    // One more than asked tells whether more follow.
    const std::int64_t sql_limit =
        limit >= static_cast<std::size_t>(INT64_MAX)
            ? -1
            : static_cast<std::int64_t>(limit) + 1;
    select->Bind(6, sql_limit);
    while (true) {
      ASSIGN_OR_RETURN(const bool row, select->Step());
      if (!row) break;
      if (result.states.size() == limit) {
        result.more = true;
        break;
      }
      ASSIGN_OR_RETURN(v1::State state, ParseRecord(select->Blob(0)));
      result.states.push_back(std::move(state));
    }
  }
  RETURN_IF_ERROR(transaction.Commit());
  return result;
}

absl::StatusOr<ChangeBatch> SqliteStateStore::ReadChanges(
    std::int64_t after_revision, const StateFilter& filter,
    std::size_t limit) {
  ASSIGN_OR_RETURN(ReadLease db, LeaseReader());
  Transaction transaction(*db);
  RETURN_IF_ERROR(transaction.Begin(/*write=*/false));
  ASSIGN_OR_RETURN(const Counters counters, ReadCounters(*db));
  if (after_revision > counters.revision) {
    return FutureRevisionError(after_revision, counters.revision);
  }
  if (after_revision < counters.oldest_revision) {
    return HistoryCompactedError(after_revision, counters.oldest_revision);
  }
  ChangeBatch batch;
  batch.scanned_through = after_revision;
  {
    ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> select,
        (*db).Prepare("SELECT revision, type, record FROM changes "
                      "WHERE revision > ? ORDER BY revision LIMIT ?"));
    select->Bind(1, after_revision)
        .Bind(2, static_cast<std::int64_t>(
                     std::min<std::size_t>(limit, INT64_MAX)));
    while (true) {
      ASSIGN_OR_RETURN(const bool row, select->Step());
      if (!row) break;
      batch.scanned_through = select->Int64(0);
      ASSIGN_OR_RETURN(v1::State state, ParseRecord(select->Blob(2)));
      if (!Matches(filter, state.state_key())) continue;
      v1::StateEvent& event = batch.events.emplace_back();
      event.set_revision(select->Int64(0));
      event.set_type(static_cast<v1::StateEvent::Type>(select->Int64(1)));
      *event.mutable_state() = std::move(state);
    }
  }
  RETURN_IF_ERROR(transaction.Commit());
  return batch;
}

absl::StatusOr<std::int64_t> SqliteStateStore::CurrentRevision() {
  ASSIGN_OR_RETURN(ReadLease db, LeaseReader());
  ASSIGN_OR_RETURN(const Counters counters, ReadCounters(*db));
  return counters.revision;
}

}  // namespace mozuma::states
