// statesctl: a command line for mozuma.states.v1.StateService.
//
// This file only reads the command line and dispatches; each command lives
// in client/statesctl/ (commands.h lists them, with their help).
//
// Exit codes, for scripts, the same on every path (usage text and README
// list them too):
//   0  the answer is yes: every name valid, every candidate compatible, the
//      name parsed, the state registered / found / listed / deleted, every
//      file imported, the watch interrupted by SIGINT or SIGTERM, --help,
//      --version, completion
//   1  the answer is no: some name invalid, some candidate incompatible, the
//      name does not parse, the state is not registered, is registered with
//      different content, has another revision, some file failed to import
//   2  usage error, before anything is sent: unknown command or flag (with
//      the closest known one), a flag's value that does not parse, a flag
//      the command does not take, wrong number of arguments, a server
//      address that cannot work (https://)
//   3  no answer: the server could not be reached, did not answer within
//      --timeout, or failed the call (UNAVAILABLE, INTERNAL, UNIMPLEMENTED...)
// Under --json every one of these errors is one JSON line on stdout
// (client/statesctl/output.h).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/statesctl/command_line.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/output.h"
#include "core/closest_name.h"
#include "core/protobuf_log.h"

namespace mozuma::states::statesctl {
namespace {

// The usage error for a command that does not exist.
int UnknownCommand(const std::string& name) {
  std::vector<std::string> names = {"help"};
  for (const Command& command : Commands()) names.push_back(command.name);
  const std::string closest = ClosestName(name, names);
  return UsageError(absl::StrCat(
      "unknown command \"", name, "\"",
      closest.empty() ? ""
                      : absl::StrCat("; did you mean \"", closest, "\"?")));
}

// Prints the help of `command_name`, or the usage text when it is empty.
int Help(const std::string& command_name) {
  if (command_name.empty()) {
    std::cout << UsageText() << std::flush;
    return kYes;
  }
  const Command* command = FindCommand(command_name);
  if (command == nullptr) return UnknownCommand(command_name);
  std::cout << command->help << std::flush;
  return kYes;
}

int Main(int argc, char** argv) {
  InstallProtobufLogFilter();
  ScannedCommandLine scan = ScanCommandLine(argc, argv);
  const Command* command = FindCommand(scan.command);
  if (command != nullptr) SetUsageCommand(command->name);
  // All flags first, even after a bad one: --json decides how a usage error
  // prints.
  const absl::Status flags = ApplyFlags(scan, KnownFlags(command));
  if (scan.version) {
    std::cout << (absl::GetFlag(FLAGS_json) ? VersionJson() : VersionText())
              << std::endl;
    return kYes;
  }
  if (scan.help) {
    if (scan.command == "help") {
      return Help(scan.positional.size() > 1 ? scan.positional[1] : "");
    }
    return Help(scan.command);
  }
  if (!flags.ok()) return UsageError(flags.message());
  if (!scan.error.empty()) return UsageError(scan.error);
  if (scan.positional.empty()) return UsageError("missing command");
  std::vector<std::string> args(scan.positional.begin() + 1,
                                scan.positional.end());
  if (scan.command == "help") {
    if (args.size() > 1) return UsageError("help takes at most one COMMAND");
    return Help(args.empty() ? "" : args[0]);
  }
  if (command == nullptr) return UnknownCommand(scan.command);
  for (const std::string& flag : scan.flags) {
    if (CommandSpecificFlags().count(flag) > 0 &&
        std::find(command->flags.begin(), command->flags.end(), flag) ==
            command->flags.end()) {
      std::vector<std::string> takers;
      for (const Command& other : Commands()) {
        if (std::find(other.flags.begin(), other.flags.end(), flag) !=
            other.flags.end()) {
          takers.push_back(other.name);
        }
      }
      return UsageError(absl::StrCat("--", flag, " does not apply to ",
                                     command->name, " (only to ",
                                     absl::StrJoin(takers, ", "), ")"));
    }
  }
  if (args.size() < command->min_args || args.size() > command->max_args) {
    return UsageError(command->args_error);
  }

  ClientOptions options;
  options.timeout = absl::GetFlag(FLAGS_timeout);
  if (options.timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive, such as 10s");
  }
  if (absl::GetFlag(FLAGS_page_size) < 0) {
    return UsageError("--page_size must be 0 (the server's default) or more");
  }
  const std::string server = absl::GetFlag(FLAGS_server);
  if (!command->local) {
    const absl::StatusOr<std::string> target = ChannelTarget(server);
    if (!target.ok()) {
      return UsageError(absl::StrCat("--server: ", target.status().message()));
    }
  }
  if (command->waits_for_signals) {
    // Before the client starts any thread: threads inherit the mask, so
    // the signals stay pending until the command waits for them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  }
  // Connect() normalises the address the same way (ChannelTarget()).
  const std::unique_ptr<Client> client = Client::Connect(server, options);

  Invocation invocation;
  invocation.args = std::move(args);
  invocation.labels = std::move(scan.labels);
  invocation.flags = std::move(scan.flags);
  invocation.json = absl::GetFlag(FLAGS_json);
  return command->run(*client, invocation);
}

}  // namespace
}  // namespace mozuma::states::statesctl

int main(int argc, char** argv) {
  return mozuma::states::statesctl::Main(argc, argv);
}
