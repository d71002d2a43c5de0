// statesd: serves mozuma.states.v1.StateService. Parses flags, opens the
// store, starts the server, and drains it on SIGINT or SIGTERM.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/names.h"
#include "core/protobuf_log.h"
#include "service/server/server.h"
#include "service/storage/memory_state_store.h"
#include "service/storage/sqlite_state_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on: host:port, [ipv6]:port or unix:/path. Port 0 "
          "picks a free port; the startup line says which.");
ABSL_FLAG(std::string, name_charset, "unicode",
          "Characters allowed in names besides '_' and '-': \"unicode\" "
          "(letters and numbers of any script, as MoZuMa) or \"ascii\" "
          "([A-Za-z0-9]).");
ABSL_FLAG(std::size_t, max_name_bytes,
          mozuma::states::NameRules::kDefaultMaxNameBytes,
          "Longest valid name, in UTF-8 bytes.");
ABSL_FLAG(std::size_t, max_extras, mozuma::states::NameRules::kDefaultMaxExtras,
          "Most extra elements a state type may have.");
ABSL_FLAG(std::size_t, max_batch_size,
          mozuma::states::ServiceLimits::kDefaultMaxBatchSize,
          "Most items one batch request (validation, candidates) may hold.");
ABSL_FLAG(std::string, db, "var/states.db",
          "The registry's SQLite file, created with its directory on first "
          "start. \"memory:\" keeps the registry in memory only: everything "
          "is lost when statesd stops.");
ABSL_FLAG(int64_t, history, mozuma::states::HistoryOptions::kDefaultHistory,
          "How many of the latest changes the store keeps, so that a watch "
          "can resume from any of them.");
ABSL_FLAG(int64_t, watch_max_lag, mozuma::states::WatchHubOptions::kDefaultMaxLag,
          "A watch whose client is not reading and that falls more than this "
          "many revisions behind is ended with RESOURCE_EXHAUSTED; the client "
          "resumes. At most --history.");
ABSL_FLAG(absl::Duration, drain_grace, absl::Seconds(10),
          "On SIGINT or SIGTERM, how long calls in flight may take to finish "
          "before they are cancelled.");
ABSL_FLAG(absl::Duration, TEST_response_delay, absl::ZeroDuration(),
          "For tests only: delay every answer by this long.");

namespace {

int Fail(const std::string& message) {
  std::cerr << "statesd: " << message << std::endl;
  return 2;
}

constexpr char kMemoryStore[] = "memory:";

// The store `db` names, its directory created if need be.
absl::StatusOr<std::unique_ptr<mozuma::states::StateStore>> OpenStore(
    const std::string& db, const mozuma::states::HistoryOptions& history) {
  if (db == kMemoryStore) {
    return std::make_unique<mozuma::states::MemoryStateStore>(history);
  }
  if (db.empty()) {
    return absl::InvalidArgumentError(
        "is empty: give a file path, or memory: for a store in memory");
  }
  const std::filesystem::path parent = std::filesystem::path(db).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the directory ", parent.string(), ": ",
        error.message()));
  }
  mozuma::states::SqliteOptions options;
  options.history = history;
  absl::StatusOr<std::unique_ptr<mozuma::states::SqliteStateStore>> store =
      mozuma::states::SqliteStateStore::Open(db, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<mozuma::states::StateStore>(*std::move(store));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves mozuma.states.v1.StateService with the grpc.health.v1 health "
      "service and server reflection.\n\n"
      "Usage: statesd [--listen=127.0.0.1:50051] [--db=var/states.db] "
      "[flags]\n\n"
      "The registry lives in the SQLite file --db (WAL mode, every "
      "acknowledged write synced to disk); the file is created on first "
      "start and its schema migrated on every start.\n\n"
      "SIGINT or SIGTERM drains: health turns NOT_SERVING, no new call is "
      "taken, calls in flight get --drain_grace to finish, and the process "
      "exits 0.");
  absl::ParseCommandLine(argc, argv);

  mozuma::states::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<mozuma::states::NameCharset> charset =
      mozuma::states::ParseNameCharset(absl::GetFlag(FLAGS_name_charset));
  if (!charset.ok())
    return Fail(absl::StrCat("--name_charset: ", charset.status().message()));
  options.limits.rules.charset = *charset;
  options.limits.rules.max_name_bytes = absl::GetFlag(FLAGS_max_name_bytes);
  options.limits.rules.max_extras = absl::GetFlag(FLAGS_max_extras);
  options.limits.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  if (options.limits.rules.max_name_bytes == 0)
    return Fail("--max_name_bytes must be at least 1");
  if (options.limits.max_batch_size == 0)
    return Fail("--max_batch_size must be at least 1");
  const absl::Duration grace = absl::GetFlag(FLAGS_drain_grace);
  if (grace < absl::ZeroDuration())
    return Fail("--drain_grace must not be negative");
  options.TEST_response_delay = absl::GetFlag(FLAGS_TEST_response_delay);
  mozuma::states::HistoryOptions history;
  history.history = absl::GetFlag(FLAGS_history);
  options.watch.max_lag = absl::GetFlag(FLAGS_watch_max_lag);
  if (history.history < 1) return Fail("--history must be at least 1");
  if (options.watch.max_lag < 1 || options.watch.max_lag > history.history) {
    return Fail(absl::StrCat(
        "--watch_max_lag must be between 1 and --history (", history.history,
        "), so that a watch ended for lagging can always resume"));
  }

  mozuma::states::InstallProtobufLogFilter();

  // Block the stop signals before gRPC starts its threads, so that they all
  // inherit the mask and only sigwait() below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string db = absl::GetFlag(FLAGS_db);
  absl::StatusOr<std::unique_ptr<mozuma::states::StateStore>> store =
      OpenStore(db, history);
  if (!store.ok()) return Fail(absl::StrCat("--db: ", store.status().message()));
  absl::StatusOr<int64_t> revision = (*store)->CurrentRevision();
  if (!revision.ok()) return Fail(std::string(revision.status().message()));

  absl::StatusOr<std::unique_ptr<mozuma::states::Server>> server =
      mozuma::states::Server::Start(options, *std::move(store));
  if (!server.ok()) return Fail(std::string(server.status().message()));

  std::cout << "statesd: serving mozuma.states.v1.StateService on "
            << (*server)->address() << " (names: "
            << mozuma::states::NameCharsetName(options.limits.rules.charset)
            << ", store: "
            << (db == kMemoryStore ? "memory, not durable" : "sqlite " + db)
            << " at revision " << *revision
            << ", health and reflection on)" << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "statesd: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << " received; draining for up to " << absl::FormatDuration(grace)
            << std::endl;
  (*server)->Drain(grace);
  std::cout << "statesd: stopped" << std::endl;
  return 0;
}
