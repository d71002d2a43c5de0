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
#include "absl/time/time.h"
#include "client/state_watcher.h"
#include "client/statesctl/arguments.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/output.h"
#include "core/errors.h"
#include "core/names.h"
#include "core/state_names.h"

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
  // Touched by the watcher's thread only.
  int snapshot_states = 0;
  WatchCallbacks callbacks;
  callbacks.on_message = [json,
                          &snapshot_states](const v1::WatchStatesResponse& r) {
    for (const v1::StateEvent& event : r.events()) {
      std::cout << (json ? Json(event) : EventLine(event)) << "\n";
      if (r.revision() == 0) ++snapshot_states;
    }
    if (r.snapshot_complete()) {
      if (json) {
        std::cout << "{\"snapshot_complete\":true,\"revision\":\""
                  << r.revision() << "\"}\n";
      } else {
        std::cout << "# snapshot complete: " << snapshot_states
                  << " states at rev " << r.revision() << "\n";
      }
    }
    // Whoever reads the pipe sees each change as it happens.
    std::cout.flush();
  };
  callbacks.on_retry = [json, &snapshot_states](const WatchRetry& retry) {
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
      std::cout << (json ? "{\"snapshot_restart\":true}"
                         : "# snapshot restarts")
                << std::endl;
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
  for (;;) {
    const int signal_number = sigtimedwait(&signals, nullptr, &poll);
    if (signal_number == SIGINT || signal_number == SIGTERM) {
      watcher->Stop();
      return kYes;
    }
    if (watcher->done()) break;
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
