// statesd: serves mozuma.states.v1.StateService. Parses flags, opens the
// store, starts the server, and drains it on SIGINT or SIGTERM.
//
// Exit codes (kExit* below, and --help):
//   0  stopped after draining on SIGINT or SIGTERM; or --help, --version
//   1  failed after starting (the store could not be read)
//   2  usage error: unknown flag, bad value, an argument, contradicting flags
//   3  cannot listen on --listen: malformed, in use, not an address of this
//      machine, permission denied
//   4  cannot open the store --db, or it fails the integrity check
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/names.h"
#include "core/protobuf_log.h"
#include "service/command_line.h"
#include "service/server/listen_address.h"
#include "service/server/server.h"
#include "service/storage/memory_state_store.h"
#include "service/storage/sqlite_state_store.h"

#ifndef MOZUMA_STATES_VERSION
#error "MOZUMA_STATES_VERSION must be defined (CMake's project VERSION)"
#endif

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Where to serve: HOST:PORT, [IPV6]:PORT, unix:PATH or "
          "unix-abstract:NAME. Port 0 picks a free port; the startup line "
          "names it. 0.0.0.0 serves every IPv4 interface, [::] every "
          "interface: statesd has no authentication, so listen beyond "
          "127.0.0.1 on trusted networks only.");
ABSL_FLAG(std::string, db, "",
          "The registry's SQLite file (WAL mode; every acknowledged write is "
          "on disk before its answer), created with its directory on first "
          "start, its schema migrated on every start. A relative path is "
          "taken from the directory statesd starts in; the startup line "
          "prints the absolute path. \"memory:\" keeps the registry in "
          "memory only: everything is lost when statesd stops.");
ABSL_FLAG(int64_t, history, mozuma::states::HistoryOptions::kDefaultHistory,
          "How many of the latest changes the store keeps, so that a watch "
          "can resume from any of them.");
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
          "Most items one batch request (validation, candidates, batch get) "
          "may hold.");
ABSL_FLAG(int64_t, watch_max_lag,
          mozuma::states::WatchHubOptions::kDefaultMaxLag,
          "A watch whose client is not reading and that falls more than this "
          "many revisions behind is ended with RESOURCE_EXHAUSTED "
          "(WATCH_TOO_SLOW); the client resumes. At most --history.");
ABSL_FLAG(absl::Duration, drain_grace, absl::Seconds(10),
          "On SIGINT or SIGTERM, how long calls in flight may take to finish "
          "before they are cancelled.");
#ifdef MOZUMA_STATES_TEST_HOOKS
ABSL_FLAG(absl::Duration, TEST_response_delay, absl::ZeroDuration(),
          "For tests only: delay every answer by this long.");
#endif

