// statesd's command line: sets absl flags from argv and writes the help.
//
// absl's own ParseCommandLine() exits 1 on --help, on an unknown flag and on
// a bad value alike, and its help lists every flag linked in, grouped by
// source file path. statesd wants --help to exit 0 and to serve an
// operator, and command-line mistakes to exit with a code of their own, so
// it parses here: only the flags it names, through absl's flag registry
// (CommandLineFlag::ParseFrom), so that each flag keeps its absl type.
#ifndef MOZUMA_STATES_SERVICE_COMMAND_LINE_H_
#define MOZUMA_STATES_SERVICE_COMMAND_LINE_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mozuma::states {

// One flag in the help: its name (without dashes), the placeholder of its
// value ("HOST:PORT"), and, when the flag's own default is not what an
// operator should read (a default computed at start), the text to show.
struct FlagHelp {
  std::string name;
  std::string value;
  std::string default_text;
};

// A group of flags under one title ("Listening").
struct FlagGroup {
  std::string title;
  std::vector<FlagHelp> flags;
};

// What the command line asks for besides setting flags.
enum class CommandLineAction { kRun, kHelp, kVersion };

// The outcome of ParseStatesdCommandLine().
struct ParsedCommandLine {
  CommandLineAction action = CommandLineAction::kRun;
  // The names of the flags given (so that an empty value can be told from
  // an absent flag).
  std::set<std::string, std::less<>> given;
};

// Parses `argv` (argv[0] is the program). Accepts --name=value, --name
// value, and the same with one dash, for the flags named in `groups` only;
// a flag given twice takes its last value. -h, --help, --helpfull and
// --helpshort ask for the help, --version for the version; either wins
// over anything else on the line. Sets each flag given. Returns
// INVALID_ARGUMENT with a one-line message (naming the flag, and for a bad
// value what it takes, with an example) for an unknown flag, a flag without
// its value, a value that does not parse, or an argument that is not a
// flag. Flags set before an error keep their new value.
absl::StatusOr<ParsedCommandLine> ParseStatesdCommandLine(
    int argc, char** argv, const std::vector<FlagGroup>& groups);

// The help of every flag in `groups`, a section per group: the flag and
// its placeholder, its description (the flag's help text) wrapped to 79
// columns, and its default.
std::string FormatFlagGroups(const std::vector<FlagGroup>& groups);

// `text` wrapped at spaces to lines of at most `width` columns, each
// starting with `indent` spaces; newlines in `text` are kept.
std::string WrapText(absl::string_view text, int indent, int width = 79);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_COMMAND_LINE_H_
