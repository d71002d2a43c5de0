// SqliteStateStore: the StateStore conformance suite, each store in a fresh
// file, and what only a file can do: survive a reopen and a crash, refuse
// files it cannot read, and let reads go on beside a writer.
#include "service/storage/sqlite_state_store.h"

#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "service/storage/state_store.h"
#include "tests/storage/state_store_conformance.h"
#include "tests/testing/state_builders.h"
#include "tests/testing/temp_dir.h"

namespace mozuma::states {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// A SqliteStateStore in a file of its own TempDir, which it removes when
// it is destroyed.
class TempSqliteStore final : public StateStore {
 public:
  static std::unique_ptr<StateStore> Make(HistoryOptions history) {
    auto dir = std::make_unique<testing::TempDir>();
    SqliteOptions options;
    options.history = history;
    absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
        SqliteStateStore::Open(dir->File("states.db"), options);
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      return nullptr;
    }
    return std::unique_ptr<StateStore>(
        new TempSqliteStore(std::move(dir), std::move(store).value()));
  }

  absl::StatusOr<RegisterResult> Register(const v1::State& state,
                                          bool allow_overwrite,
                                          absl::Time now) override {
    return store_->Register(state, allow_overwrite, now);
  }
  absl::StatusOr<DeleteResult> Delete(const v1::StateKey& key,
                                      std::int64_t expected_revision) override {
    return store_->Delete(key, expected_revision);
  }
  absl::StatusOr<v1::State> Get(const v1::StateKey& key) override {
    return store_->Get(key);
  }
  absl::StatusOr<BatchGetResult> BatchGet(
      const std::vector<v1::StateKey>& keys) override {
    return store_->BatchGet(keys);
  }
  absl::StatusOr<ListResult> List(const StateFilter& filter,
                                  absl::string_view after,
                                  std::size_t limit) override {
    return store_->List(filter, after, limit);
  }
  absl::StatusOr<ChangeBatch> ReadChanges(std::int64_t after_revision,
                                          const StateFilter& filter,
                                          std::size_t limit) override {
    return store_->ReadChanges(after_revision, filter, limit);
  }
  absl::StatusOr<std::int64_t> CurrentRevision() override {
    return store_->CurrentRevision();
  }
  std::string PageTokenKey() const override { return store_->PageTokenKey(); }
  absl::Status Health() override { return store_->Health(); }

 private:
  TempSqliteStore(std::unique_ptr<testing::TempDir> dir,
                  std::unique_ptr<SqliteStateStore> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}

  // Declared first, destroyed last: after the store has closed the file.
  std::unique_ptr<testing::TempDir> dir_;
  std::unique_ptr<SqliteStateStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StateStoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "Sqlite", &TempSqliteStore::Make}),
                         StoreFactoryName);

// ---------------------------------------------------------------------------
// SQLite only.

absl::Time Now() { return absl::FromUnixSeconds(1700000000); }

v1::StateKey NumberedKey(int i) {
  return MakeStateKey(MakeStateType("pytorch", "resnet18", {"cls1000"}),
                      absl::StrCat("t", i));
}

v1::State MakeState(const v1::StateKey& key, std::string uri) {
  v1::State state;
  *state.mutable_state_key() = key;
  state.set_uri(std::move(uri));
  return state;
}

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  return info.has_value() ? info->reason() : "<no ErrorInfo>";
}

// A raw connection to a database file, beside the store's own.
class RawDatabase {
 public:
  explicit RawDatabase(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDatabase() { sqlite3_close(db_); }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  // Runs `sql`; returns the error message, empty on success.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) {
      return "";
    }
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return message;
  }

  // The first column of the first row of `sql`, as text.
  std::string QueryText(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    std::string text = "<error>";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return text;
    }
    if (sqlite3_step(statement) == SQLITE_ROW) {
      const unsigned char* value = sqlite3_column_text(statement, 0);
      text = value != nullptr ? reinterpret_cast<const char*>(value) : "";
    }
    sqlite3_finalize(statement);
    return text;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