namespace {

constexpr int kExitStopped = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitListen = 3;
constexpr int kExitStore = 4;

constexpr char kMemoryStore[] = "memory:";

int Fail(int exit_code, const std::string& message) {
  std::cerr << "statesd: " << message << std::endl;
  return exit_code;
}

// The value of environment variable `name`, or "" when unset.
std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Where the store goes without --db, whatever the working directory:
// systemd's StateDirectory= (the first one, when it names several), else
// the XDG state directory, else ~/.local/state. Empty when there is no home
// directory to fall back on.
std::string DefaultStorePath() {
  const std::string state_directory = Env("STATE_DIRECTORY");
  if (!state_directory.empty()) {
    return (std::filesystem::path(
                state_directory.substr(0, state_directory.find(':'))) /
            "states.db")
        .string();
  }
  // The XDG spec says to ignore a relative XDG_STATE_HOME.
  const std::string xdg_state_home = Env("XDG_STATE_HOME");
  if (!xdg_state_home.empty() && xdg_state_home[0] == '/') {
    return (std::filesystem::path(xdg_state_home) / "mozuma-states" /
            "states.db")
        .string();
  }
  std::string home = Env("HOME");
  if (home.empty() || home[0] != '/') {
    const passwd* user = getpwuid(getuid());
    home = user != nullptr && user->pw_dir != nullptr ? user->pw_dir : "";
  }
  if (home.empty()) return "";
  return (std::filesystem::path(home) / ".local" / "state" / "mozuma-states" /
          "states.db")
      .string();
}

std::vector<mozuma::states::FlagGroup> FlagGroups() {
  const std::string default_store = DefaultStorePath();
  return {
      {"Listening", {{"listen", "ADDRESS", ""}}},
      {"Store",
       {{"db", "FILE",
         "$STATE_DIRECTORY/states.db when systemd sets STATE_DIRECTORY "
         "(StateDirectory=mozuma-states gives "
         "/var/lib/mozuma-states/states.db), else "
         "$XDG_STATE_HOME/mozuma-states/states.db, else "
         "~/.local/state/mozuma-states/states.db; here: " +
             (default_store.empty() ? "none, give --db" : default_store)},
        {"history", "N", ""}}},
      {"Limits",
       {{"name_charset", "unicode|ascii", ""},
        {"max_name_bytes", "N", ""},
        {"max_extras", "N", ""},
        {"max_batch_size", "N", ""}}},
      {"Watches", {{"watch_max_lag", "N", ""}}},
      {"Draining", {{"drain_grace", "DURATION", ""}}},
#ifdef MOZUMA_STATES_TEST_HOOKS
      {"Test hooks (statesd_testing only)",
       {{"TEST_response_delay", "DURATION", ""}}},
#endif
  };
}

std::string HelpText() {
  using mozuma::states::WrapText;
  return absl::StrCat(
      "statesd ", MOZUMA_STATES_VERSION,
      ": the registry of MoZuMa's trained states over gRPC\n\n",
      WrapText(
          "Serves mozuma.states.v1.StateService: name validation, "
          "compatibility, and a registry of trained states (register, get, "
          "list, delete, watch) kept in one SQLite file. Also serves the "
          "grpc.health.v1 health service and server reflection. Clients: "
          "statesctl, the C++ client library, the Python package "
          "mozuma_states, or any gRPC tool.",
          0),
      "\nUsage:\n"
      "  statesd [--listen=ADDRESS] [--db=FILE] [FLAGS]\n"
      "  statesd --help | --version\n\n",
      WrapText(
          "Once it listens, statesd prints one line on stdout, \"statesd: "
          "serving mozuma.states.v1.StateService on ADDRESS (...)\", with "
          "the address actually bound and the store's absolute path. Flags "
          "take --flag=value or --flag value.",
          0),
      "\n", mozuma::states::FormatFlagGroups(FlagGroups()), "Signals:\n",
      WrapText(
          "SIGINT, SIGTERM: drain. Health turns NOT_SERVING, watches end "
          "with UNAVAILABLE (SERVER_DRAINING) so that clients resume "
          "elsewhere or later, no new call is taken, calls in flight get "
          "--drain_grace to finish and are then cancelled; statesd exits 0.",
          2),
      WrapText("Any other signal that ends a process (SIGHUP, SIGKILL...) ends "
               "statesd at once; every write the SQLite store acknowledged is "
               "already "
               "on disk.",
               2),
      "\nExit codes:\n"
      "  0  stopped after draining on SIGINT or SIGTERM; --help, --version\n"
      "  1  failed after starting (the store could not be read)\n"
      "  2  usage error: unknown flag, bad value, an argument, flags that\n"
      "     contradict each other\n"
      "  3  cannot listen on --listen: malformed, in use, not an address of\n"
      "     this machine, permission denied (the message says which)\n"
      "  4  cannot open the store --db, or it fails the integrity check\n"
      "\nExamples:\n"
      "  statesd                        127.0.0.1:50051, the default store\n"
      "  statesd --listen=0.0.0.0:50051 --db=/srv/mozuma-states/states.db\n"
      "  statesd --listen=127.0.0.1:0 --db=memory:\n"
      "                                 a throwaway server on a free port\n"
      "  statesd --name_charset=ascii --max_name_bytes=64\n"
      "\nDocs: README.md (a tour), docs/API.md (the API, limits, errors) and\n"
      "docs/ARCHITECTURE.md in the mozuma-states sources; the API's .proto\n"
      "files are installed under share/mozuma-states/proto.\n");
}

// The store `db` names (absolute, or memory:), its directory created if
// need be.
absl::StatusOr<std::unique_ptr<mozuma::states::StateStore>> OpenStore(
    const std::string& db, const mozuma::states::HistoryOptions& history) {
  if (db == kMemoryStore) {
    return std::make_unique<mozuma::states::MemoryStateStore>(history);
  }
  const std::filesystem::path parent = std::filesystem::path(db).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the directory ", parent.string(), ": ",
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
  const std::vector<mozuma::states::FlagGroup> groups = FlagGroups();
  absl::StatusOr<mozuma::states::ParsedCommandLine> command_line =
      mozuma::states::ParseStatesdCommandLine(argc, argv, groups);
  if (!command_line.ok()) {
    return Fail(kExitUsage, std::string(command_line.status().message()));
  }
  if (command_line->action == mozuma::states::CommandLineAction::kHelp) {
    std::cout << HelpText() << std::flush;
    return kExitStopped;
  }
  if (command_line->action == mozuma::states::CommandLineAction::kVersion) {
    std::cout << "statesd " << MOZUMA_STATES_VERSION << std::endl;
    return kExitStopped;
  }

  mozuma::states::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<mozuma::states::NameCharset> charset =
      mozuma::states::ParseNameCharset(absl::GetFlag(FLAGS_name_charset));
  if (!charset.ok()) {
    return Fail(kExitUsage,
                absl::StrCat("--name_charset: ", charset.status().message()));
  }
  options.limits.rules.charset = *charset;
  options.limits.rules.max_name_bytes = absl::GetFlag(FLAGS_max_name_bytes);
  options.limits.rules.max_extras = absl::GetFlag(FLAGS_max_extras);
  options.limits.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  if (options.limits.rules.max_name_bytes == 0)
    return Fail(kExitUsage, "--max_name_bytes must be at least 1");
  if (options.limits.max_batch_size == 0)
    return Fail(kExitUsage, "--max_batch_size must be at least 1");
  const absl::Duration grace = absl::GetFlag(FLAGS_drain_grace);
  if (grace < absl::ZeroDuration())
    return Fail(kExitUsage, "--drain_grace must not be negative");
#ifdef MOZUMA_STATES_TEST_HOOKS
  options.TEST_response_delay = absl::GetFlag(FLAGS_TEST_response_delay);
#endif
  mozuma::states::HistoryOptions history;
  history.history = absl::GetFlag(FLAGS_history);
  options.watch.max_lag = absl::GetFlag(FLAGS_watch_max_lag);
  if (history.history < 1)
    return Fail(kExitUsage, "--history must be at least 1");
  if (options.watch.max_lag < 1 || options.watch.max_lag > history.history) {
    return Fail(
        kExitUsage,
        absl::StrCat("--watch_max_lag must be between 1 and --history (",
                     history.history,
                     "), so that a watch ended for lagging can always "
                     "resume"));
  }
  if (absl::StatusOr<mozuma::states::ListenAddress> address =
          mozuma::states::ParseListenAddress(options.listen);
      !address.ok()) {
    return Fail(kExitListen, absl::StrCat("cannot listen on ", options.listen,
                                          ": ", address.status().message()));
  }

  std::string db = absl::GetFlag(FLAGS_db);
  const bool default_db = command_line->given.count("db") == 0;
  if (db.empty() && !default_db) {
    return Fail(kExitUsage,
                "--db is empty: give a file path, or memory: for a store in "
                "memory");
  }
  if (db.empty()) {
    db = DefaultStorePath();
    if (db.empty()) {
      return Fail(kExitUsage,
                  "no default place for the store: neither STATE_DIRECTORY, "
                  "XDG_STATE_HOME nor a home directory is set; give --db=FILE");
    }
  }
  if (db != kMemoryStore) {
    std::error_code error;
    const std::filesystem::path absolute = std::filesystem::absolute(db, error);
    if (error) {
      return Fail(kExitStore, absl::StrCat("--db=", db, ": ", error.message()));
    }
    db = absolute.lexically_normal().string();
  }

  mozuma::states::InstallProtobufLogFilter();

  // Block the stop signals before gRPC starts its threads, so that they all
  // inherit the mask and only sigwait() below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<mozuma::states::StateStore>> store =
      OpenStore(db, history);
  if (!store.ok()) {
    // Without --db, say where the store was, and how to put it elsewhere.
    return Fail(
        kExitStore,
        default_db ? absl::StrCat("the default store ", db, ": ",
                                  store.status().message(),
                                  "; give --db=FILE for another")
                   : absl::StrCat("--db=", db, ": ", store.status().message()));
  }
  absl::StatusOr<int64_t> revision = (*store)->CurrentRevision();
  if (!revision.ok()) {
    return Fail(kExitFailed, std::string(revision.status().message()));
  }

  absl::StatusOr<std::unique_ptr<mozuma::states::Server>> server =
      mozuma::states::Server::Start(options, *std::move(store));
  if (!server.ok()) {
    return Fail(kExitListen, absl::StrCat("cannot listen on ", options.listen,
                                          ": ", server.status().message()));
  }

  std::cout << "statesd: serving mozuma.states.v1.StateService on "
            << (*server)->address() << " (names: "
            << mozuma::states::NameCharsetName(options.limits.rules.charset)
            << ", store: "
            << (db == kMemoryStore ? "memory, not durable" : "sqlite " + db)
            << " at revision " << *revision << ", health and reflection on)"
            << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "statesd: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << " received; draining for up to " << absl::FormatDuration(grace)
            << std::endl;
  (*server)->Drain(grace);
  std::cout << "statesd: stopped" << std::endl;
  return kExitStopped;
}
