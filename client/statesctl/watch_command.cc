// watch: prints the registry's changes until SIGINT or SIGTERM.
#include <signal.h>

#include <cerrno>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/state_watcher.h"
#include "client/statesctl/arguments.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/output.h"
#include "core/errors.h"
#include "core/names.h"
#include "core/state_names.h"
#include "google/protobuf/struct.pb.h"

namespace mozuma::states::statesctl {
namespace {

// How often the main thread looks whether the watch ended by itself while
// it waits for a signal.
constexpr long kPollNanoseconds = 100'000'000;

std::string EventLine(const v1::StateEvent& event) {
  std::string type = v1::StateEvent::Type_Name(event.type());
  if (absl::StartsWith(type, "TYPE_")) type.erase(0, 5);
  const v1::State& state = event.state();
  return absl::StrCat(
      type, " ",
      PrintableValue(state.name().empty() ? FormatStateKey(state.state_key())
                                          : state.name()),
      " rev ", event.revision(), " ", state.uri());
}

// The last error that kept the watch from the server, for the message that
// gives up. Written by the watcher's thread, read by the main one.
class LastError {
 public:
  void Set(const absl::Status& status) {
    absl::MutexLock lock(&mutex_);
    status_ = status;
  }
  absl::Status Get() const {
    absl::MutexLock lock(&mutex_);
    return status_;
  }

 private:
  mutable absl::Mutex mutex_;
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
};

// The error printed when the server never answered: UNAVAILABLE, so that
// the exit code is kNoAnswer, with what to do next.
absl::Status NoAnswerError(absl::string_view address, absl::string_view what,
                           const absl::Status& last_error) {
  return absl::UnavailableError(absl::StrCat(
      "no answer from statesd at ", address, " ", what,
      "; pass --wait to keep trying until it comes up",
      last_error.ok()
          ? ""
          : absl::StrCat(" (last error: ", DescribeStatus(last_error), ")")));
}

}  // namespace

int RunWatch(const Client& client, const Invocation& invocation) {
  if (absl::GetFlag(FLAGS_exact) && invocation.args.empty()) {
    return UsageError("--exact needs a STATE_TYPE");
  }
  absl::StatusOr<Filter> filter = FilterFromArguments(invocation.args);
  if (!filter.ok()) return ReportError(filter.status(), invocation.json);
  v1::WatchStatesRequest request;
  filter->ApplyTo(request);
  request.set_start_revision(absl::GetFlag(FLAGS_start_revision));

  const bool json = invocation.json;
  const std::string address = absl::GetFlag(FLAGS_server);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const bool wait = absl::GetFlag(FLAGS_wait);
  LastError last_error;
  // Touched by the watcher's thread only.
  int snapshot_states = 0;
  bool said_waiting = false;
  WatchCallbacks callbacks;
  callbacks.on_message = [json,
                          &snapshot_states](const v1::WatchStatesResponse& r) {
    for (const v1::StateEvent& event : r.events()) {
      std::cout << (json ? Json(event) : EventLine(event)) << "\n";
      if (r.revision() == 0) ++snapshot_states;
    }
    if (r.snapshot_complete()) {
      if (json) {
        // The response itself, less its events: the proto3 JSON mapping's
        // {"snapshotComplete":true,"revision":"R"}.
        v1::WatchStatesResponse marker;
        marker.set_snapshot_complete(true);
        marker.set_revision(r.revision());
        std::cout << Json(marker) << "\n";
      } else {
        std::cout << "# snapshot complete: " << snapshot_states
                  << " states at rev " << r.revision() << "\n";
      }
    }
    // Whoever reads the pipe sees each change as it happens.
    std::cout.flush();
  };
  callbacks.on_retry = [json, wait, &address, &snapshot_states, &said_waiting,
                        &last_error](const WatchRetry& retry) {
    last_error.Set(retry.error);
    if (!retry.answered) {
      // Nothing to resume yet: the server has not come up. Without --wait
      // the main thread gives up after --timeout; with it, say once that
      // the watch waits.
      if (wait && !said_waiting) {
        said_waiting = true;
        std::cerr << "statesctl: waiting for statesd at " << address
                  << " to come up (" << DescribeStatus(retry.error)
                  << "); Ctrl-C to stop" << std::endl;
      }
      return;
    }
    std::cerr << "statesctl: watch interrupted: " << DescribeStatus(retry.error)
              << "; reconnecting in "
              << absl::FormatDuration(
                     absl::Trunc(retry.delay, absl::Milliseconds(1)))
              << (retry.restarts_snapshot
                      ? std::string(", snapshot from the start")
                      : absl::StrCat(" from rev ", retry.start_revision))
              << std::endl;
    if (retry.restarts_snapshot) {
      snapshot_states = 0;
      std::cout << (json ? "{\"snapshotRestart\":true}"
                         : "# snapshot restarts")
                << std::endl;
    }
  };

  callbacks.on_resume = [json, &address,
                         &said_waiting](const WatchResume& resume) {
    if (!resume.answered_before) {
      if (said_waiting) {
        std::cerr << "statesctl: statesd at " << address
                  << " answered; watching" << std::endl;
      }
      return;
    }
    if (json) {
      google::protobuf::Struct line;
      auto& fields = *line.mutable_fields();
      fields["resumed"].set_bool_value(true);
      // An int64, as the proto3 JSON mapping writes one: a string.
      fields["revision"].set_string_value(absl::StrCat(resume.start_revision));
      std::cout << Json(line) << std::endl;
    } else {
      std::cerr << "statesctl: watch resumed "
                << (resume.start_revision == 0
                        ? std::string("with a new snapshot")
                        : absl::StrCat("from rev ", resume.start_revision))
                << " after " << resume.failed_attempts << " failed attempt"
                << (resume.failed_attempts == 1 ? "" : "s") << std::endl;
    }
  };

  // Main() blocked these before any thread started, so that they stay
  // pending for this thread instead of killing the process.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  const std::unique_ptr<StateWatcher> watcher =
      client.Watch(request, std::move(callbacks));
  const timespec poll = {0, kPollNanoseconds};
  const absl::Time start = absl::Now();
  // True when every stream so far failed to reach the server. A first
  // stream that is open and quiet (a watch from --start_revision with no
  // change since) is not "no answer": a dead address fails at once.
  auto never_answered = [&watcher] {
    return !watcher->answered() && watcher->failed_attempts() > 0;
  };
  for (;;) {
    const int signal_number = sigtimedwait(&signals, nullptr, &poll);
    if (signal_number == SIGINT || signal_number == SIGTERM) {
      watcher->Stop();
      if (never_answered()) {
        return ReportError(
            NoAnswerError(address, "before the interruption", last_error.Get()),
            json);
      }
      return kYes;
    }
    if (watcher->done()) break;
    if (!wait && never_answered() && absl::Now() - start >= timeout) {
      watcher->Stop();
      return ReportError(
          NoAnswerError(
              address,
              absl::StrCat("within --timeout=", absl::FormatDuration(timeout)),
              last_error.Get()),
          json);
    }
  }
  const absl::Status status = watcher->status();
  const int code = ReportError(status, json);
  if (status.code() == absl::StatusCode::kOutOfRange && !json) {
    std::cerr << "statesctl: watch again without --start_revision to start "
                 "from a snapshot"
              << std::endl;
  }
  return code;
}

}  // namespace mozuma::states::statesctl