TEST(SqliteStateStoreTest, ReopenKeepsStatesRevisionsHistoryAndTokenKey) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  std::string token_key;
  std::vector<v1::State> listed;
  std::vector<v1::StateEvent> changes;
  {
    STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                                SqliteStateStore::Open(path));
    for (int i = 0; i < 4; ++i) {
      v1::State state = MakeState(NumberedKey(i), absl::StrCat("file:///", i));
      if (i == 1) state.set_size_bytes(0);
      if (i == 2) (*state.mutable_labels())["k"] = "v";
      STATES_ASSERT_OK(store->Register(state, false, Now()).status());
    }
    STATES_ASSERT_OK(store
                         ->Register(MakeState(NumberedKey(3), "file:///3b"),
                                    true, Now() + absl::Seconds(1))
                         .status());
    STATES_ASSERT_OK(store->Delete(NumberedKey(0), 0).status());
    token_key = store->PageTokenKey();
    STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                                store->List(StateFilter(), "", 100));
    listed = list.states;
    STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                                store->ReadChanges(0, StateFilter(), 100));
    changes = batch.events;
  }
  ASSERT_THAT(listed, SizeIs(3));
  ASSERT_THAT(changes, SizeIs(6));

  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  EXPECT_EQ(store->PageTokenKey(), token_key);
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store->CurrentRevision());
  EXPECT_EQ(revision, 6);
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store->List(StateFilter(), "", 100));
  ASSERT_THAT(list.states, SizeIs(listed.size()));
  for (std::size_t i = 0; i < listed.size(); ++i) {
    EXPECT_THAT(list.states[i], EqualsProto(listed[i]));
  }
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                              store->ReadChanges(0, StateFilter(), 100));
  ASSERT_THAT(batch.events, SizeIs(changes.size()));
  for (std::size_t i = 0; i < changes.size(); ++i) {
    EXPECT_THAT(batch.events[i], EqualsProto(changes[i]));
  }
  EXPECT_EQ(store->Get(NumberedKey(0)).status().code(),
            absl::StatusCode::kNotFound);

  // The revisions go on from where they were; content comparison still
  // works on reloaded records (size 0 stays set, labels stay).
  v1::State same = MakeState(NumberedKey(1), "file:///1");
  same.set_size_bytes(0);
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult result,
                              store->Register(same, false, Now()));
  EXPECT_FALSE(result.changed);
  v1::State labelled = MakeState(NumberedKey(2), "file:///2");
  (*labelled.mutable_labels())["k"] = "v";
  STATES_ASSERT_OK_AND_ASSIGN(result, store->Register(labelled, false, Now()));
  EXPECT_FALSE(result.changed);
  STATES_ASSERT_OK_AND_ASSIGN(
      result,
      store->Register(MakeState(NumberedKey(0), "file:///0"), false, Now()));
  EXPECT_TRUE(result.created);
  EXPECT_EQ(result.state.revision(), 7);
}

TEST(SqliteStateStoreTest, ReopenKeepsTheCompactedHistoryBoundary) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  SqliteOptions options;
  options.history = HistoryOptions{5};
  std::string oldest_before;
  {
    STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                                SqliteStateStore::Open(path, options));
    for (int i = 0; i < 12; ++i) {
      STATES_ASSERT_OK(
          store->Register(MakeState(NumberedKey(i), "file:///w"), false, Now())
              .status());
    }
    absl::StatusOr<ChangeBatch> old = store->ReadChanges(0, StateFilter(), 100);
    ASSERT_EQ(ReasonOf(old.status()), "HISTORY_COMPACTED") << old.status();
    oldest_before =
        GetErrorInfo(old.status())->metadata().at("oldest_revision");
  }
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path, options));
  absl::StatusOr<ChangeBatch> old = store->ReadChanges(0, StateFilter(), 100);
  ASSERT_EQ(ReasonOf(old.status()), "HISTORY_COMPACTED") << old.status();
  EXPECT_EQ(GetErrorInfo(old.status())->metadata().at("oldest_revision"),
            oldest_before);
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                              store->ReadChanges(7, StateFilter(), 100));
  EXPECT_THAT(batch.events, SizeIs(5));
  EXPECT_EQ(batch.scanned_through, 12);
}

TEST(SqliteStateStoreTest, AWriteSurvivesACrashOfTheProcess) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child writes and dies without closing anything.
    absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
        SqliteStateStore::Open(path);
    if (!store.ok()) _exit(2);
    if (!(*store)
             ->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
             .ok()) {
      _exit(3);
    }
    (void)store->release();  // never closed
    _exit(0);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0);

  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  STATES_ASSERT_OK_AND_ASSIGN(v1::State state, store->Get(NumberedKey(1)));
  EXPECT_EQ(state.uri(), "file:///1");
  EXPECT_EQ(state.revision(), 1);
}

// Fills a new store at `path` with `count` states and closes it cleanly,
// so that everything is in the database file and the WAL is gone.
void FillStore(const std::string& path, int count) {
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(store
                    ->Register(MakeState(NumberedKey(i),
                                         absl::StrCat("file:///states/", i,
                                                      std::string(1000, 'x'))),
                               false, Now())
                    .ok());
  }
}

