// What statesctl reads from its command line before Abseil parses the
// flags: the command, a request for its help, the repeatable --label flag
// (an Abseil flag keeps only its last value), and which flags were given
// (Abseil does not tell), so that a flag given to a command it does not
// apply to is an error rather than silently ignored.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_COMMAND_LINE_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_COMMAND_LINE_H_

#include <set>
#include <string>
#include <vector>

namespace mozuma::states::statesctl {

struct ScannedCommandLine {
  // argv without the --label flags and their values, for
  // absl::ParseCommandLine(). Points into the original argv.
  std::vector<char*> argv;
  // The values of the --label flags, in order.
  std::vector<std::string> labels;
  // The first positional argument: the command. Empty when there is none.
  std::string command;
  // True when --help, -help or -h was given (before any `--`). They are
  // left out of `argv`.
  bool help = false;
  // The name of every flag given, without dashes, value or the `no` of a
  // negated boolean flag (`--nojson` gives `json`).
  std::set<std::string> flags;
  // Not empty when the command line cannot be read: a --label without a
  // value.
  std::string error;
};

// Scans `argv` as Abseil will parse it: flags may come before or after the
// positional arguments, a flag that is not boolean may take its value from
// the next argument, and `--` ends the flags. Knows the flags through
// Abseil's registry, so it must run after every flag is defined (any time
// in main()).
ScannedCommandLine ScanCommandLine(int argc, char** argv);

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_COMMAND_LINE_H_
