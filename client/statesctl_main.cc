// statesctl: a command line for mozuma.states.v1.StateService.
//
// This file only reads the command line and dispatches; each command lives
// in client/statesctl/ (commands.h lists them, with their help).
//
// Exit codes, for scripts:
//   0  the answer is yes: every name valid, every candidate compatible, the
//      name parsed, the state registered / found / listed / deleted, every
//      file imported, the watch interrupted by SIGINT or SIGTERM
//   1  the answer is no: some name invalid, some candidate incompatible, the
//      name does not parse, the state is not registered, is registered with
//      different content, has another revision, some file failed to import
//   2  usage error: unknown command, wrong number of arguments, bad flag
//   3  no answer: the server could not be reached or failed the call
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/statesctl/command_line.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/output.h"
#include "core/protobuf_log.h"

namespace mozuma::states::statesctl {
namespace {

// Prints the help of `command_name`, or the usage text when it is empty.
int Help(const std::string& command_name) {
  if (command_name.empty()) {
    std::cout << UsageText() << std::flush;
    return kYes;
  }
  const Command* command = FindCommand(command_name);
  if (command == nullptr) {
    return UsageError("unknown command \"" + command_name + "\"");
  }
  std::cout << command->help << std::flush;
  return kYes;
}

int Main(int argc, char** argv) {
  ScannedCommandLine scan = ScanCommandLine(argc, argv);
  if (scan.help) return Help(scan.command == "help" ? "" : scan.command);
  const std::string usage = UsageText();
  absl::SetProgramUsageMessage(usage);
  std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(scan.argv.size()), scan.argv.data());
  InstallProtobufLogFilter();
  if (!scan.error.empty()) return UsageError(scan.error);
  if (positional.size() < 2) return UsageError("missing command");
  const std::string command_name = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());
  if (command_name == "help") {
    if (args.size() > 1) return UsageError("help takes at most one COMMAND");
    return Help(args.empty() ? "" : args[0]);
  }
  const Command* command = FindCommand(command_name);
  if (command == nullptr) {
    return UsageError("unknown command \"" + command_name + "\"");
  }
  for (const std::string& flag : scan.flags) {
    if (CommandSpecificFlags().count(flag) > 0 &&
        std::find(command->flags.begin(), command->flags.end(), flag) ==
            command->flags.end()) {
      return UsageError(absl::StrCat("--", flag, " does not apply to ",
                                     command->name, "; run 'statesctl ",
                                     command->name, " --help'"));
    }
  }
  if (args.size() < command->min_args || args.size() > command->max_args) {
    return UsageError(command->args_error);
  }

  ClientOptions options;
  options.timeout = absl::GetFlag(FLAGS_timeout);
  if (options.timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
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
  const std::unique_ptr<Client> client =
      Client::Connect(absl::GetFlag(FLAGS_server), options);

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