// Writes garbage over page `page` (1-based) of the database at `path`.
void DamagePage(const std::string& path, std::int64_t page,
                std::int64_t page_size) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekp((page - 1) * page_size);
  std::string garbage(static_cast<std::size_t>(page_size), '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) {
    garbage[i] = static_cast<char>((i * 7919 + 13) % 251);
  }
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  ASSERT_TRUE(file.good());
}

TEST(SqliteStateStoreTest, ADamagedPageInTheMiddleIsRefusedAtOpen) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  FillStore(path, 200);
  std::int64_t pages = 0;
  std::int64_t page_size = 0;
  {
    RawDatabase raw(path);
    pages = std::stoll(raw.QueryText("PRAGMA page_count"));
    page_size = std::stoll(raw.QueryText("PRAGMA page_size"));
  }
  ASSERT_GT(pages, 20);
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));
  DamagePage(path, pages / 2, page_size);
  const std::string damaged = ReadFile(path);

  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss)
      << store.status();
  EXPECT_EQ(ReasonOf(store.status()), "STORAGE_ERROR");
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_THAT(store.status().message(), HasSubstr("quick_check"));
  EXPECT_THAT(store.status().message(), HasSubstr("backup"));
  EXPECT_THAT(store.status().message(), HasSubstr(".recover"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("\n")));
  // Nothing was written into it.
  EXPECT_EQ(ReadFile(path), damaged);
}

TEST(SqliteStateStoreTest, AnUndamagedStoreOpensAfterTheCheck) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  FillStore(path, 100);
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  EXPECT_TRUE(store->Health().ok());
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision,
                              store->CurrentRevision());
  EXPECT_EQ(revision, 100);
}

void ExpectFileGone(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(ReasonOf(status), "STORE_FILE_GONE") << status;
}

TEST(SqliteStateStoreTest, ADeletedFileFailsWritesAndHealth) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  ASSERT_TRUE(
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
          .ok());
  // A reader is in the pool: reads from it go on from the old file.
  ASSERT_TRUE(store->Get(NumberedKey(1)).ok());
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");

  ExpectFileGone(store->Health());
  EXPECT_THAT(store->Health().message(), HasSubstr(path));
  ExpectFileGone(
      store->Register(MakeState(NumberedKey(2), "file:///2"), false, Now())
          .status());
  ExpectFileGone(store->Delete(NumberedKey(1), 0).status());
  EXPECT_TRUE(store->Get(NumberedKey(1)).ok());
  // The failed writes did not make a new file at the path either.
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SqliteStateStoreTest, ADeletedWalFileFailsWrites) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  ASSERT_TRUE(
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
          .ok());
  ASSERT_TRUE(std::filesystem::remove(path + "-wal"));
  ExpectFileGone(
      store->Register(MakeState(NumberedKey(2), "file:///2"), false, Now())
          .status());
  ExpectFileGone(store->Health());
  EXPECT_THAT(store->Health().message(), HasSubstr(path + "-wal"));
  store.reset();
  // The write acknowledged before the WAL went was saved into the file.
  STATES_ASSERT_OK_AND_ASSIGN(store, SqliteStateStore::Open(path));
  EXPECT_TRUE(store->Get(NumberedKey(1)).ok());
  EXPECT_EQ(store->Get(NumberedKey(2)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SqliteStateStoreTest, AReplacedFileFailsWritesAndIsNotRead) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  const std::string other = dir.File("other.db");
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  ASSERT_TRUE(
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
          .ok());
  {
    STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> replacement,
                                SqliteStateStore::Open(other));
    ASSERT_TRUE(replacement
                    ->Register(MakeState(NumberedKey(9), "file:///9"), false,
                               Now())
                    .ok());
  }
  std::filesystem::rename(other, path);

  ExpectFileGone(store->Health());
  ExpectFileGone(
      store->Register(MakeState(NumberedKey(2), "file:///2"), false, Now())
          .status());
  // No pooled reader yet: a read needs a new connection, which must not
  // read the replacement.
  ExpectFileGone(store->Get(NumberedKey(9)).status());
  store.reset();

  // A restart opens whatever is at the path: the replacement, without the
  // write that failed.
  STATES_ASSERT_OK_AND_ASSIGN(store, SqliteStateStore::Open(path));
  EXPECT_TRUE(store->Get(NumberedKey(9)).ok())
      << store->Get(NumberedKey(9)).status();
  // The old store's WAL, left at the path, was not read over it.
  EXPECT_EQ(store->Get(NumberedKey(1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get(NumberedKey(2)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SqliteStateStoreTest, TheSameFileMovedBackIsWrittenAgain) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  ASSERT_TRUE(
      store->Register(MakeState(NumberedKey(0), "file:///0"), false, Now())
          .ok());
  std::filesystem::rename(path, dir.File("aside.db"));
  ExpectFileGone(store->Health());
  {
    // The file moved aside holds the write acknowledged before the move
    // on its own: its WAL was emptied into it.
    std::filesystem::copy_file(dir.File("aside.db"), dir.File("copy.db"));
    STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> copy,
                                SqliteStateStore::Open(dir.File("copy.db")));
    EXPECT_TRUE(copy->Get(NumberedKey(0)).ok());
  }
  ExpectFileGone(
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
          .status());
  std::filesystem::rename(dir.File("aside.db"), path);
  EXPECT_TRUE(store->Health().ok());
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult result,
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now()));
  EXPECT_EQ(result.state.revision(), 2);
  store.reset();
  STATES_ASSERT_OK_AND_ASSIGN(store, SqliteStateStore::Open(path));
  EXPECT_TRUE(store->Get(NumberedKey(1)).ok());
}

