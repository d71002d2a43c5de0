// A minimal inference server's use of mozuma-states, built against the
// installed package as a user's project would be (see ../README.md).
//
// At start it asks statesd for the trained states that its model can load
// (ListStates, states compatible with its state type), picks the newest one,
// or the newest with a given training id, checks the weights file against
// the registered SHA-256 and "loads" it. Then it watches the registry
// (WatchStates) and hot-swaps to each newer compatible state whose weights
// verify, keeping the loaded one when they do not. Only file:// URIs are
// read; the model itself is imaginary.
//
// Usage:
//
//   inference_server [--server=HOST:PORT | HOST:PORT]
//                    [--state_type=pytorch.resnet18] [--training_id=ID]
//                    [--max_events=N]
//
// It runs until SIGINT or SIGTERM, or, with --max_events, until it has
// handled N changes of the registry after its start (for tests). Exit
// status: 0 after either, 1 when the registry cannot be read or the watch
// fails for good, 2 for a usage error.
//
// Each step prints one line, "inference_server: " and then:
//
//   registry at ADDR; model state type TYPE
//   found N compatible states
//   verified NAME (sha256 HEX, N bytes)
//   rejected NAME: WHY
//   loaded NAME (revision R) from PATH
//   no verified compatible state; waiting for one
//   watching for compatible states (registry at revision R)
//   event ADDED|UPDATED|DELETED NAME (revision R)
//   hot-swapped OLD -> NEW (revision R)
//   keeping NAME
//   stopping after N events | stopping: SIGINT|SIGTERM received
//   stopped; serving NAME | stopped; serving nothing
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "client/client.h"
#include "core/names.h"
#include "core/state_names.h"

namespace {

namespace states = mozuma::states;
namespace v1 = mozuma::states::v1;

constexpr char kUsage[] =
    "usage: inference_server [--server=HOST:PORT | HOST:PORT] "
    "[--state_type=BACKEND.ARCHITECTURE[.EXTRA...]] [--training_id=ID] "
    "[--max_events=N]\n";

struct Options {
  std::string server = "127.0.0.1:50051";
  std::string state_type = "pytorch.resnet18";
  std::string training_id;  // empty: any
  int max_events = 0;       // 0: until a signal
};

// Parses `--name=value` flags and one positional HOST:PORT. Returns false
// (after printing why) for anything else.
bool ParseOptions(int argc, char** argv, Options* options) {
  bool have_server = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return false;
    if (!absl::StartsWith(arg, "--")) {
      if (have_server) {
        std::cerr << "inference_server: more than one server given\n";
        return false;
      }
      options->server = std::string(arg);
      have_server = true;
      continue;
    }
    const std::size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(2, equals - 2);
    if (equals == absl::string_view::npos) {
      std::cerr << "inference_server: --" << name << " needs =VALUE\n";
      return false;
    }
    const std::string value(arg.substr(equals + 1));
    if (name == "server") {
      if (have_server) {
        std::cerr << "inference_server: more than one server given\n";
        return false;
      }
      options->server = value;
      have_server = true;
    } else if (name == "state_type") {
      options->state_type = value;
    } else if (name == "training_id") {
      options->training_id = value;
    } else if (name == "max_events") {
      if (!absl::SimpleAtoi(value, &options->max_events) ||
          options->max_events < 0) {
        std::cerr << "inference_server: --max_events must be a count\n";
        return false;
      }
    } else {
      std::cerr << "inference_server: unknown flag --" << name << "\n";
      return false;
    }
  }
  return true;
}

// Prints one line of progress. Lines come from the main thread and the
// watch's thread, so they are written whole, under a lock, and flushed.
void Say(const std::string& line) {
  static std::mutex* const mutex = new std::mutex;
  std::lock_guard<std::mutex> lock(*mutex);
  std::cout << "inference_server: " << line << std::endl;
}

// The value of hexadecimal digit `c`, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Returns the local path of a file:// URI, percent-decoded as statesctl
// encodes it: "file:///srv/a%20b.pt" is "/srv/a b.pt". Returns UNIMPLEMENTED
// for any other scheme, and INVALID_ARGUMENT for a file URI naming a remote
// host or holding a bad escape.
absl::StatusOr<std::string> LocalPath(absl::string_view uri) {
  absl::string_view rest = uri;
  if (!absl::ConsumePrefix(&rest, "file://")) {
    return absl::UnimplementedError(
        absl::StrCat("only file:// URIs are read here, not ", uri));
  }
  absl::ConsumePrefix(&rest, "localhost");
  if (!absl::StartsWith(rest, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a local file URI: ", uri));
  }
  std::string path;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      path += rest[i];
      continue;
    }
    const int high = i + 2 < rest.size() ? HexValue(rest[i + 1]) : -1;
    const int low = i + 2 < rest.size() ? HexValue(rest[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad percent escape in ", uri));
    }
    path += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return path;
}

struct Digest {
  std::string sha256;  // lowercase hex
  std::int64_t size_bytes = 0;
};

// Returns the SHA-256 and size of the file at `path`, read in blocks of
// 1 MiB so that weights of any size take constant memory. Returns NOT_FOUND
// when the file cannot be opened and DATA_LOSS when it cannot be read.
absl::StatusOr<Digest> HashFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                             &EVP_MD_CTX_free);
  if (context == nullptr ||
      EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("cannot start a SHA-256 digest");
  }
  Digest digest;
  std::vector<unsigned char> block(1 << 20);
  std::size_t count;
  while ((count = std::fread(block.data(), 1, block.size(), file.get())) > 0) {
    if (EVP_DigestUpdate(context.get(), block.data(), count) != 1) {
      return absl::InternalError("SHA-256 digest failed");
    }
    digest.size_bytes += static_cast<std::int64_t>(count);
  }
  if (std::ferror(file.get())) {
    return absl::DataLossError(absl::StrCat("cannot read ", path));
  }
  unsigned char value[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), value, &length) != 1) {
    return absl::InternalError("SHA-256 digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    digest.sha256 += kHex[value[i] >> 4];
    digest.sha256 += kHex[value[i] & 0xf];
  }
  return digest;
}

