// Measures what SqliteStateStore::Open() spends at start on its integrity
// check (PRAGMA quick_check), for stores of a given number of states.
//
// For each size it fills a new store through the real write path, in a
// scratch directory on tmpfs when there is one (where fsync is free, so that
// 100,000 writes take seconds), copies the file to --dir, and then times,
// the best of --runs each: Open() of the copy, and the quick_check alone on
// a plain SQLite connection (with PRAGMA integrity_check, which also checks
// that every index matches its table, for comparison). The file is in the page cache, as it is for a
// statesd restarted on a machine that just ran it; a cold cache adds the
// time to read the file once.
//
// Usage: store_open_bench [--states=10000,100000] [--dir=DIR] [--runs=5];
// prints a Markdown table.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "mozuma/states/v1/state.pb.h"
#include "service/storage/sqlite_state_store.h"

ABSL_FLAG(std::string, states, "10000,100000",
          "Store sizes to measure, in states, comma-separated.");
ABSL_FLAG(std::string, dir, "",
          "Where the measured copies go (removed afterwards); empty for a "
          "new directory under TMPDIR or /tmp.");
ABSL_FLAG(int, runs, 5, "Timed runs per size; the best is reported.");

namespace mozuma::states {
namespace {

namespace fs = std::filesystem;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// A state like the ones MoZuMa registers: a 3-part type, a file URI and a
// digest, about 200 bytes.
v1::State BenchState(int i) {
  v1::State state;
  v1::StateKey& key = *state.mutable_state_key();
  key.mutable_state_type()->set_backend("pytorch");
  key.mutable_state_type()->set_architecture(absl::StrCat("arch", i % 50));
  key.mutable_state_type()->add_extra("cls1000");
  key.set_training_id(absl::StrCat("training-", i));
  state.set_uri(absl::StrCat("file:///srv/models/arch", i % 50,
                             "/training-", i, "/weights.pt"));
  state.set_sha256(std::string(64, 'a' + i % 6));
  return state;
}

// Fills a new store at `path` with `count` states; false on failure.
bool Fill(const std::string& path, int count) {
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
      SqliteStateStore::Open(path);
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return false;
  }
  const absl::Time now = absl::Now();
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<RegisterResult> result =
        (*store)->Register(BenchState(i), false, now);
    if (!result.ok()) {
      std::cerr << result.status() << "\n";
      return false;
    }
  }
  return true;
}

// The time `pragma` takes on `path`, on a connection of its own.
double PragmaSeconds(const std::string& path, const char* pragma) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  const auto start = std::chrono::steady_clock::now();
  sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
  const double seconds = Seconds(std::chrono::steady_clock::now() - start);
  sqlite3_close(db);
  return seconds;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<int> sizes;
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_states), ',', absl::SkipEmpty())) {
    int size = 0;
    if (!absl::SimpleAtoi(part, &size) || size < 0) {
      std::cerr << "--states: not a list of counts: " << part << "\n";
      return 2;
    }
    sizes.push_back(size);
  }
  const char* tmp = std::getenv("TMPDIR");
  const fs::path base = tmp != nullptr ? tmp : "/tmp";
  const fs::path scratch =
      fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : base;
  fs::path dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) dir = base;
  dir /= absl::StrCat("store_open_bench.", getpid());
  fs::create_directories(dir);
  const fs::path fill_dir = scratch / absl::StrCat("store_open_bench_fill.",
                                                  getpid());
  fs::create_directories(fill_dir);

  std::cout << "| states | file | Open(), check included | quick_check alone "
               "| integrity_check, for comparison |\n"
            << "|---:|---:|---:|---:|---:|\n";
  int status = 0;
  for (int size : sizes) {
    const std::string filled = (fill_dir / "states.db").string();
    fs::remove(filled);
    if (!Fill(filled, size)) {
      status = 1;
      break;
    }
    const std::string path = (dir / "states.db").string();
    fs::remove(path);
    fs::copy_file(filled, path);
    fs::remove(filled);
    double best_open = 1e9;
    double best_check = 1e9;
    double best_full = 1e9;
    for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
      const auto start = std::chrono::steady_clock::now();
      absl::StatusOr<std::unique_ptr<SqliteStateStore>> store =
          SqliteStateStore::Open(path);
      const double seconds = Seconds(std::chrono::steady_clock::now() - start);
      if (!store.ok()) {
        std::cerr << store.status() << "\n";
        status = 1;
        break;
      }
      store->reset();
      best_open = std::min(best_open, seconds);
      best_check =
          std::min(best_check, PragmaSeconds(path, "PRAGMA quick_check"));
      best_full =
          std::min(best_full, PragmaSeconds(path, "PRAGMA integrity_check"));
    }
    std::cout << absl::StrFormat(
        "| %d | %.1f MB | %.0f ms | %.0f ms | %.0f ms |\n", size,
        fs::file_size(path) / 1e6, best_open * 1e3, best_check * 1e3,
        best_full * 1e3);
  }
  fs::remove_all(dir);
  fs::remove_all(fill_dir);
  return status;
}

}  // namespace
}  // namespace mozuma::states

int main(int argc, char** argv) { return mozuma::states::Main(argc, argv); }