TEST(SqliteStateStoreTest, AFileThatIsNotADatabaseIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::string garbage;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&garbage, "this is not a SQLite database, line ", i, "\n");
  }
  {
    std::ofstream out(path, std::ios::binary);
    out << garbage;
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
      << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  // The file is left as it was.
  EXPECT_EQ(ReadFile(path), garbage);
}

TEST(SqliteStateStoreTest, ADatabaseOfAnotherApplicationIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.File("other.db");
  {
    RawDatabase raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE notes (text TEXT);"
                       "INSERT INTO notes VALUES ('keep me')"),
              "");
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
      << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  // Refused means untouched: same data, same schema version, and the
  // journal mode the other application chose.
  RawDatabase raw(path);
  EXPECT_EQ(raw.QueryText("SELECT text FROM notes"), "keep me");
  EXPECT_EQ(raw.QueryText("PRAGMA user_version"), "0");
  EXPECT_EQ(raw.QueryText("SELECT count(*) FROM sqlite_master"), "1");
  EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "delete");
}

TEST(SqliteStateStoreTest, AStoreFromANewerVersionIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  {
    STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                                SqliteStateStore::Open(path));
    STATES_ASSERT_OK(
        store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
            .status());
  }
  const int newer = SqliteStateStore::kSchemaVersion + 1;
  {
    RawDatabase raw(path);
    EXPECT_EQ(raw.QueryText("PRAGMA user_version"),
              absl::StrCat(SqliteStateStore::kSchemaVersion));
    EXPECT_EQ(raw.Exec(absl::StrCat("PRAGMA user_version = ", newer)), "");
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
      << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  // Not "migrated" down.
  RawDatabase raw(path);
  EXPECT_EQ(raw.QueryText("PRAGMA user_version"), absl::StrCat(newer));
}

TEST(SqliteStateStoreTest, AnEmptyDatabaseFromANewerVersionIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  {
    RawDatabase raw(path);
    EXPECT_EQ(raw.Exec("PRAGMA user_version = 1000"), "");
  }
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
      << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(SqliteStateStoreTest, OpenDoesNotCreateTheDirectory) {
  testing::TempDir dir;
  const std::string missing_dir = dir.File("no-such-dir");
  const std::string path = missing_dir + "/states.db";
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_FALSE(std::filesystem::exists(missing_dir));
}

TEST(SqliteStateStoreTest, NewFileIsInWalModeAtTheCurrentSchemaVersion) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path));
  EXPECT_TRUE(std::filesystem::exists(path));
  RawDatabase raw(path);
  EXPECT_EQ(raw.QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.QueryText("PRAGMA user_version"),
            absl::StrCat(SqliteStateStore::kSchemaVersion));
}

