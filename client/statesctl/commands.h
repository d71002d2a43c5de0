// The commands of statesctl: what each takes, its help, and the functions
// that run them.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_COMMANDS_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_COMMANDS_H_

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/client.h"

namespace mozuma::states::statesctl {

// One run of a command, as the command line gave it.
struct Invocation {
  // The positional arguments after the command.
  std::vector<std::string> args;
  // The --label values, in order.
  std::vector<std::string> labels;
  // The flags given (see ScannedCommandLine::flags).
  std::set<std::string> flags;
  bool json = false;
};

// Runs a command and returns its exit code (output.h ExitCode).
using RunFunction = int (*)(const Client& client, const Invocation& invocation);

struct Command {
  const char* name;
  // The synopsis and one-line summary, for the usage text.
  const char* synopsis;
  const char* summary;
  // The whole help: usage, arguments, flags, exit codes, examples.
  const char* help;
  // The command-specific flags it takes (every command takes --server and
  // --timeout).
  std::vector<std::string> flags;
  std::size_t min_args;
  std::size_t max_args;
  // The usage error when the argument count is out of range.
  const char* args_error;
  // True for a command that runs until SIGINT or SIGTERM: statesctl blocks
  // both before any thread starts, for the command to wait for.
  bool waits_for_signals;
  RunFunction run;
  // True for a command that never calls the server (completion): --server
  // is not checked for it.
  bool local;
};

// Every command, in the order the usage text lists them.
const std::vector<Command>& Commands();

// The command named `name`, or null.
const Command* FindCommand(absl::string_view name);

// Every flag that only some commands take.
const std::set<std::string>& CommandSpecificFlags();

// The flags every command takes: server, timeout.
const std::vector<std::string>& GlobalFlags();

// Every flag statesctl knows, those of `command` (may be null) first, then
// the global ones, then the rest: the order in which a misspelt flag is
// matched against them.
std::vector<std::string> KnownFlags(const Command* command);

// The program's usage text: commands, global flags, exit codes, examples.
std::string UsageText();

// `statesctl 0.1.0 (API mozuma.states.v1)`: the release (project(VERSION)
// in CMakeLists.txt) and the API package, without a newline.
std::string VersionText();

// The same under --json: {"version":"0.1.0","api":"mozuma.states.v1"}.
std::string VersionJson();

// The bash completion script that `statesctl completion bash` prints, made
// from Commands(): it completes the commands, the global flags, each
// command's own flags, the commands after `help`, and folders after
// `import`. It defines the function _statesctl and registers it with
// `complete`.
std::string BashCompletionScript();

int RunValidate(const Client& client, const Invocation& invocation);
int RunCompat(const Client& client, const Invocation& invocation);
int RunParse(const Client& client, const Invocation& invocation);
int RunRegister(const Client& client, const Invocation& invocation);
int RunGet(const Client& client, const Invocation& invocation);
int RunList(const Client& client, const Invocation& invocation);
int RunDelete(const Client& client, const Invocation& invocation);
int RunWatch(const Client& client, const Invocation& invocation);
int RunImport(const Client& client, const Invocation& invocation);
// Prints BashCompletionScript(); the only shell it takes is "bash".
int RunCompletion(const Client& client, const Invocation& invocation);

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_COMMANDS_H_