// Returns the local path of `state`'s weights once the file there has the
// registered size and SHA-256; the reason it cannot be loaded otherwise.
// A state registered without a SHA-256 is refused: nothing proves what it is.
absl::StatusOr<std::string> Verify(const v1::State& state) {
  if (state.sha256().empty()) {
    return absl::FailedPreconditionError("no SHA-256 is registered");
  }
  absl::StatusOr<std::string> path = LocalPath(state.uri());
  if (!path.ok()) return path.status();
  absl::StatusOr<Digest> digest = HashFile(*path);
  if (!digest.ok()) return digest.status();
  if (state.has_size_bytes() && state.size_bytes() != digest->size_bytes) {
    return absl::DataLossError(
        absl::StrCat("size mismatch: registered ", state.size_bytes(),
                     " bytes, file has ", digest->size_bytes));
  }
  if (digest->sha256 != state.sha256()) {
    return absl::DataLossError(absl::StrCat("sha256 mismatch: registered ",
                                            state.sha256(), ", file has ",
                                            digest->sha256));
  }
  Say(absl::StrCat("verified ", state.name(), " (sha256 ", digest->sha256, ", ",
                   digest->size_bytes, " bytes)"));
  return *std::move(path);
}

// The model and the state loaded into it. Not thread-safe, and needs not
// be: main() uses it before the watch starts and after it has stopped, the
// watch's callbacks (one at a time) in between.
class Model {
 public:
  // `main_thread` is woken with SIGUSR1 when the model asks to stop: after
  // `max_events` registry changes (0: never), or when the watch fails.
  Model(int max_events, pthread_t main_thread)
      : max_events_(max_events), main_thread_(main_thread) {}

  // Loads the newest of `candidates` (by revision) whose weights verify.
  // Returns false, having loaded nothing, when none does.
  bool LoadNewest(std::vector<v1::State> candidates) {
    std::sort(candidates.begin(), candidates.end(),
              [](const v1::State& a, const v1::State& b) {
                return a.revision() > b.revision();
              });
    for (const v1::State& state : candidates) {
      if (Load(state)) return true;
    }
    return false;
  }

  // Handles one message of the watch (WatchCallbacks::on_message).
  void OnMessage(const v1::WatchStatesResponse& response) {
    if (finished_) return;
    if (!snapshot_complete_) {
      // The snapshot repeats what ListStates returned, plus whatever was
      // registered between the two calls: only that part matters.
      for (const v1::StateEvent& event : response.events()) {
        snapshot_.push_back(event.state());
      }
      if (!response.snapshot_complete()) return;
      snapshot_complete_ = true;
      std::vector<v1::State> newer;
      for (v1::State& state : snapshot_) {
        if (!current_ || state.revision() > current_->revision()) {
          newer.push_back(std::move(state));
        }
      }
      snapshot_.clear();
      if (!newer.empty()) LoadNewest(std::move(newer));
      Say(absl::StrCat("watching for compatible states (registry at revision ",
                       response.revision(), ")"));
      return;
    }
    for (const v1::StateEvent& event : response.events()) {
      OnEvent(event);
      if (max_events_ > 0 && ++events_ >= max_events_) {
        Say(absl::StrCat("stopping after ", events_, " events"));
        Finish();
        return;
      }
    }
  }

  // The watch broke and reopens (WatchCallbacks::on_retry).
  void OnRetry(const states::WatchRetry& retry) {
    Say(absl::StrCat("watch interrupted (", retry.error.ToString(),
                     "); reconnecting"));
    // A repeated snapshot replaces the broken one, and is no live change.
    if (retry.restarts_snapshot) {
      snapshot_.clear();
      snapshot_complete_ = false;
    }
  }