TEST(SqliteStateStoreTest, ReadsAreNotBlockedByAnotherConnectionsWrite) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  SqliteOptions options;
  // A read that waited for the lock would take at least this long.
  options.busy_timeout = absl::Seconds(2);
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path, options));
  for (int i = 0; i < 3; ++i) {
    STATES_ASSERT_OK(
        store->Register(MakeState(NumberedKey(i), "file:///w"), false, Now())
            .status());
  }

  RawDatabase writer(path);
  ASSERT_EQ(writer.Exec("BEGIN IMMEDIATE"), "");
  // Uncommitted changes in the WAL: readers must see the last commit.
  ASSERT_EQ(writer.Exec("CREATE TABLE test_blocker (x INTEGER)"), "");
  ASSERT_EQ(writer.Exec("INSERT INTO test_blocker VALUES (1)"), "");

  const absl::Time start = absl::Now();
  STATES_ASSERT_OK_AND_ASSIGN(v1::State state, store->Get(NumberedKey(1)));
  EXPECT_EQ(state.revision(), 2);
  EXPECT_EQ(store->Get(NumberedKey(7)).status().code(),
            absl::StatusCode::kNotFound);
  STATES_ASSERT_OK_AND_ASSIGN(
      BatchGetResult batch, store->BatchGet({NumberedKey(0), NumberedKey(2)}));
  EXPECT_EQ(batch.revision, 3);
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store->List(StateFilter(), "", 100));
  EXPECT_THAT(list.states, SizeIs(3));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store->ReadChanges(0, StateFilter(), 100));
  EXPECT_THAT(changes.events, SizeIs(3));
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store->CurrentRevision());
  EXPECT_EQ(revision, 3);
  // Many readers at once, beyond any pool's first connection.
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (!store->List(StateFilter(), "", 100).ok()) ++failures;
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1))
      << "the reads waited for the writer's lock";

  EXPECT_EQ(writer.Exec("ROLLBACK"), "");
}

TEST(SqliteStateStoreTest, AWriteBlockedByAnotherConnectionIsUnavailable) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  SqliteOptions options;
  options.busy_timeout = absl::Milliseconds(200);
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> store,
                              SqliteStateStore::Open(path, options));
  RawDatabase writer(path);
  ASSERT_EQ(writer.Exec("BEGIN IMMEDIATE"), "");

  const absl::Time start = absl::Now();
  absl::StatusOr<RegisterResult> result =
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now());
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_EQ(ReasonOf(result.status()), "STORAGE_BUSY");
  EXPECT_GE(waited, absl::Milliseconds(150));
  EXPECT_LT(waited, absl::Seconds(3));

  // Once the other connection lets go, the same write succeeds, and the
  // failed one left no trace.
  ASSERT_EQ(writer.Exec("ROLLBACK"), "");
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult retried,
      store->Register(MakeState(NumberedKey(1), "file:///1"), false, Now()));
  EXPECT_TRUE(retried.created);
  EXPECT_EQ(retried.state.revision(), 1);
}

TEST(SqliteStateStoreTest, StoresOnOneFileShareEverything) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> a,
                              SqliteStateStore::Open(path));
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> b,
                              SqliteStateStore::Open(path));
  EXPECT_EQ(a->PageTokenKey(), b->PageTokenKey());

  STATES_ASSERT_OK(
      a->Register(MakeState(NumberedKey(1), "file:///1"), false, Now())
          .status());
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, b->CurrentRevision());
  EXPECT_EQ(revision, 1);
  STATES_ASSERT_OK(b->Get(NumberedKey(1)).status());
  // The same key through the other store conflicts; a new one takes the
  // next store-wide revision.
  EXPECT_EQ(
      b->Register(MakeState(NumberedKey(1), "file:///other"), false, Now())
          .status()
          .code(),
      absl::StatusCode::kAlreadyExists);
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult result,
      b->Register(MakeState(NumberedKey(2), "file:///2"), false, Now()));
  EXPECT_EQ(result.state.revision(), 2);
  STATES_ASSERT_OK_AND_ASSIGN(revision, a->CurrentRevision());
  EXPECT_EQ(revision, 2);
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list, a->List(StateFilter(), "", 10));
  EXPECT_THAT(list.states, SizeIs(2));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              a->ReadChanges(1, StateFilter(), 10));
  ASSERT_THAT(changes.events, SizeIs(1));
  EXPECT_EQ(changes.events[0].revision(), 2);
}

TEST(SqliteStateStoreTest, ConcurrentOpensOfANewFileAgreeOnTheTokenKey) {
  testing::TempDir dir;
  const std::string path = dir.File("states.db");
  constexpr int kThreads = 4;
  std::vector<absl::StatusOr<std::unique_ptr<SqliteStateStore>>> stores(
      kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { stores[t] = SqliteStateStore::Open(path); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& store : stores) {
    ASSERT_TRUE(store.ok()) << store.status();
  }
  for (int t = 1; t < kThreads; ++t) {
    EXPECT_EQ((*stores[t])->PageTokenKey(), (*stores[0])->PageTokenKey());
  }
  STATES_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStateStore> reopened,
                              SqliteStateStore::Open(path));
  EXPECT_EQ(reopened->PageTokenKey(), (*stores[0])->PageTokenKey());
}

}  // namespace
}  // namespace mozuma::states