  // The watch ended (WatchCallbacks::on_done): by Stop(), with CANCELLED,
  // or by an error that no reconnection cures.
  void OnDone(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kCancelled) return;
    watch_error_ = status;
    Say(absl::StrCat("watch ended: ", status.ToString()));
    Finish();
  }

  const std::optional<v1::State>& current() const { return current_; }
  const absl::Status& watch_error() const { return watch_error_; }

 private:
  void OnEvent(const v1::StateEvent& event) {
    const v1::State& state = event.state();
    Say(absl::StrCat(
        "event ",
        absl::StripPrefix(v1::StateEvent::Type_Name(event.type()), "TYPE_"),
        " ", state.name(), " (revision ", event.revision(), ")"));
    switch (event.type()) {
      case v1::StateEvent::TYPE_ADDED:
      case v1::StateEvent::TYPE_UPDATED:
        // Every change takes the next store revision: this state is newer
        // than the loaded one.
        if (!Load(state) && current_) Say("keeping " + current_->name());
        break;
      case v1::StateEvent::TYPE_DELETED:
        if (current_ && current_->name() == state.name()) {
          Say(absl::StrCat("keeping ", current_->name(),
                           ": deleted from the registry, still loaded"));
        }
        break;
      default:
        break;
    }
  }

  // Verifies `state` and, when its weights check out, swaps it in. A state
  // rejected once is not read again until it changes (a new revision).
  bool Load(const v1::State& state) {
    const std::pair<std::string, std::int64_t> version(state.name(),
                                                       state.revision());
    if (rejected_.count(version) > 0) return false;
    absl::StatusOr<std::string> path = Verify(state);
    if (!path.ok()) {
      Say(absl::StrCat("rejected ", state.name(), ": ",
                       path.status().message()));
      rejected_.insert(version);
      return false;
    }
    // A real server would read the weights here, into a second model
    // instance, and switch requests over to it once it is ready.
    if (current_) {
      Say(absl::StrCat("hot-swapped ", current_->name(), " -> ", state.name(),
                       " (revision ", state.revision(), ")"));
    } else {
      Say(absl::StrCat("loaded ", state.name(), " (revision ", state.revision(),
                       ") from ", *path));
    }
    current_ = state;
    return true;
  }

  void Finish() {
    finished_ = true;
    pthread_kill(main_thread_, SIGUSR1);
  }

  const int max_events_;
  const pthread_t main_thread_;
  std::optional<v1::State> current_;
  std::set<std::pair<std::string, std::int64_t>> rejected_;
  bool snapshot_complete_ = false;
  std::vector<v1::State> snapshot_;
  int events_ = 0;
  bool finished_ = false;
  absl::Status watch_error_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    std::cerr << kUsage;
    return 2;
  }
  absl::StatusOr<v1::StateType> state_type = states::ParseStateTypeName(
      options.state_type, states::NameRules{}, "--state_type");
  if (!state_type.ok()) {
    std::cerr << "inference_server: " << state_type.status().message() << "\n";
    return 2;
  }

  // Block the stop signals before gRPC starts its threads, so that every
  // thread inherits the mask and only sigwait() below sees them. SIGUSR1 is
  // the model's own request to stop.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<states::Client> client =
      states::Client::Connect(options.server);
  Say(absl::StrCat("registry at ", options.server, "; model state type ",
                   states::FormatStateType(*state_type)));

  // What the model can load: every state of a compatible type (same backend
  // and architecture), of one training activity when --training_id is given.
  v1::ListStatesRequest list;
  *list.mutable_state_type() = *state_type;
  list.set_match(v1::STATE_TYPE_MATCH_COMPATIBLE);
  list.set_training_id(options.training_id);
  absl::StatusOr<std::vector<v1::State>> found = client->List(list);
  if (!found.ok()) {
    Say(absl::StrCat("cannot list states: ", found.status().ToString()));
    return 1;
  }
  Say(absl::StrCat("found ", found->size(), " compatible states"));

  Model model(options.max_events, pthread_self());
  if (!model.LoadNewest(*std::move(found))) {
    Say("no verified compatible state; waiting for one");
  }

  // The watch starts with a snapshot (start_revision 0), which covers what
  // was registered between the listing and the watch.
  v1::WatchStatesRequest watch;
  *watch.mutable_state_type() = list.state_type();
  watch.set_match(list.match());
  watch.set_training_id(list.training_id());
  states::WatchCallbacks callbacks;
  callbacks.on_message = [&model](const v1::WatchStatesResponse& response) {
    model.OnMessage(response);
  };
  callbacks.on_retry = [&model](const states::WatchRetry& retry) {
    model.OnRetry(retry);
  };
  callbacks.on_done = [&model](const absl::Status& status) {
    model.OnDone(status);
  };
  std::unique_ptr<states::StateWatcher> watcher =
      client->Watch(watch, std::move(callbacks));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  if (signal_number != SIGUSR1) {
    Say(absl::StrCat(
        "stopping: ", signal_number == SIGINT ? "SIGINT" : "SIGTERM",
        " received"));
  }
  watcher->Stop();  // joins the watch's thread: `model` is ours again

  Say(model.current() ? "stopped; serving " + model.current()->name()
                      : std::string("stopped; serving nothing"));
  return model.watch_error().ok() ? 0 : 1;
}
